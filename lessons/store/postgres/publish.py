"""A publication: records with their documents, the vocabulary and the search
statistics kept in step."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from lessons.store import fts5
from lessons.store.postgres.plumbing import Plumbing
from lessons.store.schema import FTS_COLUMNS, RECORD_COLUMNS

# A record's document (its ``tsv``, ``ntok`` and ``starts`` columns) is made by lessons at
# publication from the same tokens as the embedded index's (store/fts5.py), so that
# search matches and ranks exactly alike; the GIN index on ``tsv`` finds the records a
# query may match. Before schema version 4 it was a generated column of PostgreSQL's
# own 'english' parsing, which ranked worse (MRR 0.74 against 0.92).
DOC_COLUMNS = ("tsv", "ntok", "starts")
_FTS_INDEXES = [RECORD_COLUMNS.index(c) for c in FTS_COLUMNS]

# The columns whose words as written (no stemming) make the vocabulary (FTS_COLUMNS,
# as the SQLite index's record_words table has them).
WORD_COLUMNS = FTS_COLUMNS
_WORD = re.compile(r"[^\W_]+")


def words_of(*texts: str | None) -> set[str]:
    """The distinct words of some text as the vocabulary keeps them: lower case,
    accents dropped, split at anything that is not a letter or digit (as SQLite's
    unicode61 tokenizer does for the embedded index)."""
    out: set[str] = set()
    for text in texts:
        if not text:
            continue
        if not text.isascii():
            folded = unicodedata.normalize("NFKD", text)
            text = "".join(c for c in folded if not unicodedata.combining(c))
        out.update(_WORD.findall(text.lower()))
    return out


_WORD_INDEXES = [RECORD_COLUMNS.index(c) for c in WORD_COLUMNS]
_ID = RECORD_COLUMNS.index("id")
# Records tokenised at a time within a publication's COPY (see _insert_rows).
_SLICE = 50


class Publishing(Plumbing):
    """Rows of the home knowledge base in, and out."""

    def _link_row(self, rid: str, link: dict[str, Any], seq: int) -> tuple[Any, ...]:
        kb, _, dst = str(link["to"]).rpartition(":")
        return (rid, dst, link["rel"], link.get("note"), seq, kb or self.home)

    def _forget_files(self, paths: Sequence[str]) -> None:
        # One statement: a delete per path, even pipelined, took seconds for 10,000.
        self.execute(f"DELETE FROM file WHERE path = ANY(?){self.own()}", (list(paths),))

    def _insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY: several times faster than row inserts for a publication's batches.
        self.own_kb()  # refuses to write without a home knowledge base
        kb = self.home
        records = table == "record"
        if records:
            columns = (*columns, *DOC_COLUMNS)
            self._new_ids += [row[_ID] for row in rows]
            if self._fresh is None:
                from lessons.store.postgres.champions import Fresh

                self._fresh = Fresh()
            fresh = self._fresh
        try:
            cur = self.conn.cursor()
            with cur.copy(f"COPY {table} (kb, {', '.join(columns)}) FROM STDIN") as copy:
                # The documents are made a slice at a time while the rows already sent
                # are being stored: the server indexes one slice while Python tokenises
                # the next (made all before the COPY, each waited for the other).
                for start in range(0, len(rows), _SLICE):
                    part = rows[start : start + _SLICE]
                    if not records:
                        for row in part:
                            copy.write_row((kb, *row))
                        continue
                    docs = fts5.documents([[row[i] for i in _FTS_INDEXES] for row in part])
                    for row, doc in zip(part, docs, strict=True):
                        fresh.add(row[_ID], doc)
                        self._terms.update(doc.terms)
                        self._touched_terms.update(doc.terms)
                        self._added[0] += 1
                        self._added[1] += doc.length
                        copy.write_row((kb, *row, doc.tsvector, doc.length, doc.starts))
        except Exception as exc:
            self._fail(exc)

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """A knowledge base published afresh: its words are counted once at the end."""
        self._bulk = Counter()
        try:
            yield
            self._add_words(self._bulk, 1)
            self._add_terms(self._terms, *self._added)
        finally:
            self._bulk = None
            self._terms, self._added = Counter(), [0, 0]

    def _inserted(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._totals = None
        counts: Counter[str] = self._bulk if self._bulk is not None else Counter()
        for row in rows:
            counts.update(words_of(*(row[i] for i in _WORD_INDEXES)))
        if self._bulk is None:
            self._add_words(counts, 1)
            self._add_terms(self._terms, *self._added)
            self._terms, self._added = Counter(), [0, 0]

    def _forget_records(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._totals = None
        cols = ", ".join(f"r.{c}" for c in WORD_COLUMNS)
        counts: Counter[str] = Counter()
        terms: Counter[str] = Counter()
        tokens = 0
        rows = self.all(
            f"SELECT r.ntok, tsvector_to_array(r.tsv), {cols} FROM record r"
            f" WHERE r.id = ANY(?){self.own('r')}",
            (list(ids),),
        )
        for row in rows:
            tokens += row[0]
            terms.update(row[1])
            self._touched_terms.update(row[1])
            counts.update(words_of(*row[2:]))
        self._add_words(counts, -1)
        self._add_terms(terms, len(rows), tokens, sign=-1)

    def _before_commit(self) -> None:
        # The champion lists of the terms this publication's records hold (champions.py).
        if self._touched_terms and self.home is not None:
            from lessons.store.postgres import champions

            champions.update(self, self.own_kb(), self._touched_terms, self._new_ids, self._fresh)

    def _add_terms(self, counts: Counter[str], records: int, tokens: int, sign: int = 1) -> None:
        """Add (or take away) documents to the home knowledge base's statistics."""
        if not records:
            return
        terms = sorted(counts)
        kb = self.own_kb()
        self.execute(
            f"INSERT INTO term (term, kb, ndoc) SELECT t, {kb}, n"
            " FROM unnest(?::text[], ?::int[]) AS u(t, n)"
            " ON CONFLICT (term, kb) DO UPDATE SET ndoc = term.ndoc + excluded.ndoc",
            (terms, [sign * counts[t] for t in terms]),
        )
        if sign < 0:
            self.execute(
                f"DELETE FROM term WHERE kb = {kb} AND term = ANY(?) AND ndoc <= 0", (terms,)
            )
        self.execute(
            f"INSERT INTO kb_total (kb, records, tokens) VALUES ({kb}, ?, ?)"
            " ON CONFLICT (kb) DO UPDATE SET records = kb_total.records + excluded.records,"
            " tokens = kb_total.tokens + excluded.tokens",
            (sign * records, sign * tokens),
        )

    def _add_words(self, counts: Counter[str], sign: int) -> None:
        """Add (or take away) these word counts to the home knowledge base's."""
        if not counts:
            return
        words = sorted(counts)
        kb = self.own_kb()
        self.execute(
            f"INSERT INTO word (word, kb, ndoc) SELECT w, {kb}, n"
            " FROM unnest(?::text[], ?::int[]) AS t(w, n)"
            " ON CONFLICT (word, kb) DO UPDATE SET ndoc = word.ndoc + excluded.ndoc",
            (words, [sign * counts[w] for w in words]),
        )
        if sign < 0:
            self.execute(
                f"DELETE FROM word WHERE kb = {kb} AND word = ANY(?) AND ndoc <= 0", (words,)
            )
