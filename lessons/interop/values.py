"""Cell values: list cells and titles."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lessons.model import (
    MAX_TITLE,
)

if TYPE_CHECKING:
    pass
LIST_SEP = ";"


# --- list cells ----------------------------------------------------------------


def split_list(cell: str) -> list[str]:
    """The items of a CSV list cell: split on ``;``, ``\\;`` and ``\\\\`` unescaped, trimmed."""
    if "\\" not in cell:
        return [item.strip() for item in cell.split(LIST_SEP) if item.strip()]
    items: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(cell):
        c = cell[i]
        if c == "\\" and i + 1 < len(cell) and cell[i + 1] in (LIST_SEP, "\\"):
            buf.append(cell[i + 1])
            i += 2
            continue
        if c == LIST_SEP:
            items.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    items.append("".join(buf))
    return [item.strip() for item in items if item.strip()]


def join_list(items: Iterable[str]) -> str:
    """A CSV list cell ``split_list`` reads back as ``items``."""
    return LIST_SEP.join(s.replace("\\", "\\\\").replace(LIST_SEP, "\\" + LIST_SEP) for s in items)


# --- titles ---------------------------------------------------------------------


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, ending in ``…``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" .,;:-–—…") + "…"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


def first_sentence(text: str) -> str:
    """The first sentence (or line) of ``text``, as a title."""
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    return shorten(" ".join(sentence.split()))


def is_blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


# --- spreadsheet formulas -------------------------------------------------------------

# A cell starting with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets when a CSV is opened (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` before it when a spreadsheet would read it as a formula.

    A value that already starts with quotes before such a character gets one more,
    so ``unguard_formula`` gives every value back exactly.
    """
    if text.lstrip("'").startswith(FORMULA_START):
        return "'" + text
    return text


def unguard_formula(text: str) -> str:
    """The value ``guard_formula`` protected: one leading ``'`` removed before a formula."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text
