"""The benchmark table of issue 8: every command as a user runs it, on generated data.

    python benchmarks/run.py                 # 1k and 10k records
    python benchmarks/run.py --sizes 1000 10000 100000 --runs 5

For each size it generates a deterministic knowledge base (benchmarks/generate.py)
in a temporary folder, then times, end to end as separate processes (median of
--runs, wall clock), the cold `index`, a no-change sync, a one-file-changed sync,
`search` (one word, two words, a phrase, a typo, one word with a filter),
`list --tag T --limit 20`, `show ID`, `retro` and `check` over everything, `import` of 10,000
CSV rows, and `lessons --version`, with the peak memory (max RSS) of each. The
same searches done by `rg -il` over the entry files in the same run give the
reference ratio. Timings vary with the machine's load: compare the ratios
within one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate import WORDS, generate  # noqa: E402

LESSONS = [sys.executable, "-m", "lessons"]
# The console script next to this interpreter, as a user runs it (not `-m`, and
# not through a version manager's shim, which adds its own start-up time).
_SCRIPT = Path(sys.executable).parent / "lessons"
if _SCRIPT.is_file():
    LESSONS = [str(_SCRIPT)]
elif shutil.which("lessons"):
    LESSONS = [shutil.which("lessons") or "lessons"]


# As a user's shell runs it: bytecode is cached. (Some sandboxes set
# PYTHONDONTWRITEBYTECODE, which makes every command recompile the package.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package() -> None:
    """Write the package's bytecode once, as `pip install` does."""
    import compileall

    import lessons

    compileall.compile_dir(str(Path(lessons.__file__).parent), quiet=1)


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB, exit code of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss // 1024, proc.returncode


def timed(cmd: list[str], runs: int, before: object = None) -> tuple[float, int, int]:
    """Median wall time, max peak memory and the last exit code over ``runs`` runs."""
    times, peak, code = [], 0, 0
    for _ in range(runs):
        if callable(before):
            before()
        t, rss, code = run(cmd)
        times.append(t)
        peak = max(peak, rss)
    return statistics.median(times), peak, code


def make_csv(path: Path, rows: int) -> None:
    import random

    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Title", "Kind", "Date", "Summary", "Lesson", "Tags", "Campaign"])
        for i in range(rows):
            words = [rng.choice(WORDS) for _ in range(8)]
            out.writerow(
                [
                    " ".join(words).capitalize() + f" {i}",
                    rng.choice(["mistake", "success", "observation"]),
                    f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    " ".join(rng.choice(WORDS) for _ in range(60)),
                    " ".join(rng.choice(WORDS) for _ in range(20)),
                    ";".join(rng.sample(WORDS[:50], 3)),
                    f"Campaign {rng.randint(1, 40)}",
                ]
            )


def bench_size(n: int, runs: int, work: Path) -> list[tuple[str, float, int, str]]:
    root = work / f"kb{n}"
    ids = generate(root, n)
    kb = [*LESSONS, "--kb", str(root)]
    rows: list[tuple[str, float, int, str]] = []

    def add(label: str, result: tuple[float, int, int], note: str = "") -> None:
        t, rss, code = result
        rows.append((label, t, rss, note + ("" if code in (0, 1) else f" exit {code}")))
        print(f"  {label:<34} {t:8.3f} s {rss:6d} MB {rows[-1][3]}", file=sys.stderr)

    def drop_index() -> None:
        shutil.rmtree(root / ".lessons", ignore_errors=True)

    add("index (cold)", timed([*kb, "index"], max(1, runs // 2), before=drop_index))
    add("index (nothing changed)", timed([*kb, "index"], runs))
    victim = next((root / "entries").rglob("*.yaml"))
    original = victim.read_text(encoding="utf-8")
    counter = iter(range(10**6))

    def touch_one() -> None:
        victim.write_text(original.replace("summary:", f"summary: edit {next(counter)}", 1))

    add("index (one file changed)", timed([*kb, "index"], runs, before=touch_one))
    victim.write_text(original, encoding="utf-8")
    run([*kb, "index"])

    word, word2, tag = "certificate", "expired", "apology"
    searches = {
        "search one word": [word],
        "search two words": [word, word2],
        "search phrase": [f'"{word} {word2}"'],
        "search typo": ["certficate"],
        "search word --kind mistake": [word, "--kind", "mistake"],
    }
    rg = shutil.which("rg")
    for label, args in searches.items():
        result = timed([*kb, "search", *args], runs)
        note = ""
        if rg and label != "search word --kind mistake":
            pattern = args[0].strip('"')
            rg_time = timed([rg, "-il", "--", pattern, str(root / "entries")], runs)[0]
            note = f"rg -il {rg_time:.3f} s (x{result[0] / rg_time:.1f})"
        add(label, result, note)
    add("list --tag T --limit 20", timed([*kb, "list", "--tag", tag, "--limit", "20"], runs))
    add("show ID", timed([*kb, "show", ids[len(ids) // 2]], runs))
    add("retro (everything)", timed([*kb, "retro", "--format", "md"], max(1, runs // 2)))
    # The heaviest reader: every record's text against every other's (near-duplicates).
    add("check (everything)", timed([*kb, "check"], max(1, runs // 2)))
    add("--version", timed([*LESSONS, "--version"], runs))
    return rows


def bench_import(runs: int, work: Path) -> tuple[str, float, int, str]:
    source = work / "rows.csv"
    make_csv(source, 10_000)
    times, peak = [], 0
    for i in range(max(1, runs // 2)):
        target = work / f"import{i}"
        (target / "entries").mkdir(parents=True)
        t, rss, code = run([*LESSONS, "--kb", str(target), "import", str(source)])
        times.append(t)
        peak = max(peak, rss)
        shutil.rmtree(target)
    t = statistics.median(times)
    print(f"  {'import 10,000 CSV rows (+ sync)':<34} {t:8.3f} s {peak:6d} MB", file=sys.stderr)
    return ("import 10,000 CSV rows (+ sync)", t, peak, "" if code == 0 else f"exit {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Generate into this folder and keep it.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="lessons-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    compile_package()
    table: dict[int, list[tuple[str, float, int, str]]] = {}
    try:
        for n in args.sizes:
            print(f"{n:,} records", file=sys.stderr)
            table[n] = bench_size(n, args.runs, work)
        imported = bench_import(args.runs, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sizes = list(table)
    header = "| command | " + " | ".join(f"{n:,} records" for n in sizes) + " |"
    print(header)
    print("|---|" + "---|" * len(sizes))
    for i, (label, *_rest) in enumerate(table[sizes[0]]):
        cells = []
        for n in sizes:
            _, t, rss, note = table[n][i]
            cells.append(f"{t:.3f} s, {rss} MB" + (f"; {note}" if note else ""))
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    label, t, rss, note = imported
    print(f"| `{label}` | {t:.3f} s, {rss} MB {note} |" + " |" * (len(sizes) - 1))
    load = os.getloadavg()[0]
    print(f"\n(median of {args.runs} runs; load average {load:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
