"""Turning one row's raw values into what ``validate`` expects.

What a source holds is read as a person would: a choice matched ignoring case
(and through ``--map-value``), list cells split on what the column uses, a
timestamp with a zone moved into the knowledge base's zone before its date is
taken, dates like 03/04/2024 read in the order their column shows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lessons.interop.dates import parse_loose_date
from lessons.interop.mapping import ValueMaps, choice_fields, value_key
from lessons.interop.values import split_list
from lessons.model import (
    ACTION_STATUSES,
    ID_RE,
    LIST_KEYS,
    Schema,
    id_from_foreign,
    normalise_tag,
)

# A timestamp that names its zone: 2016-02-22T23:00:00Z, 2024-05-01 10:00+02:00.
_ZONED = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})", re.I
)
# How list cells are split: the export's own ";" (with its escapes), line breaks,
# #hashtags, or commas.
SPLITS = ("auto", ";", ",", "newline", "#", "any")


@dataclass
class DateOrder:
    """How one column's dates like 03/04/2024 are read: day first or not, and why."""

    dayfirst: bool | None
    # flag (--dayfirst/--monthfirst), column (its values show it), default, mixed.
    reason: str = "flag"


@dataclass
class Context:
    schema: Schema
    dayfirst: bool | None
    # Why dates like 03/04/2024 read as they do: flag, file or default.
    order_reason: str = "flag"
    # Per column, when the column's values decide (see DateOrder).
    orders: dict[str, DateOrder] = field(default_factory=dict)
    value_maps: ValueMaps = field(default_factory=ValueMaps)
    # tzinfo to take dates in; None: the machine's zone.
    tz: dt.tzinfo | None = None
    tz_name: str = ""
    # Column -> how its list cells split (see SPLITS); absent: ";" in text cells.
    splits: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    # How each guessed date was read: (day first, reason).
    guessed_how: dict[str, tuple[bool, str]] = field(default_factory=dict)
    serial: list[str] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    zoned: list[str] = field(default_factory=list)
    shifted: list[str] = field(default_factory=list)
    foreign: list[tuple[str, str, str]] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)
    titled: list[str] = field(default_factory=list)
    dropped_tags: list[str] = field(default_factory=list)
    # Values --map-value mapped: (key, source value) -> count.
    mapped: dict[tuple[str, str], int] = field(default_factory=dict)
    # Choice values that are not choices and no --map-value maps: key -> value -> rows.
    unmapped: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Source values of each choice key, for --map-value checks and --write-mapping.
    seen_values: dict[str, dict[str, int]] = field(default_factory=dict)

    def forget(self, wheres: Iterable[str]) -> None:
        """Leave rows that were not imported out of the notes."""
        gone = set(wheres)
        for name in (
            "completed",
            "guessed",
            "serial",
            "clamped",
            "zoned",
            "shifted",
            "shortened",
            "titled",
        ):
            setattr(self, name, [w for w in getattr(self, name) if w not in gone])
        self.foreign = [f for f in self.foreign if f[0] not in gone]
        self.dropped_tags = [t for t in self.dropped_tags if t.split(" ('", 1)[0] not in gone]


class Converter:
    """Turns one row's raw values into what ``validate`` expects."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        schema = ctx.schema
        self.choices = choice_fields(schema)
        self.dates = {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}
        self.lists = set(LIST_KEYS) | {f.name for f in schema.fields if f.type == "list"}
        self.numbers = {f.name for f in schema.fields if f.type == "number"}

    def convert(
        self, key: str, value: Any, text_cells: bool, where: str, column: str | None = None
    ) -> Any:
        """The value of ``key``; ``text_cells`` when it came from a cell or the command line."""
        if key == "id":
            return self.ident(value, where)
        if key in self.choices and isinstance(value, str | int) and not isinstance(value, bool):
            return self.choice(key, str(value).strip(), self.choices[key], where)
        if key in self.dates:
            return self.date(value, where, column)
        split = self.ctx.splits.get(column or "", ";") if text_cells else None
        if key == "tags":
            return self.tags(self.as_list(value, split), where)
        if key in self.lists:
            return self.as_list(value, split)
        if key == "links":
            return self.links(value)
        if key == "actions":
            return self.actions(value, where, split)
        if key in self.numbers and isinstance(value, str):
            return _number(value)
        if key == "extra" and isinstance(value, str) and value.strip().startswith("{"):
            # What export writes in a CSV cell: the mapping as JSON.
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                return Invalid(f"'extra' is not valid JSON: {exc.msg}")
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def ident(self, value: Any, where: str) -> str | None:
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return value
        text = value.strip()
        if ID_RE.fullmatch(text):
            return text
        converted = id_from_foreign(text)
        if not converted:
            return None
        self.ctx.foreign.append((where, text, converted))
        return converted

    def choice(self, key: str, text: str, options: tuple[str, ...], where: str) -> str:
        """``text`` as one of ``options``: itself, its case, or what --map-value maps it to."""
        seen = self.ctx.seen_values.setdefault(key, {})
        seen[text] = seen.get(text, 0) + 1
        mapped = self.ctx.value_maps.get(key, text)
        if mapped is not None:
            k = (key, value_key(text))
            self.ctx.mapped[k] = self.ctx.mapped.get(k, 0) + 1
            return mapped
        if text in options:
            return text
        lowered = {o.lower(): o for o in options}
        found = lowered.get(text.lower())
        if found is None:
            self.ctx.unmapped.setdefault(key, {}).setdefault(text, []).append(where)
            return text
        return found

    def date(self, value: Any, where: str, column: str | None = None) -> Any:
        if isinstance(value, dt.datetime):
            return self._datetime(value, where)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            return value
        if _ZONED.match(value.strip()):
            try:
                stamp = dt.datetime.fromisoformat(value.strip().replace(" ", "T", 1))
            except ValueError:
                stamp = None
            if stamp is not None:
                return self._datetime(stamp, where)
        order = self.ctx.orders.get(column or "")
        dayfirst = order.dayfirst if order else self.ctx.dayfirst
        parsed, how = parse_loose_date(value, dayfirst)
        if parsed is None:
            if how == "ambiguous":
                return Ambiguous(value.strip())
            return value.strip()
        if how == "completed":
            self.ctx.completed.append(where)
        elif how == "ordered":
            self.ctx.guessed.append(where)
            if order is not None:
                self.ctx.guessed_how[where] = (bool(order.dayfirst), order.reason)
        elif how == "serial":
            self.ctx.serial.append(where)
        elif how == "clamped":
            self.ctx.clamped.append(where)
        return parsed

    def _datetime(self, stamp: dt.datetime, where: str) -> str:
        """The date of ``stamp`` in the knowledge base's zone (a naive one as it is)."""
        if stamp.tzinfo is None:
            return stamp.date().isoformat()
        local = stamp.astimezone(self.ctx.tz) if self.ctx.tz else stamp.astimezone()
        self.ctx.zoned.append(where)
        if local.date() != stamp.date():
            self.ctx.shifted.append(where)
        return local.date().isoformat()

    @staticmethod
    def as_list(value: Any, split: str | None) -> Any:
        from lessons.interop.readers.markdown import Section

        if isinstance(value, Section) and value.items:
            return [text for text, _ in value.items]
        if isinstance(value, str):
            return split_cell(value, split) if split else [value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [str(value)]
        return value

    def tags(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for tag in value:
            if isinstance(tag, str):
                norm = normalise_tag(tag, self.ctx.schema.tag_aliases)
                if not norm:
                    self.ctx.dropped_tags.append(f"{where} ('{tag}')")
                    continue
                tag = norm
            out.append(tag)
        return out

    def links(self, value: Any) -> Any:
        if isinstance(value, str):
            value = split_list(value)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = _parse_link(item)
            elif isinstance(item, dict):
                item = dict(item)
            if isinstance(item, dict) and isinstance(item.get("to"), str):
                to = item["to"].strip()
                item["to"] = to if ID_RE.fullmatch(to) else id_from_foreign(to)
            out.append(item)
        return out

    def actions(self, value: Any, where: str, split: str | None = ";") -> Any:
        from lessons.interop.readers.markdown import Section

        if isinstance(value, Section):
            if value.items:
                return [
                    {"do": text, "status": "done" if checked else "open"}
                    for text, checked in value.items
                ]
            value = [p.strip() for p in re.split(r"\n\s*\n", str(value)) if p.strip()]
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("[", "{")):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    return Invalid(f"'actions' is not valid JSON: {exc.msg}")
            else:
                value = [{"do": item} for item in split_cell(text, split or ";")]
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = {"do": item}
            elif isinstance(item, dict):
                item = dict(item)
                if item.get("due") is not None:
                    due = self.date(item["due"], where)
                    item["due"] = str(due) if isinstance(due, Ambiguous) else due
                if isinstance(item.get("status"), str):
                    status = item["status"].strip()
                    mapped = self.ctx.value_maps.get("actions", status)
                    lowered = {o.lower(): o for o in ACTION_STATUSES}
                    item["status"] = mapped or lowered.get(status.lower(), status)
            out.append(item)
        return out


_HASHTAG = re.compile(r"#([^\s#,;]+)")


def split_cell(cell: str, how: str | None) -> list[str]:
    """The items of a list cell, split as ``how`` says (one of ``SPLITS``, or a separator)."""
    if how in (None, ";"):
        return split_list(cell)
    if how == "newline":
        return [item.strip(" \t-*•") for item in cell.splitlines() if item.strip(" \t-*•")]
    if how == "#":
        tags = _HASHTAG.findall(cell)
        return tags or split_list(cell)
    if how == "any":
        # Tags: any of ; , line breaks and #hashtags separates them (a tag holds none).
        parts = re.split(r"[;,\n]+|(?=#)", cell)
        return [p.strip().lstrip("#").strip() for p in parts if p.strip().lstrip("#").strip()]
    if how == "auto":
        return split_cell(cell, detect_split([cell], tags=True) or ";")
    return [item.strip() for item in cell.split(how) if item.strip()]


def detect_split(cells: Iterable[str], *, tags: bool, names: bool = False) -> str | None:
    """How a column's list cells are split, from its values: line breaks, ``;``, hashtags,
    then (for tags and names, never for sentences) commas. None: one item a cell.

    In a tags column every one of them separates (``any``) as soon as two kinds occur.
    """
    cells = [c for c in cells if isinstance(c, str) and c.strip()]
    if tags:
        kinds = [
            k
            for k, found in (
                ("newline", any("\n" in c.strip() for c in cells)),
                (";", any(";" in c for c in cells)),
                (",", any("," in c for c in cells)),
                ("#", any(_HASHTAG.search(c) for c in cells)),
            )
            if found
        ]
        if len(kinds) > 1:
            return "any"
        return kinds[0] if kinds else None
    if any("\n" in c.strip() for c in cells):
        return "newline"
    if any(";" in c for c in cells):
        return ";"
    if cells and all(
        all(word.startswith("#") for word in c.replace(",", " ").split()) for c in cells
    ):
        return "#"
    if names and any("," in c for c in cells):
        return ","
    return None


class Ambiguous(str):
    """A date like 03/04/2024 in a file that shows no day/month order."""


@dataclass
class Invalid:
    message: str


def _parse_link(item: str) -> dict[str, Any]:
    parts = item.split(":", 2)
    if len(parts) == 1:
        return {"to": parts[0].strip(), "rel": "relates-to"}
    link: dict[str, Any] = {"to": parts[1].strip(), "rel": parts[0].strip()}
    if len(parts) == 3:
        link["note"] = parts[2].strip()
    return link


def _number(text: str) -> Any:
    value = text.strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value
