"""CSV: a header row, the delimiter detected, one row per record."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lessons.errors import LessonsError

if TYPE_CHECKING:
    pass
from lessons.interop.readers.grid import rows_from_grid
from lessons.interop.source import ReadOptions, Source
from lessons.interop.values import unguard_formula

_SEP_LINE = re.compile(r"sep=(.)\s*")


def _detect_delimiter(header: str) -> str:
    # The header line decides: column names rarely hold the delimiter itself.
    counts = {d: _count_outside_quotes(header, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, char: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            n += 1
    return n


def read_csv(text: str, shown: str, options: ReadOptions | None = None) -> Source:
    """The rows under the header (found as ``grid`` says); unless ``raw_csv``, the ``'``
    export put before a formula is taken off again."""
    import csv
    import io

    options = options or ReadOptions()
    source = Source(shown, "csv", text_cells=True)
    offset = 0
    first_nl = text.find("\n")
    first = text if first_nl < 0 else text[:first_nl]
    sep = _SEP_LINE.fullmatch(first.rstrip("\r"))
    if sep:
        # Excel's "sep=;" line names the delimiter; it is not the header.
        delimiter, text, offset = sep.group(1), text[first_nl + 1 :], 1
    else:
        header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
        delimiter = _detect_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for cells in reader:
            # The line the row starts on (a quoted cell may hold line breaks).
            grid.append((previous + 1 + offset, cells))
            previous = reader.line_num
    except csv.Error as exc:
        raise LessonsError(f"CSV could not be read: {exc}", path=shown, line=previous) from None
    rows_from_grid(source, grid, "line", options.header_row, options.header_names)
    if not options.raw_csv:
        for row in source.rows:
            row.data = {k: unguard_formula(v) for k, v in row.data.items()}
    source.exported = _looks_exported(source.columns)
    return source


def _looks_exported(columns: list[str]) -> bool:
    """A header ``lessons export`` writes: record keys only, starting id, title, kind."""
    return columns[:3] == ["id", "title", "kind"] and "summary" in columns
