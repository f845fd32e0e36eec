"""Near-duplicate records: a warning of ``lessons check`` (SPEC §6)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.links.similarity import _docs, _similar_pairs, _Weights

NEAR_DUPLICATE = 0.9
# Nearly identical vectors share their strongest terms: fewer suffice (and keep
# `check` quick): on 3,128 post-mortems 16 found every pair that 40 did.
NEAR_DUPLICATE_TERMS = 16


def near_duplicates(
    kb: KnowledgeBase, min_score: float = NEAR_DUPLICATE
) -> list[tuple[str, str, float]]:
    """Unlinked pairs of records whose text is nearly the same: (first id, second id, score)."""
    docs = _docs(kb.store.similarity_rows(), lean=True)
    weights = _Weights(kb, docs)
    for d in docs:
        # Each doc's counts go as its vector comes: both at once for every record
        # would double the memory of a pass over 100,000.
        d.vec, d.counts = weights.vector(d.counts), Counter()
    linked = {frozenset((src, dst)) for src, dst, *_ in kb.store.all_links()}
    out = []
    for i, j, score in _similar_pairs(docs, min_score, top_terms=NEAR_DUPLICATE_TERMS):
        a, b = sorted((docs[i].id, docs[j].id))
        if frozenset((a, b)) not in linked:
            out.append((a, b, round(score, 3)))
    return sorted(out)


def check_similar_records(kb: KnowledgeBase) -> list[Any]:
    """``lessons check`` warnings: one per pair of unlinked, nearly identical records."""
    from lessons.check import Finding

    _, rows = kb.store.select(Filters(), sort="id", columns="r.id, r.path")
    paths = {r["id"]: r["path"] for r in rows}
    return [
        Finding(
            paths[b],
            1,
            None,
            f"near-duplicate record: '{b}' reads like '{a}' (text similarity {score:.2f});"
            f" merge them, or link them (`lessons link {b} {a} --rel supersedes`)",
            "warning",
        )
        for a, b, score in near_duplicates(kb)
    ]
