"""Rows and columns of a table (CSV or a spreadsheet sheet): the header found, rows named.

A register often has a title, a date or a logo row above its header. The header
is the first of the top rows that names at least two known columns (record
keys, the usual spreadsheet names for them, the sources of ``--map``); failing
that, the first row of text at least half as wide as the widest row. The rows
above it are named in a note, never read as records. ``--header-row N`` decides
instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from lessons.errors import LessonsError, UsageError
from lessons.interop.source import Row, RowProblem, Source

# How far down the header is looked for.
HEADER_SEARCH = 30
_NUMBERISH = re.compile(r"[\d\s.,:/+-]+")


def is_blank_cell(value: Any) -> bool:
    """An empty cell: nothing, or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def _texty(value: Any) -> bool:
    if isinstance(value, bool | int | float | dt.date | dt.datetime | dt.time):
        return False
    return not _NUMBERISH.fullmatch(str(value).strip())


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().lower())


def find_header(grid: Sequence[tuple[int, Sequence[Any]]], names: frozenset[str]) -> int:
    """The index in ``grid`` of the header row (see the module's docstring)."""
    names = names | _usual_names()
    top = [
        (i, cells) for i, (_, cells) in enumerate(grid) if any(not is_blank_cell(c) for c in cells)
    ]
    top = top[:HEADER_SEARCH]
    if not top:
        return 0
    best, best_known = None, 1
    for i, cells in top:
        known = sum(1 for c in cells if isinstance(c, str) and _norm(c) in names)
        if known > best_known:
            best, best_known = i, known
    if best is not None:
        return best
    widest = max(sum(not is_blank_cell(c) for c in cells) for _, cells in top)
    need = max(2, (widest + 1) // 2)
    for i, cells in top:
        filled = [c for c in cells if not is_blank_cell(c)]
        names_here = [str(c).strip().lower() for c in filled]
        if (
            len(filled) >= need
            and all(_texty(c) for c in filled)
            and len(set(names_here)) == len(names_here)
        ):
            return i
    return top[0][0]


def _usual_names() -> frozenset[str]:
    """Record keys and the headers spreadsheets usually give them, normalised."""
    from lessons.interop.mapping import HEADER_HINTS
    from lessons.model import KEY_ORDER

    return frozenset(KEY_ORDER) | frozenset(HEADER_HINTS)


def rows_from_grid(
    source: Source,
    grid: Sequence[tuple[int, Sequence[Any]]],
    unit: str,
    options_header_row: int | None,
    names: frozenset[str],
    prefix: str = "",
) -> Source:
    """Fill ``source`` from ``grid`` (row number, cells), finding the header first.

    ``unit`` names a row in messages (``line`` for CSV, ``row`` for a sheet);
    ``prefix`` comes before it (a sheet's name).
    """
    if not any(any(not is_blank_cell(c) for c in cells) for _, cells in grid):
        raise LessonsError("the file is empty: no header row", path=source.shown)
    if options_header_row is not None:
        found = [i for i, (n, _) in enumerate(grid) if n == options_header_row]
        if not found or all(is_blank_cell(c) for c in grid[found[0]][1]):
            raise UsageError(
                f"--header-row {options_header_row}: that {unit} of {source.shown} is empty",
                hint=f"the first {unit} with values is {_first_filled(grid)}",
            )
        at = found[0]
    else:
        at = find_header(grid, names)
    number, header_cells = grid[at]
    header = [("" if is_blank_cell(c) else str(c).strip()) for c in header_cells]
    above = [(n, cells) for n, cells in grid[:at] if any(not is_blank_cell(c) for c in cells)]
    if above:
        first = next(str(c).strip() for c in above[0][1] if not is_blank_cell(c))
        shown = first if len(first) <= 40 else first[:39] + "…"
        what = (
            f"{unit}s {above[0][0]}-{above[-1][0]}" if len(above) > 1 else f"{unit} {above[0][0]}"
        )
        source.notes.append(
            f"the header is {unit} {number} of {source.shown}{prefix and ' (' + prefix + ')'}; "
            f"{what} above it ('{shown}') {'are' if len(above) > 1 else 'is'} not read as records "
            f"(--header-row N to choose another)"
        )
    columns: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name or f"(column {_letters(i) if unit == 'row' else i + 1})"
        # The same name twice would lose one column's cells: the second is "Name (2)".
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        columns.append(name)
    source.columns = columns
    where_prefix = f"{source.shown}, {prefix + ', ' if prefix else ''}{unit} "
    for n, cells in grid[at + 1 :]:
        if all(is_blank_cell(c) for c in cells):
            source.blank += 1
            continue
        where = f"{where_prefix}{n}"
        extra = [c for c in cells[len(columns) :] if not is_blank_cell(c)]
        if extra:
            source.unreadable.append(
                RowProblem(
                    where,
                    f"{len(columns) + len(extra)} cells but the header names {len(columns)} "
                    "columns",
                )
            )
            continue
        source.rows.append(Row(where, dict(zip(columns, cells, strict=False))))
    return source


def _first_filled(grid: Sequence[tuple[int, Sequence[Any]]]) -> int:
    return next(n for n, cells in grid if any(not is_blank_cell(c) for c in cells))


def _letters(index: int) -> str:
    """Spreadsheet column letters: 0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out
