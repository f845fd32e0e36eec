"""Reaching the server: URLs as messages name them, the connection."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from lessons.errors import StoreError
from lessons.store.location import mask_url

NAMESPACE = "lessons"
# Advisory lock keys (first half): the schema (second half 0, taken shared by every
# publication and exclusively by a migration), and one per knowledge base's name.
LOCK_CLASS = 0x1E55
# How long a publication waits for another of the same knowledge base.
LOCK_WAIT = "60s"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` and friends as the plain URL libpq accepts."""
    return "postgresql://" + url.split("://", 1)[1]


def place(url: str) -> str:
    """``HOST/DB`` of a URL, as messages name the index."""
    try:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        host = parts.hostname or query.get("host") or "localhost"
        db = unquote(parts.path.lstrip("/")) or query.get("dbname") or parts.username or "?"
        return f"{host}/{db}"
    except ValueError:
        return "?"


def describe(url: str) -> str:
    """``HOST/DB (masked URL)``."""
    return f"{place(url)} ({mask_url(url)})"


def _reason(exc: BaseException, url: str) -> str:
    """The driver's message on one line, with the password (if it appears) masked."""
    text = " ".join(str(exc).split())
    password = urlsplit(url).password if "://" in url else None
    if password:
        text = text.replace(password, "***").replace(unquote(password), "***")
    return text


def connect(url: str) -> Any:
    """A psycopg connection to the server a ``postgresql://`` URL names (the password, if any, from
    the URL, ``$PGPASSWORD`` or ``~/.pgpass``, as libpq finds it)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "PostgreSQL needs the psycopg package",
            hint="pip install 'lessons[postgres]'",
        ) from None
    try:
        conn: Any = psycopg.connect(
            libpq_url(url),
            connect_timeout=5,
            application_name="lessons",
            # Unqualified names are the index's own tables; pg_trgm may live in public.
            options=f"-c search_path={NAMESPACE},public",
        )
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot connect to the PostgreSQL index at {describe(url)}: {_reason(exc, url)}",
            hint="check the URL, that the server runs, and the password ($PGPASSWORD or ~/.pgpass)",
        ) from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn
