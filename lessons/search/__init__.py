"""Search (SPEC §5): the query language, ranking, typo correction, synonyms and snippets.

Layered as in sqlite-utils: ``parse_query`` reads the user's text into terms,
``fts_phrase``/``to_fts`` quote them into FTS5 syntax (user text never reaches
the engine unquoted), and ``search`` plans, runs and ranks. The store runs the
SQL; every piece of query syntax is made here.

How a query is answered (README, "How results are found and ranked", has the long version):

1. Words become *concepts*. A concept is satisfied by the word itself, its
   spelling variants (British/American, hyphen/space: ``fail-over``,
   ``failover``, ``fail over``) and, at a lower weight, its synonyms (the
   ``synonyms:`` of ``lessons.yaml`` and the built-in domain thesaurus in
   ``lessons/thesaurus.py``). Stop words are not required. A word that is in
   no record is corrected to the closest indexed words (unless ``exact``).
2. Each concept is scored with BM25 over the field-weighted FTS5 index
   (porter stemming); a record's score is the sum over concepts, plus a bonus
   for query words that stand close together, plus pseudo-relevance feedback:
   terms typical of the best first-pass results are searched for too.
3. Records that satisfy every concept come first (SPEC: all words must
   match). When fewer than ``limit`` do, the list is filled with the best
   partial matches, each marked ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lessons.errors import NoMatchError
from lessons.filters import Filters
from lessons.search.lexical import rank
from lessons.search.plan import DEFAULT_TUNING, Concept, Plan, Tuning, plan_query
from lessons.search.query import (
    FIELDS,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    STOPWORDS,
    TS_LABELS,
    Alt,
    Term,
    alts_fts,
    alts_tsquery,
    fts_phrase,
    match_expr,
    near_expr,
    near_fts,
    parse_query,
    to_fts,
)
from lessons.search.snippets import HL_END, HL_START, _best_snippet, _short, _showing, parse_snippet
from lessons.search.spelling import correct_word, light_stem, spelling_variants
from lessons.search.synonyms import Thesaurus, builtin_thesaurus, thesaurus_for

# --- running -----------------------------------------------------------------------


@dataclass
class Hit:
    """One result."""

    id: str
    title: str
    kind: str
    date: str | None
    score: float
    tags: list[str]
    path: str
    snippet: list[tuple[str, bool]]  # (text, highlighted)
    partial: bool = False  # matches only some of the words

    def snippet_text(self, mark: str = "**") -> str:
        """The snippet with highlighted words between ``mark``s."""
        return "".join(f"{mark}{s}{mark}" if hot else s for s, hot in self.snippet)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of SPEC §4."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "date": self.date,
            "score": round(self.score, 4),
            "snippet": self.snippet_text(),
            "tags": self.tags,
            "path": self.path,
            "partial": self.partial,
        }


@dataclass
class SearchResult:
    """What a search found."""

    query: str
    total: int  # records matching all the words, plus those matching some
    matched_all: int  # records matching every word
    hits: list[Hit]
    corrected: dict[str, str]
    showing: str | None  # the query as searched, when words were corrected
    unknown: list[str]
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        """The JSON document of ``search --json``."""
        out: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "matched_all": self.matched_all,
            "results": [h.as_json() for h in self.hits],
        }
        if self.corrected:
            out["corrected"] = self.corrected
            out["showing"] = self.showing
        return out


def search(
    store: Any,
    text: str,
    filters: Filters | None = None,
    *,
    limit: int = 10,
    exact: bool = False,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> SearchResult:
    """Ranked records for a query (SPEC §5); raises ``NoMatchError`` with a hint when none."""
    filters = filters or Filters()
    plan = plan_query(store, text, exact=exact, synonyms=synonyms, tuning=tuning)
    ranked, total, n_all = rank(store, plan, filters, tuning, limit)
    showing = _showing(text, plan.corrected) if plan.corrected else None
    if not ranked:
        raise NoMatchError(
            f"nothing matches '{_short(showing or text)}'"
            + (f" with {filters.describe()}" if not filters.is_empty() else ""),
            hint=_no_match_hint(store, plan, filters, exact, synonyms, tuning, text),
        )
    top = ranked[:limit]
    rows = store.search_rows([pk for pk, _, _ in top])
    snippets = store.search_snippets(plan.highlight(store), [pk for pk, _, _ in top])
    hits = []
    for pk, score, full in top:
        row = rows[pk]
        hits.append(
            Hit(
                id=row["id"],
                title=row["title"],
                kind=row["kind"],
                date=row["date"],
                score=score,
                tags=row["tags"],
                path=row["path"],
                snippet=_best_snippet(snippets.get(pk, []), row),
                partial=not full,
            )
        )
    return SearchResult(
        query=text,
        total=total,
        matched_all=n_all,
        hits=hits,
        corrected=plan.corrected,
        showing=showing,
        unknown=plan.unknown,
        truncated=plan.truncated,
    )


def _no_match_hint(
    store: Any,
    plan: Plan,
    filters: Filters,
    exact: bool,
    synonyms: Mapping[str, Sequence[str]] | None,
    tuning: Tuning,
    text: str,
) -> str:
    if store.count() == 0:
        return "the knowledge base is empty; add a record with `lessons add`"
    if not filters.is_empty():
        _, total, _ = rank(store, plan, Filters(), replace(tuning, feedback_weight=0.0))
        if total:
            return f"{total} records match without {filters.describe()}; loosen the filters"
    if plan.unknown:
        parts = []
        for word in plan.unknown[:3]:
            close = correct_word(store, word, limit=3)
            parts.append(f"'{word}': " + (", ".join(close) if close else "nothing close"))
        extra = " (drop --exact to use them)" if exact else ""
        return "in no record: " + "; ".join(parts) + extra
    return "try fewer or other words, or a prefix like word*"


__all__ = [
    "DEFAULT_TUNING",
    "FIELDS",
    "HL_END",
    "HL_START",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "STOPWORDS",
    "TS_LABELS",
    "Alt",
    "Concept",
    "Hit",
    "Plan",
    "SearchResult",
    "Term",
    "Thesaurus",
    "Tuning",
    "alts_fts",
    "alts_tsquery",
    "builtin_thesaurus",
    "correct_word",
    "fts_phrase",
    "light_stem",
    "match_expr",
    "near_expr",
    "near_fts",
    "parse_query",
    "parse_snippet",
    "plan_query",
    "rank",
    "search",
    "spelling_variants",
    "thesaurus_for",
    "to_fts",
]
