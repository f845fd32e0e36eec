"""Turning one row's raw values into what ``validate`` expects."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lessons.model import (
    ACTION_STATUSES,
    ID_RE,
    IMPACTS,
    KINDS,
    LIST_KEYS,
    STATUSES,
    VISIBILITIES,
    Schema,
    id_from_foreign,
    normalise_tag,
)

if TYPE_CHECKING:
    pass
from lessons.interop.dates import parse_loose_date
from lessons.interop.values import split_list


@dataclass
class Context:
    schema: Schema
    dayfirst: bool | None
    # Why dates like 03/04/2024 read as they do: flag, file or default.
    order_reason: str = "flag"
    completed: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    serial: list[str] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    foreign: list[tuple[str, str, str]] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)
    titled: list[str] = field(default_factory=list)
    dropped_tags: list[str] = field(default_factory=list)

    def forget(self, wheres: Iterable[str]) -> None:
        """Leave rows that were not imported out of the notes."""
        gone = set(wheres)
        for name in ("completed", "guessed", "serial", "clamped", "shortened", "titled"):
            setattr(self, name, [w for w in getattr(self, name) if w not in gone])
        self.foreign = [f for f in self.foreign if f[0] not in gone]
        self.dropped_tags = [t for t in self.dropped_tags if t.split(" ('", 1)[0] not in gone]


def _choices(schema: Schema) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {
        "kind": KINDS,
        "impact": IMPACTS,
        "stage": tuple(schema.stages),
        "visibility": VISIBILITIES,
        "status": STATUSES,
    }
    for custom in schema.fields:
        if custom.type == "choice":
            out[custom.name] = custom.values
    return out


class Converter:
    """Turns one row's raw values into what ``validate`` expects."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        schema = ctx.schema
        self.choices = _choices(schema)
        self.dates = {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}
        self.lists = set(LIST_KEYS) | {f.name for f in schema.fields if f.type == "list"}
        self.numbers = {f.name for f in schema.fields if f.type == "number"}

    def convert(self, key: str, value: Any, text_cells: bool, where: str) -> Any:
        """The value of ``key``; ``text_cells`` when it came from a CSV cell or the command line."""
        if key == "id":
            return self.ident(value, where)
        if key in self.choices and isinstance(value, str):
            return self.choice(value.strip(), self.choices[key])
        if key in self.dates:
            return self.date(value, where)
        if key == "tags":
            return self.tags(self.as_list(value, text_cells), where)
        if key in self.lists:
            return self.as_list(value, text_cells)
        if key == "links":
            return self.links(value)
        if key == "actions":
            return self.actions(value, where)
        if key in self.numbers and isinstance(value, str):
            return _number(value)
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

    @staticmethod
    def choice(text: str, options: tuple[str, ...]) -> str:
        if text in options:
            return text
        lowered = {o.lower(): o for o in options}
        return lowered.get(text.lower(), text)

    def date(self, value: Any, where: str) -> Any:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
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
        parsed, how = parse_loose_date(value, self.ctx.dayfirst)
        if parsed is None:
            if how == "ambiguous":
                return Ambiguous(value.strip())
            return value.strip()
        if how == "completed":
            self.ctx.completed.append(where)
        elif how == "ordered":
            self.ctx.guessed.append(where)
        elif how == "serial":
            self.ctx.serial.append(where)
        elif how == "clamped":
            self.ctx.clamped.append(where)
        return parsed

    @staticmethod
    def as_list(value: Any, text_cells: bool) -> Any:
        if isinstance(value, str):
            return split_list(value) if text_cells else [value]
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

    def actions(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("[", "{")):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    return Invalid(f"'actions' is not valid JSON: {exc.msg}")
            else:
                value = [{"do": item} for item in split_list(text)]
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
                    item["status"] = self.choice(item["status"].strip(), ACTION_STATUSES)
            out.append(item)
        return out


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
