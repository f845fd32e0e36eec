"""Snippets and the messages built from the query text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lessons.search.query import _WORD

# --- snippets and messages ---------------------------------------------------------

HL_START, HL_END = "\x02", "\x03"


def parse_snippet(text: str) -> list[tuple[str, bool]]:
    """``…a \\x02word\\x03 b…`` -> segments (text, highlighted), on one line."""
    text = " ".join(text.split())
    out: list[tuple[str, bool]] = []
    for part in re.split(f"({HL_START}[^{HL_END}]*{HL_END})", text):
        if not part:
            continue
        if part.startswith(HL_START):
            out.append((part[1:-1], True))
        else:
            out.append((part.replace(HL_START, "").replace(HL_END, ""), False))
    return out


def _best_snippet(candidates: Sequence[str], row: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The candidate (lesson, recommendations, summary, other text) with most highlights."""
    best: list[tuple[str, bool]] = []
    best_hits = -1
    for text in candidates:
        if not text:
            continue
        segs = parse_snippet(text)
        hits = sum(1 for _, hot in segs if hot)
        if hits > best_hits:
            best, best_hits = segs, hits
    if best:
        return best
    summary = " ".join(str(row.get("summary") or "").split())
    return [(summary[:160] + ("…" if len(summary) > 160 else ""), False)] if summary else []


def _showing(text: str, corrected: Mapping[str, str]) -> str:
    """The query with corrected words replaced, as the user typed the rest."""

    def swap(m: re.Match[str]) -> str:
        return corrected.get(m.group(0).lower(), m.group(0))

    return _WORD.sub(swap, " ".join(text.split()))


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
