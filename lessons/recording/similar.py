"""Existing records close to a new one, shown before it is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase

# A new record this close (0-100) to an existing one is shown before it is written.
SIMILAR_CUTOFF = 80.0
# Titles this close or closer are compared in full (a cheap first pass over all titles).
TITLE_SHORTLIST = 55.0


@dataclass
class Similar:
    """An existing record close to a new one."""

    id: str
    title: str
    kind: str
    date: str | None
    path: str
    score: float
    title_score: float
    text_score: float


def _text_of(rec: Mapping[str, Any]) -> str:
    return " ".join(str(rec.get(k) or "") for k in ("summary", "lesson")).lower()


def similar_records(
    kb: KnowledgeBase, record: Mapping[str, Any], *, cutoff: float = SIMILAR_CUTOFF, limit: int = 3
) -> list[Similar]:
    """Existing records very close to ``record`` in title and text, closest first.

    Titles are compared first (cheap, over every record); the closest are then
    compared on summary and lesson too. The score is the mean of the two.
    """
    from rapidfuzz import fuzz, process

    title = str(record.get("title") or "").lower()
    pairs = [(rid, t) for rid, t in kb.store.id_titles() if rid != record.get("id")]
    if not title or not pairs:
        return []
    found = process.extract(
        title,
        {rid: t.lower() for rid, t in pairs},
        scorer=fuzz.token_sort_ratio,
        score_cutoff=TITLE_SHORTLIST,
        limit=20,
    )
    text = _text_of(record)
    out: list[Similar] = []
    for _, title_score, rid in found:
        other = kb.store.get(rid)
        if other is None:
            continue
        text_score = fuzz.token_set_ratio(text, _text_of(other)) if text else 0.0
        score = (title_score + text_score) / 2
        if score >= cutoff:
            out.append(
                Similar(
                    rid,
                    other["title"],
                    other["kind"],
                    other.get("date"),
                    other["path"],
                    round(score, 1),
                    round(title_score, 1),
                    round(text_score, 1),
                )
            )
    out.sort(key=lambda s: (-s.score, s.id))
    return out[:limit]


def link_for(record: Mapping[str, Any], other: Similar) -> str:
    """The relation a new record takes to a similar one: ``repeats`` for a mistake made
    again (the new one is not older), ``relates-to`` otherwise."""
    both_mistakes = record.get("kind") == "mistake" and other.kind == "mistake"
    newer = not other.date or not record.get("date") or str(record["date"]) >= other.date
    return "repeats" if both_mistakes and newer else "relates-to"
