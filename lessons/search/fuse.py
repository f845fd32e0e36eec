"""Fusion of the lexical and the semantic rankings (engine-neutral: numbers in, order out).

Every record either ranking brings is scored by both, and each ranking's score is put
on one scale first: how many standard deviations it stands above that ranking's mean
over these candidates (z-score normalisation), and the two are added (CombSUM;
Montague and Aslam, "Relevance score normalization for metasearch", 2001). No weight
is chosen: a ranking that singles a record out strongly moves it far, one that barely
tells the candidates apart moves little, and BM25's scale and a cosine's never need
calibrating against each other. Over the whole index instead, BM25's z-scores (most
records hold no query word) dwarfed the cosine's, and words decided almost alone
(measured in docs/search.md).

A record that shares no word with the query enters only when its closeness stands out
from the whole index (z above 2, about the best 2% of a normal spread), or any query
would "find" the least distant records of a knowledge base.

The tiers of the lexical ranking are kept (literal first, issue 13): in a short query,
records holding every word as typed stay above those that satisfy every word only
through a synonym or correction, which stay above everything else; fusion orders
records within their tier.

``rrf`` (reciprocal rank fusion, k = 60) is kept for comparison (``Tuning.fusion``):
measured on the judged sets, it ranks worse on three of the four (docs/search.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RRF_K = 60
# A record matched by meaning alone must stand this many standard deviations out.
MEANING_ALONE_Z = 2.0


@dataclass
class Fused:
    """One record after fusion, with what each ranking gave it (for ``--explain``)."""

    pk: int
    score: float
    tier: int
    lexical_rank: int | None = None
    lexical_score: float | None = None
    semantic_rank: int | None = None
    semantic_score: float | None = None


def pooled(
    lexical: Sequence[tuple[int, float, int]],
    semantic: Sequence[tuple[int, float]],
    *,
    semantic_z: Callable[[float], float],
    cosine_of: Callable[[int], float | None],
    tiered: bool,
    lexical_weight: float = 1.0,
) -> list[Fused]:
    """Fuse ``lexical`` (pk, score, tier) and ``semantic`` (pk, cosine), each best first:
    every record either ranking brought is scored by both (no word: a lexical score of
    0; its cosine through ``cosine_of`` when the semantic ranking did not list it), both
    scores are standardised over this pool, and the two z-scores are added, the words'
    scaled by ``lexical_weight`` (the share of the query they found, lexical.py)."""
    out: dict[int, Fused] = {}
    last_tier = max(max((tier for _, _, tier in lexical), default=0), 1)
    for rank, (pk, score, tier) in enumerate(lexical, start=1):
        out[pk] = Fused(pk, 0.0, tier if tiered else 0, rank, score)
    for rank, (pk, cosine) in enumerate(semantic, start=1):
        hit = out.get(pk)
        if hit is None:
            if semantic_z(cosine) <= MEANING_ALONE_Z:
                continue
            hit = out[pk] = Fused(pk, 0.0, last_tier if tiered else 0)
        hit.semantic_rank, hit.semantic_score = rank, cosine
    hits = list(out.values())
    for hit in hits:
        if hit.semantic_score is None:
            hit.semantic_score = cosine_of(hit.pk)
    # A record without a word scores 0 for the words; one without a vector yet (an
    # index still embedding) is left out of meaning's scale and scores its mean (z 0),
    # neither helped nor pushed down by a cosine it does not have.
    words = _standard([h.lexical_score or 0.0 for h in hits])
    meaning = _standard([h.semantic_score for h in hits])
    for hit, w, m in zip(hits, words, meaning, strict=True):
        hit.score = lexical_weight * w + m
    return sorted(hits, key=lambda f: (f.tier, -f.score, f.pk))


def _standard(values: Sequence[float | None]) -> list[float]:
    """Each value's distance from the mean of the values there are, in standard
    deviations (0 for a missing value, and for all when they are all equal)."""
    known = [v for v in values if v is not None]
    n = len(known)
    mean = sum(known) / n if n else 0.0
    std = math.sqrt(sum((v - mean) ** 2 for v in known) / n) if n else 0.0
    return [(v - mean) / std if v is not None and std > 0 else 0.0 for v in values]


def rrf(
    lexical: Sequence[tuple[int, float, int]],
    semantic: Sequence[tuple[int, float]],
    *,
    tiered: bool,
    semantic_z: Callable[[float], float] | None = None,
    k: int = RRF_K,
) -> list[Fused]:
    """Plain reciprocal rank fusion: the sum over rankings of 1 / (k + rank)."""
    out: dict[int, Fused] = {}
    for rank, (pk, score, tier) in enumerate(lexical, start=1):
        out[pk] = Fused(pk, 1.0 / (k + rank), tier if tiered else 0, rank, score)
    for rank, (pk, cosine) in enumerate(semantic, start=1):
        hit = out.get(pk)
        if hit is None:
            if semantic_z is not None and semantic_z(cosine) <= MEANING_ALONE_Z:
                continue
            hit = out[pk] = Fused(pk, 0.0, 2 if tiered else 0)
        hit.score += 1.0 / (k + rank)
        hit.semantic_rank, hit.semantic_score = rank, cosine
    return sorted(out.values(), key=lambda f: (f.tier, -f.score, f.pk))
