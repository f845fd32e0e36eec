"""Lexical ranking: BM25 per concept over the field-weighted full-text index, proximity,
all-words-first tiers and pseudo-relevance feedback.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from lessons.filters import Filters
from lessons.search.plan import DEFAULT_TUNING, Plan, Tuning
from lessons.search.query import _WORD, STOPWORDS, Alt, match_expr, near_expr
from lessons.search.spelling import light_stem


def rank(
    store: Any, plan: Plan, filters: Filters, tuning: Tuning = DEFAULT_TUNING, depth: int = 10
) -> tuple[list[tuple[int, float, bool]], int, int]:
    """The best ``depth`` records as (pk, score, matches every concept), best first;
    how many records match at all; how many match every concept."""
    if len(plan.concepts) == 1 and not plan.excluded:
        # One word (the commonest search): the engine ranks and counts on its own.
        groups = [(match_expr(store, alts), w) for w, alts in plan.concepts[0].groups(tuning)]
        fast = store.fts_top(groups, tuning.weights, depth, filters)
        if fast is not None:
            top, total = fast
            return [(pk, s, True) for pk, s in top], total, total
    allowed = None if filters.is_empty() else store.record_pks(filters)

    def scores(expr: str) -> dict[int, float]:
        found: dict[int, float] = store.fts_scores(expr, tuning.weights)
        if allowed is None:
            return found
        return {pk: s for pk, s in found.items() if pk in allowed}

    totals: dict[int, float] = {}
    satisfied: Counter[int] = Counter()
    for c in plan.concepts:
        best: dict[int, float] = {}
        for weight, alts in c.groups(tuning):
            for pk, s in scores(match_expr(store, alts)).items():
                best[pk] = max(best.get(pk, 0.0), weight * s)
        for pk, s in best.items():
            totals[pk] = totals.get(pk, 0.0) + s
            satisfied[pk] += 1
    if tuning.proximity_weight:
        # Query words that stand close together in a record (NEAR) add to its score.
        primaries = [c.primary for c in plan.concepts]
        pairs = [(a, b) for a, b in itertools.pairwise(primaries) if a and b]
        if pairs:
            near = scores(near_expr(store, pairs, tuning.proximity_distance))
            for pk, s in near.items():
                if pk in totals:
                    totals[pk] += tuning.proximity_weight * s
    if plan.excluded:
        for pk in scores(match_expr(store, plan.excluded)):
            totals.pop(pk, None)
    n = len(plan.concepts)
    full = {pk for pk in totals if satisfied[pk] >= n}
    tiered = tuning.all_first and n <= tuning.tier_max_words

    def best_of(items: Mapping[int, float], k: int) -> list[tuple[int, float, bool]]:
        top = heapq.nsmallest(
            k, items.items(), key=lambda x: (tiered and x[0] not in full, -x[1], x[0])
        )
        return [(pk, s, pk in full) for pk, s in top]

    first = best_of(totals, max(depth, tuning.feedback_docs, tuning.feedback_keep))
    use_feedback = tuning.feedback_weight and tuning.feedback_terms and n >= 2 and first
    extra = _feedback(store, plan, first[: tuning.feedback_docs], tuning) if use_feedback else []
    if not extra:
        return first[:depth], len(totals), len(full)
    # Pseudo-relevance feedback re-scores the records found (it never adds records
    # that match no query word), and leaves the first pass's best few where they are.
    prf = scores(match_expr(store, extra))
    top_own = max(totals.values()) or 1.0
    top_prf = max(prf.values(), default=0.0) or 1.0
    kept = first[: tuning.feedback_keep]
    kept_pks = {pk for pk, _, _ in kept}
    mixed = {
        pk: s / top_own + tuning.feedback_weight * prf.get(pk, 0.0) / top_prf
        for pk, s in totals.items()
        if pk not in kept_pks
    }
    rest = best_of(mixed, max(0, depth - len(kept)))
    floor = max((s for _, s, _ in rest), default=0.0)
    head = [
        (pk, max(s / top_own, floor + 0.01 * (len(kept) - k)), f)
        for k, (pk, s, f) in enumerate(kept)
    ]
    return (head + rest)[:depth], len(totals), len(full)


def _feedback(
    store: Any, plan: Plan, top: Sequence[tuple[int, float, bool]], tuning: Tuning
) -> list[Alt]:
    """Pseudo-relevance feedback: words typical of the best first-pass records."""
    texts = store.search_texts([pk for pk, _, _ in top])
    if not texts:
        return []
    best = top[0][1] or 1.0
    weight: dict[str, float] = {}
    seen_in: Counter[str] = Counter()
    for pk, score, _ in top:
        words = [w for w in _WORD.findall(texts.get(pk, "").lower()) if _feedback_word(w)]
        if not words:
            continue
        counts = Counter(words)
        share = score / best
        for word, k in counts.items():
            weight[word] = weight.get(word, 0.0) + share * k / len(words)
            seen_in[word] += 1
    asked = {
        light_stem(w) for c in plan.concepts for a in (*c.alts, *c.shared, *c.syns) for w in a[0]
    }
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
