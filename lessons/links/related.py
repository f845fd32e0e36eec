"""``lessons related``: records similar to one record and not linked to it yet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.links.similarity import (
    _cosine,
    _Doc,
    _docs,
    _same_campaign,
    _selected,
    _shared_words,
    _tag_idf,
    _tag_overlap,
    _Weights,
)

# How many full-text matches are scored, beyond those sharing tags or the campaign.
POOL = 200
# How many of a record's most distinctive words make the full-text query.
QUERY_WORDS = 24
# Weights of the related score; text similarity carries most of it.
TEXT_WEIGHT, TAG_WEIGHT, CAMPAIGN_WEIGHT = 0.7, 0.2, 0.1
SIMILAR_TITLE = 0.5


@dataclass
class Related:
    """A record similar to another one and not linked to it yet."""

    id: str
    title: str
    kind: str
    date: str | None
    score: float
    reasons: list[str]
    text_similarity: float
    title_similarity: float
    shared_tags: list[str]
    shared_words: list[str]
    same_campaign: bool
    # Cosine of the two records' vectors (None when either has none yet).
    semantic_similarity: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``related --json``."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "date": self.date,
            "score": self.score,
            "reasons": self.reasons,
            "text_similarity": self.text_similarity,
            "title_similarity": self.title_similarity,
            "shared_tags": self.shared_tags,
            "shared_words": self.shared_words,
            "same_campaign": self.same_campaign,
            "semantic_similarity": self.semantic_similarity,
        }


def related(
    kb: KnowledgeBase, ref: str, *, limit: int = 10, filters: Filters | None = None
) -> list[Related]:
    """Records similar to ``ref`` that are not yet linked to it, best first.

    Candidates are the records the full-text index finds for ``ref``'s most
    distinctive words, plus those sharing its tags or campaign, plus those closest
    in meaning (vectors); each is scored by text similarity (TF-IDF cosine),
    IDF-weighted shared tags and a shared campaign, and ordered by that score fused
    with the vectors' cosine as search fuses its rankings (z-scores,
    lessons/search/fuse.py). ``filters`` keep only the candidates they select.
    """
    store = kb.store
    rid = kb.resolve(ref)
    (me,) = _docs(store.similarity_rows([rid]))
    skip = store.neighbours(rid) | {rid}
    allowed = _selected(kb, filters)
    weights = _Weights(kb, [me])
    weights.vectorise([me], titles=True)
    ids: list[str] = []
    if weights.fts:
        if allowed is not None and len(allowed) <= 2000:
            ids = sorted(allowed)
        else:
            words = [
                me.surface[t]
                for t, _ in sorted(me.vec.items(), key=lambda item: -item[1])
                if weights.df.get(t, 0) > 1
            ][:QUERY_WORDS]
            ids = store.match_any(words, POOL) + store.ids_sharing(rid, POOL // 4)
    # In a large index meaning compares these candidates only (semantic.py).
    near = _meaning(store, rid, ids or None)
    if weights.fts:
        if near is not None:
            ids += list(store.record_ids(pk for pk, _ in near.ranked).values())
        rows = store.similarity_rows(i for i in dict.fromkeys(ids) if i not in skip)
    else:
        rows = [r for r in store.similarity_rows() if r[0] not in skip]
    if allowed is not None:
        rows = [r for r in rows if r[0] in allowed]
    docs = _docs(rows)
    weights.cover(docs)
    weights.vectorise(docs, titles=True)
    cosines: dict[str, float] = {}
    if near is not None and near.cosines:
        pks = store.pks_of(d.id for d in docs)
        cosines = {i: near.cosines[pk] for i, pk in pks.items() if pk in near.cosines}
    return _rank(kb, me, docs, limit, near, cosines)


def _meaning(store: Any, rid: str, among: Iterable[str] | None) -> Any:
    """The vectors' view of the record (lessons/search/semantic.py), or None when there
    are none; numpy is loaded only here. ``among``: the candidates found by words and
    tags, which alone are compared in a large index."""
    from lessons.search import INLINE_EMBED
    from lessons.search.semantic import close_to_record, fill_vectors

    near = close_to_record(store, rid, POOL, fill_vectors(store, INLINE_EMBED), among)
    return near if near is not None and near.std > 0 else None


def _rank(
    kb: KnowledgeBase,
    me: _Doc,
    docs: list[_Doc],
    limit: int,
    near: Any = None,
    cosines: dict[str, float] | None = None,
) -> list[Related]:
    from lessons.search.fuse import MEANING_ALONE_Z

    cosines = cosines or {}
    tag_idf = _tag_idf(kb) if me.tags else {}
    scored = []
    for d in docs:
        text = _cosine(me.vec, d.vec)
        shared, tag_score = _tag_overlap(me, d, tag_idf)
        campaign = _same_campaign(me, d)
        score = TEXT_WEIGHT * text + TAG_WEIGHT * tag_score + CAMPAIGN_WEIGHT * campaign
        scored.append((d, text, shared, campaign, score))
    # The score's spread over the whole index (records not among the candidates
    # score about 0), the scale it is fused on with the cosine's.
    n = max(near.records if near is not None else 0, len(scored), 1)
    mean = sum(s for *_, s in scored) / n
    std = (sum(s * s for *_, s in scored) / n - mean * mean) ** 0.5
    out = []
    for d, text, shared, campaign, score in scored:
        cosine = cosines.get(d.id)
        close = near is not None and cosine is not None and near.z(cosine) > MEANING_ALONE_Z
        if score < 0.01 and not close:
            continue
        fused = (score - mean) / std if std > 0 else score
        if near is not None and cosine is not None:
            fused += near.z(cosine)
        # Rare title words shared, not boilerplate ("Incident #…") in common.
        title = _cosine(me.title_vec, d.title_vec)
        words = _shared_words(me, d) if text > 0 else []
        reasons = []
        if title >= SIMILAR_TITLE:
            reasons.append("similar title")
        if words:
            reasons.append("similar text: " + ", ".join(words))
        if shared:
            reasons.append("shared tags: " + ", ".join(shared))
        if campaign:
            reasons.append(f"same campaign: {d.campaign}")
        if close and not words:
            reasons.append("similar meaning")
        out.append(
            (
                fused,
                Related(
                    d.id,
                    d.title,
                    d.kind,
                    d.date,
                    round(score, 3),
                    reasons,
                    round(text, 3),
                    round(title, 3),
                    shared,
                    words,
                    campaign,
                    round(cosine, 3) if cosine is not None else None,
                ),
            )
        )
    out.sort(key=lambda x: (-x[0], -x[1].score, x[1].id))
    return [r for _, r in out[:limit]]
