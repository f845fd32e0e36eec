"""The connection under every query, and the knowledge bases a query covers.

A shared index (PostgreSQL, ``shared = True``) holds the rows of many knowledge
bases, each under its key (``kb``). This process syncs one of them, its ``home``,
and reads those of ``scope`` (all when None). The queries of this package are
written once: ``own()`` and ``seen()`` add the condition on ``kb`` that a shared
index needs and nothing on a single-KB (SQLite) index, whose SQL is as it was. A
record of another knowledge base is named ``KB:ID`` (its *ref*); one of the home
knowledge base keeps its plain id, so everything above the store names records by
one string either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


def split_ref(ref: str) -> tuple[str | None, str]:
    """``KB:ID`` -> (KB, ID); a plain id -> (None, id)."""
    kb, sep, rid = ref.rpartition(":")
    return (kb, rid) if sep else (None, ref)


def sql_text(value: str) -> str:
    """A string as an SQL literal (knowledge-base keys are slugs; quotes doubled anyway)."""
    if "\x00" in value:
        raise ValueError("NUL in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size``: SQLite allows only so many parameters a query."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Connection:
    """The DB-API connection, transactions, and the knowledge bases a query covers."""

    param = "?"
    url: str
    # Many knowledge bases in one index (PostgreSQL); False: one (SQLite).
    shared = False
    # The knowledge base this process syncs, and the ones its reads cover (None: all).
    home: str | None = None
    scope: tuple[str, ...] | None = None

    def __init__(self, url: str, conn: Any) -> None:
        self.url = url
        self.conn = conn

    def sql(self, query: str) -> str:
        """The query in this engine's parameter style."""
        if self.param == "?":
            return query
        # pyformat: a literal % (the trigram operator, a LIKE pattern) is doubled.
        return query.replace("%", "%%").replace("?", self.param)

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement and return its cursor."""
        cur = self.conn.cursor()
        cur.execute(self.sql(query), tuple(params))
        return cur

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows."""
        cur = self.conn.cursor()
        cur.executemany(self.sql(query), list(rows))

    def all(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a query."""
        return list(self.execute(query, params).fetchall())

    def one(self, query: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a query, or None."""
        return self.execute(query, params).fetchone()

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: everything in it lands, or nothing does."""
        self.begin()
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def begin(self) -> None:
        """Start a write transaction (engines override to take the write lock first)."""

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Inside a transaction: many records are about to go into an empty index."""
        yield

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while the schema is checked and (re)created: one process at a time."""
        yield

    def own(self, alias: str = "", *, where: bool = False) -> str:
        """The condition "a row of the home knowledge base": `` AND kb = 'x'``."""
        if not self.shared:
            return ""
        col = f"{alias}.kb" if alias else "kb"
        home = sql_text(self.home) if self.home is not None else "NULL"
        return f"{' WHERE' if where else ' AND'} {col} = {home}"

    def seen(self, alias: str = "", *, where: bool = False) -> str:
        """The condition "a row of a knowledge base the reads cover" (nothing for all)."""
        if not self.shared or self.scope is None:
            return ""
        col = f"{alias}.kb" if alias else "kb"
        names = ", ".join(sql_text(k) for k in self.scope) or "NULL"
        return f"{' WHERE' if where else ' AND'} {col} IN ({names})"

    def own_kb(self) -> str:
        """The ``kb`` value of rows this process writes, as an SQL literal."""
        if not self.shared:
            return "''"
        if self.home is None:
            from lessons.errors import UsageError

            raise UsageError("no knowledge base to publish: run the command inside one (--kb)")
        return sql_text(self.home)

    def ref_sql(self, kb: str, rid: str) -> str:
        """SQL for the ref of a row: its id at home (and always on a single-KB index),
        ``KB:ID`` for a record of another knowledge base."""
        if not self.shared:
            return rid
        if self.home is None:
            return f"{kb} || ':' || {rid}"
        return f"CASE WHEN {kb} = {sql_text(self.home)} THEN {rid} ELSE {kb} || ':' || {rid} END"

    def ref(self, kb: str | None, rid: str) -> str:
        """The ref of record ``rid`` of knowledge base ``kb`` (see ``ref_sql``)."""
        if not self.shared or kb is None or kb == self.home:
            return rid
        return f"{kb}:{rid}"

    def parse_ref(self, ref: str) -> tuple[str | None, str]:
        """(knowledge base, id) a ref names; the knowledge base is None for "any the
        reads cover" (a plain id with no home). ``HOME:ID`` is the plain id."""
        kb, rid = split_ref(ref)
        if kb is None:
            return (self.home if self.shared else None), rid
        if not self.shared:
            # One knowledge base: only its own name qualifies an id.
            return None, rid if kb == self.home else ref
        return kb, rid

    def refs_where(
        self, refs: Sequence[str], kb_col: str = "kb", id_col: str = "id"
    ) -> tuple[str, list[Any]]:
        """The condition "the row is one of ``refs``" and its parameters."""
        if not self.shared:
            ids = [self.parse_ref(r)[1] for r in refs]
            return f"{id_col} IN ({','.join('?' * len(ids))})", ids
        groups: dict[str | None, list[str]] = {}
        for ref in refs:
            kb, rid = self.parse_ref(ref)
            groups.setdefault(kb, []).append(rid)
        parts: list[str] = []
        params: list[Any] = []
        for kb, ids in groups.items():
            marks = ",".join("?" * len(ids))
            if kb is None:
                scope = self.seen(kb_col.rpartition(".")[0])
                parts.append(f"({id_col} IN ({marks}){scope})")
            elif self.scope is not None and kb not in self.scope:
                # A knowledge base the reads do not cover: nothing of it is found.
                parts.append("(1=0)")
                continue
            else:
                parts.append(f"({kb_col} = {sql_text(kb)} AND {id_col} IN ({marks}))")
            params += ids
        return "(" + " OR ".join(parts or ["1=0"]) + ")", params

    def localise(self, rec: dict[str, Any], kb: str | None) -> dict[str, Any]:
        """A record read from knowledge base ``kb``, with its id and link targets as
        refs (a link without ``KB:`` points into the record's own knowledge base)."""
        if not self.shared or kb is None:
            return rec
        rec["kb"] = kb
        if kb == self.home:
            return rec
        rec["id"] = self.ref(kb, rec["id"])
        for link in rec.get("links") or []:
            to_kb, to_id = split_ref(str(link.get("to", "")))
            link["to"] = self.ref(to_kb or kb, to_id)
        return rec

    def knowledge_bases(self) -> list[str]:
        """The keys of the knowledge bases the index holds (one, unnamed, on SQLite)."""
        return [self.home or ""] if not self.shared else []
