"""Which source column gives which record key: names, ``--map`` and ``--default``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from lessons.errors import UsageError
from lessons.model import (
    Schema,
    did_you_mean,
    suggest,
)

if TYPE_CHECKING:
    pass
from lessons.interop.source import Source
from lessons.interop.values import is_blank


def norm_name(name: str) -> str:
    """A column name as matched: lower case, trimmed, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-_]+", "_", name.strip().lower())


def _known_names(schema: Schema) -> dict[str, str]:
    return {norm_name(key): key for key in schema.known_keys()}


def _key_for(dest: str, schema: Schema, flag: str) -> str:
    known = _known_names(schema)
    key = known.get(norm_name(dest))
    if key is None:
        raise UsageError(
            f"{flag}: '{dest}' is not a record key" + did_you_mean(dest, schema.known_keys()),
            hint="the keys are listed in SPEC §2; custom ones come from fields: in lessons.yaml",
        )
    return key


def parse_maps(specs: Iterable[str], schema: Schema) -> dict[str, str | None]:
    """``--map SRC=DEST`` options: normalised source name -> record key (None drops it)."""
    maps: dict[str, str | None] = {}
    for spec in specs:
        src, eq, dest = spec.rpartition("=")
        if not eq or not src.strip():
            raise UsageError(
                f"--map takes SRC=DEST, not '{spec}'",
                hint="e.g. --map 'Lesson Learned=lesson', or --map Notes= to drop a column",
            )
        maps[norm_name(src)] = _key_for(dest, schema, f"--map '{spec}'") if dest.strip() else None
    return maps


def parse_defaults(specs: Iterable[str], schema: Schema) -> dict[str, str]:
    """``--default KEY=VALUE`` options: record key -> value (read like a CSV cell)."""
    defaults: dict[str, str] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise UsageError(f"--default takes KEY=VALUE, not '{spec}'", hint="e.g. kind=mistake")
        defaults[_key_for(key, schema, f"--default '{spec}'")] = value
    return defaults


# Headers spreadsheets often use, and the key each most likely means. Only ever
# suggested: a column is read as a key by its own name or by --map, never by a guess.
_HEADER_HINTS = {
    "type": "kind",
    "description": "summary",
    "details": "summary",
    "what_happened": "summary",
    "problem": "summary",
    "issue": "summary",
    "lessons_learned": "lesson",
    "lesson_learnt": "lesson",
    "learning": "lesson",
    "learnings": "lesson",
    "insight": "lesson",
    "takeaway": "lesson",
    "recommendation": "recommendations",
    "next_time": "recommendations",
    "root_cause": "why",
    "cause": "why",
    "reason": "why",
    "severity": "impact",
    "priority": "impact",
    "project": "campaign",
    "programme": "campaign",
    "program": "campaign",
    "incident": "campaign",
    "org": "team",
    "organisation": "team",
    "organization": "team",
    "department": "team",
    "author": "authors",
    "owner": "authors",
    "reporter": "authors",
    "raised_by": "authors",
    "phase": "stage",
    "tag": "tags",
    "label": "tags",
    "labels": "tags",
    "keywords": "tags",
    "category": "tags",
    "categories": "tags",
    "link": "sources",
    "url": "sources",
    "source": "sources",
    "source_url": "sources",
    "reference": "sources",
    "references": "sources",
    "action": "actions",
    "follow_up": "actions",
    "subject": "title",
    "name": "title",
    "headline": "title",
}


def _closest_key(column: str, schema: Schema) -> str | None:
    name = norm_name(column)
    known = schema.known_keys()
    hinted = _HEADER_HINTS.get(name)
    if hinted in known:
        return hinted
    return suggest(name, known, cutoff=70)


def map_columns(
    source: Source, schema: Schema, maps: Mapping[str, str | None]
) -> tuple[dict[str, str], list[str]]:
    """Source column -> record key for the columns imported, plus notes about the rest.

    A column that names nothing known and holds a value is an error (nothing is
    dropped by accident): the message suggests the closest key and the --map
    that maps or drops it.
    """
    known = _known_names(schema)
    colmap: dict[str, str] = {}
    owners: dict[str, str] = {}
    unknown: list[str] = []
    notes: list[str] = []
    used_maps: set[str] = set()
    for column in source.columns:
        name = norm_name(column)
        if name in maps:
            used_maps.add(name)
            key = maps[name]
            if key is None:
                continue
        elif name in known:
            key = known[name]
        else:
            if any(not is_blank(row.data.get(column)) for row in source.rows):
                unknown.append(column)
            else:
                notes.append(f"column '{column}' is empty and not a record key; ignored")
            continue
        if key in owners:
            raise UsageError(
                f"columns '{owners[key]}' and '{column}' both give '{key}'",
                hint=f"drop one with --map '{column}='",
            )
        owners[key] = column
        colmap[column] = key
    if unknown:
        lines = []
        for column in unknown:
            best = _closest_key(column, schema)
            lines.append(
                f"'{column}'"
                + (f" (did you mean '{best}'? --map '{column}={best}')" if best else "")
            )
        shown = "; ".join(lines)
        raise UsageError(
            f"{len(unknown)} column{'s' if len(unknown) != 1 else ''} of {source.shown} "
            f"{'are' if len(unknown) != 1 else 'is'} not a record key: {shown}; "
            "nothing was written",
            hint="map a column with --map 'SRC=KEY', or leave it out with --map 'SRC='",
        )
    for name in maps:
        if name not in used_maps:
            notes.append(f"--map: no column '{name}' in {source.shown}")
    return colmap, notes
