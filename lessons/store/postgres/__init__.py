"""The PostgreSQL store: one index for a whole organisation, shared by many knowledge
bases (docs/postgres.md).

Its tables live in their own schema, ``lessons`` (never another application's
``public.record``), made and upgraded in place by ``store/migrations.py`` under an
advisory lock. Every row carries its knowledge base (``kb``); a publication (a
sync) of one knowledge base is one transaction that holds a lock of its own name
only, so that many teams publish at once; reads run in one snapshot each
(repeatable read), so that a search never sees half a publication.

The store is put together from one part per concern: ``connect`` (URLs, the
connection), ``plumbing`` (errors, transactions, locks), ``schema`` (versions,
privileges, knowledge bases), ``publish`` (rows, documents and statistics in and
out) and ``search``.
"""

from __future__ import annotations

from lessons.store.base import sql_text
from lessons.store.location import mask_url
from lessons.store.postgres.connect import (
    LOCK_CLASS,
    NAMESPACE,
    connect,
    describe,
    libpq_url,
    place,
)
from lessons.store.postgres.publish import DOC_COLUMNS, Publishing, words_of
from lessons.store.postgres.schema import TABLES, Schema
from lessons.store.postgres.search import EXACT_UP_TO, POOL, Searching


class PostgresStore(Searching, Publishing, Schema):
    """Tables from the same SQLModel models, reached through psycopg."""


def open_postgres(url: str) -> PostgresStore:
    """Connect to the server a ``postgresql://`` URL names (the password, if any, from
    the URL, ``$PGPASSWORD`` or ``~/.pgpass``, as libpq finds it)."""
    return PostgresStore(url, connect(url))


__all__ = [
    "DOC_COLUMNS",
    "EXACT_UP_TO",
    "LOCK_CLASS",
    "NAMESPACE",
    "POOL",
    "TABLES",
    "PostgresStore",
    "describe",
    "libpq_url",
    "mask_url",
    "open_postgres",
    "place",
    "sql_text",
    "words_of",
]
