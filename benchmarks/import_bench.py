"""How long `lessons import` takes: 10,000 CSV rows, and the real eval corpora.

Runs the real command line in a subprocess (start-up, reading, validation,
writing one YAML file per record and the index sync all count) and prints the
wall time. Issue 3 asks for under 15 s for 10,000 rows on a 2-core machine.

    python benchmarks/import_bench.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO.parent / "shared" / "eval"
CORPUS_MAP = ["--map", "org=team", "--map", "source_url=sources", "--map", "corpus=campaign"]

_WORD_TEXT = (
    "deploy rollback config cache database failover outage latency alert pager dns "
    "certificate quota retry queue timeout replica network storage backup restore "
    "campaign audience survey hashtag apology press launch budget schedule review"
)
WORDS = _WORD_TEXT.split()


def sentence(rng: random.Random, n: int) -> str:
    """Some words, capitalised, ending in a full stop."""
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def make_csv(path: Path, rows: int, seed: int = 3) -> None:
    """A spreadsheet-like CSV: mixed date forms, ;-lists, some duplicate titles."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["Title", "Kind", "Date", "Summary", "Lesson", "Tags", "Team", "Recommendations"]
        )
        for i in range(rows):
            year, month, day = rng.randint(2005, 2025), rng.randint(1, 12), rng.randint(1, 28)
            date = rng.choice(
                [f"{year}-{month:02d}-{day:02d}", f"{day:02d}/{month:02d}/{year}", f"{year}"]
            )
            # Every 50th title repeats an earlier one: ids must still be unique.
            title = sentence(rng, 6) if i % 50 else "Deploy went wrong again"
            out.writerow(
                [
                    title,
                    rng.choice(["mistake", "Success", "observation"]),
                    date,
                    " ".join(sentence(rng, 14) for _ in range(4)),
                    sentence(rng, 12),
                    ";".join(rng.sample(WORDS, 3)),
                    rng.choice(["SRE", "Comms", "Platform"]),
                    ";".join(sentence(rng, 8) for _ in range(2)),
                ]
            )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(kb: Path, *args: str) -> tuple[float, float, str]:
    """Wall time, CPU time (with worker processes) and last stderr line of one run."""
    cpu = _cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(kb), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    cpu = _cpu() - cpu
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"lessons {' '.join(args)} exited {done.returncode}")
    return elapsed, cpu, done.stderr.strip().splitlines()[-1]


def _xlsx(folder: Path, source: Path, rows: int) -> None:
    """The same rows as an .xlsx workbook (written with openpyxl, the dev extra)."""
    try:
        import openpyxl
    except ImportError:
        print("xlsx: skipped (openpyxl is not installed; pip install -e '.[dev]')")
        return
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"Lessons learned register ({rows:,} rows)"])
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    path = folder / "lessons.xlsx"
    book.save(path)
    kb = folder / "kb-xlsx"
    (kb / "entries").mkdir(parents=True)
    elapsed, cpu, summary = run(kb, "import", str(path))
    print(
        f"import of {rows:,} .xlsx rows (a title row above the header): {elapsed:.2f} s wall, "
        f"{cpu:.2f} s CPU (load average {os.getloadavg()[0]:.2f})"
    )
    print(f"  {summary}")


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "lessons.csv"
        make_csv(source, args.rows)
        kb = folder / "kb"
        (kb / "entries").mkdir(parents=True)
        elapsed, cpu, summary = run(kb, "import", str(source))
        files = len(list((kb / "entries").glob("*.yaml")))
        print(
            f"import of {args.rows:,} CSV rows: {elapsed:.2f} s wall, {cpu:.2f} s CPU "
            f"({files:,} files; load average {os.getloadavg()[0]:.2f})"
        )
        print(f"  {summary}")
        _xlsx(folder, source, args.rows)

        corpora = sorted(p for p in EVAL.glob("*.jsonl") if "queries" not in p.name)
        if not corpora:
            print(f"eval corpora: skipped ({EVAL} not found)")
            return
        kb2 = folder / "corpora"
        (kb2 / "entries").mkdir(parents=True)
        total = 0.0
        for corpus in corpora:
            elapsed, _, summary = run(kb2, "import", str(corpus), *CORPUS_MAP)
            total += elapsed
            print(f"  {corpus.name:<28} {elapsed:6.2f} s  {summary.split(' (')[0]}")
        files = len(list((kb2 / "entries").glob("*.yaml")))
        print(f"import of the {len(corpora)} eval corpora: {total:.2f} s wall ({files:,} files)")


if __name__ == "__main__":
    main()
