"""Writing: what the indexer puts in and takes out (always the home knowledge base),
and what it reads back about files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from lessons.model import IMPACT_RANK, STANDARD_KEYS
from lessons.store.base.connection import Connection, chunks
from lessons.store.schema import (
    ACTION_COLUMNS,
    FILE_COLUMNS,
    LINK_COLUMNS,
    RECORD_COLUMNS,
    TAG_COLUMNS,
)


class Sync(Connection):
    """Files seen and the records they hold, as the indexer writes them."""

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
        for chunk in chunks(list(paths), 500):
            marks = ",".join("?" * len(chunk))
            for path, digest in self.all(
                f"SELECT path, digest FROM file WHERE path IN ({marks}){self.own()}", chunk
            ):
                out[path] = digest
        return out

    def file_digest(self, path: str) -> str | None:
        """The content hash the index holds for an entry file (edits refuse if it moved on)."""
        row = self.one(f"SELECT digest FROM file WHERE path = ?{self.own()}", (path,))
        return row[0] if row else None

    def delete_paths(self, paths: Sequence[str]) -> int:
        """Forget files and their records; return how many records went."""
        gone = 0
        own = self.own()
        for chunk in chunks(paths, 500):
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
                for id_chunk in chunks(ids, 500):
                    id_marks = ",".join("?" * len(id_chunk))
                    self.execute(f"DELETE FROM {table} WHERE {col} IN ({id_marks}){own}", id_chunk)
            self.execute(f"DELETE FROM record WHERE path IN ({marks}){own}", chunk)
            self.execute(f"DELETE FROM file WHERE path IN ({marks}){own}", chunk)
            gone += len(ids)
        return gone

    def _forget_records(self, ids: Sequence[str]) -> None:
        """Records of the home knowledge base are about to be deleted (engines that keep
        more about them, such as word counts, let go of it here)."""

    def forget_kb(self) -> int:
        """Inside a transaction: delete every row of the home knowledge base (on a
        single-KB index, every row but the schema's); return how many files it knew."""
        gone = self.file_count()
        own = self.own(where=True)
        for table in ("tag", "link", "action", "record", "file"):
            self.execute(f"DELETE FROM {table}{own}")
        self.execute(f"DELETE FROM meta WHERE key <> 'schema'{self.own()}")
        return gone

    def put_files(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record what was seen of files: (path, mtime_ns, size, digest, record_id,
        problems as a list of dicts, duplicate)."""
        if not rows:
            return
        self._forget_files([r[0] for r in rows])
        self._insert_rows(
            "file",
            FILE_COLUMNS,
            [(*r[:5], json.dumps(r[5]) if r[5] else None, r[6]) for r in rows],
        )

    def _forget_files(self, paths: Sequence[str]) -> None:
        """Delete the file rows of these paths (of the home knowledge base)."""
        self.executemany(f"DELETE FROM file WHERE path = ?{self.own()}", [(p,) for p in paths])

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
        for chunk in chunks(list(ids), 500):
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

    def id_paths(self) -> dict[str, str]:
        """id -> path of every indexed record (one query, for bulk duplicate checks)."""
        return {r[0]: r[1] for r in self.all(f"SELECT id, path FROM record{self.own(where=True)}")}


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
