"""The embedded SQLite store, through the standard library's ``sqlite3``."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from lessons.errors import StoreError
from lessons.filters import Filters
from lessons.fsafe import open_lock
from lessons.store.base import Store
from lessons.store.location import APPLICATION_ID, check_sqlite_file, sqlite_path
from lessons.store.schema import FTS_COLUMNS, SCHEMA_VERSION, TABLES


def _fts_ddl(name: str, options: str, vocab: str) -> list[str]:
    """An external-content FTS5 table over ``record``, its triggers and its vocabulary."""
    cols = ", ".join(FTS_COLUMNS)
    new = ", ".join("new." + c for c in FTS_COLUMNS)
    old = ", ".join("old." + c for c in FTS_COLUMNS)
    insert = f"INSERT INTO {name}(rowid, {cols}) VALUES (new.pk, {new});"
    delete = f"INSERT INTO {name}({name}, rowid, {cols}) VALUES ('delete', old.pk, {old});"
    return [
        f"CREATE VIRTUAL TABLE {name} USING fts5({cols}, content='record', content_rowid='pk', "
        f"{options})",
        f"CREATE TRIGGER {name}_ai AFTER INSERT ON record BEGIN {insert} END",
        f"CREATE TRIGGER {name}_ad AFTER DELETE ON record BEGIN {delete} END",
        f"CREATE TRIGGER {name}_au AFTER UPDATE ON record BEGIN {delete} {insert} END",
        f"CREATE VIRTUAL TABLE {vocab} USING fts5vocab({name}, 'row')",
    ]


# External-content FTS5 over the record table, kept in step by triggers (as zk does).
# record_fts is stemmed and ranked with BM25; its vocabulary (record_vocab) gives
# document frequencies. record_words holds the same text without stemming and without
# positions (small): its vocabulary holds the words as written, which search needs
# to correct typos ("showing results for certificate", not "certif"), to find
# hyphen/space and British/American variants, and for the document frequencies
# of feedback terms.
_FTS_DDL = [
    *_fts_ddl("record_fts", "tokenize='porter unicode61 remove_diacritics 2'", "record_vocab"),
    *_fts_ddl(
        "record_words",
        "detail='none', tokenize='unicode61 remove_diacritics 2'",
        "record_words_vocab",
    ),
]


class SQLiteStore(Store):
    """The default store: one file, ``.lessons/index.db`` under the knowledge base."""

    def __init__(self, url: str, path: Path, *, new: bool = False, frozen: bool = False) -> None:
        self.path = path
        super().__init__(url, _connect_frozen(path) if frozen else _connect(path, new=new))

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now, so two syncs cannot interleave.
        self.conn.execute("BEGIN IMMEDIATE")

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Fill an empty index fast: FTS tables are built once at the end, not row by row.

        Runs inside the caller's transaction, so a killed process leaves the
        index as it was (empty) and the next command starts the build again.
        """
        triggers = self.all("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        fts = [
            r[0]
            for r in self.all(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5(%content=%'"
            )
        ]
        for name, _sql in triggers:
            self.conn.execute(f"DROP TRIGGER {name}")
        yield
        for name in fts:
            self.conn.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
        for _name, sql in triggers:
            self.conn.execute(sql)

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """A lock file beside the index: processes that find no index wait for the one
        creating it, instead of dropping and creating the tables under each other."""
        import fcntl

        with open_lock(self.path.parent / f"{self.path.name}.lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[str]:
        # A range over the id index (SQLite compares text as bytes); LIKE would scan.
        rows = self.all(
            f"SELECT id FROM record WHERE id >= ? AND id < ? ORDER BY id LIMIT {int(limit)}",
            (prefix, prefix + "\U0010ffff"),
        )
        return [r[0] for r in rows]

    def schema_version(self) -> int | None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        return int(version) or None

    def create_schema(self) -> None:
        from lessons.store.models import create_tables

        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for name in ("record_words_vocab", "record_words", "record_vocab", "record_fts"):
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")
            for name in TABLES:
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        # The marker that proves the file is ours, before anything else is written.
        self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        create_tables(self.url)
        self.conn.execute("BEGIN IMMEDIATE")
        for ddl in _FTS_DDL:
            self.conn.execute(ddl)
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.conn.execute("COMMIT")

    # --- search ------------------------------------------------------------------

    def fts_scores(
        self,
        expr: str,
        weights: Sequence[float],
        among: Collection[int] | None = None,
        filters: Filters | None = None,
    ) -> dict[int, float]:
        # Every match is scored (``among`` and ``filters`` are for engines that pool).
        if not expr:
            return {}
        w = ", ".join(repr(float(x)) for x in weights)
        # No join with the record table here: with one, SQLite may run the MATCH once
        # per record (seconds at 10,000 records). Filters are applied by the caller.
        # bm25() is lower for better matches; search adds scores up, so flip the sign
        # (in SQL: dict() then builds the mapping in C, a third of the time per match).
        rows = self.conn.execute(
            f"SELECT rowid, -bm25(record_fts, {w}) FROM record_fts WHERE record_fts MATCH ?",
            (expr,),
        )
        return dict(rows)

    def fts_top(
        self,
        groups: Sequence[tuple[str, float]],
        weights: Sequence[float],
        limit: int,
        filters: Filters | None = None,
    ) -> tuple[list[tuple[int, float]], int] | None:
        # A group that matches nothing (a synonym no record uses) is dropped first:
        # one group alone is ranked without the union below, in half the time.
        groups = [(expr, weight) for expr, weight in groups if expr and self.fts_exists(expr)]
        if not groups:
            return [], 0
        w = ", ".join(repr(float(x)) for x in weights)
        # All in SQLite: ranking one word over 10,000 records costs a few ms this way,
        # against tens of ms when every match crosses into Python.
        cond, params = self.where(filters) if filters and not filters.is_empty() else ("", [])
        if len(groups) == 1 and not cond:
            ((expr, weight),) = groups
            rows = self.conn.execute(
                f"SELECT rowid, bm25(record_fts, {w}) FROM record_fts WHERE record_fts MATCH ?"
                f" ORDER BY 2, 1 LIMIT {int(limit)}",
                (expr,),
            ).fetchall()
            (total,) = self.conn.execute(
                "SELECT count(*) FROM record_fts WHERE record_fts MATCH ?", (expr,)
            ).fetchone()
            return [(pk, -weight * score) for pk, score in rows], total
        union = " UNION ALL ".join(
            f"SELECT rowid, {float(weight)!r} * bm25(record_fts, {w}) AS s"
            " FROM record_fts WHERE record_fts MATCH ?"
            for _, weight in groups
        )
        # The filters select pks through the record table's indexes, after the MATCH
        # has run (LIMIT -1 keeps the subquery apart, and keeps SQLite from flattening
        # it into the aggregate, where bm25() cannot run): joined inside it, SQLite
        # may run the MATCH once per record, and a join reads every matching row.
        within = f" WHERE m.rowid IN (SELECT r.pk FROM record r WHERE {cond})" if cond else ""
        rows = self.conn.execute(
            f"SELECT m.rowid, min(m.s), count(*) OVER () FROM ({union} LIMIT -1) m{within}"
            f" GROUP BY m.rowid ORDER BY 2, 1 LIMIT {int(limit)}",
            [*(expr for expr, _ in groups), *params],
        ).fetchall()
        return [(pk, -score) for pk, score, _ in rows], (rows[0][2] if rows else 0)

    def fts_exists(self, expr: str) -> bool:
        if not expr:
            return False
        sql = "SELECT 1 FROM record_fts WHERE record_fts MATCH ? LIMIT 1"
        return self.conn.execute(sql, (expr,)).fetchone() is not None

    def search_snippets(self, expr: str, pks: Sequence[int]) -> dict[int, list[str]]:
        if not expr or not pks:
            return {}
        # lesson, recommendations, summary, the other text (FTS_COLUMNS order).
        cols = [FTS_COLUMNS.index(c) for c in ("lesson", "recommendations", "summary", "body")]
        calls = ", ".join(f"snippet(record_fts, {c}, char(2), char(3), '…', 20)" for c in cols)
        marks = ",".join("?" * len(pks))
        rows = self.conn.execute(
            f"SELECT rowid, {calls} FROM record_fts WHERE record_fts MATCH ?"
            f" AND rowid IN ({marks})",
            (expr, *pks),
        )
        return {row[0]: list(row[1:]) for row in rows}

    def word_counts(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for term, n in self.conn.execute(
                f"SELECT term, doc FROM record_words_vocab WHERE term IN ({marks})", chunk
            ):
                out[term] = n
        return out

    def words_starting(self, start: str, min_len: int, max_len: int) -> list[tuple[str, int]]:
        if start:
            # The vocabulary is sorted: a range on term reads only that stretch of it.
            rows = self.conn.execute(
                "SELECT term, doc FROM record_words_vocab WHERE term >= ? AND term < ?"
                " AND length(term) BETWEEN ? AND ?",
                (start, start + "\U0010ffff", min_len, max_len),
            )
        else:
            rows = self.conn.execute(
                "SELECT term, doc FROM record_words_vocab WHERE length(term) BETWEEN ? AND ?",
                (min_len, max_len),
            )
        return [(t, n) for t, n in rows]


def _connect(path: Path, *, new: bool = False) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the index: {exc}", path=str(path)) from None
    conn.execute("PRAGMA busy_timeout = 30000")
    if new:
        # The marker goes into the header with the very first page written, so no
        # other process ever sees this file without it.
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    with contextlib.suppress(sqlite3.OperationalError):
        # WAL lets readers go on while a sync writes; it needs a writable folder.
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    # sqlite3 opens transactions on its own in legacy mode; isolation_level=None
    # means we issue BEGIN/COMMIT ourselves, and rollback()/commit() must match.
    return conn


def _connect_frozen(path: Path) -> sqlite3.Connection:
    """A connection that only reads the database file as it is: no lock, no WAL, no
    shared-memory file (a full file system has no room to grow one)."""
    from urllib.parse import quote

    try:
        return sqlite3.connect(
            f"file:{quote(str(path))}?immutable=1", uri=True, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the index: {exc}", path=str(path)) from None


def open_sqlite(url: str, *, legacy_ok: bool = False, frozen: bool = False) -> SQLiteStore:
    """Open (creating the folder if needed) the SQLite file a ``sqlite:///`` URL names,
    after making sure a file already there is one of our indexes. ``frozen`` opens
    an existing index to read it as it stands, writing nothing at all."""
    path = sqlite_path(url)
    existing = check_sqlite_file(path, legacy_ok=legacy_ok)
    if frozen and not existing:
        raise StoreError("there is no index to read", path=str(path))
    return SQLiteStore(url, path, new=not existing, frozen=frozen)
