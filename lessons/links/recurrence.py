"""Recurrence: mistakes that happened again, linked by ``repeats`` or found by similarity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lessons.filters import Filters, value_key
from lessons.kb import KnowledgeBase
from lessons.links.similarity import (
    _cosine,
    _Doc,
    _docs,
    _selected,
    _shared_words,
    _similar_pairs,
    _Weights,
)

# Text similarity from which two mistakes look like the same mistake again.
RECURRENCE_SCORE = 0.5
# Reports of one event a few days apart (preliminary and final) are not a recurrence.
RECURRENCE_GAP_DAYS = 7


@dataclass
class Recurrence:
    """A mistake that happened again: ``later`` repeats ``earlier``.

    ``linked`` pairs are recorded with a ``repeats`` link; the others are
    candidates found by text similarity, for a person to confirm with
    ``lessons link LATER EARLIER --rel repeats``.
    """

    earlier: dict[str, Any]
    later: dict[str, Any]
    score: float
    linked: bool
    shared_words: list[str]
    shared_tags: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the later record's id and title first, as other results have."""
        return {
            "id": self.later["id"],
            "title": self.later["title"],
            "score": self.score,
            "linked": self.linked,
            "earlier": self.earlier,
            "later": self.later,
            "shared_words": self.shared_words,
            "shared_tags": self.shared_tags,
        }


def recurrence(
    kb: KnowledgeBase,
    filters: Filters | None = None,
    *,
    record: str | None = None,
    candidates: bool = True,
    min_score: float = RECURRENCE_SCORE,
    min_gap_days: int = RECURRENCE_GAP_DAYS,
    limit: int | None = None,
) -> list[Recurrence]:
    """Mistakes that recurred, most similar first.

    Returns the pairs linked by ``repeats`` (``linked=True``; the score is their
    text similarity) and, when ``candidates``, unlinked pairs of mistakes whose
    text similarity (TF-IDF cosine, 0..1) is at least ``min_score`` and that are
    distinct occasions: different campaigns, or dates at least ``min_gap_days``
    apart. Records with neither campaign nor date are never paired.

    ``filters`` select the later record of each pair (a retrospective of a
    period asks which of its mistakes had happened before); the earlier one may
    be anywhere in the knowledge base. ``record`` (an id or prefix) keeps the
    pairs it is part of.
    """
    store = kb.store
    later_ok = _selected(kb, filters)
    only = kb.resolve(record) if record else None
    all_links = store.all_links()
    repeats = [(src, dst) for src, dst, rel, _note, _seq in all_links if rel == "repeats"]
    linked_pairs = {frozenset((src, dst)) for src, dst, *_ in all_links}

    rows = store.similarity_rows(kind="mistake") if candidates else []
    have = {r[0] for r in rows}
    rows += store.similarity_rows({i for pair in repeats for i in pair} - have)
    docs = _docs(rows)
    by_id = {d.id: d for d in docs}
    weights = _Weights(kb, docs)
    weights.vectorise(docs)

    out: list[Recurrence] = []
    for src, dst in repeats:
        later, earlier = by_id.get(src), by_id.get(dst)
        if later is None or earlier is None:
            continue
        if later_ok is not None and src not in later_ok:
            continue
        if only and only not in (src, dst):
            continue
        out.append(_recurrence(earlier, later, _cosine(earlier.vec, later.vec), True))
    if candidates:
        mistakes = [d for d in docs if d.kind == "mistake"]
        # Only pairs that can qualify are looked for: those of the record, or
        # those of a filtered record (it may turn out the earlier one: dropped below).
        wanted = {only} if only else later_ok
        probe = None if wanted is None else {i for i, d in enumerate(mistakes) if d.id in wanted}
        for i, j, score in _similar_pairs(mistakes, min_score, probe):
            a, b = mistakes[i], mistakes[j]
            if frozenset((a.id, b.id)) in linked_pairs:
                continue
            if not _distinct_occasions(a, b, min_gap_days):
                continue
            earlier, later = sorted((a, b), key=lambda d: (d.date or "", d.id))
            if later_ok is not None and later.id not in later_ok:
                continue
            if only and only not in (a.id, b.id):
                continue
            out.append(_recurrence(earlier, later, score, False))
    out.sort(key=lambda r: (-r.score, r.later["id"], r.earlier["id"]))
    return out[:limit] if limit is not None else out


def _recurrence(earlier: _Doc, later: _Doc, score: float, linked: bool) -> Recurrence:
    def ref(d: _Doc) -> dict[str, Any]:
        return {"id": d.id, "title": d.title, "date": d.date, "campaign": d.campaign}

    return Recurrence(
        ref(earlier),
        ref(later),
        round(score, 3),
        linked,
        _shared_words(earlier, later),
        sorted(set(earlier.tags) & set(later.tags)),
    )


def _distinct_occasions(a: _Doc, b: _Doc, min_gap_days: int) -> bool:
    """Different campaigns, or dates far enough apart to be two events."""
    if a.campaign and b.campaign and value_key(a.campaign) != value_key(b.campaign):
        return True
    if a.date and b.date:
        gap = abs((dt.date.fromisoformat(a.date) - dt.date.fromisoformat(b.date)).days)
        return gap >= min_gap_days
    return False
