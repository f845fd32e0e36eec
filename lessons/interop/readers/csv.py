"""CSV: a header row, the delimiter detected, one row per record."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lessons.errors import LessonsError

if TYPE_CHECKING:
    pass
from lessons.interop.source import Row, RowProblem, Source
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


def read_csv(text: str, shown: str, *, raw: bool = False) -> Source:
    """The rows under the header; unless ``raw``, the ``'`` export put before a formula is gone."""
    import csv
    import io

    source = Source(shown, "csv")
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
    header: list[str] | None = None
    previous = 0
    try:
        for cells in reader:
            line = previous + 1 + offset
            previous = reader.line_num
            if not any(c.strip() for c in cells):
                if header is not None:
                    source.blank += 1
                continue
            if header is None:
                header = [c.strip() for c in cells]
                source.columns = [h or f"(column {i + 1})" for i, h in enumerate(header)]
                continue
            where = f"{shown}, line {line}"
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                source.unreadable.append(
                    RowProblem(
                        where,
                        f"{len(cells)} cells but the header names {len(header)} columns",
                    )
                )
                continue
            if not raw:
                cells = [unguard_formula(c) for c in cells]
            source.rows.append(Row(where, dict(zip(source.columns, cells, strict=False))))
    except csv.Error as exc:
        raise LessonsError(f"CSV could not be read: {exc}", path=shown, line=previous) from None
    if header is None:
        raise LessonsError("the file is empty: no header row", path=shown)
    return source
