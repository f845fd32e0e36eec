"""Page models: the plain data each template gets, made from the published records.

Nothing here renders or writes; ``build.py`` does. Every URL is relative to the
site's root (``lesson/<id>.html``) and templates put ``root`` (``../`` or empty)
before it, so the site works at any path: a sub-path, a folder on a file share.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lessons.filters import value_key
from lessons.model import KINDS, RELATIONS, STANDARD_KEYS, slugify
from lessons.site.render import clean, page_name, paragraphs, safe_link

# Group pages: (key in a record, folder, singular, plural, index page).
GROUPS = (
    ("tags", "tag", "tag", "tags", "tags.html"),
    ("campaign", "campaign", "campaign", "campaigns", "campaigns.html"),
    ("team", "team", "team", "teams", "teams.html"),
    ("stage", "stage", "stage", "stages", "stages.html"),
    ("kind", "kind", "kind", "kinds", None),
)
PLURAL = {"mistake": "mistakes", "success": "successes", "observation": "observations"}
REL_LABEL = {
    "relates-to": "relates to",
    "caused-by": "caused by",
    "repeats": "repeats",
    "applies": "applies the lesson of",
    "supersedes": "supersedes",
    "contradicts": "contradicts",
}
BACK_LABEL = {
    "relates-to": "related to",
    "caused-by": "caused",
    "repeats": "repeated by",
    "applies": "lesson applied by",
    "supersedes": "superseded by",
    "contradicts": "contradicted by",
}
TEXT_SECTIONS = (
    ("summary", "What happened"),
    ("expected", "What was expected"),
    ("why", "Why it went as it did"),
    ("response", "What was done at the time"),
    ("lesson", "What we learned"),
    ("evidence", "Evidence"),
)
LATEST = 10
HOME_ACTIONS = 10


def record_url(rec_id: str) -> str:
    """The page of a record, from its id alone: it never moves."""
    return f"lesson/{page_name(rec_id)}.html"


@dataclass
class Group:
    """The records sharing one tag, campaign, team, stage or kind."""

    kind: str
    name: str
    url: str
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Site:
    """Everything the pages are made from, computed once per build."""

    records: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]]
    refs: dict[str, dict[str, Any]]
    backlinks: dict[str, list[dict[str, Any]]]
    groups: dict[str, dict[str, Group]]
    today: str
    stages: tuple[str, ...]
    custom: tuple[Any, ...] = ()

    def group_url(self, key: str, value: Any) -> str | None:
        """The page of the group ``value`` of ``key`` belongs to, if it has one."""
        if not isinstance(value, str) or not value:
            return None
        group = self.groups[key].get(_group_key(key, value))
        return group.url if group else None


def _group_key(key: str, value: str) -> str:
    # Campaigns and teams are compared without letter case, as the filters do.
    return value_key(value) if key in ("campaign", "team") else value


def ref(rec: Mapping[str, Any]) -> dict[str, Any]:
    """What a list of records shows of one."""
    return {
        "id": rec["id"],
        "title": clean(rec.get("title") or rec["id"]),
        "kind": rec.get("kind"),
        "date": rec.get("date"),
        "impact": rec.get("impact"),
        "status": rec.get("status") or "final",
        "internal": rec.get("visibility") != "public",
        "url": record_url(rec["id"]),
    }


def newest_first(rec: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key: dated records newest first, then undated, each by id."""
    date = rec.get("date") or ""
    return (date == "", _negated(date), rec["id"])


def _negated(date: str) -> str:
    # Reverse order for text without sorting twice: map each digit to 9 - digit.
    return date.translate(str.maketrans("0123456789", "9876543210"))


def make_site(
    records: Sequence[dict[str, Any]],
    *,
    stages: Sequence[str],
    custom: Sequence[Any] = (),
    today: str | None = None,
) -> Site:
    """Index the published records: by id, backlinks, and every group."""
    ordered = sorted(records, key=newest_first)
    by_id = {r["id"]: r for r in ordered}
    refs = {rid: ref(r) for rid, r in by_id.items()}
    backlinks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in ordered:
        for link in rec.get("links") or []:
            if link["to"] in by_id:
                backlinks[link["to"]].append(
                    {
                        "rel": link["rel"],
                        "label": BACK_LABEL.get(link["rel"], RELATIONS.get(link["rel"], "")),
                        "record": refs[rec["id"]],
                        "note": clean(link.get("note") or "") or None,
                    }
                )
    groups: dict[str, dict[str, Group]] = {}
    for key, folder, _one, _many, _index in GROUPS:
        found: dict[str, Group] = {}
        for rec in ordered:
            values = rec.get(key)
            for value in values if isinstance(values, list) else [values]:
                if not isinstance(value, str) or not value:
                    continue
                gkey = _group_key(key, value)
                group = found.get(gkey)
                if group is None:
                    group = found[gkey] = Group(key, clean(value), "")
                group.records.append(refs[rec["id"]])
        names = _page_names(found)
        for gkey, group in found.items():
            group.url = f"{folder}/{names[gkey]}.html"
        groups[key] = found
    return Site(
        records=ordered,
        by_id=by_id,
        refs=refs,
        backlinks=dict(backlinks),
        groups=groups,
        today=today or dt.date.today().isoformat(),
        stages=tuple(stages),
        custom=tuple(custom),
    )


def _page_names(found: Mapping[str, Group]) -> dict[str, str]:
    """A file name per group; names that would collide (``Q1 launch`` and ``q1-launch``
    both slug to ``q1-launch``) each get their hash suffix, so none is overwritten."""
    names = {gkey: slugify(gkey, 60) or page_name(gkey) for gkey in found}
    seen: dict[str, int] = defaultdict(int)
    for name in names.values():
        seen[name] += 1
    from lessons.hashing import digest

    return {
        gkey: name if seen[name] == 1 else f"{name}-{digest(gkey.encode('utf-8'), 4)}"
        for gkey, name in names.items()
    }


# --- the record page ---------------------------------------------------------------


def record_page(site: Site, rec: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of ``record.html.j2``: every field of the record, made safe to show."""
    rid = rec["id"]
    links = []
    for link in rec.get("links") or []:
        target = site.refs.get(link["to"])
        links.append(
            {
                "rel": link["rel"],
                "label": REL_LABEL.get(link["rel"], link["rel"]),
                "record": target,
                # A target that is not on the site shows its id, never a title.
                "missing": None if target else link["to"],
                "note": clean(link.get("note") or "") or None,
            }
        )
    facts = []
    for key, label in (("kind", "Kind"), ("date", "Date"), ("impact", "Impact")):
        if rec.get(key):
            facts.append(_fact(site, key, label, rec[key]))
    for key, label in (("campaign", "Campaign"), ("team", "Team"), ("stage", "Stage")):
        if rec.get(key):
            facts.append(_fact(site, key, label, rec[key]))
    if rec.get("authors"):
        facts.append({"label": "Authors", "values": _texts(rec["authors"])})
    facts.append({"label": "Status", "values": _texts([rec.get("status") or "final"])})
    if rec.get("recorded"):
        facts.append({"label": "Recorded", "values": _texts([rec["recorded"]])})
    for custom in site.custom:
        value = rec.get(custom.name)
        if value is None or value == "" or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        facts.append(
            {"label": custom.name.replace("_", " ").capitalize(), "values": _texts(values)}
        )
    for key, value in rec.items():
        # Fields no configuration declares any more still show: the page has every field.
        if key in STANDARD_KEYS or key in {c.name for c in site.custom} or key == "path":
            continue
        if value is None or value == "" or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        facts.append({"label": key.replace("_", " ").capitalize(), "values": _texts(values)})
    sections = [
        {"key": key, "label": label, "paragraphs": paragraphs(rec.get(key))}
        for key, label in TEXT_SECTIONS
        if rec.get(key)
    ]
    return {
        "record": site.refs[rid],
        "title": site.refs[rid]["title"],
        "facts": facts,
        "sections": sections,
        "recommendations": [clean(r) for r in rec.get("recommendations") or []],
        "tags": [{"name": t, "url": site.group_url("tags", t)} for t in rec.get("tags") or []],
        "links": links,
        "backlinks": site.backlinks.get(rid, []),
        "actions": [_action(a, site.today) for a in rec.get("actions") or []],
        "sources": [
            {"text": clean(str(s)), "href": safe_link(s)} for s in rec.get("sources") or []
        ],
    }


def _fact(site: Site, key: str, label: str, value: Any) -> dict[str, Any]:
    url = site.group_url(key, value) if key in ("kind", "campaign", "team", "stage") else None
    return {"label": label, "values": [{"text": clean(str(value)), "url": url, "href": None}]}


def _texts(values: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for v in values:
        text = clean(str(v))
        out.append({"text": text, "url": None, "href": safe_link(v)})
    return out


def _action(action: Mapping[str, Any], today: str) -> dict[str, Any]:
    status = action.get("status") or "open"
    due = action.get("due")
    return {
        "do": clean(str(action.get("do") or "")),
        "owner": clean(str(action["owner"])) if action.get("owner") else None,
        "due": due,
        "status": status,
        "overdue": status == "open" and bool(due) and str(due) < today,
    }


# --- lists ---------------------------------------------------------------------------


def open_actions(site: Site) -> list[dict[str, Any]]:
    """Every open action: overdue first, then by due date (undated last)."""
    out = []
    for rec in site.records:
        for action in rec.get("actions") or []:
            item = _action(action, site.today)
            if item["status"] != "open":
                continue
            item["record"] = site.refs[rec["id"]]
            out.append(item)
    out.sort(key=lambda a: (not a["overdue"], a["due"] is None, a["due"] or "", a["record"]["id"]))
    return out


def group_index(site: Site, key: str) -> list[dict[str, Any]]:
    """The groups of ``key`` with their counts: most records first, then by name
    (stages in their configured order)."""
    groups = list(site.groups[key].values())
    if key == "stage":
        order = {s: i for i, s in enumerate(site.stages)}
        groups.sort(key=lambda g: (order.get(g.name, len(order)), g.name))
    elif key == "kind":
        groups.sort(key=lambda g: KINDS.index(g.name) if g.name in KINDS else 9)
    else:
        groups.sort(key=lambda g: (-len(g.records), g.name.lower()))
    return [{"name": g.name, "url": g.url, "count": len(g.records)} for g in groups]


def by_year(site: Site) -> dict[str, list[dict[str, Any]]]:
    """Records by year (newest year first); undated ones under ``""``."""
    years: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in site.records:
        years[(rec.get("date") or "")[:4]].append(site.refs[rec["id"]])
    return dict(sorted(years.items(), key=lambda kv: (kv[0] == "", _negated(kv[0]))))


def by_month(refs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records of a year by month, newest first: ``[{"month": "2024-05", "label",
    "records"}]``."""
    months: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in refs:
        months[(r.get("date") or "")[:7]].append(r)
    out = []
    for month in sorted(months, reverse=True):
        label = month
        if len(month) == 7:
            label = dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")
        out.append({"month": month, "label": label, "records": months[month]})
    return out
