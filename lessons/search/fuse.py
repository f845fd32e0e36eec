"""Fusion of the lexical and the semantic rankings (engine-neutral: ranks in, ranks out).

Plain reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): a record's score is
the sum over rankings of 1 / (k + rank), with k = 60 as in the paper, no weights.
Ranks, not scores, are fused, so BM25's scale (which differs between SQLite and
PostgreSQL) and cosine similarity's never need calibrating against each other.

The tiers of the lexical ranking are kept (literal first, issue 13): in a short query,
records holding every word as typed stay above those that only satisfy every word
through a synonym or correction, which stay above everything else; fusion orders
records within their tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60


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


def rrf(
    lexical: Sequence[tuple[int, float, int]],
    semantic: Sequence[tuple[int, float]],
    *,
    tiered: bool,
    floor: float = -1.0,
    k: int = RRF_K,
) -> list[Fused]:
    """Fuse ``lexical`` (pk, score, tier) and ``semantic`` (pk, cosine), each best first.

    Records only the semantic ranking found take the last tier (2), and only when their
    cosine is above ``floor``. Without ``tiered`` every record is in one tier."""
    out: dict[int, Fused] = {}
    for rank, (pk, score, tier) in enumerate(lexical, start=1):
        out[pk] = Fused(pk, 1.0 / (k + rank), tier if tiered else 0, rank, score)
    for rank, (pk, cosine) in enumerate(semantic, start=1):
        hit = out.get(pk)
        if hit is None:
            if cosine <= floor:
                continue
            hit = out[pk] = Fused(pk, 0.0, 2 if tiered else 0)
        hit.score += 1.0 / (k + rank)
        hit.semantic_rank, hit.semantic_score = rank, cosine
    return sorted(out.values(), key=lambda f: (f.tier, -f.score, f.pk))
