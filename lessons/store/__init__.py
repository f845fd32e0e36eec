"""The index store: SQLModel tables, one adapter per engine."""

from __future__ import annotations

from lessons.errors import UsageError
from lessons.store.base import Store


def open_store(url: str, *, legacy_ok: bool = False) -> Store:
    """Open the store a URL names: ``sqlite:///PATH`` or ``postgresql://...``.

    An existing SQLite file is opened only if it is one of our indexes (see
    ``store/location.py``); ``legacy_ok`` also accepts one made before the marker.
    """
    if url.startswith("sqlite:///"):
        from lessons.store.sqlite import open_sqlite

        return open_sqlite(url, legacy_ok=legacy_ok)
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from lessons.store.postgres import open_postgres

        return open_postgres(url)
    raise UsageError(
        f"unsupported index URL: {url}",
        hint="use sqlite:///PATH or postgresql://USER@HOST/DB",
    )


__all__ = ["Store", "open_store"]
