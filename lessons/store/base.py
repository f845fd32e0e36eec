"""The index store: one class over a DB-API connection, one subclass per engine.

The tables are the SQLModel models of ``store/models.py`` and are created from
them. Reads and the incremental sync go through plain DB-API SQL: importing
SQLAlchemy and SQLModel costs about 0.35 s, more than a whole search may take,
so the hot path never pays for it (SPEC §9, issue 8). The schema is made with
SQLModel only when an index is created or rebuilt.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from lessons.filters import Filters
from lessons.model import IMPACT_RANK, STANDARD_KEYS
from lessons.store.schema import (
    ACTION_COLUMNS,
    FILE_COLUMNS,
    LINK_COLUMNS,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    TAG_COLUMNS,
)

SORTS = ("date", "title", "impact", "id")


class Store:
    """The index: files seen, records, tags, links and actions, plus the queries over them."""

    param = "?"
    url: str

    def __init__(self, url: str, conn: Any) -> None:
        self.url = url
        self.conn = conn

    # --- plumbing --------------------------------------------------------------

    def sql(self, query: str) -> str:
        """The query in this engine's parameter style."""
        return query if self.param == "?" else query.replace("?", self.param)

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

    # --- schema ----------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The version the index was built with, or None for an empty store."""
        raise NotImplementedError

    def create_schema(self) -> None:
        """Drop whatever is there and create the tables afresh."""
        raise NotImplementedError

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self.execute("DELETE FROM meta WHERE key = ?", (key,))
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

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

    # --- writing (used by the indexer) -----------------------------------------

    def file_signatures(self) -> set[str]:
        """``"<path>\\t<mtime_ns>\\t<size>"`` of every file indexed (see ``indexer.scan``)."""
        rows = self.execute("SELECT path || '\t' || mtime_ns || '\t' || size FROM file")
        return {r[0] for r in rows}

    def file_paths(self) -> list[str]:
        """The path of every entry file indexed, valid or not."""
        return [r[0] for r in self.all("SELECT path FROM file")]

    def file_digests(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> content hash, for the given indexed files."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(paths), 500):
            marks = ",".join("?" * len(chunk))
            for path, digest in self.all(
                f"SELECT path, digest FROM file WHERE path IN ({marks})", chunk
            ):
                out[path] = digest
        return out

    def delete_paths(self, paths: Sequence[str]) -> int:
        """Forget files and their records; return how many records went."""
        gone = 0
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            ids = [r[0] for r in self.all(f"SELECT id FROM record WHERE path IN ({marks})", chunk)]
            # The record's pk may be given to the next record inserted: its vector goes.
            self.execute(
                "DELETE FROM record_vector WHERE pk IN"
                f" (SELECT pk FROM record WHERE path IN ({marks}))",
                chunk,
            )
            for table, col in (("tag", "record_id"), ("link", "src"), ("action", "record_id")):
                for id_chunk in _chunks(ids, 500):
                    id_marks = ",".join("?" * len(id_chunk))
                    self.execute(f"DELETE FROM {table} WHERE {col} IN ({id_marks})", id_chunk)
            self.execute(f"DELETE FROM record WHERE path IN ({marks})", chunk)
            self.execute(f"DELETE FROM file WHERE path IN ({marks})", chunk)
            gone += len(ids)
        return gone

    def put_files(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record what was seen of files: (path, mtime_ns, size, digest, record_id,
        problems as a list of dicts, duplicate)."""
        if not rows:
            return
        self.executemany("DELETE FROM file WHERE path = ?", [(r[0],) for r in rows])
        cols = ",".join(FILE_COLUMNS)
        self.executemany(
            f"INSERT INTO file ({cols}) VALUES ({','.join('?' * len(FILE_COLUMNS))})",
            [(*r[:5], json.dumps(r[5]) if r[5] else None, r[6]) for r in rows],
        )

    def touch_file(self, path: str, mtime_ns: int, size: int) -> None:
        """The file's stat changed but not its content."""
        self.execute(
            "UPDATE file SET mtime_ns = ?, size = ? WHERE path = ?", (mtime_ns, size, path)
        )

    def owner_of(self, record_id: str) -> str | None:
        """The path of the file that holds ``record_id`` in the index."""
        row = self.one("SELECT path FROM record WHERE id = ?", (record_id,))
        return row[0] if row else None

    def file_record(self, path: str) -> tuple[bool, str | None]:
        """Whether the index knows the entry file ``path`` (relative to the root), and
        the id of the record it holds (None when the file is invalid)."""
        row = self.one("SELECT record_id FROM file WHERE path = ?", (path,))
        return (row is not None, row[0] if row else None)

    def insert_records(self, items: Sequence[tuple[dict[str, Any], str]]) -> None:
        """Insert valid records (ids known to be free) with their tags, links, actions."""
        if not items:
            return
        rec_rows, tag_rows, link_rows, action_rows = [], [], [], []
        for rec, path in items:
            rec_rows.append(record_row(rec, path))
            rid = rec["id"]
            tag_rows += [(rid, t) for t in rec["tags"]]
            link_rows += [
                (rid, link["to"], link["rel"], link.get("note"), i)
                for i, link in enumerate(rec["links"])
            ]
            action_rows += [
                (rid, i, a["do"], a.get("owner"), a.get("due"), a["status"])
                for i, a in enumerate(rec["actions"])
            ]
        for table, cols, rows in (
            ("record", RECORD_COLUMNS, rec_rows),
            ("tag", TAG_COLUMNS, tag_rows),
            ("link", LINK_COLUMNS, link_rows),
            ("action", ACTION_COLUMNS, action_rows),
        ):
            if rows:
                marks = ",".join("?" * len(cols))
                self.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", rows)

    # --- reading ---------------------------------------------------------------

    def where(self, filters: Filters, alias: str = "r") -> tuple[str, list[Any]]:
        """The SQL condition and parameters that select ``filters``."""
        clauses: list[str] = []
        params: list[Any] = []
        a = alias
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
            clauses.append(f"{a}.id IN (SELECT record_id FROM tag WHERE tag = ?)")
            params.append(tag)
        if filters.since:
            clauses.append(f"{a}.date >= ?")
            params.append(filters.since)
        if filters.until:
            clauses.append(f"{a}.date <= ?")
            params.append(filters.until)
        if filters.linked_to:
            clauses.append(
                f"({a}.id IN (SELECT dst FROM link WHERE src = ?)"
                f" OR {a}.id IN (SELECT src FROM link WHERE dst = ?))"
            )
            params += [filters.linked_to, filters.linked_to]
        if filters.orphans:
            clauses.append(
                f"NOT EXISTS (SELECT 1 FROM link l WHERE l.src = {a}.id)"
                f" AND NOT EXISTS (SELECT 1 FROM link l WHERE l.dst = {a}.id)"
            )
        return (" AND ".join(clauses) or "1=1"), params

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
            out.append(rec)
        return out

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One whole record with its ``path``, or None."""
        row = self.one("SELECT data, path FROM record WHERE id = ?", (record_id,))
        if row is None:
            return None
        rec: dict[str, Any] = json.loads(row[0])
        rec["path"] = row[1]
        return rec

    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[str]:
        """Ids starting with ``prefix`` (the ``LIKE`` wildcards escaped)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.all(
            f"SELECT id FROM record WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT {int(limit)}",
            (escaped + "%",),
        )
        return [r[0] for r in rows]

    def id_titles(self) -> list[tuple[str, str]]:
        """(id, title) of every record."""
        return [(r[0], r[1]) for r in self.all("SELECT id, title FROM record ORDER BY id")]

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> title for the ids that exist."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            for rid, title in self.all(
                f"SELECT id, title FROM record WHERE id IN ({marks})", chunk
            ):
                out[rid] = title
        return out

    def backlinks(self, record_id: str) -> list[dict[str, Any]]:
        """Links pointing at ``record_id``: from, rel, note, title of the source."""
        rows = self.all(
            "SELECT l.src, l.rel, l.note, r.title FROM link l JOIN record r ON r.id = l.src"
            " WHERE l.dst = ? ORDER BY l.rel, l.src",
            (record_id,),
        )
        return [{"from": r[0], "rel": r[1], "note": r[2], "title": r[3]} for r in rows]

    def all_links(self) -> list[tuple[str, str, str, str | None, int]]:
        """Every link: (src, dst, rel, note, seq)."""
        return [tuple(r) for r in self.all("SELECT src, dst, rel, note, seq FROM link")]

    def file_problems(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(path, problems) of every file with errors or warnings, by path."""
        rows = self.all("SELECT path, problems FROM file WHERE problems IS NOT NULL ORDER BY path")
        return [(r[0], json.loads(r[1])) for r in rows]

    def skipped_files(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, first error) of every file left out of the index, by path."""
        rows = self.all("SELECT path, problems FROM file WHERE record_id IS NULL ORDER BY path")
        out = []
        for path, problems in rows:
            errors = [p for p in json.loads(problems or "[]") if p.get("severity") == "error"]
            out.append((path, errors[0] if errors else {"message": "invalid", "line": None}))
        return out

    def actions(self) -> list[dict[str, Any]]:
        """Every action with its record's id and title."""
        rows = self.all(
            "SELECT a.record_id, r.title, a.seq, a.task, a.owner, a.due, a.status"
            " FROM action a JOIN record r ON r.id = a.record_id"
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
        rows = self.all(
            f"SELECT t.tag, count(*) AS n FROM tag t JOIN record r ON r.id = t.record_id"
            f" WHERE {cond} GROUP BY t.tag ORDER BY n DESC, t.tag",
            params,
        )
        return [(r[0], r[1]) for r in rows]

    def count(self) -> int:
        """How many records the index holds."""
        return int(self.one("SELECT count(*) FROM record")[0])

    # --- cross-links and similarity (lessons/links/) ---------------------------

    def file_digest(self, path: str) -> str | None:
        """The content hash the index holds for an entry file (edits refuse if it moved on)."""
        row = self.one("SELECT digest FROM file WHERE path = ?", (path,))
        return row[0] if row else None

    def neighbours(self, record_id: str) -> set[str]:
        """Ids linked from or to ``record_id``, whatever the relation."""
        rows = self.all(
            "SELECT dst FROM link WHERE src = ? UNION SELECT src FROM link WHERE dst = ?",
            (record_id, record_id),
        )
        return {r[0] for r in rows}

    def similarity_rows(
        self, ids: Iterable[str] | None = None, *, kind: str | None = None
    ) -> list[tuple[Any, ...]]:
        """(id, title, kind, date, campaign, tags_text, lesson, summary) of the records
        named (all, or those of ``kind``, when ``ids`` is None)."""
        cols = "id, title, kind, date, campaign, tags_text, lesson, summary"
        if ids is None:
            if kind:
                return self.all(f"SELECT {cols} FROM record WHERE kind = ? ORDER BY id", (kind,))
            return self.all(f"SELECT {cols} FROM record ORDER BY id")
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            marks = ",".join("?" * len(chunk))
            out += self.all(f"SELECT {cols} FROM record WHERE id IN ({marks})", chunk)
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

    # --- tags (lessons/tags.py) ---------------------------------------------------

    def records_with_tags(self, tags: Sequence[str]) -> list[tuple[str, str, str]]:
        """(id, path, tag) of every record carrying one of ``tags``, by path."""
        out: list[tuple[str, str, str]] = []
        wanted = list(dict.fromkeys(tags))
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.all(
                f"SELECT r.id, r.path, t.tag FROM tag t JOIN record r ON r.id = t.record_id"
                f" WHERE t.tag IN ({marks})",
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
        """record pk -> id, title, kind, date, tags, path, summary."""
        out: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(list(pks), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.all(
                "SELECT pk, id, title, kind, date, tags_text, path, summary FROM record"
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
            f" ORDER BY r.pk LIMIT {int(limit)}"
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
            self.executemany("DELETE FROM record_vector WHERE pk = ?", [(pk,) for pk, _ in links])
            self.executemany(
                "INSERT INTO record_vector (pk, digest, vec)"
                " SELECT ?, digest, vec FROM vector WHERE digest = ?",
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
        with_vec = self.one("SELECT count(*) FROM record_vector")[0]
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
        return {r[0]: r[1] for r in self.all("SELECT id, path FROM record")}

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
