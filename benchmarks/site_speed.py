"""How fast `lessons site` builds, how big its search index is, and how soon a search
answers in the browser (issue 17's targets).

    python benchmarks/site_speed.py                      # 1,000 and 10,000 records
    python benchmarks/site_speed.py --sizes 1000 --runs 3 --browser-runs 5

For each size it generates a deterministic knowledge base (benchmarks/generate.py),
indexes it (not timed), then times `lessons site --internal` as a user runs it, as a
separate process (wall clock, and the CPU time it used, which the load of a shared
machine does not inflate): a cold build into a new folder, a rebuild with nothing changed,
and a rebuild after one record's title changed (with the files it wrote). It
prints the size of the search index the browser loads, raw and gzipped, and, when
Debian's Chromium and the playwright package are there, how long after the search
page loads (its load event) the first result of a search with a typo (`migraton`) is on the
page, median of --browser-runs fresh browser contexts (nothing cached), with the
page served by the preview server on 127.0.0.1.

Targets: build 1,000 records <= 3 s and 10,000 <= 20 s; index for 10,000 <= 3 MB
gzipped; first result <= 300 ms after the page loads. Timings vary with the load
of the machine: compare figures within one run.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import ENV, LESSONS, compile_package, run  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_BUILD = {1000: 3.0, 10000: 20.0}
FIRST_RESULT_JS = """() => new Promise(resolve => {
  const done = () => {
    const mark = performance.getEntriesByName('lessons-first-result')[0];
    const nav = performance.getEntriesByType('navigation')[0];
    if (mark && nav && nav.loadEventEnd > 0) {
      resolve([mark.startTime - nav.loadEventEnd, mark.startTime]);
    } else {
      setTimeout(done, 5);
    }
  };
  done();
})"""


def build(kb: Path, out: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak memory (MB) of one build."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*LESSONS, "--kb", str(kb), "site", "--internal", "-o", str(out)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0, "lessons site failed"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def written_by_last_build(kb: Path, out: Path) -> str:
    """The summary line of one more build (counts of written/unchanged/removed)."""
    proc = subprocess.run(
        [*LESSONS, "--kb", str(kb), "site", "--internal", "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr.splitlines()[0]


def first_result_ms(out: Path, query: str, runs: int) -> tuple[float, float] | None:
    """Median ms from the search page's load event, and from navigation start, to the
    first result of ``query``; None without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    from lessons.site import preview_server

    server = preview_server(out, 0, "/")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/search.html?q={query}"
    after_load, after_start = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            for _ in range(runs):
                context = browser.new_context()
                page = context.new_page()
                page.goto(url)
                since_load, since_start = page.evaluate(FIRST_RESULT_JS)
                assert page.locator("#results li").count() > 0
                after_load.append(max(0.0, since_load))
                after_start.append(since_start)
                context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return statistics.median(after_load), statistics.median(after_start)


def bench(n: int, runs: int, browser_runs: int, work: Path) -> None:
    kb = work / f"kb{n}"
    generate(kb, n)
    run([*LESSONS, "--kb", str(kb), "index"])
    cold = []
    out = work / f"site{n}"
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        cold.append(build(kb, out))
    wall = statistics.median(c[0] for c in cold)
    cpu = statistics.median(c[1] for c in cold)
    peak = max(c[2] for c in cold)
    target = TARGET_BUILD.get(n)
    verdict = (
        f" (target <= {target:g} s: {'met' if wall <= target else 'MISSED'})" if target else ""
    )
    print(
        f"{n:>7,} records  cold build       {wall:7.2f} s wall, {cpu:.2f} s CPU, "
        f"peak {peak} MB{verdict}"
    )
    again = [build(kb, out) for _ in range(runs)]
    print(
        f"{n:>7,} records  nothing changed  {statistics.median(a[0] for a in again):7.2f} s wall, "
        f"{statistics.median(a[1] for a in again):.2f} s CPU"
    )
    entry = next((kb / "entries").rglob("*.yaml"))
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace("title: ", "title: Changed ", 1), encoding="utf-8")
    run([*LESSONS, "--kb", str(kb), "index"])
    line = written_by_last_build(kb, out)
    print(f"{n:>7,} records  one title changed: {line}")
    index = (out / "search" / "index.json").read_bytes()
    packed = len(gzip.compress(index, 6))
    note = " (target <= 3 MB: " + ("met" if packed <= 3 * 1024 * 1024 else "MISSED") + ")"
    print(
        f"{n:>7,} records  search index     {len(index) / 1e6:7.2f} MB, "
        f"{packed / 1e6:.2f} MB gzipped{note if n >= 10000 else ''}"
    )
    timing = first_result_ms(out, "migraton", browser_runs)
    if timing is None:
        print(f"{n:>7,} records  first result     (skipped: no Chromium or playwright)")
    else:
        since_load, since_start = timing
        ok = "met" if since_load <= 300 else "MISSED"
        print(
            f"{n:>7,} records  first result     {since_load:7.0f} ms after the load event "
            f"(target <= 300 ms: {ok}); {since_start:.0f} ms after navigation start"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--browser-runs", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="lessons-site-bench-") as tmp:
        for n in args.sizes:
            bench(n, args.runs, args.browser_runs, Path(tmp))


if __name__ == "__main__":
    main()
