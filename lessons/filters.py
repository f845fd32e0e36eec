"""The filters shared by list, search, retro, brief, export, graph and actions (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields

from lessons.errors import UsageError


@dataclass(frozen=True)
class Filters:
    """A selection of records. Empty fields select everything."""

    kind: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    campaign: str | None = None
    team: str | None = None
    stage: str | None = None
    impact: str | None = None
    since: str | None = None
    until: str | None = None
    status: str | None = None
    linked_to: str | None = None
    orphans: bool = False
    # The spellings of ``campaign`` and ``team`` found in the index ("Digital
    # engagement", "digital  Engagement"): one value, matched in any of them.
    campaign_any: tuple[str, ...] = ()
    team_any: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return all(not getattr(self, f.name) for f in fields(self) if f.name not in _SPELLINGS)

    def describe(self) -> str:
        """The filters as the user would type them, for hints."""
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not value or f.name in _SPELLINGS:
                continue
            flag = "--" + f.name.replace("_", "-")
            if f.name == "tags":
                parts += [f"--tag {t}" for t in value]
            elif value is True:
                parts.append(flag)
            else:
                parts.append(f"{flag} {value}")
        return " ".join(parts)


_SPELLINGS = ("campaign_any", "team_any")


def value_key(text: str) -> str:
    """What campaign and team values are compared by: letter case and spacing aside
    ("Digital  engagement" and "digital Engagement" are one team)."""
    return " ".join(text.casefold().split())


def parse_since(text: str) -> str:
    """The first day a ``--since`` value covers: YYYY, YYYY-MM, YYYY-MM-DD or ``30d``."""
    return _bound(text, first=True)


def parse_until(text: str) -> str:
    """The last day an ``--until`` value covers."""
    return _bound(text, first=False)


def _bound(text: str, *, first: bool) -> str:
    value = text.strip()
    rel = re.fullmatch(r"(\d+)([dwmy])", value)
    if rel:
        n, unit = int(rel.group(1)), rel.group(2)
        days = n * {"d": 1, "w": 7, "m": 30, "y": 365}[unit]
        return (dt.date.today() - dt.timedelta(days=days)).isoformat()
    try:
        if re.fullmatch(r"\d{4}", value):
            return f"{value}-01-01" if first else f"{value}-12-31"
        if re.fullmatch(r"\d{4}-\d{2}", value):
            year, month = int(value[:4]), int(value[5:])
            start = dt.date(year, month, 1)
            if first:
                return start.isoformat()
            nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
            return (nxt - dt.timedelta(days=1)).isoformat()
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise UsageError(
        f"not a date: '{text}'",
        hint="write YYYY-MM-DD, YYYY-MM, YYYY, or a span back from today such as 30d, 6w, 3m, 1y",
    )
