"""The embedded SQLite store, through the standard library's ``sqlite3``."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from lessons.errors import StoreError
from lessons.store.base import Store
from lessons.store.schema import FTS_COLUMNS, SCHEMA_VERSION, TABLES

# External-content FTS5 over the record table, kept in step by triggers (as zk does).
_FTS_DDL = [
    f"""CREATE VIRTUAL TABLE record_fts USING fts5(
        {", ".join(FTS_COLUMNS)},
        content='record', content_rowid='pk',
        tokenize="porter unicode61 remove_diacritics 2")""",
    f"""CREATE TRIGGER record_ai AFTER INSERT ON record BEGIN
        INSERT INTO record_fts(rowid, {", ".join(FTS_COLUMNS)})
        VALUES (new.pk, {", ".join("new." + c for c in FTS_COLUMNS)});
    END""",
    f"""CREATE TRIGGER record_ad AFTER DELETE ON record BEGIN
        INSERT INTO record_fts(record_fts, rowid, {", ".join(FTS_COLUMNS)})
        VALUES ('delete', old.pk, {", ".join("old." + c for c in FTS_COLUMNS)});
    END""",
    f"""CREATE TRIGGER record_au AFTER UPDATE ON record BEGIN
        INSERT INTO record_fts(record_fts, rowid, {", ".join(FTS_COLUMNS)})
        VALUES ('delete', old.pk, {", ".join("old." + c for c in FTS_COLUMNS)});
        INSERT INTO record_fts(rowid, {", ".join(FTS_COLUMNS)})
        VALUES (new.pk, {", ".join("new." + c for c in FTS_COLUMNS)});
    END""",
    # The vocabulary of the index: search corrects unknown words against it.
    "CREATE VIRTUAL TABLE record_vocab USING fts5vocab(record_fts, 'row')",
]


class SQLiteStore(Store):
    """The default store: one file, ``.lessons/index.db`` under the knowledge base."""

    def __init__(self, url: str, path: Path) -> None:
        self.path = path
        super().__init__(url, _connect(path))

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now, so two syncs cannot interleave.
        self.conn.execute("BEGIN IMMEDIATE")

    def schema_version(self) -> int | None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        return int(version) or None

    def create_schema(self) -> None:
        from lessons.store.models import create_tables

        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for name in ("record_vocab", "record_fts"):
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")
            for name in TABLES:
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        create_tables(self.url)
        self.conn.execute("BEGIN IMMEDIATE")
        for ddl in _FTS_DDL:
            self.conn.execute(ddl)
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.conn.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the index: {exc}", path=str(path)) from None
    conn.execute("PRAGMA busy_timeout = 30000")
    with contextlib.suppress(sqlite3.OperationalError):
        # WAL lets readers go on while a sync writes; it needs a writable folder.
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    # sqlite3 opens transactions on its own in legacy mode; isolation_level=None
    # means we issue BEGIN/COMMIT ourselves, and rollback()/commit() must match.
    return conn


def open_sqlite(url: str) -> SQLiteStore:
    """Open (creating the folder if needed) the SQLite file a ``sqlite:///`` URL names."""
    path = Path(url.removeprefix("sqlite:///"))
    return SQLiteStore(url, path)


def remove_sqlite(path: Path) -> None:
    """Delete an index file and its WAL companions (a corrupt index is rebuilt)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / (path.name + suffix)).unlink()
