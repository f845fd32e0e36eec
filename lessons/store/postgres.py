"""The PostgreSQL store, for an organisation-wide index shared by many teams."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from lessons.errors import StoreError
from lessons.store.base import Store
from lessons.store.schema import FTS_COLUMNS, SCHEMA_VERSION


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` and friends as the plain URL libpq accepts."""
    return "postgresql://" + url.split("://", 1)[1]


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy needs to reach the server through psycopg 3."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


# A record's weighted document: one weight label per group of columns (the labels
# field:word searches use, lessons.search.TS_LABELS). Queries repeat this exact
# expression so that PostgreSQL uses the GIN index built on it.
TSV = (
    "setweight(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(tags_text, '')), 'A')"
    " || setweight(to_tsvector('english', coalesce(lesson, '') || ' '"
    " || coalesce(recommendations, '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(summary, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(campaign, '') || ' ' || coalesce(team, '')"
    " || ' ' || coalesce(body, '')), 'D')"
)
# The words as written (no stemming), for typo correction and variants.
WORDS = (
    "to_tsvector('simple', concat_ws(' ', title, tags_text, lesson, recommendations, summary,"
    " campaign, team, body))"
)


class PostgresStore(Store):
    """Tables from the same SQLModel models, reached through psycopg."""

    param = "%s"

    def begin(self) -> None:
        # One sync at a time per index: the lock is held until commit.
        self.execute("LOCK TABLE file IN SHARE ROW EXCLUSIVE MODE")

    def schema_version(self) -> int | None:
        exists = self.one("SELECT to_regclass('meta')")[0]
        if exists is None:
            self.conn.rollback()
            return None
        value = self.get_meta("schema")
        self.conn.rollback()
        return int(value) if value else None

    def create_schema(self) -> None:
        from lessons.store.models import create_tables, drop_tables

        self.conn.rollback()
        # The vocabulary view depends on the record table: it goes first.
        self.execute("DROP MATERIALIZED VIEW IF EXISTS record_words")
        self.conn.commit()
        target = sqlalchemy_url(self.url)
        drop_tables(target)
        create_tables(target)
        with self.transaction():
            self.set_meta("schema", str(SCHEMA_VERSION))
            # Stored, so ranking reads it instead of re-parsing every matching record.
            self.execute(
                f"ALTER TABLE record ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({TSV}) STORED"
            )
            self.execute("CREATE INDEX record_tsv ON record USING gin (tsv)")
            self.execute(
                "CREATE MATERIALIZED VIEW record_words AS SELECT word, ndoc"
                f" FROM ts_stat($q$SELECT {WORDS} FROM record$q$) WITH NO DATA"
            )
            self.execute("CREATE UNIQUE INDEX record_words_word ON record_words (word)")
            self.execute("CREATE INDEX record_words_prefix ON record_words (word text_pattern_ops)")
            self.set_meta("words_stale", "1")

    # --- search (PostgreSQL's own full-text search, SPEC §9) -----------------------

    dialect = "tsquery"
    _records: int | None = None  # counted once per process, for the IDF factor

    def insert_records(self, items: Sequence[tuple[dict[str, Any], str]]) -> None:
        super().insert_records(items)
        if items:
            self.set_meta("words_stale", "1")
            self._records = None

    def delete_paths(self, paths: Sequence[str]) -> int:
        gone = super().delete_paths(paths)
        if gone:
            self.set_meta("words_stale", "1")
            self._records = None
        return gone

    def _fresh_words(self) -> None:
        """Rebuild the vocabulary view if records changed since it was built."""
        if self.get_meta("words_stale") == "0":
            return
        with self.transaction():
            self.execute("REFRESH MATERIALIZED VIEW record_words")
            self.set_meta("words_stale", "0")

    def fts_scores(self, expr: str, weights: Sequence[float]) -> dict[int, float]:
        if not expr:
            return {}
        # ts_rank counts occurrences only; as in BM25, an inverse document frequency
        # factor makes rare words weigh more. (Length normalisation, options 1 and 2
        # or BM25's, ranked worse on the judged set: benchmarks/search_quality.py --db.)
        rows = self.all(
            "SELECT pk, ts_rank(?::float4[], tsv, q, 0) FROM record,"
            " to_tsquery('english', ?) q WHERE tsv @@ q",
            (_label_weights(weights), expr),
        )
        if self._records is None:
            self._records = self.count()
        self.conn.rollback()
        idf = math.log(1 + (self._records - len(rows) + 0.5) / (len(rows) + 0.5))
        return {pk: float(score) * idf for pk, score in rows}

    def fts_exists(self, expr: str) -> bool:
        if not expr:
            return False
        row = self.one(
            "SELECT 1 FROM record WHERE tsv @@ to_tsquery('english', ?) LIMIT 1", (expr,)
        )
        self.conn.rollback()
        return row is not None

    def search_snippets(self, expr: str, pks: Sequence[int]) -> dict[int, list[str]]:
        if not expr or not pks:
            return {}
        options = (
            f"StartSel={chr(2)}, StopSel={chr(3)}, MinWords=10, MaxWords=22, ShortWord=0,"
            " MaxFragments=1, FragmentDelimiter=…"
        )
        calls = ", ".join(
            f"ts_headline('english', coalesce({col}, ''), q, ?)"
            for col in ("lesson", "recommendations", "summary", "body")
        )
        marks = ",".join("?" * len(pks))
        rows = self.all(
            f"SELECT pk, {calls} FROM record, to_tsquery('english', ?) q WHERE pk IN ({marks})",
            (options, options, options, options, expr, *pks),
        )
        self.conn.rollback()
        return {row[0]: list(row[1:]) for row in rows}

    def word_counts(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return {}
        self._fresh_words()
        rows = self.all("SELECT word, ndoc FROM record_words WHERE word = ANY(?)", (wanted,))
        self.conn.rollback()
        return {w: int(n) for w, n in rows}

    def words_starting(self, start: str, min_len: int, max_len: int) -> list[tuple[str, int]]:
        self._fresh_words()
        pattern = start.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.all(
            "SELECT word, ndoc FROM record_words WHERE word LIKE ?"
            " AND length(word) BETWEEN ? AND ?",
            (pattern, min_len, max_len),
        )
        self.conn.rollback()
        return [(w, int(n)) for w, n in rows]


def _label_weights(weights: Sequence[float]) -> list[float]:
    """The column weights of lessons.search.Tuning as ts_rank's {D, C, B, A} (max 1)."""
    by_label: dict[str, float] = {}
    for column, weight in zip(FTS_COLUMNS, weights, strict=False):
        label = {"title": "A", "tags_text": "A", "lesson": "B", "recommendations": "B"}.get(
            column, "C" if column == "summary" else "D"
        )
        by_label[label] = max(by_label.get(label, 0.0), float(weight))
    top = max(by_label.values(), default=1.0) or 1.0
    return [by_label.get(label, 0.1) / top for label in "DCBA"]


def open_postgres(url: str) -> PostgresStore:
    """Connect to the server a ``postgresql://`` URL names."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "PostgreSQL needs the psycopg package",
            hint="pip install 'lessons[postgres]'",
        ) from None
    try:
        conn: Any = psycopg.connect(libpq_url(url), connect_timeout=5)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the PostgreSQL index: {exc}".strip()) from None
    return PostgresStore(url, conn)
