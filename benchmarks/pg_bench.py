"""The shared PostgreSQL index at scale (issue 16): many knowledge bases published into
one database, then searched end to end as a user runs the commands.

    python benchmarks/pg_bench.py                          # 10 and 100 knowledge bases
    python benchmarks/pg_bench.py --checkpoints 2 --records 1000 --runs 3   # a quick look

It makes a fresh database (dropped first: ``--db`` must name a scratch database the
``--admin`` URL may drop and create), then publishes generated knowledge bases of
``--records`` records each (benchmarks/generate.py, one seed per knowledge base, so
every one holds different text) one after another. Each is generated into a
temporary folder, published with ``lessons --db URL index`` (timed) and deleted, so
the disk holds one at a time. At each checkpoint (a number of knowledge bases
published) it times, median of ``--runs``, wall clock, from a folder that is no
knowledge base (so no publication first):

- publishing a new knowledge base (the last one of the checkpoint, into the index
  as it stood), and publishing it again with nothing changed;
- ``search`` of one word, two words, a phrase, a typo, one word in one knowledge
  base (``--from-kb``), ``list --tag``, ``show KB:ID``.

It prints a table with a column per checkpoint, the machine's load average, and the
size of the database. Nothing here is asserted; timings vary with the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import ENV, LESSONS, compile_package, timed  # noqa: E402

WORD, WORD2, TYPO, TAG = "certificate", "expired", "certficate", "apology"


def psql(admin: str, sql: str) -> list[tuple[object, ...]]:
    """Run one statement as the admin role (autocommit: CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        cur = conn.execute(sql)
        return list(cur.fetchall()) if cur.description else []


def fresh_database(admin: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    psql(admin, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
    psql(admin, f'CREATE DATABASE "{name}"')


def publish(root: Path, url: str) -> tuple[float, int]:
    """Seconds and exit code of one `lessons --db URL index` in ``root``."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*LESSONS, "--db", url, "index"],
        cwd=root,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"  publication failed: {proc.stderr.strip()}", file=sys.stderr)
    return elapsed, proc.returncode


def make_kb(work: Path, n: int, records: int) -> tuple[Path, list[str]]:
    root = work / f"team-{n:03d}"
    ids = generate(root, records, seed=1000 + n)
    (root / "lessons.yaml").write_text(f"name: team-{n:03d}\n", encoding="utf-8")
    return root, ids


def measure(
    url: str, work: Path, root: Path, ids: list[str], n: int, runs: int, took: float
) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {"publish a new knowledge base": (took, 0)}
    t, _rss, code = timed([*LESSONS, "--kb", str(root), "--db", url, "index"], runs)
    out["publish again, nothing changed"] = (t, code)
    anywhere = work / "elsewhere"
    anywhere.mkdir(exist_ok=True)
    kb = f"team-{n:03d}"
    commands = {
        "search one word": ["search", WORD],
        "search two words": ["search", WORD, WORD2],
        "search phrase": ["search", f'"{WORD} {WORD2}"'],
        "search typo": ["search", TYPO],
        "search one word --from-kb": ["--from-kb", kb, "search", WORD],
        "list --tag T --limit 20": ["list", "--tag", TAG, "--limit", "20"],
        "show KB:ID": ["show", f"{kb}:{ids[len(ids) // 2]}"],
    }
    for label, args in commands.items():
        cmd = [*LESSONS, "--db", url, *args]
        # The commands run from a folder that is no knowledge base: reads only.
        t, _rss, code = timed_in(anywhere, cmd, runs)
        out[label] = (t, code)
    return out


def timed_in(cwd: Path, cmd: list[str], runs: int) -> tuple[float, int, int]:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return timed(cmd, runs)
    finally:
        os.chdir(here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lessons_bench")
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    fresh_database(args.admin, args.db)
    work = Path(tempfile.mkdtemp(prefix="lessons-pg-bench-"))
    table: dict[int, dict[str, tuple[float, int]]] = {}
    loads: dict[int, float] = {}
    sizes: dict[int, str] = {}
    published = 0
    try:
        for checkpoint in sorted(args.checkpoints):
            while published < checkpoint:
                published += 1
                root, ids = make_kb(work, published, args.records)
                took, code = publish(root, args.db)
                print(
                    f"  knowledge base {published}: published in {took:.1f} s"
                    + ("" if code == 0 else f" (exit {code})"),
                    file=sys.stderr,
                )
                if published < checkpoint:
                    shutil.rmtree(root)
            records = published * args.records
            print(f"{records:,} records in {published} knowledge bases", file=sys.stderr)
            table[records] = measure(args.db, work, root, ids, published, args.runs, took)
            for label, (t, code) in table[records].items():
                print(
                    f"  {label:<34} {t:8.3f} s" + ("" if code in (0, 1) else f" exit {code}"),
                    file=sys.stderr,
                )
            loads[records] = os.getloadavg()[0]
            name = args.db.rsplit("/", 1)[1]
            sizes[records] = str(
                psql(args.admin, f"SELECT pg_size_pretty(pg_database_size('{name}'))")[0][0]
            )
            shutil.rmtree(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cols = list(table)
    print("| command | " + " | ".join(f"{n:,} records" for n in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label in table[cols[0]]:
        cells = []
        for n in cols:
            t, code = table[n][label]
            cells.append(f"{t:.3f} s" + ("" if code in (0, 1) else f" (exit {code})"))
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    print("| database size | " + " | ".join(sizes[n] for n in cols) + " |")
    print(
        "\n(median of "
        + f"{args.runs} runs; load average "
        + ", ".join(f"{loads[n]:.2f} at {n:,}" for n in cols)
        + f" on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
