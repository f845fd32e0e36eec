"""The Atom feed of new lessons (RFC 4287), written with ElementTree (it escapes)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from lessons.site.render import clean

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


def when(rec: Mapping[str, Any]) -> str:
    """The day a record counts as new: when it was recorded, else when it happened."""
    return str(rec.get("recorded") or rec.get("date") or "")


def newest(records: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` newest records (recorded, then happened, then id)."""
    return sorted(
        records, key=lambda r: (when(r), str(r.get("date") or ""), r["id"]), reverse=True
    )[:n]


def atom(
    records: Sequence[Mapping[str, Any]],
    pages: Mapping[str, str],
    *,
    title: str,
    base_url: str,
    author: str,
) -> bytes:
    """The feed: the ``FEED_SIZE`` newest records. Links are relative to ``base_url``
    (``xml:base``), so the feed works wherever the site is hosted; entry ids are
    stable UUIDs made from the site's name and the record's id."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}base", base_url)
    items = newest(records, FEED_SIZE)
    space = uuid.uuid5(uuid.NAMESPACE_URL, "lessons-site:" + title)
    _text(feed, "title", title)
    _text(feed, "id", space.urn)
    _text(feed, "updated", _stamp(when(items[0]) if items else ""))
    _link(feed, "", "alternate", "text/html")
    _link(feed, "feed.xml", "self", "application/atom+xml")
    who = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(who, "name", author)
    _text(feed, "generator", "lessons")
    for rec in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", rec.get("title") or rec["id"])
        _text(entry, "id", uuid.uuid5(space, rec["id"]).urn)
        _text(entry, "updated", _stamp(when(rec)))
        if rec.get("date"):
            _text(entry, "published", _stamp(str(rec["date"])))
        _link(entry, pages[rec["id"]], "alternate", "text/html")
        for name in rec.get("authors") or []:
            person = ET.SubElement(entry, f"{{{ATOM}}}author")
            _text(person, "name", name)
        _text(entry, "category", None).set("term", str(rec.get("kind") or ""))
        for tag in rec.get("tags") or []:
            _text(entry, "category", None).set("term", tag)
        _text(entry, "summary", rec.get("lesson") or rec.get("summary") or "")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _text(parent: ET.Element, name: str, value: str | None) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    if value is not None:
        node.text = clean(" ".join(str(value).split()))
    return node


def _link(parent: ET.Element, href: str, rel: str, kind: str) -> None:
    link = ET.SubElement(parent, f"{{{ATOM}}}link")
    link.set("href", href)
    link.set("rel", rel)
    link.set("type", kind)


def _stamp(day: str) -> str:
    """An Atom date (RFC 3339) for a day; records carry no time of day."""
    return f"{day[:10]}T00:00:00Z" if len(day) >= 10 else "1970-01-01T00:00:00Z"
