"""Recurrence: mistakes that happened again, linked by ``repeats`` or found by similarity.

Two mistakes look alike by their words (TF-IDF cosine, links/similarity.py) and by
their meaning (the cosine of their vectors, lessons/search/semantic.py): "the vendor's
patch took every laptop offline" and "a faulty update bricked the fleet" share almost
no word. The similarity of a pair is the text cosine, raised by meaning when the
meaning says more: ``max(text, (text + meaning) / 2)``, where ``meaning`` is how far
the vectors' cosine stands from the mean cosine of the knowledge base's mistakes
towards identical, ``(cos - mean) / (1 - mean)``. Meaning can only add pairs, never
drop one the words found; where a record has no vector yet, its pairs are compared by
text alone, and ``Recurrences.with_vectors`` says how many had one.

Measured on 138 AI-incident records whose recurring pairs were judged by reading them
(benchmarks/judged/recurrence-aiid.json, benchmarks/recurrence_quality.py): at 0.35,
text alone found 2 of 7 (recall 0.04), words and meaning 11 of 38 (recall 0.22); at
0.3, 4 of 14 against 20 of 72 (recall 0.40). A model's cosines are noisy, which is why
meaning is averaged with the words and not used alone (docs/search.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
    score: float  # words and meaning together (the module's docstring)
    linked: bool
    shared_words: list[str]
    shared_tags: list[str]
    text_similarity: float = 0.0  # TF-IDF cosine
    # Cosine of the two records' vectors (None when either has none yet).
    semantic_similarity: float | None = None

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
            "text_similarity": self.text_similarity,
            "semantic_similarity": self.semantic_similarity,
        }


class Recurrences(list[Recurrence]):
    """The pairs ``recurrence`` found (a list), and how many of the mistakes compared had
    a vector: ``with_vectors`` of ``mistakes`` (when fewer, the others were compared by
    text alone; ``with_vectors`` is None when meaning was not asked for)."""

    with_vectors: int | None = None
    mistakes: int = 0

    @property
    def without_vectors(self) -> int:
        """Mistakes compared by their words alone, for want of a vector."""
        return 0 if self.with_vectors is None else max(0, self.mistakes - self.with_vectors)


def recurrence(
    kb: KnowledgeBase,
    filters: Filters | None = None,
    *,
    record: str | None = None,
    candidates: bool = True,
    min_score: float = RECURRENCE_SCORE,
    min_gap_days: int = RECURRENCE_GAP_DAYS,
    limit: int | None = None,
    meaning: bool = True,
) -> Recurrences:
    """Mistakes that recurred, most similar first.

    Returns the pairs linked by ``repeats`` (``linked=True``) and, when
    ``candidates``, unlinked pairs of mistakes whose similarity (0..1: words, and
    meaning where both have vectors and ``meaning`` is on; the module's docstring)
    is at least ``min_score`` and that are distinct occasions: different campaigns,
    or dates at least ``min_gap_days`` apart. Records with neither campaign nor date
    are never paired.

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
    mistakes = [d for d in docs if d.kind == "mistake"] if candidates else []
    out = Recurrences()
    near = _Meaning(kb, docs) if meaning else None
    if near is not None:
        out.with_vectors, out.mistakes = near.count(mistakes), len(mistakes)

    def found(earlier: _Doc, later: _Doc, text: float, linked: bool) -> Recurrence:
        cos = near.cosine(earlier, later) if near is not None else None
        return _recurrence(earlier, later, text, cos, near, linked)

    for src, dst in repeats:
        later, earlier = by_id.get(src), by_id.get(dst)
        if later is None or earlier is None:
            continue
        if later_ok is not None and src not in later_ok:
            continue
        if only and only not in (src, dst):
            continue
        out.append(found(earlier, later, _cosine(earlier.vec, later.vec), True))
    if candidates:
        # Only pairs that can qualify are looked for: those of the record, or
        # those of a filtered record (it may turn out the earlier one: dropped below).
        wanted = {only} if only else later_ok
        probe = None if wanted is None else {i for i, d in enumerate(mistakes) if d.id in wanted}
        pairs = {(i, j): score for i, j, score in _similar_pairs(mistakes, min_score, probe)}
        if near is not None:
            # A pair below the threshold in words reaches it only if its meaning is
            # above it (their mean is): those are all the pairs meaning can add.
            for i, j in near.pairs_above(mistakes, min_score, probe):
                if (i, j) not in pairs:
                    pairs[i, j] = _cosine(mistakes[i].vec, mistakes[j].vec)
        for (i, j), text in pairs.items():
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
            pair = found(earlier, later, text, False)
            if pair.score >= min_score:
                out.append(pair)
    out.sort(key=lambda r: (-r.score, r.later["id"], r.earlier["id"]))
    if limit is not None:
        del out[limit:]
    return out


class _Meaning:
    """The vectors of the records compared (lessons/search/semantic.py; numpy is
    imported only here), and the mean cosine of two mistakes, the background that
    a pair's closeness is measured from."""

    def __init__(self, kb: KnowledgeBase, docs: Sequence[_Doc]) -> None:
        import numpy as np

        from lessons.search import INLINE_EMBED
        from lessons.search.semantic import all_vectors, fill_vectors

        fill_vectors(kb.store, INLINE_EMBED)
        pks = kb.store.pks_of(d.id for d in docs)
        every = all_vectors(kb.store) if pks else {}
        self.vec: dict[str, Any] = {}
        for rid, pk in pks.items():
            if pk in every:
                v = every[pk]
                norm = float(np.linalg.norm(v))
                if norm:
                    self.vec[rid] = v / norm  # int8 storage leaves them nearly unit
        self.mean = self._mean_cosine([d for d in docs if d.kind == "mistake"])

    def count(self, docs: Sequence[_Doc]) -> int:
        """How many of ``docs`` have a vector."""
        return sum(d.id in self.vec for d in docs)

    def _mean_cosine(self, docs: Sequence[_Doc]) -> float:
        # The mean over every pair without comparing every pair:
        # sum over i != j of v_i . v_j = |sum v|^2 - sum |v|^2.
        import numpy as np

        vs = [self.vec[d.id] for d in docs if d.id in self.vec]
        if len(vs) < 2:
            return 0.0
        m = np.stack(vs)
        total = m.sum(axis=0)
        n = len(vs)
        return float((total @ total - (m * m).sum()) / (n * (n - 1)))

    def cosine(self, a: _Doc, b: _Doc) -> float | None:
        """The cosine of two records' vectors, or None when either has none."""
        va, vb = self.vec.get(a.id), self.vec.get(b.id)
        return None if va is None or vb is None else float(va @ vb)

    def closeness(self, cosine: float) -> float:
        """A cosine as 0..1: 0 at (or below) the mean cosine of two mistakes, 1 identical."""
        if self.mean >= 1.0:
            return 0.0
        return min(1.0, max(0.0, (cosine - self.mean) / (1.0 - self.mean)))

    def pairs_above(
        self, docs: Sequence[_Doc], min_score: float, only: set[int] | None = None
    ) -> list[tuple[int, int]]:
        """Pairs (i, j), i < j, of ``docs`` whose closeness is at least ``min_score``;
        with ``only``, just the pairs one of those indexes is part of. Compared a block
        of rows at a time (a matrix of every pair of 10,000 would be 400 MB)."""
        import numpy as np

        have = [i for i, d in enumerate(docs) if d.id in self.vec]
        if len(have) < 2:
            return []
        idx = np.array(have)
        m = np.stack([self.vec[docs[i].id] for i in have])
        floor = self.mean + min_score * (1.0 - self.mean)
        rows = range(len(have)) if only is None else [k for k, i in enumerate(have) if i in only]
        rows = list(rows)
        out: set[tuple[int, int]] = set()
        for start in range(0, len(rows), 512):
            block = np.array(rows[start : start + 512], dtype=np.int64)
            sims = m[block] @ m.T
            for r, c in zip(*np.nonzero(sims >= floor), strict=True):
                i, j = int(idx[block[r]]), int(idx[c])
                if i != j:
                    out.add((min(i, j), max(i, j)))
        return sorted(out)


def _recurrence(
    earlier: _Doc,
    later: _Doc,
    text: float,
    cosine: float | None,
    near: _Meaning | None,
    linked: bool,
) -> Recurrence:
    def ref(d: _Doc) -> dict[str, Any]:
        return {"id": d.id, "title": d.title, "date": d.date, "campaign": d.campaign}

    score = text
    if near is not None and cosine is not None:
        score = max(text, (text + near.closeness(cosine)) / 2)
    return Recurrence(
        ref(earlier),
        ref(later),
        round(score, 3),
        linked,
        _shared_words(earlier, later),
        sorted(set(earlier.tags) & set(later.tags)),
        round(text, 3),
        round(cosine, 3) if cosine is not None else None,
    )


def _distinct_occasions(a: _Doc, b: _Doc, min_gap_days: int) -> bool:
    """Different campaigns, or dates far enough apart to be two events."""
    if a.campaign and b.campaign and value_key(a.campaign) != value_key(b.campaign):
        return True
    if a.date and b.date:
        gap = abs((dt.date.fromisoformat(a.date) - dt.date.fromisoformat(b.date)).days)
        return gap >= min_gap_days
    return False
