"""Vectors: ``lessons/search/semantic.py`` computes them; any engine stores them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from lessons.store.base.connection import chunks
from lessons.store.base.reading import Reading


class Vectors(Reading):
    """Record vectors, stored by content digest."""

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
        for chunk in chunks(list(dict.fromkeys(digests)), 500):
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
            # Only for a record still there (another `index` may have removed it since
            # it was read): a vector row is always a live record's, which lets
            # vector_counts() count the vector rows alone.
            self.executemany(
                "INSERT INTO record_vector (pk, digest, vec)"
                " SELECT r.pk, v.digest, v.vec FROM vector v JOIN record r ON r.pk = ?"
                " WHERE v.digest = ?"
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

    def vector_counts(self, *, home: bool = False) -> tuple[int, int]:
        """(records with a vector, records) of the records the reads cover, or of the
        home knowledge base's (``home``: those `index` embeds)."""
        if not self.shared or (not home and self.scope is None):
            # Every vector row is a live record's: a record's row goes with its file
            # (delete_paths; on a shared index --drop takes every one of its), and a
            # vector is only ever stored for a record there is (put_vectors). The
            # join would read every vector's page to check it: 0.2 s a search at
            # 100,000 records, against 0.02 s for the count.
            return int(self.one("SELECT count(*) FROM record_vector")[0]), self.count()
        cond = self.own("r", where=True) if home else self.seen("r", where=True)
        with_vec = self.one(
            f"SELECT count(*) FROM record_vector v JOIN record r ON r.pk = v.pk{cond}"
        )[0]
        records = self.one(f"SELECT count(*) FROM record r{cond}")[0] if home else self.count()
        return int(with_vec), int(records)

    def record_vectors(self, among: Collection[int] | None = None) -> list[tuple[int, bytes]]:
        """(pk, vector bytes) of every record the reads cover that has a vector (of the
        records ``among`` names, when given)."""
        if among is not None:
            out: list[tuple[int, bytes]] = []
            for chunk in chunks(sorted(among), 500):
                marks = ",".join("?" * len(chunk))
                rows = self.all(
                    "SELECT v.pk, v.vec FROM record_vector v JOIN record r ON r.pk = v.pk"
                    f" WHERE v.pk IN ({marks}){self.seen('r')}",
                    chunk,
                )
                out += [(r[0], bytes(r[1])) for r in rows]
            return out
        if not self.shared:
            return [(r[0], bytes(r[1])) for r in self.all("SELECT pk, vec FROM record_vector")]
        # A shared index: only the knowledge bases the reads cover (--from-kb).
        rows = self.all(
            "SELECT v.pk, v.vec FROM record_vector v JOIN record r ON r.pk = v.pk"
            f"{self.seen('r', where=True)}"
        )
        return [(r[0], bytes(r[1])) for r in rows]
