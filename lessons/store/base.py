"""The index store: one class over a DB-API connection, one subclass per engine.

The tables are the SQLModel models of ``store/models.py`` and are created from
them. Reads and the incremental sync go through plain DB-API SQL: importing
SQLAlchemy and SQLModel costs about 0.35 s, more than a whole search may take,
so the hot path never pays for it (SPEC §9, issue 8). The schema is made with
SQLModel only when an index is created, rebuilt or upgraded.

Knowledge bases. A shared index (PostgreSQL, ``shared = True``) holds the rows of
many knowledge bases, each under its key (``kb``). This process syncs one of them,
its ``home``, and reads those of ``scope`` (all when None). The queries below are
written once: ``own()`` and ``seen()`` add the condition on ``kb`` that a shared
index needs and nothing on a single-KB (SQLite) index, whose SQL is as it was. A
record of another knowledge base is named ``KB:ID`` (its *ref*); one of the home
knowledge base keeps its plain id, so everything above the store names records
by one string either way.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from lessons.filters import Filters
from lessons.model import IMPACT_RANK, STANDARD_KEYS
from lessons.store.schema import (
    ACTION_COLUMNS,
    FILE_COLUMNS,
    GLOBAL_META,
    LINK_COLUMNS,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    TAG_COLUMNS,
)

SORTS = ("date", "title", "impact", "id")

_R_ID = re.compile(r"\br\.id\b")


def split_ref(ref: str) -> tuple[str | None, str]:
    """``KB:ID`` -> (KB, ID); a plain id -> (None, id)."""
    kb, sep, rid = ref.rpartition(":")
    return (kb, rid) if sep else (None, ref)


def sql_text(value: str) -> str:
    """A string as an SQL literal (knowledge-base keys are slugs; quotes doubled anyway)."""
    if "\x00" in value:
        raise ValueError("NUL in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


class Store:
    """The index: files seen, records, tags, links and actions, plus the queries over them."""

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

    # --- plumbing --------------------------------------------------------------

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

    # --- knowledge bases (no-ops on a single-KB index) ----------------------------

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

    def forget_kb(self) -> int:
        """Inside a transaction: delete every row of the home knowledge base (on a
        single-KB index, every row but the schema's); return how many files it knew."""
        gone = self.file_count()
        own = self.own(where=True)
        for table in ("tag", "link", "action", "record", "file"):
            self.execute(f"DELETE FROM {table}{own}")
        self.execute(f"DELETE FROM meta WHERE key <> 'schema'{self.own()}")
        return gone

    def knowledge_bases(self) -> list[str]:
        """The keys of the knowledge bases the index holds (one, unnamed, on SQLite)."""
        return [self.home or ""] if not self.shared else []

    # --- schema ----------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The version the index was built with, or None for an empty store."""
        raise NotImplementedError

    def create_schema(self) -> None:
        """Drop whatever is there and create the tables afresh."""
        raise NotImplementedError

    def _meta_kb(self, key: str) -> str:
        return "''" if key in GLOBAL_META else self.own_kb()

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table (the home knowledge base's, on a shared index)."""
        kb = f" AND kb = {self._meta_kb(key)}" if self.shared else ""
        row = self.one(f"SELECT value FROM meta WHERE key = ?{kb}", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        if not self.shared:
            self.execute("DELETE FROM meta WHERE key = ?", (key,))
            self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return
        kb = self._meta_kb(key)
        self.execute(f"DELETE FROM meta WHERE key = ? AND kb = {kb}", (key,))
        self.execute(f"INSERT INTO meta (key, kb, value) VALUES (?, {kb}, ?)", (key, value))

    def ensure_schema(self, fingerprint: str) -> bool:
        """Make the store current; True when it was (re)created and must be filled."""
        fresh = self.schema_version() != SCHEMA_VERSION
        if not fresh and self.get_meta("config") != fingerprint:
            fresh = True
        if fresh:
            with self.schema_lock():
                # Another process may have made it while this one waited for the lock.
                fresh = self.schema_version() != SCHEMA_VERSION
                if fresh or self.get_meta("config") != fingerprint:
                    fresh = True
                    self.create_schema()
                    with self.transaction():
                        self.set_meta("config", fingerprint)
        return fresh

    # --- writing (used by the indexer; always the home knowledge base) ------------

    def file_signatures(self) -> set[str]:
        """``"<path>\\t<mtime_ns>\\t<size>"`` of every file indexed (see ``indexer.scan``)."""
        rows = self.execute(
            f"SELECT path || '\t' || mtime_ns || '\t' || size FROM file{self.own(where=True)}"
        )
        return {r[0] for r in rows}

    def file_paths(self) -> list[str]:
        """The path of every entry file indexed, valid or not."""
        return [r[0] for r in self.all(f"SELECT path FROM file{self.own(where=True)}")]

    def file_count(self) -> int:
        """How many entry files the index has seen, valid or not."""
        return int(self.one(f"SELECT count(*) FROM file{self.own(where=True)}")[0])

    def file_digests(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> content hash, for the given indexed files."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(paths), 500):
            marks = ",".join("?" * len(chunk))
            for path, digest in self.all(
                f"SELECT path, digest FROM file WHERE path IN ({marks}){self.own()}", chunk
            ):
                out[path] = digest
        return out

    def delete_paths(self, paths: Sequence[str]) -> int:
        """Forget files and their records; return how many records went."""
        gone = 0
        own = self.own()
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            ids = [
                r[0] for r in self.all(f"SELECT id FROM record WHERE path IN ({marks}){own}", chunk)
            ]
            # The record's pk may be given to the next record inserted: its vector goes.
            self.execute(
                "DELETE FROM record_vector WHERE pk IN"
                f" (SELECT pk FROM record WHERE path IN ({marks}){own})",
                chunk,
            )
            self._forget_records(ids)
            for table, col in (("tag", "record_id"), ("link", "src"), ("action", "record_id")):
                for id_chunk in _chunks(ids, 500):
                    id_marks = ",".join("?" * len(id_chunk))
                    self.execute(f"DELETE FROM {table} WHERE {col} IN ({id_marks}){own}", id_chunk)
            self.execute(f"DELETE FROM record WHERE path IN ({marks}){own}", chunk)
            self.execute(f"DELETE FROM file WHERE path IN ({marks}){own}", chunk)
            gone += len(ids)
        return gone

    def _forget_records(self, ids: Sequence[str]) -> None:
        """Records of the home knowledge base are about to be deleted (engines that keep
        more about them, such as word counts, let go of it here)."""

    def put_files(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record what was seen of files: (path, mtime_ns, size, digest, record_id,
        problems as a list of dicts, duplicate)."""
        if not rows:
            return
        self.executemany(f"DELETE FROM file WHERE path = ?{self.own()}", [(r[0],) for r in rows])
        self._insert_rows(
            "file",
            FILE_COLUMNS,
            [(*r[:5], json.dumps(r[5]) if r[5] else None, r[6]) for r in rows],
        )

    def _insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows of the home knowledge base (a single-KB index: ``kb`` is left
        to its default)."""
        marks = ",".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)

    def touch_file(self, path: str, mtime_ns: int, size: int) -> None:
        """The file's stat changed but not its content."""
        self.execute(
            f"UPDATE file SET mtime_ns = ?, size = ? WHERE path = ?{self.own()}",
            (mtime_ns, size, path),
        )

    def owner_of(self, record_id: str) -> str | None:
        """The path of the file that holds ``record_id`` in the index."""
        row = self.one(f"SELECT path FROM record WHERE id = ?{self.own()}", (record_id,))
        return row[0] if row else None

    def file_record(self, path: str) -> tuple[bool, str | None]:
        """Whether the index knows the entry file ``path`` (relative to the root), and
        the id of the record it holds (None when the file is invalid)."""
        row = self.one(f"SELECT record_id FROM file WHERE path = ?{self.own()}", (path,))
        return (row is not None, row[0] if row else None)

    def owners(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> path of the file holding it, for the ids the index has."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for rid, path in self.all(
                f"SELECT id, path FROM record WHERE id IN ({marks}){self.own()}", chunk
            ):
                out[rid] = path
        return out

    def duplicate_files(self) -> list[tuple[str, int, int]]:
        """(path, mtime_ns, size) of files refused because another holds their id."""
        rows = self.all(
            f"SELECT path, mtime_ns, size FROM file WHERE duplicate = ?{self.own()}", (True,)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def _link_row(self, rid: str, link: dict[str, Any], seq: int) -> tuple[Any, ...]:
        return (rid, link["to"], link["rel"], link.get("note"), seq)

    def insert_records(self, items: Sequence[tuple[dict[str, Any], str]]) -> None:
        """Insert valid records (ids known to be free) with their tags, links, actions."""
        if not items:
            return
        rec_rows, tag_rows, link_rows, action_rows = [], [], [], []
        for rec, path in items:
            rec_rows.append(record_row(rec, path))
            rid = rec["id"]
            tag_rows += [(rid, t) for t in rec["tags"]]
            link_rows += [self._link_row(rid, link, i) for i, link in enumerate(rec["links"])]
            action_rows += [
                (rid, i, a["do"], a.get("owner"), a.get("due"), a["status"])
                for i, a in enumerate(rec["actions"])
            ]
        link_cols = LINK_COLUMNS if not self.shared else (*LINK_COLUMNS, "dst_kb")
        for table, cols, rows in (
            ("record", RECORD_COLUMNS, rec_rows),
            ("tag", TAG_COLUMNS, tag_rows),
            ("link", link_cols, link_rows),
            ("action", ACTION_COLUMNS, action_rows),
        ):
            if rows:
                self._insert_rows(table, cols, rows)
        self._inserted(rec_rows)

    def _inserted(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record rows (``RECORD_COLUMNS``) were inserted (engines that keep more about
        them, such as word counts, add to it here)."""

    # --- reading ---------------------------------------------------------------

    def where(self, filters: Filters, alias: str = "r") -> tuple[str, list[Any]]:
        """The SQL condition and parameters that select ``filters``."""
        clauses: list[str] = []
        params: list[Any] = []
        a = alias
        scope = self.seen(a)
        if scope:
            clauses.append(scope.removeprefix(" AND "))
        for col in ("kind", "stage", "impact", "status"):
            value = getattr(filters, col)
            if value:
                clauses.append(f"{a}.{col} = ?")
                params.append(value)
        for col in ("campaign", "team"):
            value = getattr(filters, col)
            spellings = getattr(filters, f"{col}_any")
            if value and spellings:
                # Every spelling of the value the index holds (case and spacing aside).
                clauses.append(f"{a}.{col} IN ({','.join('?' * len(spellings))})")
                params.extend(spellings)
            elif value:
                clauses.append(f"lower({a}.{col}) = lower(?)")
                params.append(value)
        for tag in filters.tags:
            # IN over the tag index: a common tag is a list read once, not a probe per record.
            if self.shared:
                clauses.append(f"({a}.kb, {a}.id) IN (SELECT kb, record_id FROM tag WHERE tag = ?)")
            else:
                clauses.append(f"{a}.id IN (SELECT record_id FROM tag WHERE tag = ?)")
            params.append(tag)
        if filters.since:
            clauses.append(f"{a}.date >= ?")
            params.append(filters.since)
        if filters.until:
            clauses.append(f"{a}.date <= ?")
            params.append(filters.until)
        if filters.linked_to:
            if self.shared:
                kb, rid = self.parse_ref(filters.linked_to)
                k = sql_text(kb or "")
                clauses.append(
                    f"(({a}.kb, {a}.id) IN"
                    f" (SELECT dst_kb, dst FROM link WHERE kb = {k} AND src = ?)"
                    f" OR ({a}.kb, {a}.id) IN"
                    f" (SELECT kb, src FROM link WHERE dst_kb = {k} AND dst = ?))"
                )
                params += [rid, rid]
            else:
                clauses.append(
                    f"({a}.id IN (SELECT dst FROM link WHERE src = ?)"
                    f" OR {a}.id IN (SELECT src FROM link WHERE dst = ?))"
                )
                params += [filters.linked_to, filters.linked_to]
        if filters.orphans:
            same = f" AND l.kb = {a}.kb" if self.shared else ""
            same_dst = f" AND l.dst_kb = {a}.kb" if self.shared else ""
            clauses.append(
                f"NOT EXISTS (SELECT 1 FROM link l WHERE l.src = {a}.id{same})"
                f" AND NOT EXISTS (SELECT 1 FROM link l WHERE l.dst = {a}.id{same_dst})"
            )
        return (" AND ".join(clauses) or "1=1"), params

    def _columns(self, columns: str) -> str:
        """Select columns as given; on a shared index ``r.id`` is the ref, plus ``kb``."""
        if not self.shared:
            return columns
        return _R_ID.sub(f"{self.ref_sql('r.kb', 'r.id')} AS id", columns) + ", r.kb AS kb"

    def select(
        self,
        filters: Filters,
        *,
        sort: str = "date",
        limit: int | None = None,
        columns: str = "r.id, r.title, r.kind, r.date, r.tags_text, r.path, r.impact",
    ) -> tuple[int, list[dict[str, Any]]]:
        """Records matching ``filters``: (total before the limit, rows as dicts)."""
        cond, params = self.where(filters)
        total = self.one(f"SELECT count(*) FROM record r WHERE {cond}", params)[0]
        order = {
            "date": "r.date IS NULL, r.date DESC, r.id",
            "title": "lower(r.title), r.id",
            "impact": "r.impact_rank DESC, r.date IS NULL, r.date DESC, r.id",
            "id": "r.id",
        }[sort]
        if self.shared:
            order += ", r.kb"
        columns = self._columns(columns)
        if limit is None:
            cur = self.execute(
                f"SELECT {columns} FROM record r WHERE {cond} ORDER BY {order}", params
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        else:
            # Sort narrow keys first, then read the wide rows of the few that are shown:
            # sorting 40,000 whole records to show 20 reads every one of them.
            keys = [
                r[0]
                for r in self.all(
                    f"SELECT r.pk FROM record r WHERE {cond} ORDER BY {order} LIMIT {int(limit)}",
                    params,
                )
            ]
            rows = []
            if keys:
                marks = ",".join("?" * len(keys))
                cur = self.execute(
                    f"SELECT r.pk AS pk_, {columns} FROM record r WHERE r.pk IN ({marks})", keys
                )
                names = [d[0] for d in cur.description]
                found = {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
                rows = [found[k] for k in keys]
                for row in rows:
                    del row["pk_"]
        for row in rows:
            if "tags_text" in row:
                row["tags"] = row.pop("tags_text").split()
        return total, rows

    def records(self, filters: Filters, sort: str = "date") -> list[dict[str, Any]]:
        """Whole records (as in YAML, plus ``path``) matching ``filters``."""
        _, rows = self.select(filters, sort=sort, columns="r.data, r.path")
        out = []
        for row in rows:
            rec = json.loads(row["data"])
            rec["path"] = row["path"]
            out.append(self.localise(rec, row.get("kb")))
        return out

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One whole record with its ``path``, or None."""
        if not self.shared:
            row = self.one("SELECT data, path FROM record WHERE id = ?", (record_id,))
            if row is None:
                return None
            rec: dict[str, Any] = json.loads(row[0])
            rec["path"] = row[1]
            return rec
        cond, params = self.refs_where([record_id])
        rows = self.all(f"SELECT data, path, kb FROM record WHERE {cond} ORDER BY kb", params)
        if len(rows) != 1:
            return None
        rec = json.loads(rows[0][0])
        rec["path"] = rows[0][1]
        return self.localise(rec, rows[0][2])

    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[str]:
        """Ids starting with ``prefix`` (the ``LIKE`` wildcards escaped)."""
        kb, start = split_ref(prefix) if self.shared else (None, prefix)
        escaped = start.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        scope = f" AND kb = {sql_text(kb)}" if kb is not None else self.seen()
        rows = self.all(
            f"SELECT {self.ref_sql('kb', 'id')} FROM record WHERE id LIKE ? ESCAPE '\\'{scope}"
            f" ORDER BY id LIMIT {int(limit)}",
            (escaped + "%",),
        )
        return [r[0] for r in rows]

    def id_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every record."""
        rows = self.all(
            f"SELECT {self.ref_sql('kb', 'id')}, title FROM record{self.seen(where=True)}"
            " ORDER BY id"
        )
        return [(r[0], r[1]) for r in rows]

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> title for the ids that exist."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        ref = self.ref_sql("kb", "id")
        for chunk in _chunks(wanted, 500):
            cond, params = self.refs_where(chunk)
            for rid, title in self.all(f"SELECT {ref}, title FROM record WHERE {cond}", params):
                out[rid] = title
        if self.shared:
            # A plain id of another knowledge base may have been asked for as KB:ID.
            for ref_ in wanted:
                kb, rid = split_ref(ref_)
                if kb == self.home and rid in out:
                    out[ref_] = out[rid]
        return out

    def existing(self, refs: Iterable[str]) -> set[str]:
        """The refs that name a record anywhere in the index (``check`` resolves links
        into other knowledge bases with it, whatever the reads cover)."""
        saved, self.scope = self.scope, None
        try:
            return set(self.titles(refs)) & set(refs)
        finally:
            self.scope = saved

    def backlinks(self, record_id: str) -> list[dict[str, Any]]:
        """Links pointing at ``record_id``: from, rel, note, title of the source."""
        if not self.shared:
            rows = self.all(
                "SELECT l.src, l.rel, l.note, r.title FROM link l JOIN record r ON r.id = l.src"
                " WHERE l.dst = ? ORDER BY l.rel, l.src",
                (record_id,),
            )
        else:
            kb, rid = self.parse_ref(record_id)
            rows = self.all(
                f"SELECT {self.ref_sql('l.kb', 'l.src')} AS src, l.rel, l.note, r.title"
                " FROM link l JOIN record r ON r.kb = l.kb AND r.id = l.src"
                f" WHERE l.dst = ? AND l.dst_kb = {sql_text(kb or '')}{self.seen('l')}"
                " ORDER BY l.rel, src",
                (rid,),
            )
        return [{"from": r[0], "rel": r[1], "note": r[2], "title": r[3]} for r in rows]

    def all_links(self) -> list[tuple[str, str, str, str | None, int]]:
        """Every link: (src, dst, rel, note, seq)."""
        if not self.shared:
            return [tuple(r) for r in self.all("SELECT src, dst, rel, note, seq FROM link")]
        rows = self.all(
            f"SELECT {self.ref_sql('kb', 'src')}, {self.ref_sql('dst_kb', 'dst')}, rel, note, seq"
            f" FROM link{self.seen(where=True)}"
        )
        return [tuple(r) for r in rows]

    def file_problems(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(path, problems) of every file with errors or warnings, by path."""
        rows = self.all(
            f"SELECT path, problems FROM file WHERE problems IS NOT NULL{self.own()} ORDER BY path"
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def skipped_files(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, first error) of every file left out of the index, by path."""
        rows = self.all(
            f"SELECT path, problems FROM file WHERE record_id IS NULL{self.own()} ORDER BY path"
        )
        out = []
        for path, problems in rows:
            errors = [p for p in json.loads(problems or "[]") if p.get("severity") == "error"]
            out.append((path, errors[0] if errors else {"message": "invalid", "line": None}))
        return out

    def record_facts(self) -> dict[str, tuple[str, str | None, str]]:
        """id -> (path, date, kind) of every record of the home knowledge base."""
        rows = self.all(f"SELECT id, path, date, kind FROM record{self.own(where=True)}")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def actions(self) -> list[dict[str, Any]]:
        """Every action with its record's id and title."""
        same = " AND r.kb = a.kb" if self.shared else ""
        rows = self.all(
            f"SELECT {self.ref_sql('a.kb', 'a.record_id')}, r.title, a.seq, a.task, a.owner,"
            f" a.due, a.status FROM action a JOIN record r ON r.id = a.record_id{same}"
            f"{self.seen('a', where=True)}"
            " ORDER BY a.due IS NULL, a.due, a.record_id, a.seq"
        )
        keys = ("id", "title", "seq", "do", "owner", "due", "status")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def counts(self, column: str, filters: Filters | None = None) -> list[tuple[str, int]]:
        """(value, count) of a record column, most frequent first."""
        cond, params = self.where(filters or Filters())
        expr = {"month": "substr(r.date, 1, 7)"}.get(column, f"r.{column}")
        rows = self.all(
            f"SELECT {expr} AS v, count(*) AS n FROM record r WHERE {cond} AND {expr} IS NOT NULL"
            f" GROUP BY v ORDER BY n DESC, v",
            params,
        )
        return [(r[0], r[1]) for r in rows]

    def tag_counts(self, filters: Filters | None = None) -> list[tuple[str, int]]:
        """(tag, count), most used first."""
        cond, params = self.where(filters or Filters())
        same = " AND r.kb = t.kb" if self.shared else ""
        rows = self.all(
            f"SELECT t.tag, count(*) AS n FROM tag t JOIN record r ON r.id = t.record_id{same}"
            f" WHERE {cond} GROUP BY t.tag ORDER BY n DESC, t.tag",
            params,
        )
        return [(r[0], r[1]) for r in rows]

    def count(self) -> int:
        """How many records the index holds."""
        return int(self.one(f"SELECT count(*) FROM record{self.seen(where=True)}")[0])

    # --- cross-links and similarity (lessons/links/) ---------------------------

    def file_digest(self, path: str) -> str | None:
        """The content hash the index holds for an entry file (edits refuse if it moved on)."""
        row = self.one(f"SELECT digest FROM file WHERE path = ?{self.own()}", (path,))
        return row[0] if row else None

    def neighbours(self, record_id: str) -> set[str]:
        """Ids linked from or to ``record_id``, whatever the relation."""
        if not self.shared:
            rows = self.all(
                "SELECT dst FROM link WHERE src = ? UNION SELECT src FROM link WHERE dst = ?",
                (record_id, record_id),
            )
            return {r[0] for r in rows}
        kb, rid = self.parse_ref(record_id)
        k = sql_text(kb or "")
        rows = self.all(
            f"SELECT {self.ref_sql('dst_kb', 'dst')} FROM link WHERE src = ? AND kb = {k}"
            f" UNION SELECT {self.ref_sql('kb', 'src')} FROM link WHERE dst = ? AND dst_kb = {k}",
            (rid, rid),
        )
        return {r[0] for r in rows}

    def similarity_rows(
        self, ids: Iterable[str] | None = None, *, kind: str | None = None
    ) -> list[tuple[Any, ...]]:
        """(id, title, kind, date, campaign, tags_text, lesson, summary) of the records
        named (all, or those of ``kind``, when ``ids`` is None)."""
        cols = (
            f"{self.ref_sql('kb', 'id')} AS id, title, kind, date, campaign, tags_text, lesson,"
            " summary"
        )
        order = " ORDER BY id" + (", kb" if self.shared else "")
        if ids is None:
            if kind:
                return self.all(
                    f"SELECT {cols} FROM record WHERE kind = ?{self.seen()}{order}", (kind,)
                )
            return self.all(f"SELECT {cols} FROM record{self.seen(where=True)}{order}")
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            cond, params = self.refs_where(chunk)
            out += self.all(f"SELECT {cols} FROM record WHERE {cond}", params)
        return out

    def has_fts5(self) -> bool:
        """True when the store keeps the SQLite FTS5 table and its vocabulary."""
        return self.url.startswith("sqlite:")

    def term_doc_counts(self, terms: Iterable[str] | None = None) -> dict[str, int]:
        """Stemmed FTS term -> how many records hold it (every term when ``terms`` is None).

        SQLite only (``has_fts5``): reads the ``record_vocab`` table.
        """
        if terms is None:
            return {r[0]: r[1] for r in self.all("SELECT term, doc FROM record_vocab")}
        out: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(terms)), 500):
            marks = ",".join("?" * len(chunk))
            for term, n in self.all(
                f"SELECT term, doc FROM record_vocab WHERE term IN ({marks})", chunk
            ):
                out[term] = n
        return out

    def match_any(self, words: Sequence[str], limit: int) -> list[str]:
        """Ids of records whose title, tags, lesson or summary hold any of ``words``
        (plain letters and digits only), best BM25 match first. SQLite only."""
        safe = [w for w in words if w.isalnum()]
        if not safe:
            return []
        query = "{title tags_text lesson summary} : (" + " OR ".join(f'"{w}"' for w in safe) + ")"
        rows = self.all(
            "SELECT r.id FROM record_fts JOIN record r ON r.pk = record_fts.rowid"
            f" WHERE record_fts MATCH ? ORDER BY rank LIMIT {int(limit)}",
            (query,),
        )
        return [r[0] for r in rows]

    def ids_sharing(self, record_id: str, limit: int) -> list[str]:
        """Ids of records sharing tags or the campaign with ``record_id``, most tags first."""
        if not self.shared:
            rows = self.all(
                "SELECT t2.record_id, count(*) AS n FROM tag t1 JOIN tag t2 ON t2.tag = t1.tag"
                " WHERE t1.record_id = ? AND t2.record_id <> ? GROUP BY t2.record_id"
                f" ORDER BY n DESC, t2.record_id LIMIT {int(limit)}",
                (record_id, record_id),
            )
            out = [r[0] for r in rows]
            rows = self.all(
                "SELECT r2.id FROM record r1 JOIN record r2"
                " ON lower(r2.campaign) = lower(r1.campaign) AND r2.id <> r1.id"
                f" WHERE r1.id = ? ORDER BY r2.date DESC, r2.id LIMIT {int(limit)}",
                (record_id,),
            )
            return out + [r[0] for r in rows]
        kb, rid = self.parse_ref(record_id)
        k = sql_text(kb or "")
        t2 = self.ref_sql("t2.kb", "t2.record_id")
        rows = self.all(
            f"SELECT {t2} AS ref, count(*) AS n FROM tag t1 JOIN tag t2 ON t2.tag = t1.tag"
            f" WHERE t1.record_id = ? AND t1.kb = {k}"
            f" AND NOT (t2.record_id = ? AND t2.kb = {k}){self.seen('t2')}"
            f" GROUP BY ref ORDER BY n DESC, ref LIMIT {int(limit)}",
            (rid, rid),
        )
        out = [r[0] for r in rows]
        rows = self.all(
            f"SELECT {self.ref_sql('r2.kb', 'r2.id')} FROM record r1 JOIN record r2"
            " ON lower(r2.campaign) = lower(r1.campaign) AND NOT (r2.id = r1.id AND r2.kb = r1.kb)"
            f" WHERE r1.id = ? AND r1.kb = {k}{self.seen('r2')}"
            f" ORDER BY r2.date DESC, r2.id LIMIT {int(limit)}",
            (rid,),
        )
        return out + [r[0] for r in rows]

    # --- tags (lessons/tags.py) ---------------------------------------------------

    def records_with_tags(self, tags: Sequence[str]) -> list[tuple[str, str, str]]:
        """(id, path, tag) of every record carrying one of ``tags``, by path."""
        out: list[tuple[str, str, str]] = []
        wanted = list(dict.fromkeys(tags))
        same = " AND r.kb = t.kb" if self.shared else ""
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.all(
                f"SELECT r.id, r.path, t.tag FROM tag t JOIN record r ON r.id = t.record_id{same}"
                f" WHERE t.tag IN ({marks}){self.own('t')}",
                chunk,
            )
            out.extend((r[0], r[1], r[2]) for r in rows)
        return sorted(out, key=lambda row: (row[1], row[2]))

    # --- search (lessons/search/ builds the query syntax; engines run it) -------

    dialect = "fts5"  # the full-text query syntax lessons.search writes for this store

    def fts_scores(self, expr: str, weights: Sequence[float]) -> dict[int, float]:
        """record pk -> relevance (higher is better) of every record matching ``expr``."""
        raise NotImplementedError

    def fts_top(
        self,
        groups: Sequence[tuple[str, float]],
        weights: Sequence[float],
        limit: int,
        filters: Filters | None = None,
    ) -> tuple[list[tuple[int, float]], int] | None:
        """The best ``limit`` (pk, score) of the records ``filters`` selects, when a
        record scores its best weighted group, and how many of them match any group;
        None where the engine has no fast path."""
        return None

    def record_pks(self, filters: Filters) -> set[int]:
        """The pks of the records ``filters`` selects (search intersects its matches)."""
        cond, params = self.where(filters)
        return {r[0] for r in self.all(f"SELECT r.pk FROM record r WHERE {cond}", params)}

    def fts_exists(self, expr: str) -> bool:
        """True when some record matches ``expr`` (stemming included)."""
        raise NotImplementedError

    def search_snippets(self, expr: str, pks: Sequence[int]) -> dict[int, list[str]]:
        """record pk -> snippets (lesson, recommendations, summary, other text) with the
        words of ``expr`` between ``\\x02`` and ``\\x03``."""
        raise NotImplementedError

    def word_counts(self, words: Iterable[str]) -> dict[str, int]:
        """Unstemmed word -> how many records hold it, for the words that occur."""
        raise NotImplementedError

    def words_starting(self, start: str, min_len: int, max_len: int) -> list[tuple[str, int]]:
        """(word, records holding it) of indexed words starting with ``start``, by length."""
        raise NotImplementedError

    def search_rows(self, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """record pk -> id, title, kind, date, tags, path, summary (and kb, shared)."""
        out: dict[int, dict[str, Any]] = {}
        ref = self.ref_sql("kb", "id")
        extra = ", kb" if self.shared else ""
        for chunk in _chunks(list(pks), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.all(
                f"SELECT pk, {ref}, title, kind, date, tags_text, path, summary{extra} FROM record"
                f" WHERE pk IN ({marks})",
                chunk,
            ):
                out[row[0]] = {
                    "id": row[1],
                    "title": row[2],
                    "kind": row[3],
                    "date": row[4],
                    "tags": row[5].split(),
                    "path": row[6],
                    "summary": row[7],
                }
                if self.shared:
                    out[row[0]]["kb"] = row[8]
        return out

    def search_texts(self, pks: Sequence[int]) -> dict[int, str]:
        """record pk -> its searchable text (title, tags, lesson, recommendations, summary)."""
        out: dict[int, str] = {}
        for chunk in _chunks(list(pks), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.all(
                "SELECT pk, title, tags_text, lesson, recommendations, summary FROM record"
                f" WHERE pk IN ({marks})",
                chunk,
            ):
                out[row[0]] = "\n".join(p for p in row[1:] if p)
        return out

    # --- vectors (lessons/search/semantic.py computes them; any engine stores them) -----

    def vector_todo(self, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` records without a vector: (pk, title, tags_text, summary, lesson,
        recommendations), by pk."""
        return self.all(
            "SELECT r.pk, r.title, r.tags_text, r.summary, r.lesson, r.recommendations"
            " FROM record r WHERE NOT EXISTS (SELECT 1 FROM record_vector v WHERE v.pk = r.pk)"
            # A shared index: each knowledge base embeds its own records.
            f"{self.own('r')} ORDER BY r.pk LIMIT {int(limit)}"
        )

    def known_vectors(self, digests: Iterable[str]) -> set[str]:
        """The digests among ``digests`` that have a vector already."""
        out: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(digests)), 500):
            marks = ",".join("?" * len(chunk))
            out.update(
                r[0]
                for r in self.all(f"SELECT digest FROM vector WHERE digest IN ({marks})", chunk)
            )
        return out

    def put_vectors(
        self, vectors: Sequence[tuple[str, bytes]], links: Sequence[tuple[int, str]]
    ) -> None:
        """Store new vectors (digest, bytes) and point records (pk, digest) at theirs."""
        if vectors:
            self.executemany(
                "INSERT INTO vector (digest, vec) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                vectors,
            )
        if links:
            # An upsert: on a shared index another publisher may embed the same record.
            self.executemany(
                "INSERT INTO record_vector (pk, digest, vec)"
                " SELECT ?, digest, vec FROM vector WHERE digest = ?"
                " ON CONFLICT (pk) DO UPDATE SET digest = excluded.digest, vec = excluded.vec",
                links,
            )

    def prune_vectors(self) -> int:
        """Forget vectors no record points at (old texts, an older model); how many."""
        kept = self.one("SELECT count(*) FROM vector")[0]
        if kept <= self.one("SELECT count(*) FROM record_vector")[0]:
            return 0  # every vector is some record's (the common case: a cheap count)
        cur = self.execute(
            "DELETE FROM vector WHERE digest NOT IN (SELECT digest FROM record_vector)"
        )
        return int(cur.rowcount or 0)

    def vector_counts(self) -> tuple[int, int]:
        """(records with a vector, records)."""
        with_vec = self.one(
            "SELECT count(*) FROM record_vector v JOIN record r ON r.pk = v.pk"
            f"{self.own('r', where=True)}"
        )[0]
        return int(with_vec), self.count()

    def record_pk(self, record_id: str) -> int | None:
        """The index's key of a record, or None."""
        row = self.one("SELECT pk FROM record WHERE id = ?", (record_id,))
        return int(row[0]) if row else None

    def pks_of(self, ids: Iterable[str]) -> dict[str, int]:
        """id -> pk for the ids that exist."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            marks = ",".join("?" * len(chunk))
            for pk, rid in self.all(f"SELECT pk, id FROM record WHERE id IN ({marks})", chunk):
                out[rid] = int(pk)
        return out

    def record_ids(self, pks: Iterable[int]) -> dict[int, str]:
        """pk -> id for the pks that exist."""
        out: dict[int, str] = {}
        for chunk in _chunks(list(dict.fromkeys(pks)), 500):
            marks = ",".join("?" * len(chunk))
            for pk, rid in self.all(f"SELECT pk, id FROM record WHERE pk IN ({marks})", chunk):
                out[int(pk)] = rid
        return out

    def record_vectors(self) -> list[tuple[int, bytes]]:
        """(pk, vector bytes) of every record that has a vector."""
        return [(r[0], bytes(r[1])) for r in self.all("SELECT pk, vec FROM record_vector")]

    # --- import (lessons/interop/) -----------------------------------------------

    def id_paths(self) -> dict[str, str]:
        """id -> path of every indexed record (one query, for bulk duplicate checks)."""
        return {r[0]: r[1] for r in self.all(f"SELECT id, path FROM record{self.own(where=True)}")}

    # --- concurrency -------------------------------------------------------------------

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while the schema is checked and (re)created: one process at a time."""
        yield


def record_row(rec: dict[str, Any], path: str) -> tuple[Any, ...]:
    """The ``record`` table row of a normalised record."""
    body_parts = [rec.get(k) for k in ("expected", "why", "response", "evidence")]
    # Custom text and list fields are searchable too.
    # What an import kept under ``extra`` is searchable too.
    extra = rec.get("extra") or {}
    body_parts += [" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in extra.values()]
    for key, value in rec.items():
        if key in STANDARD_KEYS:
            continue
        if isinstance(value, str):
            body_parts.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            body_parts.append(" ".join(value))
    values = {
        **{k: rec.get(k) for k in RECORD_COLUMNS if k in rec},
        "path": path,
        "recommendations": "\n".join(rec.get("recommendations") or []) or None,
        "impact_rank": IMPACT_RANK.get(rec.get("impact") or "", 0),
        "tags_text": " ".join(rec.get("tags") or []),
        "body": "\n".join(p for p in body_parts if p),
        "data": json.dumps(rec, ensure_ascii=False),
    }
    return tuple(values.get(c) for c in RECORD_COLUMNS)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
