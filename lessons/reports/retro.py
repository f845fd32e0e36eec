"""The retrospective (SPEC §7): everything ``lessons retro`` shows, as plain data.

``build_retro`` reads the records the filters select and returns a ``Retro``
whose ``as_dict()`` is the JSON document of ``retro --format json`` and the
variables of the Markdown and HTML templates.

Every step is linear in the selection, or bounded: recurrences beyond the
recorded ``repeats`` links are searched only in knowledge bases of at most
``RECURRENCE_SCAN_MAX`` mistakes, and near-duplicate recommendations are merged
among the ``MERGE_POOL`` most repeated ones (the rest only join those).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lessons.errors import NoMatchError
from lessons.filters import Filters
from lessons.model import IMPACT_RANK, IMPACTS, KINDS
from lessons.model import today as today_iso
from lessons.reports import kb_name, recurring, selection_label, shift_date, short

COLUMNS = (
    "r.id, r.title, r.kind, r.date, r.impact, r.campaign, r.team, r.stage, r.tags_text,"
    " r.lesson, r.recommendations, r.path"
)
IMPACT_ORDER = (*reversed(IMPACTS), "unrated")
TOP_TAGS = 10
# A theme moved when its count (or share) changed by at least a quarter.
TREND_RATIO = 1.25


@dataclass
class Retro:
    """A retrospective of a selection of records; each section is plain JSON-able data."""

    title: str
    knowledge_base: str
    generated: str
    selection: str
    filters: str
    period: dict[str, Any]
    headline: dict[str, Any]
    went_well: dict[str, Any]
    went_wrong: dict[str, Any]
    observed: dict[str, Any]
    themes: dict[str, Any]
    recurring: dict[str, Any]
    applied: dict[str, Any]
    recommendations: dict[str, Any]
    actions: dict[str, Any]
    timeline: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (and the template variables)."""
        return dataclasses.asdict(self)


def build_retro(
    kb: Any,
    filters: Filters | None = None,
    *,
    limit: int = 20,
    today: str | None = None,
    recurrences: tuple[list[dict[str, Any]], str | None] | None = None,
) -> Retro:
    """The retrospective of the records ``filters`` select; ``limit`` items per list.

    ``recurrences`` is what ``reports.recurring(kb)`` returned for the whole knowledge
    base, for a caller making many retrospectives of one knowledge base (the site:
    one a year) that would otherwise compare every mistake with every other for each.
    Raises ``NoMatchError`` when the selection is empty.
    """
    filters = filters or Filters()
    today = today or today_iso()
    store = kb.store
    _, rows = store.select(filters, sort="impact", columns=COLUMNS)
    if not rows:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(
            f"no records{what}: nothing to review",
            hint="loosen the filters" if what else "add one with `lessons add`",
        )
    selected = {r["id"] for r in rows}
    label = selection_label(filters)
    dates = sorted(r["date"] for r in rows if r["date"])

    by_kind = {k: [r for r in rows if r["kind"] == k] for k in KINDS}
    if recurrences is None:
        found, note = recurring(kb, filters)
    else:
        found = [r for r in recurrences[0] if r["later"]["id"] in selected]
        note = recurrences[1]
    went_well = _listing(by_kind["success"], limit)
    went_wrong = _listing(by_kind["mistake"], limit)
    observed = _listing(by_kind["observation"], limit)
    _add_summaries(store, [*went_well["items"], *went_wrong["items"], *observed["items"]])
    return Retro(
        title=f"Retrospective: {label}",
        knowledge_base=kb_name(kb),
        generated=today,
        selection=label,
        filters=filters.describe(),
        period={
            "since": filters.since,
            "until": filters.until,
            "first": dates[0] if dates else None,
            "last": dates[-1] if dates else None,
            "span": (dates[0] if dates[0] == dates[-1] else f"{dates[0]} – {dates[-1]}")
            if dates
            else None,
            "undated": len(rows) - len(dates),
        },
        headline=_headline(rows),
        went_well=went_well,
        went_wrong=went_wrong,
        observed=observed,
        themes=_themes(store, filters, rows, dates, today),
        recurring={
            "total": len(found),
            "linked": sum(1 for f in found if f["linked"]),
            "candidates": sum(1 for f in found if not f["linked"]),
            "items": found[:limit],
            "note": note,
        },
        applied=_applied(store, rows, selected, limit),
        recommendations=merge_recommendations(_occurrences(rows), limit=limit),
        actions=_actions(store, selected, today, limit),
        timeline=timeline(rows),
    )


# --- sections ----------------------------------------------------------------------


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "date": row["date"],
        "impact": row["impact"],
        "campaign": row["campaign"],
        "team": row["team"],
        "stage": row["stage"],
        "tags": row["tags"],
        "lesson": " ".join((row["lesson"] or "").split()) or None,
        "path": row["path"],
    }


def _listing(rows: Sequence[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The first ``limit`` rows (already highest impact, then newest, first)."""
    return {"total": len(rows), "items": [_item(r) for r in rows[:limit]]}


def _add_summaries(store: Any, items: Sequence[dict[str, Any]]) -> None:
    """Give the listed records their summary (short): what happened, when no lesson says
    what was learned (imported incident reports often have none)."""
    summaries = {r[0]: r[7] for r in store.similarity_rows(i["id"] for i in items)}
    for item in items:
        item["summary"] = short(summaries.get(item["id"]), 300) or None


def _headline(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    matrix = {k: dict.fromkeys(IMPACT_ORDER, 0) for k in KINDS}
    for r in rows:
        matrix[r["kind"]][r["impact"] or "unrated"] += 1
    return {
        "records": len(rows),
        "by_kind": {k: sum(matrix[k].values()) for k in KINDS},
        "by_impact": {i: sum(matrix[k][i] for k in KINDS) for i in IMPACT_ORDER},
        "by_kind_impact": matrix,
        "campaigns": len({r["campaign"].lower() for r in rows if r["campaign"]}),
        "teams": len({r["team"].lower() for r in rows if r["team"]}),
    }


def _themes(
    store: Any,
    filters: Filters,
    rows: Sequence[dict[str, Any]],
    dates: Sequence[str],
    today: str,
) -> dict[str, Any]:
    """Top tags, each against the previous period of the same length (``--since``/
    ``--until``) or the rest of the knowledge base (a campaign or team)."""
    own = set(filters.tags)  # every record has them: the selection, not a finding
    now = [(t, n) for t, n in store.tag_counts(filters) if t not in own]
    total = len(rows)
    base: dict[str, int] = {}
    base_total = 0
    compare = None
    baseline = None
    if filters.since or filters.until:
        start = filters.since or (dates[0] if dates else None)
        end = filters.until or max(today, dates[-1] if dates else today)
        if start and end >= start:
            before, span = previous_period(start, end)
            prev = dataclasses.replace(filters, since=before, until=shift_date(start, -1))
            base = dict(store.tag_counts(prev))
            base_total = store.select(prev, limit=0)[0]
            compare = "count"
            baseline = f"the previous {span} ({prev.since} – {prev.until})"
    elif filters.campaign or filters.team:
        rest = dataclasses.replace(filters, campaign=None, team=None)
        everywhere = dict(store.tag_counts(rest))
        mine = dict(now)
        base = {t: everywhere[t] - mine.get(t, 0) for t in everywhere}
        base_total = store.select(rest, limit=0)[0] - total
        compare = "share"
        baseline = "the rest of the knowledge base"
    items = []
    for tag, n in now[:TOP_TAGS]:
        share = n / total
        bn = base.get(tag, 0)
        b_share = bn / base_total if base_total else None
        item: dict[str, Any] = {
            "tag": tag,
            "count": n,
            "share": round(share, 4),
            "baseline_count": bn if compare else None,
            "baseline_share": round(b_share, 4) if b_share is not None else None,
            "count_change": n - bn if compare else None,
            "share_change": round((share - b_share) * 100, 1) if b_share is not None else None,
            "trend": None,
        }
        if compare:
            item["trend"] = _trend(
                n if compare == "count" else share, bn if compare == "count" else (b_share or 0.0)
            )
        items.append(item)
    faded = []
    if compare == "count":
        shown = {t for t, _ in now}
        faded = [
            {"tag": t, "baseline_count": n}
            for t, n in sorted(base.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS]
            if t not in shown and t not in own
        ][:5]
    return {
        "compare": compare,
        "baseline": baseline,
        "baseline_records": base_total if compare else None,
        "tags_total": len(now),
        "items": items,
        "faded": faded,
    }


def previous_period(start: str, end: str) -> tuple[str, str]:
    """The first day of the period of the same length just before ``start``..``end``, and
    that length in words. Whole months (a quarter, a year) shift by months, so that
    2024 is compared with 2023; other periods by days."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if first.day == 1 and (last + dt.timedelta(days=1)).day == 1:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        n = first.year * 12 + first.month - 1 - months
        since = dt.date(n // 12, n % 12 + 1, 1).isoformat()
        return since, f"{months} month{'s' if months != 1 else ''}"
    days = (last - first).days + 1
    return shift_date(start, -days), f"{days} day{'s' if days != 1 else ''}"


def _trend(now: float, before: float) -> str:
    if before <= 0:
        return "new" if now > 0 else "steady"
    ratio = now / before
    if ratio >= TREND_RATIO:
        return "up"
    if ratio <= 1 / TREND_RATIO:
        return "down"
    return "steady"


def _applied(
    store: Any, rows: Sequence[dict[str, Any]], selected: set[str], limit: int
) -> dict[str, Any]:
    """``applies`` links touching the selection, and the share of its mistakes whose
    lesson some record demonstrably applied."""
    links = [(s, d, note) for s, d, rel, note, _ in store.all_links() if rel == "applies"]
    touching = [(s, d, note) for s, d, note in links if s in selected or d in selected]
    info = {
        r[0]: {"id": r[0], "title": r[1], "kind": r[2], "date": r[3]}
        for r in store.similarity_rows({i for s, d, _ in touching for i in (s, d)})
    }
    items = []
    for src, dst, note in touching:
        if src in info and dst in info:
            items.append({"by": info[src], "lesson_of": info[dst], "note": note})
    items.sort(key=lambda x: (x["by"]["date"] or "", x["by"]["id"]), reverse=True)
    applied_to = {d for _, d, _ in links}
    mistakes = [r for r in rows if r["kind"] == "mistake"]
    done = [r for r in mistakes if r["id"] in applied_to]
    waiting = [r for r in mistakes if r["id"] not in applied_to]
    return {
        "total": len(items),
        "items": items[:limit],
        "mistakes": len(mistakes),
        "mistakes_applied": len(done),
        "share": round(len(done) / len(mistakes), 4) if mistakes else None,
        "not_applied": [_item(r) for r in waiting[: min(limit, 5)]],
    }


def _actions(store: Any, selected: set[str], today: str, limit: int) -> dict[str, Any]:
    """The open follow-ups of the selection, overdue first, and who owns them."""
    acts = [a for a in store.actions() if a["id"] in selected]
    open_ = [a for a in acts if a["status"] == "open"]
    for a in open_:
        a["overdue"] = bool(a["due"] and a["due"] < today)
    open_.sort(key=lambda a: (not a["overdue"], a["due"] is None, a["due"] or "", a["id"]))
    owners: dict[str, dict[str, Any]] = {}
    for a in open_:
        name = a["owner"] or "(no owner)"
        entry = owners.setdefault(name.lower(), {"owner": name, "open": 0, "overdue": 0})
        entry["open"] += 1
        entry["overdue"] += a["overdue"]
    return {
        "total": len(acts),
        "open": len(open_),
        "overdue": sum(a["overdue"] for a in open_),
        "done": sum(1 for a in acts if a["status"] == "done"),
        "dropped": sum(1 for a in acts if a["status"] == "dropped"),
        "owners": sorted(owners.values(), key=lambda o: (-o["overdue"], -o["open"], o["owner"])),
        "items": [
            {k: a[k] for k in ("id", "title", "do", "owner", "due", "status", "overdue")}
            for a in open_[:limit]
        ],
    }


# --- timeline ----------------------------------------------------------------------

# Bars per chart before months are grouped into quarters, and quarters into years.
MAX_BARS = 36


def timeline(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Records per month by kind; ``bars`` is the chart: every month of the span (or
    quarter, or year, when there would be more than ``MAX_BARS``), empty ones too."""
    months: dict[str, Counter[str]] = defaultdict(Counter)
    undated = 0
    for r in rows:
        if r["date"]:
            months[r["date"][:7]][r["kind"]] += 1
        else:
            undated += 1
    out: dict[str, Any] = {
        "unit": "month",
        "kinds": list(KINDS),
        "months": [
            {"month": m, **{k: months[m][k] for k in KINDS}, "total": sum(months[m].values())}
            for m in sorted(months)
        ],
        "bars": [],
        "max": 0,
        "ticks": [0],
        "undated": undated,
    }
    if not months:
        return out
    first, last = min(months), max(months)
    span = _month_number(last) - _month_number(first) + 1
    unit = "month" if span <= MAX_BARS else "quarter" if span <= 3 * MAX_BARS else "year"
    labels: list[str] = []
    for i in range(_month_number(first), _month_number(last) + 1):
        label = _bucket(f"{i // 12:04d}-{i % 12 + 1:02d}", unit)
        if not labels or labels[-1] != label:
            labels.append(label)
    counts: dict[str, Counter[str]] = {label: Counter() for label in labels}
    for m, c in months.items():
        counts[_bucket(m, unit)].update(c)
    bars = [
        {
            "label": label,
            **{k: counts[label][k] for k in KINDS},
            "total": sum(counts[label].values()),
        }
        for label in labels
    ]
    top = max(sum(counts[label].values()) for label in labels)
    ticks = nice_ticks(top)
    out.update(unit=unit, bars=bars, max=ticks[-1], ticks=ticks)
    return out


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _bucket(month: str, unit: str) -> str:
    if unit == "month":
        return month
    if unit == "quarter":
        return f"{month[:4]} Q{(int(month[5:7]) - 1) // 3 + 1}"
    return month[:4]


def nice_ticks(top: int, most: int = 5) -> list[int]:
    """Round axis ticks from 0 to at least ``top`` (at most ``most`` steps)."""
    if top <= 0:
        return [0, 1]
    step = 1
    while -(-top // step) > most:
        step = _next_step(step)
    return [i * step for i in range(-(-top // step) + 1)]


def _next_step(step: int) -> int:
    """1, 2, 5, 10, 20, 50, …"""
    s = str(step)
    lead, zeros = int(s[0]), len(s) - 1
    nxt = {1: 2, 2: 5, 5: 10}[lead]
    return nxt * 10**zeros


# --- recommendations ---------------------------------------------------------------

# Near-duplicate when the word sets agree this much (rapidfuzz token_set_ratio) ...
MERGE_SCORE = 85
# ... and the shorter one has at least this share of the longer one's words.
MERGE_LENGTH = 0.5
# Distinct recommendations compared with each other (most repeated first); the rest
# may only join the MERGE_HEADS most repeated groups. Keeps large selections fast.
MERGE_POOL = 400
MERGE_HEADS = 60
# A cheap first pass: character similarity of the sorted word sets (rapidfuzz ratio).
_PREFILTER = 55

_TOKEN = re.compile(r"[^\W_]+")


@dataclass
class _Group:
    key: str
    words: int
    texts: dict[str, int]
    records: dict[str, None]
    rank: int
    date: str
    order: int


def _occurrences(rows: Iterable[dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    out = []
    for r in rows:
        for text in (r["recommendations"] or "").split("\n"):
            text = " ".join(text.split())
            if text:
                out.append((text, r["id"], IMPACT_RANK.get(r["impact"] or "", 0), r["date"] or ""))
    return out


def rec_key(text: str) -> str:
    """A recommendation reduced to its sorted set of lower-case words (so that case,
    punctuation and word order do not tell two wordings apart)."""
    return " ".join(sorted(set(_TOKEN.findall(text.lower())))) or text.strip().lower()


def merge_recommendations(
    occurrences: Sequence[tuple[str, str, int, str]], *, limit: int = 20
) -> dict[str, Any]:
    """Recommendations with near-duplicates merged: (text, record id, impact rank, date)
    in, the merged list out, most repeated first (then highest impact, newest).

    Identical word sets (case, punctuation and word order aside) are one group
    at once; groups are then merged when rapidfuzz's token_set_ratio is at
    least ``MERGE_SCORE``. Each item shows the most used wording and how many
    records made it.
    """
    groups: dict[str, _Group] = {}
    for text, rid, rank, date in occurrences:
        key = rec_key(text)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(key, key.count(" ") + 1, {}, {}, rank, date, len(groups))
        g.texts[text] = g.texts.get(text, 0) + 1
        g.records[rid] = None
        if rank > g.rank:
            g.rank = rank
        if date > g.date:
            g.date = date
    # Most repeated, then highest impact, then newest (stable sorts, last key first).
    order = sorted(groups.values(), key=lambda g: g.date, reverse=True)
    order.sort(key=lambda g: (len(g.records), g.rank), reverse=True)
    clusters = _cluster(order)
    ranked = []
    for members in clusters:
        if len(members) == 1:
            g = members[0]
            ranked.append((len(g.records), g.rank, g.date, g.order, members))
            continue
        records = {rid for g in members for rid in g.records}
        ranked.append(
            (
                len(records),
                max(g.rank for g in members),
                max(g.date for g in members),
                min(g.order for g in members),
                members,
            )
        )
    ranked.sort(key=lambda c: c[3])
    ranked.sort(key=lambda c: c[2], reverse=True)
    ranked.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return {
        "total": len(occurrences),
        "distinct": len(ranked),
        "repeated": sum(1 for c in ranked if c[0] > 1),
        "items": [_merged(c[4]) for c in ranked[:limit]],
    }


def _merged(members: Sequence[_Group]) -> dict[str, Any]:
    """One merged recommendation: its most used wording, the records, the other wordings."""
    records: dict[str, None] = {}
    texts: Counter[str] = Counter()
    for g in members:
        records.update(g.records)
        texts.update(g.texts)
    # The most used wording; on a tie, the leader's (most repeated, highest impact).
    best = max(texts.items(), key=lambda kv: kv[1])[0]
    return {
        "text": best,
        "count": len(records),
        "records": list(records),
        "variants": [t for t, _ in texts.most_common() if t != best],
    }


def _cluster(order: Sequence[_Group]) -> list[list[_Group]]:
    """Leader clustering: each group, in order, joins the first earlier leader it is a
    near-duplicate of, or leads a cluster of its own.

    Candidates come from a cheap character comparison of the word sets (rapidfuzz
    ``ratio``, in C); only they are checked with ``_near``.
    """
    from rapidfuzz import fuzz, process

    pool, rest = order[:MERGE_POOL], order[MERGE_POOL:]
    keys = [g.key for g in pool]
    leader_of = list(range(len(pool)))
    for i in range(len(pool)):
        if leader_of[i] != i:
            continue
        found = process.extract(
            keys[i], keys, scorer=fuzz.ratio, score_cutoff=_PREFILTER, limit=None
        )
        for _, _, j in sorted(found, key=lambda f: f[2]):
            if j > i and leader_of[j] == j and _near(pool[i], pool[j]):
                leader_of[j] = i
    clusters: dict[int, list[_Group]] = {}
    for i, lead in enumerate(leader_of):
        clusters.setdefault(lead, []).append(pool[i])
    heads = {i: keys[i] for i in list(clusters)[:MERGE_HEADS]}
    for g in rest:
        found = process.extract(
            g.key, heads, scorer=fuzz.ratio, score_cutoff=_PREFILTER, limit=None
        )
        target = min((i for _, _, i in found if _near(pool[i], g)), default=None)
        if target is None:
            clusters[len(pool) + g.order] = [g]
        else:
            clusters[target].append(g)
    return list(clusters.values())


def _near(a: _Group, b: _Group) -> bool:
    from rapidfuzz import fuzz

    if min(a.words, b.words) < MERGE_LENGTH * max(a.words, b.words):
        return False
    return fuzz.token_set_ratio(a.key, b.key) >= MERGE_SCORE
