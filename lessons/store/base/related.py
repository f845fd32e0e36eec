"""Links, shared tags and similarity: what ``lessons/links/`` and ``tags`` read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lessons.store.base.connection import chunks, sql_text
from lessons.store.base.reading import Reading


class Related(Reading):
    """Links between records, and records alike."""

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

    def all_links(self, rel: str | None = None) -> list[tuple[str, str, str, str | None, int]]:
        """Every link (of relation ``rel``, when given): (src, dst, rel, note, seq)."""
        only = "" if rel is None else " WHERE rel = ?"
        params = () if rel is None else (rel,)
        if not self.shared:
            return [
                tuple(r)
                for r in self.all(f"SELECT src, dst, rel, note, seq FROM link{only}", params)
            ]
        scope = self.seen() if rel is not None else self.seen(where=True)
        rows = self.all(
            f"SELECT {self.ref_sql('kb', 'src')}, {self.ref_sql('dst_kb', 'dst')}, rel, note, seq"
            f" FROM link{only}{scope}",
            params,
        )
        return [tuple(r) for r in rows]

    def repeats_sharing(self, tags: Sequence[str]) -> list[tuple[str, str]]:
        """(src, dst) of the ``repeats`` links whose two records share one of ``tags``."""
        if not tags:
            return []
        marks = ",".join("?" * len(tags))
        if not self.shared:
            rows = self.all(
                "SELECT DISTINCT l.src, l.dst FROM link l JOIN tag a ON a.record_id = l.src"
                " JOIN tag b ON b.record_id = l.dst AND b.tag = a.tag"
                f" WHERE l.rel = 'repeats' AND a.tag IN ({marks})",
                list(tags),
            )
        else:
            rows = self.all(
                f"SELECT DISTINCT {self.ref_sql('l.kb', 'l.src')},"
                f" {self.ref_sql('l.dst_kb', 'l.dst')} FROM link l"
                " JOIN tag a ON a.kb = l.kb AND a.record_id = l.src"
                " JOIN tag b ON b.kb = l.dst_kb AND b.record_id = l.dst AND b.tag = a.tag"
                f" WHERE l.rel = 'repeats' AND a.tag IN ({marks}){self.seen('l')}",
                list(tags),
            )
        return [(r[0], r[1]) for r in rows]

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
        for chunk in chunks(list(dict.fromkeys(ids)), 500):
            cond, params = self.refs_where(chunk)
            out += self.all(f"SELECT {cols} FROM record WHERE {cond}", params)
        return out

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

    def records_with_tags(self, tags: Sequence[str]) -> list[tuple[str, str, str]]:
        """(id, path, tag) of every record carrying one of ``tags``, by path."""
        out: list[tuple[str, str, str]] = []
        wanted = list(dict.fromkeys(tags))
        same = " AND r.kb = t.kb" if self.shared else ""
        for chunk in chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.all(
                f"SELECT r.id, r.path, t.tag FROM tag t JOIN record r ON r.id = t.record_id{same}"
                f" WHERE t.tag IN ({marks}){self.own('t')}",
                chunk,
            )
            out.extend((r[0], r[1], r[2]) for r in rows)
        return sorted(out, key=lambda row: (row[1], row[2]))
