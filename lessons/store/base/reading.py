"""Reading records: filters, listings, single records, counts."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from typing import Any

from lessons.filters import Filters
from lessons.store.base.connection import Connection, chunks, split_ref, sql_text

SORTS = ("date", "title", "impact", "id")

_R_ID = re.compile(r"\br\.id\b")


class Reading(Connection):
    """Records as commands read them: filtered, sorted, counted."""

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
        for chunk in chunks(wanted, 500):
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

    def actions(self, refs: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Every action with its record's id and title (of the records ``refs`` names,
        when given: a brief's few, not a shared index's hundreds of thousands)."""
        same = " AND r.kb = a.kb" if self.shared else ""
        select = (
            f"SELECT {self.ref_sql('a.kb', 'a.record_id')}, r.title, a.seq, a.task, a.owner,"
            f" a.due, a.status FROM action a JOIN record r ON r.id = a.record_id{same}"
        )
        order = " ORDER BY a.due IS NULL, a.due, a.record_id, a.seq"
        if refs is None:
            rows = self.all(f"{select}{self.seen('a', where=True)}{order}")
        else:
            rows = []
            for chunk in chunks(sorted(set(refs)), 500):
                cond, params = self.refs_where(chunk, "a.kb", "a.record_id")
                rows += self.all(f"{select} WHERE {cond}{order}", params)
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
        if filters is None or filters.is_empty():
            # Every tag row is a record's (they come and go together): no join, which
            # took seconds over a shared index of a million records.
            rows = self.all(
                f"SELECT tag, count(*) AS n FROM tag{self.seen(where=True)}"
                " GROUP BY tag ORDER BY n DESC, tag"
            )
            return [(r[0], r[1]) for r in rows]
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

    def record_pk(self, ref: str) -> int | None:
        """The index's key of a record (a ref: ``KB:ID`` in a shared index), or None."""
        return self.pks_of([ref]).get(ref)

    def pks_of(self, refs: Iterable[str]) -> dict[str, int]:
        """ref -> pk for the refs that name a record. In a shared index a plain id is
        the home knowledge base's (ids repeat across knowledge bases)."""
        wanted = list(dict.fromkeys(refs))
        out: dict[str, int] = {}
        ref = self.ref_sql("kb", "id")
        by_id: dict[str, list[int]] = {}
        for chunk in chunks(wanted, 500):
            cond, params = self.refs_where(chunk)
            rows = self.all(f"SELECT pk, {ref}, id FROM record WHERE {cond}", params)
            for pk, found, rid in rows:
                out[found] = int(pk)
                by_id.setdefault(rid, []).append(int(pk))
        if self.shared:
            # A ref asked for in another spelling than the index gives back: HOME:ID, or
            # with no home a plain id that one knowledge base alone holds.
            for asked in wanted:
                kb, rid = self.parse_ref(asked)
                if asked in out:
                    continue
                if kb is not None and self.ref(kb, rid) in out:
                    out[asked] = out[self.ref(kb, rid)]
                elif kb is None and len(by_id.get(rid, ())) == 1:
                    out[asked] = by_id[rid][0]
        return out

    def record_ids(self, pks: Iterable[int]) -> dict[int, str]:
        """pk -> ref (``KB:ID`` for another knowledge base's record in a shared index)
        for the pks that exist."""
        out: dict[int, str] = {}
        ref = self.ref_sql("kb", "id")
        for chunk in chunks(list(dict.fromkeys(pks)), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.all(f"SELECT pk, {ref} FROM record WHERE pk IN ({marks})", chunk)
            for pk, found in rows:
                out[int(pk)] = found
        return out
