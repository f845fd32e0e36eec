"""Search on the shared index: the same matching and ranking as the embedded index's,
from the documents, positions and statistics publications keep."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from lessons.filters import Filters
from lessons.store import fts5
from lessons.store.postgres.plumbing import Plumbing

# Up to this many matches an expression's records are all scored exactly (the judged
# sets never go past it); beyond it, where the server has the ranked (RUM) index, the
# POOL best of them by that index are, and the count comes from the statistics.
EXACT_UP_TO = 5000
POOL = 500
# What one process keeps of its read snapshot at most (a long session, such as the
# browser or a benchmark, runs many searches): documents read as text, about 1.5 kB
# each, and scored expressions.
KEPT_DOCUMENTS = 50_000
KEPT_SCORES = 256


# A champion list's entries as rows (pk, s): the two arrays unnested side by side in the
# select list (their lengths are equal), which the server runs in step without first
# storing them as a table function's rows; a third to half of the time of
# ``CROSS JOIN LATERAL unnest(pks, scores)`` (docs/postgres.md, "Many matches").
_ENTRIES = "unnest(c.pks) AS pk, unnest(c.scores) AS s"

# ``match_any``'s columns, as the embedded index's query names them ({title tags_text
# lesson summary}), each at FTS5's default weight; the others weigh nothing.
MATCH_ANY_WEIGHTS = (1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0)


class Searching(Plumbing):
    """FTS5's matching and BM25 over lessons-made documents (store/fts5.py)."""

    def has_term_counts(self) -> bool:
        # Each publication keeps its terms' record counts (``term``).
        return True

    def term_doc_counts(self, terms: Iterable[str] | None = None) -> dict[str, int]:
        """Stemmed term -> how many records of the scope hold it, from the statistics."""
        if terms is None:
            every = self.seen(where=True)
            rows = self.all(f"SELECT term, sum(ndoc) FROM term{every} GROUP BY term")
        else:
            rows = self.all(
                f"SELECT term, sum(ndoc) FROM term WHERE term = ANY(?){self.seen()} GROUP BY term",
                (sorted(set(terms)),),
            )
        return {str(t): int(n) for t, n in rows}

    def match_any(self, words: Sequence[str], limit: int) -> list[str]:
        """Refs of records whose title, tags, lesson or summary hold any of ``words``,
        best BM25 match first (a large index scores the best of the words' lists)."""
        safe = [w for w in words if w.isalnum()]
        if not safe:
            return []
        found = self.fts_scores(" OR ".join(f'"{w}"' for w in safe), MATCH_ANY_WEIGHTS)
        best = sorted((-s, pk) for pk, s in found.items() if s > 0)[: int(limit)]
        refs = self.record_ids(pk for _, pk in best)
        return [refs[pk] for _, pk in best if pk in refs]

    # lessons.search writes FTS5 expressions for this store too; they are matched and
    # ranked here exactly as the embedded index's FTS5 matches and ranks them.

    # Trigram similarity at which a word is a typo candidate. Lower than pg_trgm's
    # default (0.3): one changed letter in the middle of a four-letter word ("dask",
    # "disk") leaves 0.25, and the candidates must include every word the spelling
    # policy (lessons/search/spelling.py) would accept, which then decides as anywhere.
    TYPO_SIMILARITY = 0.2

    def count(self) -> int:
        """How many records the reads cover (from the statistics: no scan)."""
        return self._scope_totals()[0]

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
        if among is not None and not any("'" in t or "\\" in t for t in (*exact, *prefixes)):
            return self._positions_among(exact, prefixes, among)
        within = " AND r.pk = ANY(?)" if among is not None else ""
        with self._by_index():
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

    def _positions_among(
        self, exact: Sequence[str], prefixes: Sequence[str], among: Sequence[int]
    ) -> dict[int, tuple[int, fts5.Positions]]:
        """``_positions`` of a pool: each record's document is read once per snapshot
        (a search scores a pool for every word, form and NEAR group of the query) and
        the terms are looked up in it here; records holding none are left out."""
        documents = self._read_documents(among)
        out = {}
        for pk in among:
            doc = documents.get(pk)
            if doc is None:
                continue
            ntok, starts, text = doc
            by_term: dict[str, list[int]] = {}
            for term in exact:
                at = _lexeme_at(text, f"'{term}':")
                if at >= 0:
                    by_term[term] = _numbers(text, at + len(term) + 3)
            for start in prefixes:
                at = _lexeme_at(text, f"'{start}")
                while at >= 0:
                    end = text.index("':", at + 1)
                    by_term[text[at + 1 : end]] = _numbers(text, end + 2)
                    at = _lexeme_at(text, f"'{start}", end)
            if by_term:
                out[pk] = (ntok, fts5.Positions(by_term, starts))
        return out

    def _read_documents(self, pks: Sequence[int]) -> dict[int, tuple[int, list[int], str]]:
        """pk -> (length, column starts, document as text) of these records, each read
        once per snapshot (as text: a third quicker than unnesting it in the server)."""
        found = {pk: self._documents[pk] for pk in pks if pk in self._documents}
        wanted = [pk for pk in pks if pk not in found]
        if not wanted:
            return found
        rows = self.all(
            "SELECT pk, ntok, starts, tsv::text FROM record WHERE pk = ANY(?)", (wanted,)
        )
        fresh = {pk: (ntok, starts, text) for pk, ntok, starts, text in rows}
        found.update(fresh)
        if not self._writing:
            if len(self._documents) + len(fresh) > KEPT_DOCUMENTS:
                self._documents.clear()  # a long session searches on as a fresh one
            self._documents.update(fresh)
        return found

    def _phrase_count(self, phrase: fts5.Phrase) -> int:
        """How many records of the scope hold a phrase (in its column, if it names one)."""
        found = self._positions([phrase])
        return sum(1 for _, where in found.values() if where.instances(phrase))

    def _term_counts(
        self, phrases: Sequence[fts5.Phrase]
    ) -> tuple[list[int | None], int | None, dict[str, int]]:
        """How many records of the scope hold each phrase that is one term (no prefix,
        no column), from the statistics publications keep (None for the others); and
        a bound no smaller than the records matching any of the phrases (None where a
        prefix leaves it open): a phrase is in no more records than its rarest term.
        (The largest of the first is a bound no larger.) And each term's count."""
        wanted = sorted({t for p in phrases for t in p.terms})
        counts: dict[str, int] = {}
        if wanted:
            rows = self.all(
                f"SELECT term, sum(ndoc) FROM term WHERE term = ANY(?){self.seen()} GROUP BY term",
                (wanted,),
            )
            counts = {t: int(n) for t, n in rows}
        simple = [_simple(p) for p in phrases]
        known = [None if t is None else counts.get(t, 0) for t in simple]
        bound: int | None = 0
        for p in phrases:
            if p.prefix or bound is None:
                bound = None
            elif p.terms:
                bound += min(counts.get(t, 0) for t in p.terms)
        return known, bound, counts

    def _scored(
        self,
        expr: str,
        weights: Sequence[float],
        *,
        counted: bool = True,
        among: Collection[int] | None = None,
        filters: Filters | None = None,
    ) -> tuple[dict[int, float], int]:
        """(pk -> bm25() with its sign flipped, how many records match) for an FTS5
        expression, of the records ``filters`` selects when given: every match scored
        exactly, or, past EXACT_UP_TO matches, those of ``among`` when given, else the
        POOL best of the champion lists or the ranked (RUM) index."""
        if filters is not None and filters.is_empty():
            filters = None
        key = (expr, tuple(weights), counted, self.scope, filters)
        if among is None and key in self._scored_memo:
            # One search scores an expression more than once (a word as typed, then
            # with its synonyms): the read snapshot has not changed in between.
            return self._scored_memo[key]
        found = self._score(expr, weights, counted, among, filters)
        if among is None and not self._writing:
            if len(self._scored_memo) >= KEPT_SCORES:
                self._scored_memo.clear()
            self._scored_memo[key] = found
        return found

    def _score(
        self,
        expr: str,
        weights: Sequence[float],
        counted: bool,
        among: Collection[int] | None,
        filters: Filters | None,
    ) -> tuple[dict[int, float], int]:
        items = fts5.parse(expr)
        phrases = fts5.phrases(items)
        known, bound, held = self._term_counts(phrases)
        query = fts5.tsquery(_possible(items, held))
        if not query:
            return {}, 0
        pool: list[int] | None = None
        estimate = 0
        if self.ranked or self.champions or among is not None:
            at_least = max((n for n in known if n is not None), default=0)
            if all(n is not None for n in known):
                estimate = sum(n or 0 for n in known)
            elif at_least > EXACT_UP_TO or (bound is not None and bound <= EXACT_UP_TO):
                # Too many, or few enough, for certain: counting the matches (a read of
                # thousands of records) would not change what is done.
                estimate = at_least or bound or 0
            else:
                pool = self._matching(query, EXACT_UP_TO + 1)
                estimate = len(pool)
            if estimate > EXACT_UP_TO and among is not None:
                # The caller reads these records' scores only: no index ranking at all.
                pool = list(among)
            elif (
                estimate > EXACT_UP_TO
                and filters is not None
                and len(within := self._matching(query, EXACT_UP_TO + 1, filters)) <= EXACT_UP_TO
            ):
                # Few of the matches pass the filters: every one of those is scored, as
                # the embedded index scores them (a pool of the best matches drawn
                # before filtering could hold none of them).
                pool, estimate = within, len(within)
            elif estimate > EXACT_UP_TO and (best := self._champion_pool([items], held, filters)):
                # The best of the champion lists of its terms (champions.py).
                pool = best
            elif estimate > EXACT_UP_TO and self.ranked:
                # Ranked by the whole expression, as written (the index's rank of a
                # record depends on every word of the query, even one no record holds).
                pool = self._ranked_pool(fts5.tsquery(items), filters)
            elif estimate > EXACT_UP_TO:
                # Neither lists for this expression nor a ranked index: every match.
                pool, estimate = None, 0
            elif pool is None:
                # Every match, read as a pool is (below): fewer reads of the documents.
                pool = self._matching(query, EXACT_UP_TO + 1)
        scored_all = estimate <= EXACT_UP_TO
        matched: dict[int, tuple[int, fts5.Positions, list[list[int]]]] = {}
        for pk, (length, where) in self._positions(items, pool).items():
            hit = fts5.hits(items, where)
            if hit is not None:
                matched[pk] = (length, where, hit)
        if not matched:
            return {}, 0
        # As FTS5's bm25(): a phrase's document frequency counts the records holding it
        # alone (in a NEAR group too), each record's length every token it has.
        in_near = {p for item in items if isinstance(item, fts5.Near) for p in item.phrases}
        counts = []
        for i, phrase in enumerate(phrases):
            if known[i] is not None:
                counts.append(int(known[i] or 0))
            elif phrase in in_near or not scored_all:
                counts.append(self._phrase_count(phrase))
            else:
                # Every record holding the phrase matches the expression (OR).
                counts.append(sum(1 for _, _, hit in matched.values() if hit[i]))
        records, tokens = self._scope_totals()
        idfs = [fts5.idf(records, n) for n in counts]
        avgdl = tokens / records if records else 0.0
        scores = {
            pk: fts5.bm25(hit, where, weights, idfs, length, avgdl)
            for pk, (length, where, hit) in matched.items()
        }
        if filters is not None:
            # A pool drawn with the filters passes them already; every match does not.
            passing = self._passing(list(scores), filters)
            scores = {pk: s for pk, s in scores.items() if pk in passing}
        if scored_all:
            return scores, len(scores)
        if filters is not None:
            return scores, self._count(query, filters=filters) if counted else len(scores)
        if all(n is not None for n in known) or not counted:
            # Records holding several of the terms are counted once per term: the
            # figure is an upper bound, the way a search engine says "about".
            return scores, estimate
        return scores, self._count(query)

    def candidates(self, exprs: Sequence[str], filters: Filters | None = None) -> list[int] | None:
        if filters is not None and filters.is_empty():
            filters = None
        if not (self.ranked or self.champions):
            return None
        parsed = [fts5.parse(e) for e in exprs if e]
        queries = [fts5.tsquery(items) for items in parsed]
        if len(queries) < 2 or not all(queries):
            return None
        counted = [self._term_counts(fts5.phrases(items)) for items in parsed]
        if all(b is not None and b <= EXACT_UP_TO for _, b, _ in counted):
            return None  # each word's records are few enough to be scored, every one
        at_least = max((n for known, _, _ in counted for n in known if n is not None), default=0)
        union = " | ".join(f"({q})" for q in queries)
        if at_least <= EXACT_UP_TO and self._count(union, EXACT_UP_TO + 1) <= EXACT_UP_TO:
            return None
        if filters is not None and self._count(union, EXACT_UP_TO + 1, filters) <= EXACT_UP_TO:
            return None  # few pass the filters: each word scores every one of those
        # The best of the words' champion lists (champions.py): the records in every
        # word's lists first.
        held: dict[str, int] = {}
        for _, _, counts in counted:
            held.update(counts)
        best = self._champion_pool(parsed, held, filters)
        if best:
            return best
        if not self.ranked:
            return None
        # The best by the ranked index of the records matching every word: records
        # holding them all come first, and the best of each word alone would seldom
        # hold the others. One scan of the index where one per word and form was made.
        every = " & ".join(f"({q})" for q in queries)
        pool = self._ranked_pool(every, filters)
        if len(pool) < POOL:
            # Too few hold every word: the best holding some of them fill the page.
            for q in queries:
                pool += self._ranked_pool(q, filters)
        return list(dict.fromkeys(pool))

    def _champion_pool(
        self,
        exprs: Sequence[Sequence[fts5.Item]],
        held: Mapping[str, int],
        filters: Filters | None = None,
    ) -> list[int] | None:
        """The POOL best records of the champion lists (champions.py) of some FTS5
        expressions' terms, or None where an expression is not made of single terms (a
        phrase of several, a prefix or NEAR: the ranked index, if any, draws those; the
        best records of one of a phrase's terms seldom hold the phrase).

        Each record is weighed, for each expression, by the sum over its terms of the
        term's IDF times the record's weight in the term's champion list (none when it
        is not listed); the records listed for every expression come first, then by the
        sum of their weights. With ``filters``, only the listed records they select."""
        if not self.champions:
            return None
        records, _ = self._scope_totals()
        terms: list[str] = []
        weights: list[float] = []
        groups: list[int] = []
        for g, items in enumerate(exprs):
            possible = _possible(items, held)
            if not possible:
                continue
            for item in possible:
                if not isinstance(item, fts5.Phrase) or item.prefix or len(item.terms) != 1:
                    return None
                term = item.terms[0]
                terms.append(term)
                weights.append(fts5.idf(records, held.get(term, 0)))
                groups.append(g)
        if not terms:
            return None
        scope = self.seen("c")
        # The filters, as a join of the entries with their records.
        cond, narrowing = self.where(filters) if filters is not None else ("", [])

        def passing(alias: str) -> str:
            return f" JOIN record r ON r.pk = {alias}.pk WHERE {cond}" if cond else ""

        if len(terms) == 1:
            # One term (a word's as typed): its lists' best, with no sum to make.
            rows = self.all(
                f"SELECT e.pk FROM (SELECT {_ENTRIES} FROM champion c WHERE c.term = ?{scope}) e"
                f"{passing('e')} ORDER BY e.s DESC, e.pk LIMIT {POOL}",
                (terms[0], *narrowing),
            )
            return [r[0] for r in rows]
        # A record's entries are all in its own knowledge base's lists: each knowledge
        # base's are summed on their own (small sums in memory), and the best of all of
        # them kept. One sum over every list at once (100,000 entries for two words in
        # 100 knowledge bases) spilled to disk and took twice as long (docs/postgres.md).
        kbs = f"SELECT DISTINCT c.kb FROM champion c WHERE c.term = ANY(?){scope}"
        lists = "FROM q JOIN champion c ON c.kb = k.kb AND c.term = q.t"
        if len(set(terms)) == len(terms) == len(set(groups)):
            # A term per expression: how many expressions list a record is its count.
            sums = (
                f"SELECT e.pk, count(*) AS n, sum(e.w * e.s) AS s"
                f" FROM (SELECT q.w, {_ENTRIES} {lists}) e GROUP BY e.pk"
            )
            params: tuple[object, ...] = (terms, weights, sorted(set(terms)))
            q = "unnest(?::text[], ?::float8[]) AS q(t, w)"
        else:
            sums = (
                "SELECT g.pk, count(*) AS n, sum(g.s) AS s FROM (SELECT e.g, e.pk, sum(e.w * e.s)"
                f" AS s FROM (SELECT q.g, q.w, {_ENTRIES} {lists}) e GROUP BY e.g, e.pk) g"
                " GROUP BY g.pk"
            )
            params = (terms, weights, groups, sorted(set(terms)))
            q = "unnest(?::text[], ?::float8[], ?::int[]) AS q(t, w, g)"
        rows = self.all(
            f"WITH q AS (SELECT * FROM {q}) SELECT x.pk FROM ({kbs}) k"
            f" CROSS JOIN LATERAL ({sums}) x{passing('x')}"
            f" ORDER BY x.n DESC, x.s DESC, x.pk LIMIT {POOL}",
            (*params, *narrowing),
        )
        return [r[0] for r in rows]

    def _narrowing(self, filters: Filters | None) -> tuple[str, list[Any]]:
        """`` AND`` the SQL condition on ``r`` that selects ``filters``, and its
        parameters; the scope's condition when there are none."""
        if filters is None:
            return self.seen("r"), []
        cond, params = self.where(filters)  # the scope included
        return f" AND {cond}", params

    def _passing(self, pks: Sequence[int], filters: Filters) -> set[int]:
        """Those of ``pks`` that ``filters`` selects."""
        if not pks:
            return set()
        cond, params = self.where(filters)
        rows = self.all(
            f"SELECT r.pk FROM record r WHERE r.pk = ANY(?) AND {cond}", (list(pks), *params)
        )
        return {r[0] for r in rows}

    def _ranked_pool(self, query: str, filters: Filters | None = None) -> list[int]:
        """The POOL records of the scope (that ``filters`` selects, if given) the ranked
        (RUM) index puts first for a tsquery."""
        narrow, params = self._narrowing(filters)
        return [
            r[0]
            for r in self.all(
                f"SELECT r.pk FROM record r WHERE r.tsv @@ ?::tsquery{narrow}"
                f" ORDER BY r.tsv <=> ?::tsquery LIMIT {POOL}",
                (query, *params, query),
            )
        ]

    def _count(self, query: str, up_to: int | None = None, filters: Filters | None = None) -> int:
        """How many records of the scope (that ``filters`` selects, if given) the index
        says match (at most ``up_to``)."""
        cut = f" LIMIT {int(up_to)}" if up_to is not None else ""
        narrow, params = self._narrowing(filters)
        with self._by_index():
            row = self.one(
                f"SELECT count(*) FROM (SELECT 1 FROM record r WHERE r.tsv @@ ?::tsquery"
                f"{narrow}{cut}) m",
                (query, *params),
            )
        return int(row[0])

    def _matching(self, query: str, up_to: int, filters: Filters | None = None) -> list[int]:
        """The pks of up to ``up_to`` records of the scope (that ``filters`` selects, if
        given) the index says match."""
        narrow, params = self._narrowing(filters)
        with self._by_index():
            rows = self.all(
                f"SELECT r.pk FROM record r WHERE r.tsv @@ ?::tsquery{narrow} LIMIT {int(up_to)}",
                (query, *params),
            )
        return [r[0] for r in rows]

    @contextlib.contextmanager
    def _by_index(self) -> Iterator[None]:
        """The statements inside read the records through a full-text index, never the
        whole table: the planner expects a phrase of two common words in far more
        records than hold it, and with a LIMIT reads the table for the few that do
        (2.8 s at 1,000,000 records, against 0.19 s by the ranked index)."""
        was = self.one(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
        )[0]
        try:
            yield
        finally:
            # A failed statement ended the transaction, and the setting with it.
            with contextlib.suppress(Exception):
                self.one("SELECT set_config('enable_seqscan', ?, true)", (was,))

    def fts_scores(
        self,
        expr: str,
        weights: Sequence[float],
        among: Collection[int] | None = None,
        filters: Filters | None = None,
    ) -> dict[int, float]:
        if not expr:
            return {}
        # Scores only: the count of every match is not needed here.
        return self._scored(expr, weights, counted=False, among=among, filters=filters)[0]

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
            # The filters are applied as the pool is drawn: the best of every match,
            # filtered afterwards, could hold none of the records they select.
            scores, matching = self._scored(expr, weights, filters=filters)
            if matching > len(scores):
                pooled += matching
            for pk, score in scores.items():
                value = weight * score
                if pk not in best or value > best[pk]:
                    best[pk] = value
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

    def record_vectors(self, among: Collection[int] | None = None) -> list[tuple[int, bytes]]:
        """(pk, vector bytes) of every record the reads cover that has a vector (of the
        records ``among`` names, when given)."""
        # Binary results: each vector arrives as its bytes, not as hex text to decode
        # (40,000 vectors: 0.11 s against 0.23-0.36 s).
        query = self.sql(
            "SELECT v.pk, v.vec FROM record_vector v JOIN record r ON r.pk = v.pk"
            + (" WHERE v.pk = ANY(?)" if among is not None else "")
            + self.seen("r", where=among is None)
        )
        params = (sorted(among),) if among is not None else None
        try:
            rows = self.conn.cursor(binary=True).execute(query, params).fetchall()
        except Exception as exc:
            self._fail(exc)
        return [(int(pk), bytes(vec)) for pk, vec in rows]

    def word_counts(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return {}
        # One look-up of the key per word. Written as a range of one (the column sorts
        # bytewise, so it is equality): with ``=`` the planner takes the trigram index,
        # which answers equality too, at a hundred times the cost (measured 41 ms
        # against 0.5 ms for ten words); the trigram index has no ranges.
        rows = self.all(
            "SELECT w.word, sum(w.ndoc) FROM unnest(?::text[]) AS q(t)"
            f" JOIN word w ON w.word BETWEEN q.t AND q.t{self.seen('w')} GROUP BY w.word",
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


def _possible(items: Sequence[fts5.Item], held: Mapping[str, int]) -> list[fts5.Item]:
    """The items that some record may match: a phrase (or a NEAR group with a phrase)
    with a term no record holds matches none, and looking it up in the index costs
    as much as a common word beside it (a synonym "tls certificate" of "certificate":
    0.1 s at 1,000,000 records, to find nothing)."""

    def possible(phrase: fts5.Phrase) -> bool:
        fixed = phrase.terms[:-1] if phrase.prefix else phrase.terms
        return all(held.get(t, 0) > 0 for t in fixed)

    return [
        item
        for item in items
        if (all(map(possible, item.phrases)) if isinstance(item, fts5.Near) else possible(item))
    ]


def _simple(phrase: fts5.Phrase) -> str | None:
    """The term of a phrase that is one term, with no prefix and no column."""
    if len(phrase.terms) == 1 and not phrase.prefix and phrase.column is None:
        return phrase.terms[0]
    return None


_POSITIONS = re.compile(r"[0-9A-D,]*")


def _lexeme_at(text: str, key: str, after: int = -1) -> int:
    """Where ``key`` (a quote and a lexeme's first letters) opens a lexeme of a
    tsvector's text, from ``after`` on, or -1: a lexeme holds no space, so the quote
    that opens one follows a space (or the start), never a letter of another."""
    at = text.find(key, after + 1)
    while at > 0 and text[at - 1] != " ":
        at = text.find(key, at + 1)
    return at


def _numbers(text: str, at: int) -> list[int]:
    """The positions written at ``text[at:]`` in a tsvector's text (``3A,15,200B``)."""
    found = _POSITIONS.match(text, at)
    listed = found.group(0) if found else ""
    return [int(p.rstrip("ABCD")) for p in listed.split(",") if p]
