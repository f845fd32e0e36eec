"""The PostgreSQL store: one index for a whole organisation, shared by many knowledge
bases (docs/postgres.md).

Its tables live in their own schema, ``lessons`` (never another application's
``public.record``), made and upgraded in place by ``store/migrations.py`` under an
advisory lock. Every row carries its knowledge base (``kb``); a publication (a
sync) of one knowledge base is one transaction that holds a lock of its own name
only, so that many teams publish at once; reads run in one snapshot each
(repeatable read), so that a search never sees half a publication.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

from lessons.errors import AccessError, ConflictError, StoreError
from lessons.filters import Filters
from lessons.store import fts5
from lessons.store.base import Store, sql_text
from lessons.store.location import mask_url
from lessons.store.schema import FTS_COLUMNS, RECORD_COLUMNS

NAMESPACE = "lessons"
# Advisory lock keys (first half): the schema (second half 0, taken shared by every
# publication and exclusively by a migration), and one per knowledge base's name.
LOCK_CLASS = 0x1E55
# How long a publication waits for another of the same knowledge base.
LOCK_WAIT = "60s"
# What a publishing role needs on every table of the index.
WRITE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
TABLES = ("record", "file", "tag", "link", "action", "meta", "word", "term", "kb_total")


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` and friends as the plain URL libpq accepts."""
    return "postgresql://" + url.split("://", 1)[1]


def place(url: str) -> str:
    """``HOST/DB`` of a URL, as messages name the index."""
    try:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        host = parts.hostname or query.get("host") or "localhost"
        db = unquote(parts.path.lstrip("/")) or query.get("dbname") or parts.username or "?"
        return f"{host}/{db}"
    except ValueError:
        return "?"


def describe(url: str) -> str:
    """``HOST/DB (masked URL)``."""
    return f"{place(url)} ({mask_url(url)})"


# A record's document (its ``tsv``, ``ntok`` and ``starts`` columns) is made by lessons at
# publication from the same tokens as the embedded index's (store/fts5.py), so that
# search matches and ranks exactly alike; the GIN index on ``tsv`` finds the records a
# query may match. Before schema version 4 it was a generated column of PostgreSQL's
# own 'english' parsing, which ranked worse (MRR 0.74 against 0.92).
DOC_COLUMNS = ("tsv", "ntok", "starts")
_FTS_INDEXES = [RECORD_COLUMNS.index(c) for c in FTS_COLUMNS]
# Up to this many matches an expression's records are all scored exactly (the judged
# sets never go past it); beyond it, where the server has the ranked (RUM) index, the
# POOL best of them by that index are, and the count comes from the statistics.
EXACT_UP_TO = 5000
POOL = 500
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


class PostgresStore(Store):
    """Tables from the same SQLModel models, reached through psycopg."""

    param = "%s"
    shared = True

    def __init__(self, url: str, conn: Any) -> None:
        super().__init__(url, conn)
        self._schema_checked = False
        # A RUM index (store/migrations.py) ranks the best few of a common word.
        self.ranked = False
        # pg_trgm's index on the vocabulary (store/migrations.py): typo candidates.
        self.trigrams = False
        self._writing = False
        self._bulk: Counter[str] | None = None  # words of a publication afresh
        # Terms, records and tokens added since the statistics were last written.
        self._terms: Counter[str] = Counter()
        self._added = [0, 0]
        # (records, tokens) of the scope, once per process: BM25's N and average length.
        self._totals: tuple[int, int] | None = None

    # --- plumbing: every error of the driver becomes one of ours ----------------

    @property
    def where_(self) -> str:
        """``HOST/DB (masked URL)``, as messages name this index."""
        return describe(self.url)

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        try:
            return super().execute(query, params)
        except Exception as exc:
            self._fail(exc)

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            super().executemany(query, rows)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException, *, committing: bool = False) -> NoReturn:
        """Raise the error a user can act on for a driver error (others are bugs)."""
        import psycopg
        from psycopg import errors

        if not isinstance(exc, psycopg.Error):
            raise exc
        where = self.where_
        if isinstance(exc, psycopg.OperationalError) and (self.conn.broken or self.conn.closed):
            if committing:
                raise StoreError(
                    f"lost the connection to the index at {where} while committing",
                    hint="the publication may or may not have landed: run `lessons index` again",
                ) from None
            raise StoreError(
                f"lost the connection to the index at {where}; nothing was changed",
                hint="run the command again when the server answers",
            ) from None
        if isinstance(exc, errors.InsufficientPrivilege):
            raise AccessError(
                f"the role '{self._role()}' may not do this on the index at {where}:"
                f" {exc.diag.message_primary}",
                hint="publishing needs SELECT, INSERT, UPDATE and DELETE on the tables of"
                " schema 'lessons' (docs/postgres.md, Roles)",
            ) from None
        if isinstance(exc, errors.LockNotAvailable):
            raise ConflictError(
                f"another publication of '{self.home}' to the index at {where} is still running",
                hint="try again when it has finished",
            ) from None
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            raise ConflictError(
                f"the index at {where} was busy: {exc.diag.message_primary}",
                hint="try again in a moment",
            ) from None
        if isinstance(exc, errors.DiskFull | errors.OutOfMemory):
            raise StoreError(
                f"the server of the index at {where} is out of space: {exc.diag.message_primary}",
                hint="nothing was changed; free space on the server and run it again",
            ) from None
        if isinstance(exc, errors.QueryCanceled | errors.AdminShutdown):
            raise StoreError(
                f"the index at {where} stopped the query: {exc.diag.message_primary}",
                hint="nothing was changed; run the command again",
            ) from None
        raise exc

    @property
    def role(self) -> str:
        """The role this connection logged in as."""
        return self._role()

    def _role(self) -> str:
        try:
            return str(self.conn.info.user)
        except Exception:
            return "?"

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()

    def close(self) -> None:
        self._rollback()
        super().close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction in read-committed mode (each statement sees what other
        publications committed); reads otherwise run in one repeatable-read snapshot."""
        from psycopg import IsolationLevel

        self._rollback()  # ends the read snapshot, if one is open
        self.conn.isolation_level = IsolationLevel.READ_COMMITTED
        self.conn.read_only = False
        self._writing = True
        try:
            self.begin()
            yield
        except BaseException:
            self._rollback()
            raise
        finally:
            self._writing = False
        try:
            self.conn.commit()
        except Exception as exc:
            self._fail(exc, committing=True)
        finally:
            self._read_mode()

    def _read_mode(self) -> None:
        from psycopg import IsolationLevel

        with contextlib.suppress(Exception):
            self.conn.isolation_level = IsolationLevel.REPEATABLE_READ

    def begin(self) -> None:
        # Shared: a migration (exclusive) waits for running publications and keeps new
        # ones out. Then the one lock of this knowledge base's name: another team's
        # publication runs alongside, and touches none of these rows.
        self.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        self.execute(f"SELECT pg_advisory_xact_lock_shared({LOCK_CLASS}, 0)")
        if self.home is not None:
            self.execute(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext(?))", (self.home,))
        from lessons.store.migrations import check_version

        # A newer lessons may have upgraded the index since this process looked.
        check_version(self, self._version_in_transaction())

    # --- schema ------------------------------------------------------------------

    def _version(self) -> int | None:
        """The schema version the index records, or None where there is no index."""
        from psycopg import errors

        try:
            row = (
                super()
                .execute(f"SELECT value FROM {NAMESPACE}.meta WHERE key = 'schema' AND kb = ''")
                .fetchone()
            )
        except errors.UndefinedTable:
            self._rollback()
            return None
        except Exception as exc:
            self._fail(exc)
        return int(row[0]) if row else None

    def _version_in_transaction(self) -> int | None:
        """``_version`` inside a transaction that must not end (it holds a lock)."""
        if self.one(f"SELECT to_regclass('{NAMESPACE}.meta')")[0] is None:
            return None
        row = self.one(f"SELECT value FROM {NAMESPACE}.meta WHERE key = 'schema' AND kb = ''")
        return int(row[0]) if row else None

    def schema_version(self) -> int | None:
        return self._version()

    def prepare(self, *, create: bool = True) -> None:
        """Make the schema current: made if absent (unless not ``create``: a read with
        nothing published), upgraded in place if older, refused if newer than this
        lessons knows. Once per process."""
        if self._schema_checked:
            return
        from lessons.store.migrations import migrate

        if not create and self._version() is None:
            raise StoreError(
                f"nothing has been published to the index at {self.where_} yet",
                hint="publish a knowledge base into it: lessons --db URL index (in its folder)",
            )
        migrate(self)
        self._schema_checked = True
        from lessons.store.migrations import RANKED_INDEX

        found = self.one(f"SELECT to_regclass('{NAMESPACE}.{RANKED_INDEX}')")
        self.ranked = found[0] is not None
        self.trigrams = self._has_trigrams()

    def ensure_schema(self, fingerprint: str) -> bool:
        """The schema made current; True when the home knowledge base's rows must be
        published afresh (it is new here, or its configuration changed)."""
        self.prepare()
        return self.get_meta("config") != fingerprint

    def create_schema(self) -> None:
        # Never drops the shared index: rebuilding one knowledge base is forget_kb().
        self.prepare()

    def can_publish(self) -> bool:
        """True when this role may write every table of the index."""
        checks = " AND ".join(
            f"has_table_privilege('{NAMESPACE}.{t}', '{p}')"
            for t in TABLES
            for p in WRITE_PRIVILEGES
        )
        # A record's pk comes from its sequence.
        checks += f" AND has_sequence_privilege('{NAMESPACE}.record_pk_seq', 'USAGE')"
        row = self.one(f"SELECT {checks}")
        return bool(row[0])

    def forget_kb(self) -> int:
        """Inside a transaction: delete every row of the home knowledge base; return
        how many of its files the index knew."""
        kb = self.own_kb()
        gone = self.one(f"SELECT count(*) FROM file WHERE kb = {kb}")[0]
        # Through the record table's (kb, id) index: the child tables are keyed by
        # record id first, so each goes by its own key, not by a scan for kb.
        ids = f"(SELECT id FROM record WHERE kb = {kb})"
        # Its records' vectors go with them: a pk left behind names no record.
        self.execute(
            f"DELETE FROM record_vector WHERE pk IN (SELECT pk FROM record WHERE kb = {kb})"
        )
        self.execute(f"DELETE FROM tag WHERE kb = {kb} AND record_id IN {ids}")
        self.execute(f"DELETE FROM action WHERE kb = {kb} AND record_id IN {ids}")
        self.execute(f"DELETE FROM link WHERE kb = {kb} AND src IN {ids}")
        for table in ("record", "file", "word", "term", "kb_total"):
            self.execute(f"DELETE FROM {table} WHERE kb = {kb}")
        self.execute(f"DELETE FROM meta WHERE kb = {kb}")
        self._totals = None
        return int(gone)

    def knowledge_bases(self) -> list[str]:
        rows = self.all("SELECT DISTINCT kb FROM meta WHERE key = 'config' ORDER BY kb")
        return [r[0] for r in rows]

    # --- writing: links keep their target's knowledge base; word counts follow -----

    def _link_row(self, rid: str, link: dict[str, Any], seq: int) -> tuple[Any, ...]:
        kb, _, dst = str(link["to"]).rpartition(":")
        return (rid, dst, link["rel"], link.get("note"), seq, kb or self.home)

    def _insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY: several times faster than row inserts for a publication's batches.
        self.own_kb()  # refuses to write without a home knowledge base
        kb = self.home
        docs: list[fts5.Document] = []
        if table == "record":
            docs = fts5.documents([[row[i] for i in _FTS_INDEXES] for row in rows])
            columns = (*columns, *DOC_COLUMNS)
            for doc in docs:
                self._terms.update(doc.terms)
                self._added[0] += 1
                self._added[1] += doc.length
        try:
            cur = self.conn.cursor()
            with cur.copy(f"COPY {table} (kb, {', '.join(columns)}) FROM STDIN") as copy:
                for k, row in enumerate(rows):
                    if docs:
                        doc = docs[k]
                        row = (*row, doc.tsvector, doc.length, doc.starts)
                    copy.write_row((kb, *row))
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
            counts.update(words_of(*row[2:]))
        self._add_words(counts, -1)
        self._add_terms(terms, len(rows), tokens, sign=-1)

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

    # --- search: FTS5's matching and BM25 over lessons-made documents (store/fts5.py) --

    # lessons.search writes FTS5 expressions for this store too; they are matched and
    # ranked here exactly as the embedded index's FTS5 matches and ranks them.
    dialect = "fts5"

    def _scope_totals(self) -> tuple[int, int]:
        """(records, tokens) of the knowledge bases the reads cover: BM25's N and, over
        N, the average record length."""
        if self._totals is None:
            # Kept by each publication: counting a million records takes a while.
            row = self.one(
                "SELECT coalesce(sum(records), 0), coalesce(sum(tokens), 0) FROM kb_total"
                f"{self.seen(where=True)}"
            )
            self._totals = (int(row[0]), int(row[1]))
        return self._totals

    def _positions(
        self, items: Sequence[fts5.Item], among: Sequence[int] | None = None
    ) -> dict[int, tuple[int, fts5.Positions]]:
        """pk -> (length, where the expression's terms stand) of every record the
        reads cover (of ``among``, if given) that the GIN index says may match ``items``."""
        query = fts5.tsquery(items)
        if not query:
            return {}
        exact, prefixes = fts5.lexemes(items)
        within = " AND r.pk = ANY(?)" if among is not None else ""
        rows = self.all(
            "SELECT r.pk, r.ntok, r.starts, u.lexeme, u.positions FROM record r,"
            " unnest(r.tsv) u WHERE r.tsv @@ ?::tsquery"
            " AND (u.lexeme = ANY(?::text[]) OR u.lexeme ^@ ANY(?::text[]))"
            f"{self.seen('r')}{within}",
            (query, exact, prefixes, *([list(among)] if among is not None else [])),
        )
        grouped: dict[int, tuple[int, list[int], dict[str, list[int]]]] = {}
        for pk, ntok, starts, lexeme, positions in rows:
            grouped.setdefault(pk, (ntok, starts, {}))[2][lexeme] = positions
        return {
            pk: (ntok, fts5.Positions(by_term, starts))
            for pk, (ntok, starts, by_term) in grouped.items()
        }

    def _phrase_count(self, phrase: fts5.Phrase) -> int:
        """How many records of the scope hold a phrase (in its column, if it names one)."""
        found = self._positions([phrase])
        return sum(1 for _, where in found.values() if where.instances(phrase))

    def _term_counts(self, phrases: Sequence[fts5.Phrase]) -> list[int | None]:
        """How many records of the scope hold each phrase that is one term (no prefix,
        no column), from the statistics publications keep; None for the others."""
        simple = [_simple(p) for p in phrases]
        wanted = [t for t in simple if t is not None]
        counts: dict[str, int] = {}
        if wanted:
            rows = self.all(
                f"SELECT term, sum(ndoc) FROM term WHERE term = ANY(?){self.seen()} GROUP BY term",
                (wanted,),
            )
            counts = {t: int(n) for t, n in rows}
        return [None if t is None else counts.get(t, 0) for t in simple]

    def count(self) -> int:
        """How many records the reads cover (from the statistics: no scan)."""
        return self._scope_totals()[0]

    def _scored(
        self, expr: str, weights: Sequence[float], *, counted: bool = True
    ) -> tuple[dict[int, float], int]:
        """(pk -> bm25() with its sign flipped, how many records match) for an FTS5
        expression: every match scored exactly, or, past EXACT_UP_TO matches where
        the server has the ranked (RUM) index, the POOL best by that index."""
        items = fts5.parse(expr)
        phrases = fts5.phrases(items)
        known = self._term_counts(phrases)
        among: list[int] | None = None
        estimate = 0
        if self.ranked:
            if all(n is not None for n in known):
                estimate = sum(n or 0 for n in known)
            else:
                estimate = self._count(fts5.tsquery(items), EXACT_UP_TO + 1)
            if estimate > EXACT_UP_TO:
                among = [
                    r[0]
                    for r in self.all(
                        "SELECT r.pk FROM record r WHERE r.tsv @@ ?::tsquery"
                        f"{self.seen('r')} ORDER BY r.tsv <=> ?::tsquery LIMIT {POOL}",
                        (fts5.tsquery(items), fts5.tsquery(items)),
                    )
                ]
        matched: dict[int, tuple[int, fts5.Positions, list[list[int]]]] = {}
        for pk, (length, where) in self._positions(items, among).items():
            found = fts5.hits(items, where)
            if found is not None:
                matched[pk] = (length, where, found)
        if not matched:
            return {}, 0
        # As FTS5's bm25(): a phrase's document frequency counts the records holding it
        # alone (in a NEAR group too), each record's length every token it has.
        in_near = {p for item in items if isinstance(item, fts5.Near) for p in item.phrases}
        counts = []
        for i, phrase in enumerate(phrases):
            if known[i] is not None:
                counts.append(int(known[i] or 0))
            elif phrase in in_near or among is not None:
                counts.append(self._phrase_count(phrase))
            else:
                # Every record holding the phrase matches the expression (OR).
                counts.append(sum(1 for _, _, found in matched.values() if found[i]))
        records, tokens = self._scope_totals()
        idfs = [fts5.idf(records, n) for n in counts]
        avgdl = tokens / records if records else 0.0
        scores = {
            pk: fts5.bm25(found, where, weights, idfs, length, avgdl)
            for pk, (length, where, found) in matched.items()
        }
        if among is None:
            return scores, len(scores)
        if all(n is not None for n in known) or not counted:
            # Records holding several of the terms are counted once per term: the
            # figure is an upper bound, the way a search engine says "about".
            return scores, estimate
        return scores, self._count(fts5.tsquery(items))

    def _count(self, query: str, up_to: int | None = None) -> int:
        """How many records of the scope the index says match (at most ``up_to``)."""
        cut = f" LIMIT {int(up_to)}" if up_to is not None else ""
        row = self.one(
            f"SELECT count(*) FROM (SELECT 1 FROM record r WHERE r.tsv @@ ?::tsquery"
            f"{self.seen('r')}{cut}) m",
            (query,),
        )
        return int(row[0])

    def fts_scores(self, expr: str, weights: Sequence[float]) -> dict[int, float]:
        if not expr:
            return {}
        # Scores only: the count of every match is not needed here.
        return self._scored(expr, weights, counted=False)[0]

    def fts_top(
        self,
        groups: Sequence[tuple[str, float]],
        weights: Sequence[float],
        limit: int,
        filters: Filters | None = None,
    ) -> tuple[list[tuple[int, float]], int] | None:
        # A record scores its best weighted group, as in the embedded index's fts_top.
        best: dict[int, float] = {}
        pooled = 0
        for expr, weight in groups:
            if not expr:
                continue
            scores, matching = self._scored(expr, weights)
            if matching > len(scores):
                pooled += matching
            for pk, score in scores.items():
                value = weight * score
                if pk not in best or value > best[pk]:
                    best[pk] = value
        if best and filters is not None and not filters.is_empty():
            allowed = self.record_pks(filters)
            best = {pk: s for pk, s in best.items() if pk in allowed}
        top = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[: int(limit)]
        return top, max(len(best), pooled)

    def fts_exists(self, expr: str) -> bool:
        if not expr:
            return False
        items = fts5.parse(expr)
        query = fts5.tsquery(items)
        if not query:
            return False
        exact = all(isinstance(i, fts5.Phrase) and i.column is None for i in items)
        if exact:
            # Phrases and prefixes without a column: the index's answer is FTS5's.
            row = self.one(
                f"SELECT 1 FROM record WHERE tsv @@ ?::tsquery{self.seen()} LIMIT 1", (query,)
            )
            return row is not None
        return any(fts5.hits(items, where) for _, where in self._positions(items).values())

    def search_snippets(self, expr: str, pks: Sequence[int]) -> dict[int, list[str]]:
        if not expr or not pks:
            return {}
        # Highlighting only: PostgreSQL's own parser marks the words in the text shown.
        words = fts5.words_query(fts5.parse(expr))
        if not words:
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
            (options, options, options, options, words, *pks),
        )
        return {row[0]: list(row[1:]) for row in rows}

    def word_counts(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return {}
        rows = self.all(
            f"SELECT word, sum(ndoc) FROM word WHERE word = ANY(?){self.seen()} GROUP BY word",
            (wanted,),
        )
        return {w: int(n) for w, n in rows if n > 0}

    def words_starting(self, start: str, min_len: int, max_len: int) -> list[tuple[str, int]]:
        # The word column sorts bytewise (COLLATE "C"): a prefix is a range of its key.
        bound = " AND word >= ? AND word < ?" if start else ""
        params: list[Any] = [start, start + "\U0010ffff"] if start else []
        rows = self.all(
            f"SELECT word, sum(ndoc) FROM word WHERE length(word) BETWEEN ? AND ?{bound}"
            f"{self.seen()} GROUP BY word",
            (min_len, max_len, *params),
        )
        return [(w, int(n)) for w, n in rows if n > 0]

    def _has_trigrams(self) -> bool:
        from lessons.store.migrations import TRIGRAM_INDEX

        row = self.one(
            f"SELECT to_regclass('{NAMESPACE}.{TRIGRAM_INDEX}') IS NOT NULL"
            " AND to_regclass('" + NAMESPACE + ".ix_record_id_trgm') IS NOT NULL"
        )
        return bool(row[0])

    def closest_ids(self, ref: str, limit: int) -> list[tuple[str, str]]:
        """(ref, title) of the ids most like ``ref`` (for "no record with id ...")."""
        _, rid = self.parse_ref(ref)
        if not self.trigrams:
            from rapidfuzz import fuzz, process

            # Without pg_trgm: the ids are compared here (fine for a small index).
            pairs = dict(self.id_titles())
            found = process.extract(rid, list(pairs), scorer=fuzz.ratio, limit=limit)
            return [(key, pairs[key]) for key, score, _ in found if score >= 30]
        rows = self.all(
            f"SELECT {self.ref_sql('kb', 'id')}, title FROM record WHERE id % ?{self.seen()}"
            f" ORDER BY similarity(id, ?) DESC, id LIMIT {int(limit)}",
            (rid, rid),
        )
        return [(r[0], r[1]) for r in rows]

    # Trigram similarity at which a word is a typo candidate. Lower than pg_trgm's
    # default (0.3): one changed letter in the middle of a four-letter word ("dask",
    # "disk") leaves 0.25, and the candidates must include every word the spelling
    # policy (lessons/search/spelling.py) would accept, which then decides as anywhere.
    TYPO_SIMILARITY = 0.2

    def spelling_candidates(
        self, word: str, min_len: int, max_len: int, *, same_start: bool
    ) -> list[tuple[str, int]]:
        """(word, records holding it) of indexed words that could be ``word`` mistyped:
        from pg_trgm's index of the vocabulary, within the lengths and, with
        ``same_start``, sharing the first letter. Without pg_trgm, as any store."""
        if not self.trigrams:
            return super().spelling_candidates(word, min_len, max_len, same_start=same_start)
        bound = " AND word >= ? AND word < ?" if same_start else ""
        params: list[Any] = [word[0], word[0] + "\U0010ffff"] if same_start else []
        self.one(
            "SELECT set_config('pg_trgm.similarity_threshold', ?, true)",
            (str(self.TYPO_SIMILARITY),),
        )
        rows = self.all(
            f"SELECT word, sum(ndoc) FROM word WHERE word % ? AND length(word) BETWEEN ? AND ?"
            f"{bound}{self.seen()} GROUP BY word",
            (word, min_len, max_len, *params),
        )
        return [(w, int(n)) for w, n in rows if n > 0]


def _simple(phrase: fts5.Phrase) -> str | None:
    """The term of a phrase that is one term, with no prefix and no column."""
    if len(phrase.terms) == 1 and not phrase.prefix and phrase.column is None:
        return phrase.terms[0]
    return None


def open_postgres(url: str) -> PostgresStore:
    """Connect to the server a ``postgresql://`` URL names (the password, if any, from
    the URL, ``$PGPASSWORD`` or ``~/.pgpass``, as libpq finds it)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "PostgreSQL needs the psycopg package",
            hint="pip install 'lessons[postgres]'",
        ) from None
    try:
        conn: Any = psycopg.connect(
            libpq_url(url),
            connect_timeout=5,
            application_name="lessons",
            # Unqualified names are the index's own tables; pg_trgm may live in public.
            options=f"-c search_path={NAMESPACE},public",
        )
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot connect to the PostgreSQL index at {describe(url)}: {_reason(exc, url)}",
            hint="check the URL, that the server runs, and the password ($PGPASSWORD or ~/.pgpass)",
        ) from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return PostgresStore(url, conn)


def _reason(exc: BaseException, url: str) -> str:
    """The driver's message on one line, with the password (if it appears) masked."""
    text = " ".join(str(exc).split())
    password = urlsplit(url).password if "://" in url else None
    if password:
        text = text.replace(password, "***").replace(unquote(password), "***")
    return text


__all__ = ["PostgresStore", "describe", "mask_url", "open_postgres", "place", "sql_text"]
