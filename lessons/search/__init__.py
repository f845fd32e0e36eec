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

import contextlib
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lessons.errors import NoMatchError, UsageError
from lessons.filters import Filters
from lessons.search.fuse import Fused, pooled, rrf
from lessons.search.language import Language, get_language
from lessons.search.lexical import Ranking, Scored, coverage, rank
from lessons.search.plan import DEFAULT_TUNING, Concept, Plan, Tuning, plan_query
from lessons.search.query import (
    FIELDS,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    STOPWORDS,
    Alt,
    Term,
    alts_fts,
    fts_phrase,
    near_fts,
    parse_query,
    to_fts,
)
from lessons.search.snippets import HL_END, HL_START, _best_snippet, _short, _showing, parse_snippet
from lessons.search.spelling import correct_word, light_stem, spelling_variants
from lessons.search.synonyms import Thesaurus, builtin_thesaurus, thesaurus_for

if TYPE_CHECKING:
    from lessons.search.semantic import Nearest

# --- running -----------------------------------------------------------------------


MODES = ("hybrid", "lexical", "semantic")
# Records each ranking contributes to fusion.
FUSION_DEPTH = 100
# A search gives vectors to this many records without one itself (the transformer takes
# tens of milliseconds each: a record or two just edited cost a search little); more are
# left to `lessons index`, and the search says so.
INLINE_EMBED = 16


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
    partial: bool = False  # lacks some word, even through variants, synonyms, corrections
    # all: every word as typed; similar: every word, some through a spelling variant,
    # synonym or correction; some: only some words; meaning: by its vector alone
    match: str = "all"
    explain: dict[str, Any] | None = None  # what each ranking gave it (--explain)
    kb: str | None = None  # its knowledge base, in a shared index

    def snippet_text(self, mark: str = "**") -> str:
        """The snippet with highlighted words between ``mark``s."""
        return "".join(f"{mark}{s}{mark}" if hot else s for s, hot in self.snippet)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of SPEC §4."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "date": self.date,
            "score": round(self.score, 4),
            "snippet": self.snippet_text(),
            "tags": self.tags,
            "path": self.path,
            "partial": self.partial,
            "match": self.match,
        }
        if self.kb is not None:
            out["kb"] = self.kb
        if self.explain is not None:
            out["explain"] = self.explain
        return out


@dataclass
class SearchResult:
    """What a search found."""

    query: str
    total: int  # records found: matching some word, or close in meaning
    matched_all: int  # records holding every word as typed
    hits: list[Hit]
    corrected: dict[str, str]
    showing: str | None  # the query as searched, when words were corrected
    unknown: list[str]
    truncated: bool = False
    mode: str = "hybrid"  # how it was ranked: hybrid, lexical or semantic
    with_vectors: int | None = None  # records that have a vector, when meaning was used
    records: int | None = None  # records in the index, when meaning was used
    # ``total`` and ``matched_all`` are lower bounds: a large shared index scored the
    # best candidates of the words' lists, not every record holding them.
    at_least: bool = False

    @property
    def vectors_missing(self) -> int:
        """Records that meaning could not be matched in (no vector yet)."""
        if self.with_vectors is None or self.records is None:
            return 0
        return max(0, self.records - self.with_vectors)

    def as_json(self) -> dict[str, Any]:
        """The JSON document of ``search --json``."""
        out: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "matched_all": self.matched_all,
            "mode": self.mode,
            "results": [h.as_json() for h in self.hits],
        }
        if self.at_least:
            out["at_least"] = True
        if self.corrected:
            out["corrected"] = self.corrected
            out["showing"] = self.showing
        if self.vectors_missing:
            out["without_vectors"] = self.vectors_missing
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
    mode: str = "hybrid",
    language: str = "english",
    explain: bool = False,
) -> SearchResult:
    """Ranked records for a query (SPEC §5); raises ``NoMatchError`` with a hint when none.

    ``mode``: ``lexical`` (words), ``semantic`` (meaning) or ``hybrid`` (both, fused)."""
    if mode not in MODES:
        raise UsageError(f"unknown search mode '{mode}'", hint="one of " + ", ".join(MODES))
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    filters = filters or Filters()
    lang = get_language(language)
    plan = plan_query(store, text, exact=exact, synonyms=synonyms, tuning=tuning, language=lang)
    depth = limit if mode == "lexical" else max(limit, FUSION_DEPTH)
    tiered = tuning.all_first and len(plan.concepts) <= tuning.tier_max_words
    if _meaning_certain(plan, mode, tiered):
        warm_up_in_background()
    lexical = rank(store, plan, filters, tuning, depth)
    near = None
    if _wants_meaning(plan, mode, lexical, limit, tiered):
        near = _meaning(store, plan, filters, depth, lexical.hits)
    showing = _showing(text, plan.corrected) if plan.corrected else None
    by_lexical = {h.pk: h for h in lexical.hits}
    # The words' say in the fusion: the share of the query they found (lexical.py).
    say = 1.0
    if near is not None and mode == "hybrid" and tuning.coverage:
        say = coverage(lexical, near.records)
    fused = _fuse(lexical, near, mode, tiered, tuning, say)
    if not fused:
        raise NoMatchError(
            f"nothing matches '{_short(showing or text)}'"
            + (f" with {filters.describe()}" if not filters.is_empty() else ""),
            hint=_no_match_hint(store, plan, filters, exact, synonyms, tuning, text),
        )
    top = fused[:limit]
    pks = [f.pk for f in top]
    rows = store.search_rows(pks)
    literal = [pk for pk in pks if pk in by_lexical and by_lexical[pk].literal]
    others = [pk for pk in pks if pk not in set(literal)]
    # Highlights mark what matched: the words as typed where the record holds them all.
    snippets = store.search_snippets(plan.highlight(literal=True), literal)
    snippets.update(store.search_snippets(plan.highlight(), others))
    found = {f.pk for f in fused}
    hits = []
    for f in top:
        row = rows[f.pk]
        lex = by_lexical.get(f.pk)
        match = (
            "meaning"
            if lex is None
            else "all"
            if lex.literal
            else "similar"
            if lex.full
            else "some"
        )
        use_lexical_score = near is None and mode != "semantic"
        hits.append(
            Hit(
                id=row["id"],
                title=row["title"],
                kind=row["kind"],
                date=row["date"],
                score=(lex.score if lex and use_lexical_score else f.score),
                tags=row["tags"],
                path=row["path"],
                snippet=_best_snippet(snippets.get(f.pk, []), row),
                partial=match in ("some", "meaning"),
                match=match,
                explain=_explain(f, lex) if explain else None,
                kb=row.get("kb"),
            )
        )
    return SearchResult(
        query=text,
        total=max(lexical.total, len(found)),
        matched_all=lexical.literal,
        hits=hits,
        corrected=plan.corrected,
        showing=showing,
        unknown=plan.unknown,
        truncated=plan.truncated,
        mode=mode if near is not None or mode == "lexical" else "lexical",
        with_vectors=near.with_vectors if near else None,
        records=near.records if near else None,
        at_least=lexical.at_least,
    )


def _wants_meaning(plan: Plan, mode: str, lexical: Ranking, limit: int, tiered: bool) -> bool:
    """Whether the vectors (and numpy, and the model) are needed at all."""
    if mode == "lexical":
        return False
    if mode == "semantic":
        return True
    if all(c.strict for c in plan.concepts):
        return False  # phrases, prefixes and fields ask for the words themselves
    # A short query (records holding every word as typed come first: ``tiered``) whose
    # words as typed fill the page: the page is those records, and meaning would only
    # reorder them. Measured on two-word queries cut from the judged sets' queries (the
    # two words of each with the most records, where those fill the page: 28-33 per
    # set), reordering by meaning changed MRR by -0.035 to +0.028 (mean +0.007) and
    # recall@10 by -0.026 to +0.010, while starting the model costs 0.3-0.5 s here.
    if tiered and lexical.literal >= limit:
        return False
    # One word, corrected, whose records (holding the word or its correction) fill the
    # page: the same holds. Measured the same way on one-word queries (each judged
    # query's word with the most records, a letter dropped from its middle: 30-41 per
    # set), meaning changed MRR by -0.097 to +0.071 (mean -0.010) and recall@10 by
    # -0.037 to +0.031 (mean +0.004). With two words or more it does earn its start
    # (the other words say which sense the correction has; docs/search.md).
    single = len(plan.concepts) == 1 and bool(plan.corrected)
    return not (single and sum(1 for h in lexical.hits if h.full) >= limit)


def _meaning_certain(plan: Plan, mode: str, tiered: bool) -> bool:
    """Whether ``_wants_meaning`` will say yes whatever the words find: then the model
    can be opened while they are ranked. A word in no record as typed (corrected or
    unknown) leaves no record holding every word as typed, so the page cannot be
    filled by those."""
    if mode != "hybrid":
        return mode == "semantic"
    if all(c.strict for c in plan.concepts):
        return False
    if len(plan.concepts) == 1 and plan.corrected:
        return False  # its correction may fill the page (_wants_meaning)
    return not tiered or bool(plan.corrected) or bool(plan.unknown)


def warm_up_in_background() -> threading.Thread | None:
    """Start opening the sentence encoder in a thread, for a search that will embed its
    query once its words are ranked: importing onnxruntime and starting the session
    (0.3-0.5 s) then overlap the lexical ranking, which mostly waits on the index
    (SQLite and the PostgreSQL driver let go of the interpreter while they work). Not
    a daemon: a process that ends first waits for it, never tears it down mid-import.
    None when this process has run the encoder already (a browser, a benchmark)."""
    encoder = sys.modules.get("lessons.search.encoder")
    if encoder is not None and encoder.load_encoder().warm:
        return None

    def run() -> None:
        # A failure here is met again, and reported, where the query is embedded.
        with contextlib.suppress(Exception):
            from lessons.search.encoder import load_encoder

            load_encoder().warm_up()

    thread = threading.Thread(target=run, name="lessons-encoder-warm-up")
    thread.start()
    return thread


def _fuse(
    lexical: Ranking,
    near: Nearest | None,
    mode: str,
    tiered: bool,
    tuning: Tuning,
    lexical_weight: float = 1.0,
) -> list[Fused]:
    """The records in their final order (fuse.py says how)."""
    lex = (
        [] if mode == "semantic" else [(h.pk, h.score, h.group(tuning.tiers)) for h in lexical.hits]
    )
    if near is None:
        return rrf(lex, [], tiered=tiered)  # the lexical order, as it is
    if mode == "semantic":
        return rrf([], near.ranked, tiered=False)
    if tuning.fusion == "rrf":
        return rrf(lex, near.ranked, tiered=tiered, semantic_z=near.z)
    cosines = near.cosines or {}
    return pooled(
        lex,
        near.ranked,
        semantic_z=near.z,
        cosine_of=cosines.get,
        tiered=tiered,
        lexical_weight=lexical_weight,
    )


def _meaning(
    store: Any,
    plan: Plan,
    filters: Filters,
    depth: int,
    lexical: Sequence[Scored],
) -> Nearest | None:
    """The semantic ranking of the query's words (corrections in), filters and
    exclusions applied, with the cosines of the ``lexical`` hits. None when the index
    has no vectors at all."""
    from lessons.search.semantic import fill_vectors, nearest

    counts = fill_vectors(store, INLINE_EMBED)
    words = plan.meaning
    if not words:
        return None
    allowed = None
    if plan.excluded or not filters.is_empty():
        # The records' keys alone: reading every vector here to list them would undo
        # nearest()'s bound on the vectors it reads in a large index.
        allowed = store.record_pks(filters)
        if plan.excluded:
            allowed -= set(store.fts_scores(alts_fts(plan.excluded), (1.0,) * 8))
    near = nearest(
        store,
        words,
        allowed,
        depth,
        also=[h.pk for h in lexical],
        counts=counts,
    )
    return near if near.with_vectors else None


def _explain(f: Fused, lex: Scored | None) -> dict[str, Any]:
    return {
        "tier": f.tier,
        "fused": round(f.score, 6),
        "lexical_rank": f.lexical_rank,
        "lexical_score": round(lex.score, 4) if lex else None,
        "semantic_rank": f.semantic_rank,
        "cosine": round(f.semantic_score, 4) if f.semantic_score is not None else None,
    }


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
        total = rank(store, plan, Filters(), replace(tuning, feedback_weight=0.0)).total
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
    "Alt",
    "Concept",
    "Hit",
    "Language",
    "Plan",
    "SearchResult",
    "Term",
    "Thesaurus",
    "Tuning",
    "alts_fts",
    "builtin_thesaurus",
    "correct_word",
    "fts_phrase",
    "light_stem",
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
