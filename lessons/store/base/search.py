"""What search reads: candidates, scores, term statistics, snippets.

``lessons/search/`` builds the query syntax and ranks; each engine runs it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from lessons.filters import Filters
from lessons.store.base.connection import chunks
from lessons.store.base.reading import Reading


class Search(Reading):
    """The statistics and candidates search ranks."""

    def has_fts5(self) -> bool:
        """True when the store keeps the SQLite FTS5 table and its vocabulary."""
        return self.url.startswith("sqlite:")

    def has_term_counts(self) -> bool:
        """True when ``term_doc_counts`` and ``match_any`` answer from the index (so that
        similarity need not read every record to count its terms)."""
        return self.has_fts5()

    def term_doc_counts(self, terms: Iterable[str] | None = None) -> dict[str, int]:
        """Stemmed FTS term -> how many records hold it (every term when ``terms`` is None).

        SQLite only (``has_fts5``): reads the ``record_vocab`` table.
        """
        if terms is None:
            return {r[0]: r[1] for r in self.all("SELECT term, doc FROM record_vocab")}
        out: dict[str, int] = {}
        for chunk in chunks(list(dict.fromkeys(terms)), 500):
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

    def fts_scores(
        self,
        expr: str,
        weights: Sequence[float],
        among: Collection[int] | None = None,
        filters: Filters | None = None,
    ) -> dict[int, float]:
        """record pk -> relevance (higher is better) of every record matching ``expr``.

        ``among``: the records whose scores the caller reads (None: any). An engine that
        scores only a pool of an expression matching very many records scores these
        (a shared index at scale); one that scores every match ignores it. ``filters``:
        the records the caller keeps (it filters the scores itself); an engine that
        pools draws its pool from those, one that scores every match ignores it."""
        raise NotImplementedError

    def candidates(self, exprs: Sequence[str], filters: Filters | None = None) -> list[int] | None:
        """The records worth scoring for a query that wants a record to match each of
        ``exprs`` (one per word) and pass ``filters``, for an engine that scores only a
        pool where very many records match; None where every match is scored (here,
        always)."""
        return None

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

    def spelling_candidates(
        self, word: str, min_len: int, max_len: int, *, same_start: bool
    ) -> list[tuple[str, int]]:
        """(word, records holding it) of indexed words that could be ``word`` mistyped,
        within the lengths (and sharing its first letter, with ``same_start``): every
        word there, here; an engine with a trigram index narrows them inside it."""
        return self.words_starting(word[0] if same_start else "", min_len, max_len)

    def search_rows(self, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """record pk -> id, title, kind, date, tags, path, summary (and kb, shared)."""
        out: dict[int, dict[str, Any]] = {}
        ref = self.ref_sql("kb", "id")
        extra = ", kb" if self.shared else ""
        for chunk in chunks(list(pks), 500):
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
        for chunk in chunks(list(pks), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.all(
                "SELECT pk, title, tags_text, lesson, recommendations, summary FROM record"
                f" WHERE pk IN ({marks})",
                chunk,
            ):
                out[row[0]] = "\n".join(p for p in row[1:] if p)
        return out
