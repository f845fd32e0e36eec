"""The pre-planning brief (SPEC §7): the past lessons that bear on a planned piece of work.

``build_brief`` takes a description of the plan (a line, or a whole plan
document) and returns a ``Brief``: the most relevant records, mistakes first
and by impact, then successes worth repeating, each with its lesson and its
recommendations as a Markdown checklist; the open actions on them; and the
recurring pitfalls within the plan's themes.

Relevance is ``lessons search`` over the plan's words (words about planning
itself left out; a long document reduced to its most distinctive words), plus
how much of the plan a record's title and tags cover, the ``--tag`` themes it
carries, its stage and its campaign. The first ``limit`` by relevance are
shown; kind and impact only order them. Tags the text names are the plan's
themes: they bring in records when search finds too few, and select the
recurring pitfalls shown.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lessons.errors import NoMatchError, UsageError
from lessons.filters import value_key
from lessons.model import IMPACT_RANK, KINDS, normalise_tag
from lessons.model import today as today_iso
from lessons.reports import kb_name, recurring, short

# Search results considered before the themes, stage and campaign re-rank them.
POOL = 30
# A plan with more distinct content words than search takes (its MAX_TERMS) is
# searched by its most distinctive ones: the most repeated, then the rarest.
QUERY_WORDS = 32
# Words about the act of planning, not about the work planned: left out of the query.
_PLANNING = """plan plans planned planning want wants wanted need needs going intend intends
intended aim aims next upcoming ensure avoid avoiding repeat repeating past previous lesson
lessons learned learnt brief briefing"""
PLANNING_WORDS = frozenset(_PLANNING.split())
# Weights of the relevance score. Search (0..1, relative to the best hit) comes
# first; then the share of the plan's words that the record's title and tags hold
# (a lesson about several aspects of the plan bears on it more than one sharing a
# single rare word somewhere in its text); the share of the --tag themes it
# carries; the same stage; the same campaign. Tuned on the judged queries
# (benchmarks/brief_quality.py): larger weights for what search already counts
# cost recall there.
COVER_WEIGHT = 0.2
THEME_WEIGHT = 0.5
STAGE_WEIGHT = 0.05
CAMPAIGN_WEIGHT = 0.2
# Results below this share of the best relevance are left out, even within ``limit``.
FLOOR = 0.1
MAX_THEMES = 10

_WORD = re.compile(r"[^\W_]+")
# Quotes, field: prefixes and prefix stars: query syntax that a plan does not mean.
_SYNTAX = re.compile(r'["*]|(?<=\w):')
KIND_ORDER = {k: i for i, k in enumerate(KINDS)}


@dataclass
class Brief:
    """What a planner should read before starting."""

    plan: str
    searched: str
    themes: list[str]
    stage: str | None
    campaign: str | None
    knowledge_base: str
    generated: str
    considered: int
    results: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    pitfalls: list[dict[str, Any]]
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``brief --format json`` (and the template variables)."""
        return dataclasses.asdict(self)


def build_brief(
    kb: Any,
    text: str,
    *,
    tags: Sequence[str] = (),
    campaign: str | None = None,
    stage: str | None = None,
    limit: int = 10,
    pitfalls: bool = True,
    today: str | None = None,
    mode: str = "hybrid",
) -> Brief:
    """The brief for a plan described by ``text`` (and its ``tags``, ``campaign``, ``stage``).

    Raises ``UsageError`` when there is nothing to go on and ``NoMatchError``
    when no past record bears on the plan.
    """
    store = kb.store
    today = today or today_iso()
    plan = " ".join(text.split())
    aliases = kb.config.tag_aliases
    asked = [normalise_tag(t, aliases) for t in tags]
    asked = [t for t in dict.fromkeys(asked) if t]
    if not _WORD.search(plan) and not asked and not campaign:
        raise UsageError(
            "describe the plan: give TEXT, --from FILE, --tag or --campaign",
            hint='lessons brief "launch a campaign hashtag on twitter"',
        )
    stages = tuple(kb.config.stages)
    if stage and stage not in stages:
        from lessons.model import did_you_mean

        raise UsageError(
            f"--stage must be one of {', '.join(stages)}, not '{stage}'"
            + did_you_mean(stage, stages)
        )
    tag_counts = dict(store.tag_counts())
    named = [t for t in tags_in_text(plan, tag_counts, aliases) if t not in asked]
    themes = (asked + named)[:MAX_THEMES]
    stage = stage or _stage_in_text(plan, stages)
    searched = query_for(store, plan)
    # Coverage (below) is for a plan written as prose: its planning words and its
    # sheer length dilute the search, and the share of the plan a record's title and
    # tags hold brings the records about it back up. A plan that is its own search
    # query (a few words, as typed) gains nothing from it that search's field weights
    # do not already give, and measured, it only displaced records search ranked
    # better (benchmarks/brief_quality.py, plain column, every judged set).
    as_typed = searched == _as_written(plan)
    cover_weight = 0.0 if as_typed else COVER_WEIGHT

    text_scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    if searched:
        from lessons.search import light_stem, search

        stems = {light_stem(w) for w in searched.split()}

        try:
            found = search(
                store,
                searched,
                limit=POOL,
                synonyms=kb.config.synonyms,
                mode=mode,
                language=kb.config.language,
                explain=True,
            )
        except NoMatchError:
            found = None
        if found and found.hits:
            # Search's order, with the spread of BM25: the k-th hit gets the k-th best
            # BM25 share of the best (fused scores count standard deviations, a
            # scale the weights below were not made for); a record found by meaning
            # alone takes the share of its place.
            shares = sorted(
                (
                    h.explain["lexical_score"]
                    for h in found.hits
                    if h.explain and h.explain["lexical_score"] is not None
                ),
                reverse=True,
            )
            top = (shares[0] if shares else 0.0) or 1.0
            for i, hit in enumerate(found.hits):
                share = shares[min(i, len(shares) - 1)] / top if shares else 1.0
                text_scores[hit.id] = share
                # Highlights include words search added itself (feedback); keep the plan's.
                words = {s.lower() for s, hot in hit.snippet if hot}
                words = {w for w in words if all(light_stem(p) in stems for p in w.split())}
                matched[hit.id] = sorted(words)[:6]
    candidates = list(text_scores)
    # Records found by their tags alone: those asked for, or, when search found too
    # few, those the text names.
    candidates += _sharing(store, asked if len(candidates) >= limit else themes, limit=POOL)
    if campaign:
        from lessons.filters import Filters

        _, rows = store.select(Filters(campaign=campaign), sort="date", limit=POOL, columns="r.id")
        candidates += [r["id"] for r in rows]
    candidates = list(dict.fromkeys(candidates))
    if not candidates:
        raise NoMatchError(
            "no past lessons bear on this plan",
            hint="describe it in other words, or name its themes with --tag",
        )

    plan_stems = _stems(searched)
    scored = []
    for rid in candidates:
        rec = store.get(rid)
        if rec is None:
            continue
        shared = [t for t in themes if t in rec.get("tags", [])]
        same_stage = bool(stage and rec.get("stage") == stage)
        same_campaign = bool(
            campaign and value_key(rec.get("campaign") or "") == value_key(campaign)
        )
        score = text_scores.get(rid, 0.0)
        if asked:
            score += THEME_WEIGHT * sum(1 for t in shared if t in asked) / len(asked)
        if plan_stems:
            score += cover_weight * len(plan_stems & _stems(_about(rec))) / len(plan_stems)
        score += STAGE_WEIGHT * same_stage + CAMPAIGN_WEIGHT * same_campaign
        why = []
        if matched.get(rid):
            why.append("mentions " + ", ".join(matched[rid]))
        if shared:
            why.append("tagged " + ", ".join(shared))
        if same_campaign:
            why.append(f"same campaign ({rec['campaign']})")
        if same_stage:
            why.append(f"same stage ({stage})")
        scored.append((score, rid, rec, why))
    scored.sort(key=lambda s: (-s[0], s[1]))
    best = scored[0][0] if scored else 0.0
    chosen = [s for s in scored[:limit] if s[0] >= FLOOR * best]
    chosen.sort(
        key=lambda s: (
            KIND_ORDER.get(s[2]["kind"], 9),
            -IMPACT_RANK.get(s[2].get("impact") or "", 0),
            -s[0],
            s[1],
        )
    )
    results = [_result(score, rec, why) for score, _, rec, why in chosen]
    shown = {r["id"] for r in results}

    pits: list[dict[str, Any]] = []
    note = None
    if pitfalls:
        wanted = set(themes)
        pairs, note = recurring(kb, touching=shown, tags=wanted)
        pits = [
            p
            for p in pairs
            if p["later"]["id"] in shown
            or p["earlier"]["id"] in shown
            or wanted.intersection(p["shared_tags"])
        ][:limit]
    return Brief(
        plan=plan,
        searched=searched,
        themes=themes,
        stage=stage,
        campaign=campaign,
        knowledge_base=kb_name(kb),
        generated=today,
        considered=len(scored),
        results=results,
        actions=_open_actions(store, [r["id"] for r in results], today),
        pitfalls=pits,
        note=note,
    )


def _result(score: float, rec: dict[str, Any], why: list[str]) -> dict[str, Any]:
    rid = rec["id"]
    recs = [" ".join(r.split()) for r in rec.get("recommendations") or []]
    checklist = [f"- [ ] {r} ({rid})" for r in recs]
    if not checklist:
        # Nothing written down to do: the record itself is the item to check against.
        checklist = [f"- [ ] Check the plan against: {rec['title']} ({rid})"]
    return {
        "id": rid,
        "title": rec["title"],
        "kind": rec["kind"],
        "impact": rec.get("impact"),
        "date": rec.get("date"),
        "score": round(score, 4),
        "campaign": rec.get("campaign"),
        "stage": rec.get("stage"),
        "tags": rec.get("tags", []),
        "lesson": " ".join((rec.get("lesson") or "").split()) or None,
        "summary": short(rec.get("summary"), 300),
        "recommendations": recs,
        "checklist": checklist,
        "why": why,
        "path": rec.get("path"),
    }


# --- reading the plan --------------------------------------------------------------


def _as_written(plan: str, leave_out: frozenset[str] = frozenset()) -> str:
    """The plan's words as written (hyphenated words stay whole), without what search
    reads as syntax and without the words of ``leave_out``."""
    kept = [t for t in _SYNTAX.sub(" ", plan).split() if t.lower() not in leave_out]
    return " ".join(t.strip("-") for t in kept if _WORD.search(t))


def query_for(store: Any, plan: str, words: int = QUERY_WORDS) -> str:
    """The search query for a plan: its words as they stand when there are few, else
    its ``words`` most distinctive ones (by TF-IDF against the index), once each, in
    text order.

    Only words go into the query, so nothing in a plan is read as query syntax.
    """
    from lessons.search import STOPWORDS

    tokens = [w.lower() for w in _WORD.findall(plan)]
    tokens = [w for w in tokens if w not in PLANNING_WORDS] or tokens
    content = [w for w in tokens if w not in STOPWORDS and len(w) > 2 and not w.isdigit()]
    if len(content) <= words:
        return _as_written(plan, leave_out=PLANNING_WORDS)
    tf = Counter(content)
    df = store.word_counts(tf)
    n = max(store.count(), 1)
    scored = {
        w: (1 + math.log(k)) * math.log((n + 1) / (df[w] + 1)) for w, k in tf.items() if df.get(w)
    }
    keep = set(sorted(scored, key=lambda w: (-scored[w], w))[:words])
    return " ".join(dict.fromkeys(w for w in content if w in keep))


def tags_in_text(text: str, tag_counts: dict[str, int], aliases: dict[str, str] | Any) -> list[str]:
    """The knowledge base's tags that ``text`` names (aliases, plurals and two- or
    three-word tags such as ``live chat`` included), most mentioned first."""
    from lessons.search import STOPWORDS, light_stem

    if not tag_counts:
        return []
    by_stem: dict[str, str] = {}
    for tag in tag_counts:
        by_stem.setdefault(light_stem(tag), tag)
    words = [w.lower() for w in _WORD.findall(text)]
    found: Counter[str] = Counter()
    first: dict[str, int] = {}
    for i, w in enumerate(words):
        grams = ["-".join(words[i : i + k]) for k in (3, 2) if i + k <= len(words)]
        if w not in STOPWORDS and len(w) > 1:
            grams.append(w)
        for gram in grams:
            tag = normalise_tag(gram, aliases)
            if tag not in tag_counts:
                tag = by_stem.get(light_stem(tag), "") if "-" not in gram else ""
            if tag:
                found[tag] += 1
                first.setdefault(tag, i)
    return sorted(found, key=lambda t: (-found[t], first[t]))


def _stems(text: str) -> set[str]:
    """The light stems of the content words of ``text``."""
    from lessons.search import STOPWORDS, light_stem

    return {
        light_stem(w)
        for w in _WORD.findall(text.lower())
        if w not in STOPWORDS and len(w) > 2 and not w.isdigit()
    }


def _about(rec: dict[str, Any]) -> str:
    """What a record is about: its title and tags."""
    parts = [rec.get("title") or ""]
    parts += [t.replace("-", " ") for t in rec.get("tags") or []]
    return " ".join(parts)


def _stage_in_text(text: str, stages: Sequence[str]) -> str | None:
    words = {w.lower() for w in _WORD.findall(text)}
    hits = [s for s in stages if s.lower() in words]
    return hits[0] if len(hits) == 1 else None


def _sharing(store: Any, themes: Sequence[str], limit: int) -> list[str]:
    """Ids of records carrying the most of ``themes`` (at most ``limit``)."""
    if not themes:
        return []
    counts: Counter[str] = Counter(rid for rid, _, _ in store.records_with_tags(themes))
    return [rid for rid, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def _open_actions(store: Any, ids: Iterable[str], today: str) -> list[dict[str, Any]]:
    wanted = set(ids)
    out = []
    for a in store.actions(wanted):
        if a["id"] in wanted and a["status"] == "open":
            a["overdue"] = bool(a["due"] and a["due"] < today)
            out.append(
                {k: a[k] for k in ("id", "title", "do", "owner", "due", "status", "overdue")}
            )
    out.sort(key=lambda a: (not a["overdue"], a["due"] is None, a["due"] or "", a["id"]))
    return out
