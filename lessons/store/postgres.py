"""The PostgreSQL store, for an organisation-wide index shared by many teams."""

from __future__ import annotations

from typing import Any

from lessons.errors import StoreError
from lessons.store.base import Store
from lessons.store.schema import SCHEMA_VERSION


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` and friends as the plain URL libpq accepts."""
    return "postgresql://" + url.split("://", 1)[1]


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy needs to reach the server through psycopg 3."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


class PostgresStore(Store):
    """Tables from the same SQLModel models, reached through psycopg."""

    param = "%s"

    def begin(self) -> None:
        # One sync at a time per index: the lock is held until commit.
        self.execute("LOCK TABLE file IN SHARE ROW EXCLUSIVE MODE")

    def schema_version(self) -> int | None:
        exists = self.one("SELECT to_regclass('meta')")[0]
        if exists is None:
            self.conn.rollback()
            return None
        value = self.get_meta("schema")
        self.conn.rollback()
        return int(value) if value else None

    def create_schema(self) -> None:
        from lessons.store.models import create_tables, drop_tables

        self.conn.rollback()
        target = sqlalchemy_url(self.url)
        drop_tables(target)
        create_tables(target)
        with self.transaction():
            self.set_meta("schema", str(SCHEMA_VERSION))


def open_postgres(url: str) -> PostgresStore:
    """Connect to the server a ``postgresql://`` URL names."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "PostgreSQL needs the psycopg package",
            hint="pip install 'lessons[postgres]'",
        ) from None
    try:
        conn: Any = psycopg.connect(libpq_url(url), connect_timeout=5)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the PostgreSQL index: {exc}".strip()) from None
    return PostgresStore(url, conn)
