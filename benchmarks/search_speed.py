"""Search speed: `lessons index` and `lessons search` end to end on a generated knowledge base.

    python benchmarks/search_speed.py [--records 10000] [--runs 7]

Generates a deterministic knowledge base (benchmarks/generate.py) in a temporary
folder, then, each as a user runs it (a separate process, wall clock, output piped):

- a cold ``lessons index``: when the words are searchable (the ``+N added`` line) and
  when the vectors are done (the process ends), with its peak memory;
- searches, the median of --runs each: one word, two words, a phrase, a typo, a
  filter, a question, in the default hybrid mode and with ``--mode lexical`` and
  ``--mode semantic``, with the peak memory of the hybrid ones;
- ``lessons index`` after one record changed: its time, and how many records it
  embedded (vectors counted in the index before and after);
- whether a lexical search and ``--version`` import numpy (``python -X importtime``).

``rg -il`` over the entry files for the same word gives a reference ratio (skipped
when ripgrep is not installed). Issue 13's targets at 10,000 records: lexical 0.2 s,
hybrid 0.6 s, cold lexical index 4 s, embeddings 6 min; at 100,000 records hybrid 1 s
and 1 GB. Timings depend on the machine's load: compare figures from the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import LESSONS  # noqa: E402  (the console script, not a version manager's shim)

SEARCHES = [
    ("one word", ["outage"]),
    ("two words", ["disk", "backup"]),
    ("a phrase", ['"rollback plan"']),
    ("a typo", ["certficate"]),
    ("one word, --kind filter", ["outage", "--kind", "mistake"]),
    ("a question", ["deployment", "went", "wrong", "and", "the", "rollback", "failed"]),
]
MODES = (("hybrid", []), ("lexical", ["--mode", "lexical"]), ("semantic", ["--mode", "semantic"]))
TIME = shutil.which("time") or "/usr/bin/time"


def user_env(pycache: Path) -> dict[str, str]:
    """The environment of a user's shell: Python caches compiled modules (a sandbox that
    sets PYTHONDONTWRITEBYTECODE would time the compiler instead); the cache goes to a
    temporary folder, not into the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.pop("LESSONS_KB", None)
    env.pop("LESSONS_DB", None)
    return env


ENV: dict[str, str] | None = None


def timed(cmd: Sequence[str], runs: int) -> tuple[float, int]:
    """Median wall time of ``runs`` runs of a command, and its last exit code."""
    times = []
    code = 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, check=False, env=ENV)
        times.append(time.perf_counter() - started)
        code = done.returncode
    return statistics.median(times), code


def peak_mb(cmd: Sequence[str]) -> float:
    """Peak resident memory of one run of a command (GNU time's %M), in MB."""
    if not Path(TIME).is_file():
        return float("nan")
    done = subprocess.run(
        [TIME, "-f", "MAXRSS %M", *cmd], capture_output=True, text=True, check=False, env=ENV
    )
    found = re.findall(r"MAXRSS (\d+)", done.stderr)
    return int(found[-1]) / 1024 if found else float("nan")


def cold_index(cmd: Sequence[str]) -> tuple[float, float, float]:
    """(seconds until the words are searchable, seconds until the vectors are done, peak
    memory in MB): one run, so a large index is not embedded twice to measure both."""
    timed = [TIME, "-f", "MAXRSS %M", *cmd] if Path(TIME).is_file() else list(cmd)
    started = time.perf_counter()
    proc = subprocess.Popen(timed, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=ENV)
    words, peak = float("nan"), float("nan")
    assert proc.stderr is not None
    for raw in proc.stderr:
        if b" added " in raw and words != words:
            words = time.perf_counter() - started
        found = re.match(rb"MAXRSS (\d+)", raw)
        if found:
            peak = int(found[1]) / 1024
    proc.wait()
    return words, time.perf_counter() - started, peak


def vector_digests(root: Path) -> set[str]:
    """The digests of every vector the index holds."""
    with sqlite3.connect(root / ".lessons" / "index.db") as conn:
        return {r[0] for r in conn.execute("SELECT digest FROM vector")}


def imports_numpy(cmd: Sequence[str]) -> bool:
    """Whether a command imports numpy (``python -X importtime``)."""
    exe, *rest = cmd
    if rest[:2] == ["-m", "lessons"] or not exe.endswith("lessons"):
        full = [sys.executable, "-X", "importtime", *rest]
    else:
        full = [sys.executable, "-X", "importtime", "-m", "lessons", *rest]
    done = subprocess.run(full, capture_output=True, text=True, check=False, env=ENV)
    return bool(re.search(r"\|\s+numpy$", done.stderr, re.MULTILINE))


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, index, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    global ENV
    with tempfile.TemporaryDirectory() as tmp:
        ENV = user_env(Path(tmp) / "pycache")
        root = Path(tmp) / "kb"
        started = time.perf_counter()
        generate(root, args.records)
        generated = time.perf_counter() - started
        base = [*LESSONS, "--kb", str(root)]
        words, vectors, peak = cold_index([*base, "index"])
        print(
            f"{args.records:,} records, generated in {generated:.1f} s; median of {args.runs}"
            " runs, wall clock"
        )
        print(
            f"  cold index: words searchable after {words:.1f} s, vectors done after"
            f" {vectors:.1f} s (embedding {vectors - words:.1f} s)"
        )
        print(f"  cold index peak memory: {peak:.0f} MB")
        # Warm the file cache once, as a user's second search would find it.
        subprocess.run([*base, "search", "outage"], capture_output=True, check=False, env=ENV)
        rg = shutil.which("rg")
        for name, words_ in SEARCHES:
            for mode, flags in MODES:
                median, code = timed([*base, "search", *flags, *words_], args.runs)
                line = f"  {name:<24} {mode:<9} {median:6.3f} s  (exit {code})"
                if mode == "hybrid":
                    line += f"  peak {peak_mb([*base, 'search', *words_]):.0f} MB"
                if rg and name == "one word" and mode == "lexical":
                    ref, _ = timed([rg, "-il", words_[0], str(root / "entries")], args.runs)
                    line += f"   rg -il: {ref:.3f} s  (x{median / ref:.1f})"
                print(line, flush=True)
        before = vector_digests(root)
        victim = sorted((root / "entries").rglob("*.yaml"))[len(before) // 2]
        text = victim.read_text(encoding="utf-8")
        victim.write_text(text.replace("summary: ", "summary: Edited once. ", 1), "utf-8")
        started = time.perf_counter()
        subprocess.run([*base, "index"], capture_output=True, check=True, env=ENV)
        one = time.perf_counter() - started
        after = vector_digests(root)
        print(f"  index after one edit      {one:6.3f} s  ({len(after - before)} record embedded)")
        listed, _ = timed([*base, "list", "--limit", "10"], args.runs)
        print(f"  {'list --limit 10':<34} {listed:6.3f} s  (start-up and index sync, no search)")
        version, _ = timed([*LESSONS, "--version"], args.runs)
        print(f"  {'lessons --version':<34} {version:6.3f} s  (start-up alone)")
        lexical_np = imports_numpy([*base, "search", "--mode", "lexical", "disk", "backup"])
        version_np = imports_numpy([*LESSONS, "--version"])
        hybrid_np = imports_numpy([*base, "search", "disk", "backup"])
        print(
            f"  numpy imported by: search --mode lexical {'yes' if lexical_np else 'no'},"
            f" --version {'yes' if version_np else 'no'}, hybrid search"
            f" {'yes' if hybrid_np else 'no'}"
        )
        if not rg:
            print("  rg not installed: no reference ratio (apt-get install ripgrep)")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} CPUs (figures grow with the load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
