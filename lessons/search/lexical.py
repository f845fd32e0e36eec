"""Lexical ranking: BM25 per concept over the field-weighted full-text index, proximity,
all-words-first tiers and pseudo-relevance feedback.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lessons.filters import Filters
from lessons.search.plan import DEFAULT_TUNING, Plan, Tuning
from lessons.search.query import _WORD, STOPWORDS, Alt, alts_fts, near_fts
from lessons.search.spelling import light_stem


@dataclass(frozen=True)
class Scored:
    """A record the lexical ranking found."""

    pk: int
    score: float
    full: bool  # every concept is satisfied (through corrections and synonyms too)
    literal: bool  # every word as typed is in the record (any inflection or variant)

    @property
    def tier(self) -> int:
        """0: every typed word; 1: every concept, some through a synonym or correction;
        2: some of them."""
        return 0 if self.literal else 1 if self.full else 2

    def group(self, tiers: int) -> int:
        """The tier, with 1 and 2 merged when there are two tiers."""
        return min(self.tier, tiers - 1)


@dataclass
class Ranking:
    """The lexical ranking of a query."""

    hits: list[Scored]  # the best records, best first
    total: int  # records matching at all
    literal: int  # records holding every word as typed
    # Each concept's records (``coverage`` reads them; fusion gives the words the
    # share of the query they found).
    satisfied: list[Collection[int]] = field(default_factory=list)
    # The counts are of a pool of candidates (a large shared index scores the best
    # records of its words' lists, not every match): lower bounds.
    at_least: bool = False


def rank(
    store: Any,
    plan: Plan,
    filters: Filters,
    tuning: Tuning = DEFAULT_TUNING,
    depth: int = 10,
) -> Ranking:
    """The best ``depth`` records (best first), with their counts.

    In queries of at most ``tuning.tier_max_words`` words, records holding every typed
    word come first, then those satisfying every word through a synonym or correction,
    then the rest (each group by score)."""
    n = len(plan.concepts)
    tiered = tuning.all_first and n <= tuning.tier_max_words
    if n == 1 and not plan.excluded:
        fast = _one_concept(store, plan, filters, tuning, depth, tiered)
        if fast is not None:
            return fast
    allowed = None if filters.is_empty() else store.record_pks(filters)
    narrow = None if filters.is_empty() else filters

    def scores(expr: str, among: Collection[int] | None = None) -> dict[int, float]:
        found: dict[int, float] = store.fts_scores(expr, tuning.weights, among, narrow)
        if allowed is None:
            return found
        return {pk: s for pk, s in found.items() if pk in allowed}

    # None where the engine scores every match; else the records it scores for words
    # that too many records hold (a shared index at scale), drawn from the words as
    # typed: the records holding them all rank first.
    pool = store.candidates([alts_fts(c.alts) for c in plan.concepts], narrow)
    # Every match of every word crosses into Python here (tens of thousands of records
    # at 10,000), so the loops below stay few and simple: the sets are intersected in C,
    # and the arithmetic is the same, in the same order, as one dict per record would do.
    totals: dict[int, float] = {}
    full: set[int] | None = None  # records satisfying every concept
    satisfied: list[Collection[int]] = []  # each concept's records
    as_typed_all: set[int] | None = None  # records holding every word as typed
    for c in plan.concepts:
        best: dict[int, float] = {}
        as_typed: set[int] = set()
        for weight, alts, lit in c.groups(tuning):
            found = scores(alts_fts(alts), pool)
            if lit:
                as_typed.update(found)
            if weight != 1.0:
                found = {pk: weight * s for pk, s in found.items()}
            if min(found.values(), default=1.0) > 0.0:
                # max(0.0, s) is s for every score: a record new to ``best`` takes its
                # score as it is (appended in order, as one at a time would be), and
                # only the records found before need max().
                if best:
                    merged = {**best, **found}
                    for pk in best.keys() & found.keys():
                        if found[pk] < best[pk]:
                            merged[pk] = best[pk]
                    found = merged
                best = found
                continue
            get = best.get
            for pk, s in found.items():
                best[pk] = max(get(pk, 0.0), s)
        if totals:
            # Likewise 0.0 + s is s for a record new to the totals; the others add up.
            merged = {**totals, **best}
            for pk in totals.keys() & best.keys():
                merged[pk] = totals[pk] + best[pk]
            totals = merged
        else:
            totals = best
        # A record satisfies a concept when some group found it, and holds its word as
        # typed when the literal group did: "every concept" is an intersection.
        satisfied.append(best.keys())
        full = set(best) if full is None else full.intersection(best)
        as_typed_all = as_typed if as_typed_all is None else as_typed_all.intersection(as_typed)
    if tuning.proximity_weight:
        # Query words that stand close together in a record (NEAR) add to its score.
        primaries = [c.primary for c in plan.concepts]
        pairs = [(a, b) for a, b in itertools.pairwise(primaries) if a and b]
        if pairs:
            # Only the records found already are read (``among``).
            near = scores(near_fts(pairs, tuning.proximity_distance), totals.keys())
            for pk, s in near.items():
                if pk in totals:
                    totals[pk] += tuning.proximity_weight * s
    if plan.excluded:
        for pk in scores(alts_fts(plan.excluded), totals.keys()):
            totals.pop(pk, None)
    full = (full or set()).intersection(totals)
    as_typed_all = (as_typed_all or set()).intersection(full)

    def best_of(items: Mapping[int, float], k: int) -> list[Scored]:
        # The order of the ranking is (tier, -score, pk); pks are unique, so no two
        # records tie. Scored objects are made for the k kept only: one object per
        # record matched cost more than the rest of the ranking.
        if tiered:
            typed = {pk: items[pk] for pk in as_typed_all if pk in items}
            if len(typed) < k:
                keys = (
                    (0 if pk in as_typed_all else 1 if pk in full else 2, -s, pk)
                    for pk, s in items.items()
                )
                top = [(neg, pk) for _, neg, pk in heapq.nsmallest(k, keys)]
                return [Scored(pk, -neg, pk in full, pk in as_typed_all) for neg, pk in top]
            items = typed  # the first tier fills the list on its own
        return [Scored(pk, -neg, pk in full, pk in as_typed_all) for neg, pk in _top(items, k)]

    first = best_of(totals, max(depth, tuning.feedback_docs, tuning.feedback_keep))
    use_feedback = tuning.feedback_weight and tuning.feedback_terms and n >= 2 and first
    extra = _feedback(store, plan, first[: tuning.feedback_docs], tuning) if use_feedback else []
    pooled = pool is not None
    if not extra:
        return Ranking(first[:depth], len(totals), len(as_typed_all), satisfied, pooled)
    # Pseudo-relevance feedback re-scores the records found (it never adds records
    # that match no query word), and leaves the first pass's best few where they are.
    prf = scores(alts_fts(extra), totals.keys())
    top_own = max(totals.values()) or 1.0
    top_prf = max(prf.values(), default=0.0) or 1.0
    kept = first[: tuning.feedback_keep]
    kept_pks = {h.pk for h in kept}
    weight, prf_of = tuning.feedback_weight, prf.get
    mixed = {
        pk: s / top_own + weight * prf_of(pk, 0.0) / top_prf
        for pk, s in totals.items()
        if pk not in kept_pks
    }
    rest = best_of(mixed, max(0, depth - len(kept)))
    floor = max((h.score for h in rest), default=0.0)
    head = [
        replace(h, score=max(h.score / top_own, floor + 0.01 * (len(kept) - k)))
        for k, h in enumerate(kept)
    ]
    return Ranking((head + rest)[:depth], len(totals), len(as_typed_all), satisfied, pooled)


# The hits whose coverage of the query is looked at: a page of results.
COVERAGE_DEPTH = 10


def coverage(ranking: Ranking, records: int) -> float:
    """The share of the query that the best-covered of the first ``COVERAGE_DEPTH`` hits
    satisfies, each concept weighted by its inverse document frequency (ln N/df, N the
    index's ``records``; a word
    in no record weighs most, one in every record nothing): 1 when one of them holds
    every concept, near 0 when they hold only the query's commonest words.

    A query-performance predictor in the spirit of the clarity and query-scope measures
    (Cronen-Townsend et al., SIGIR 2002; He and Ounis, SPIRE 2004): a situation
    described in words the records do not use (a paraphrase) leaves the words little
    to find, and fusion then leans on meaning instead of on matches of its commonest
    words. Measured in docs/search.md (no constant was fitted)."""
    hits, satisfied = ranking.hits, ranking.satisfied
    if len(satisfied) < 2 or not hits:
        return 1.0
    n = max(records, 1)
    weights = [math.log(n / max(len(pks), 1)) if len(pks) < n else 0.0 for pks in satisfied]
    total = sum(weights)
    if total <= 0.0:
        return 1.0
    return max(
        sum(w for w, pks in zip(weights, satisfied, strict=True) if h.pk in pks) / total
        for h in hits[:COVERAGE_DEPTH]
    )


def _one_concept(
    store: Any,
    plan: Plan,
    filters: Filters,
    tuning: Tuning,
    depth: int,
    tiered: bool,
) -> Ranking | None:
    """One word (the commonest search): the engine ranks and counts on its own; the
    records holding the word as typed first, then those found through its synonyms or
    corrections. None where the store has no such fast path."""
    groups = plan.concepts[0].groups(tuning)
    as_typed = [(alts_fts(alts), w) for w, alts, lit in groups if lit]
    every = [(alts_fts(alts), w) for w, alts, _ in groups]
    first = store.fts_top(as_typed, tuning.weights, depth, filters) if as_typed else ([], 0)
    if first is None:
        return None
    top, n_typed = first
    out = [Scored(pk, s, True, True) for pk, s in top]
    total = n_typed
    if len(every) > len(as_typed):
        more = store.fts_top(every, tuning.weights, depth + len(out), filters)
        if more is None:
            return None
        top_all, total = more
        if not tiered:
            seen = {pk for pk, _ in top}
            out += [Scored(pk, s, True, False) for pk, s in top_all if pk not in seen]
            out.sort(key=lambda h: (-h.score, h.pk))
        elif len(out) < depth:
            seen = {h.pk for h in out}
            out += [Scored(pk, s, True, False) for pk, s in top_all if pk not in seen]
    return Ranking(out[:depth], total, n_typed)


def _top(items: Mapping[int, float], k: int) -> list[tuple[float, int]]:
    """(-score, pk) of the ``k`` best records, best first, ties by pk: the k-th best
    score found first (a heap of k floats), then only the records scoring at least that
    are sorted, instead of a key made and compared for every record."""
    if k <= 0:
        return []
    if len(items) > k:
        floor = heapq.nlargest(k, items.values())[-1]
        pairs = [(-s, pk) for pk, s in items.items() if s >= floor]
    else:
        pairs = [(-s, pk) for pk, s in items.items()]
    pairs.sort()
    return pairs[:k]


def _feedback(store: Any, plan: Plan, top: Sequence[Scored], tuning: Tuning) -> list[Alt]:
    """Pseudo-relevance feedback: words typical of the best first-pass records."""
    texts = store.search_texts([h.pk for h in top])
    if not texts:
        return []
    best = top[0].score or 1.0
    weight: dict[str, float] = {}
    seen_in: Counter[str] = Counter()
    for h in top:
        pk, score = h.pk, h.score
        words = [w for w in _WORD.findall(texts.get(pk, "").lower()) if _feedback_word(w)]
        if not words:
            continue
        counts = Counter(words)
        share = score / best
        for word, k in counts.items():
            weight[word] = weight.get(word, 0.0) + share * k / len(words)
            seen_in[word] += 1
    asked = {light_stem(w) for c in plan.concepts for a in c.everything() for w in a[0]}
    candidates = [
        w
        for w in sorted(weight, key=lambda x: (-weight[x], x))[:80]
        if seen_in[w] >= min(2, len(top)) and light_stem(w) not in asked
    ]
    if not candidates:
        return []
    df = store.word_counts(candidates)
    n = max(store.count(), 1)
    scored = []
    for w in candidates:
        d = df.get(w, 0)
        if d < 2:
            continue
        scored.append((weight[w] * math.log(n / d), w))
    scored.sort(reverse=True)
    chosen: list[str] = []
    stems: set[str] = set()
    for _, w in scored:
        st = light_stem(w)
        if st in stems:
            continue
        stems.add(st)
        chosen.append(w)
        if len(chosen) >= tuning.feedback_terms:
            break
    return [((w,), False, None) for w in chosen]


def _feedback_word(w: str) -> bool:
    return len(w) > 2 and w not in STOPWORDS and not w.isdigit() and not w[0].isdigit()
