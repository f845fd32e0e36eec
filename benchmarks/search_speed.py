"""Search speed: `lessons search` end to end on a generated 10,000-record knowledge base.

    python benchmarks/search_speed.py [--records 10000] [--runs 7]

Generates a deterministic knowledge base (benchmarks/generate.py) in a
temporary folder, builds the index once, then times each search as a user runs
it — a separate process, wall clock, index already built, output piped — and
prints the median of --runs: one word, two words, a phrase, a typo (corrected),
one word with a filter, a long natural-language question. ``rg -il`` over the
entry files for the same word, in the same run, gives a reference ratio
(skipped when ripgrep is not installed). The target of issue 4 is a median of
0.2 s or less for one word. Timings depend on the machine's load: compare
figures from the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
        started = time.perf_counter()
        subprocess.run([*base, "index"], capture_output=True, check=True, env=ENV)
        indexed = time.perf_counter() - started
        print(
            f"{args.records:,} records: generated in {generated:.1f} s, "
            f"indexed in {indexed:.1f} s; median of {args.runs} runs, wall clock"
        )
        # Warm the file cache once, as a user's second search would find it.
        subprocess.run([*base, "search", "outage"], capture_output=True, check=False, env=ENV)
        rg = shutil.which("rg")
        for name, words in SEARCHES:
            median, code = timed([*base, "search", *words], args.runs)
            line = f"  {name:<26} {median:6.3f} s  (exit {code})"
            if rg and name == "one word":
                ref, _ = timed([rg, "-il", words[0], str(root / "entries")], args.runs)
                line += f"   rg -il: {ref:.3f} s  (x{median / ref:.1f})"
            print(line)
        listed, _ = timed([*base, "list", "--limit", "10"], args.runs)
        print(f"  {'list --limit 10':<26} {listed:6.3f} s  (start-up and index sync, no search)")
        version, _ = timed([*LESSONS, "--version"], args.runs)
        print(f"  {'lessons --version':<26} {version:6.3f} s  (start-up alone)")
        if not rg:
            print("  rg not installed: no reference ratio (apt-get install ripgrep)")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} CPUs (figures grow with the load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
