"""The shared PostgreSQL index at scale (issue 16): many knowledge bases published into
one database, then searched end to end as a user runs the commands.

    python benchmarks/pg_bench.py                          # 10 and 100 knowledge bases
    python benchmarks/pg_bench.py --checkpoints 2 --records 1000 --runs 3   # a quick look
    python benchmarks/pg_bench.py --checkpoints 100 --copy 10 --runs 3      # 1,000,000 faster

It makes a fresh database (dropped first: ``--db`` must name a scratch database the
``--admin`` URL may drop and create; ``--reuse`` keeps it and what it holds), then
publishes generated knowledge bases of ``--records`` records each
(benchmarks/generate.py, one seed per knowledge base, so every one holds different
text): each is generated into a temporary folder, published with
``lessons --db URL index`` and deleted, ``--jobs`` at a time. ``--copy N`` makes every
knowledge base past the first N an SQL copy of one of them instead (its documents copied
with it; the full-text indexes are built once at the end).

At each checkpoint (a number of knowledge bases) the last one is published anew,
timed, into the index as it stands (dropped and the table vacuumed first, when an
earlier run left it there), and then, median of ``--runs``, wall clock, from a
folder that is no knowledge base (so no publication first):

- publishing it again with nothing changed (``--words-only``: every publication is
  ``index --words-only``, the words without the vectors, which `index` otherwise
  computes after them: a transformer's minutes for 10,000 records);
- ``search`` of one word, two words, a phrase, a typo, one word in one knowledge
  base (``--from-kb``), ``list --tag``, ``show KB:ID``, ``related KB:ID``.

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


# `index` embeds the new records after publishing their words (a transformer's minutes
# for 10,000); --words-only makes every publication here `index --words-only`.
INDEX = ["index"]


def publish(root: Path, url: str) -> tuple[float, int]:
    """Seconds and exit code of one `lessons --db URL index` in ``root``."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*LESSONS, "--db", url, *INDEX],
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
    t, _rss, code = timed([*LESSONS, "--kb", str(root), "--db", url, *INDEX], runs)
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
        "related KB:ID": ["related", f"{kb}:{ids[len(ids) // 2]}"],
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


def published_kbs(admin: str, url: str) -> set[str]:
    """The knowledge bases the index holds (none when it has no schema yet)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT DISTINCT kb FROM lessons.meta WHERE key = 'config'")
            return {r[0] for r in rows}
    except psycopg.Error:
        return set()


def copy_kb(url: str, old: str, new: str) -> None:
    """Knowledge base ``new`` as a copy of ``old``'s rows, documents and statistics, in
    one transaction (the server indexes them as for a publication)."""
    import psycopg

    from lessons.store.postgres import DOC_COLUMNS
    from lessons.store.schema import RECORD_COLUMNS

    cols = ", ".join((*RECORD_COLUMNS, *DOC_COLUMNS))
    with psycopg.connect(url) as conn:
        p = {"old": old, "new": new}
        conn.execute(
            f"INSERT INTO lessons.record (kb, {cols}) SELECT %(new)s, {cols}"
            " FROM lessons.record WHERE kb = %(old)s",
            p,
        )
        for table, others in (
            ("file", "path, mtime_ns, size, digest, record_id, problems, duplicate"),
            ("tag", "record_id, tag"),
            ("link", "src, dst, rel, note, seq, dst_kb"),
            ("action", "record_id, seq, task, owner, due, status"),
            ("word", "word, ndoc"),
            ("term", "term, ndoc"),
            ("kb_total", "records, tokens"),
            ("meta", "key, value"),
        ):
            select = others.replace(
                "dst_kb", "CASE WHEN dst_kb = %(old)s THEN %(new)s ELSE dst_kb END"
            )
            conn.execute(
                f"INSERT INTO lessons.{table} (kb, {others}) SELECT %(new)s, {select}"
                f" FROM lessons.{table} WHERE kb = %(old)s",
                p,
            )
        # The champion lists (schema version 5), their records the copies' own.
        if conn.execute("SELECT to_regclass('lessons.champion')").fetchone()[0] is not None:
            conn.execute(
                "INSERT INTO lessons.champion (term, kb, pks, scores)"
                " SELECT c.term, %(new)s, array_agg(n.pk ORDER BY e.i), array_agg(e.s ORDER BY e.i)"
                " FROM lessons.champion c"
                " CROSS JOIN LATERAL unnest(c.pks, c.scores) WITH ORDINALITY e(pk, s, i)"
                " JOIN lessons.record o ON o.pk = e.pk"
                " JOIN lessons.record n ON n.kb = %(new)s AND n.id = o.id"
                " WHERE c.kb = %(old)s GROUP BY c.term",
                p,
            )
        # The vectors too (by record id: each copy's records have pks of their own), so
        # that a hybrid search at this size reads as many vectors as a published index's.
        conn.execute(
            "INSERT INTO lessons.record_vector (pk, digest, vec) SELECT n.pk, v.digest, v.vec"
            " FROM lessons.record o JOIN lessons.record n ON n.kb = %(new)s AND n.id = o.id"
            " JOIN lessons.record_vector v ON v.pk = o.pk WHERE o.kb = %(old)s",
            p,
        )


# The indexes a bulk copy drops and builds again afterwards (store/migrations.py).
_BULK_INDEXES = {
    "ix_record_tsv": "USING gin (tsv)",
    "ix_record_id_trgm": "USING gin (id gin_trgm_ops)",
    "ix_record_rum": "USING rum (tsv rum_tsvector_ops)",
}


def bulk_copy(url: str, pairs: list[tuple[str, str]]) -> None:
    """Many copies at once: the full-text indexes are dropped, the rows copied, and
    the indexes built again in one pass each (an index built at once is far faster
    than one kept up row by row)."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        present = {
            name
            for (name,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'lessons'"
            )
        }
        for name in _BULK_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS lessons.{name}")
    for old, new in pairs:
        copy_kb(url, old, new)
        print(f"  {new} copied ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET search_path = lessons, public")
        for name, how in _BULK_INDEXES.items():
            if name in present:
                conn.execute(f"CREATE INDEX {name} ON lessons.record {how}")
                print(f"  {name} built ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        conn.execute("VACUUM ANALYZE")
    print(f"  bulk copy done in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def fill(
    work: Path,
    url: str,
    upto: int,
    records: int,
    jobs: int,
    have: set[str],
    copy_from: int = 0,
) -> None:
    """Publish team-001 .. team-UPTO that the index lacks, ``jobs`` at a time; beyond
    the first ``copy_from`` (when set), copy those in SQL instead of publishing."""
    from concurrent.futures import ThreadPoolExecutor

    if copy_from:
        pairs = [
            (f"team-{(n - 1) % copy_from + 1:03d}", f"team-{n:03d}")
            for n in range(copy_from + 1, upto + 1)
            if f"team-{n:03d}" not in have
        ]
        if pairs:
            fill(work, url, copy_from, records, jobs, have)
            bulk_copy(url, pairs)
            have.update(new for _, new in pairs)
        return

    def one(n: int) -> None:
        if f"team-{n:03d}" in have:
            return
        root, _ids = make_kb(work, n, records)
        took, code = publish(root, url)
        print(f"  team-{n:03d} published in {took:.1f} s (exit {code})", file=sys.stderr)
        shutil.rmtree(root)
        if code == 0:
            have.add(f"team-{n:03d}")

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, range(1, upto + 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lessons_bench")
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="Publications at once while filling.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the database and the knowledge bases it holds (made by an earlier run).",
    )
    parser.add_argument("--fill-only", action="store_true", help="Publish, measure nothing.")
    parser.add_argument(
        "--words-only",
        action="store_true",
        help="Publish with `index --words-only` (no vectors: the publication alone is timed).",
    )
    parser.add_argument(
        "--copy",
        type=int,
        default=0,
        metavar="N",
        help="Past the first N knowledge bases, fill with SQL copies of them (faster).",
    )
    args = parser.parse_args()
    if args.words_only:
        INDEX.append("--words-only")
    compile_package()
    if not args.reuse:
        fresh_database(args.admin, args.db)
    have = published_kbs(args.admin, args.db)
    work = Path(tempfile.mkdtemp(prefix="lessons-pg-bench-"))
    table: dict[int, dict[str, tuple[float, int]]] = {}
    loads: dict[int, float] = {}
    sizes: dict[int, str] = {}
    try:
        for checkpoint in sorted(args.checkpoints):
            if args.fill_only:
                # One fill up to the checkpoint itself: filling to checkpoint - 1 first
                # would bulk-copy the last one alone (its indexes dropped and rebuilt).
                fill(work, args.db, checkpoint, args.records, args.jobs, have, args.copy)
                continue
            fill(work, args.db, checkpoint - 1, args.records, args.jobs, have, args.copy)
            # The checkpoint's last knowledge base is published anew, timed, into the
            # index as it stands (dropped first if an earlier run left it there).
            root, ids = make_kb(work, checkpoint, args.records)
            if f"team-{checkpoint:03d}" in have:
                subprocess.run(
                    [*LESSONS, "--db", args.db, "index", "--drop"],
                    cwd=root,
                    env=ENV,
                    check=True,
                    capture_output=True,
                )
                # As autovacuum would before long: the publication is timed into the
                # table as it stands, not among the 10,000 rows just deleted.
                psql(args.db, "VACUUM ANALYZE lessons.record")
            took, code = publish(root, args.db)
            have.add(f"team-{checkpoint:03d}")
            records = checkpoint * args.records
            print(f"{records:,} records in {checkpoint} knowledge bases", file=sys.stderr)
            table[records] = measure(args.db, work, root, ids, checkpoint, args.runs, took)
            for label, (t, code) in table[records].items():
                flag = "" if code in (0, 1) else f" exit {code}"
                print(f"  {label:<34} {t:8.3f} s{flag}", file=sys.stderr)
            loads[records] = os.getloadavg()[0]
            name = args.db.rsplit("/", 1)[1]
            size = psql(args.admin, f"SELECT pg_size_pretty(pg_database_size('{name}'))")
            sizes[records] = str(size[0][0])
            shutil.rmtree(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not table:
        return
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
