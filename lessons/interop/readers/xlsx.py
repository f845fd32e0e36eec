"""Spreadsheets: .xlsx, .xlsm, .xlsb, .xls and .ods, read by python-calamine.

calamine (Rust, MIT) gives each cell's value as the file stores it: a formula's
last computed value, rich text as its plain text, a date-formatted number as a
date. Merged cells hold their value in the top-left cell only; the value is
copied to every cell of the merge, so a category merged down five rows belongs
to each of them. calamine reports merges for Excel files but not for .ods, so
for those the spans are read from the sheet's XML (``number-rows-spanned``).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from lessons.errors import LessonsError, UsageError
from lessons.interop.readers.grid import is_blank_cell, rows_from_grid
from lessons.interop.source import ReadOptions, Source
from lessons.model import did_you_mean


def read_workbook(data: bytes, shown: str, fmt: str, options: ReadOptions) -> Source:
    """The rows of one sheet (``--sheet``, or the first that holds data)."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise LessonsError(
            f"not a spreadsheet calamine can read ({type(exc).__name__}: {exc})",
            path=shown,
            hint="save it again as .xlsx or .ods, or export the sheet as CSV UTF-8",
        ) from None
    names = list(book.sheet_names)
    grids: dict[str, list[list[Any]]] = {}

    def grid_of(name: str) -> list[list[Any]]:
        if name not in grids:
            try:
                sheet = book.get_sheet_by_name(name)
                rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
                merges = sheet.merged_cell_ranges
            except (CalamineError, ValueError) as exc:
                raise LessonsError(f"sheet '{name}' could not be read: {exc}", path=shown) from None
            if merges is None and fmt == "ods":
                merges = _ods_merges(data, names.index(name))
            _fill_merges(rows, merges or [])
            grids[name] = rows
        return grids[name]

    with_data = [n for n in names if _has_data(grid_of(n))] if options.sheet is None else []
    if options.sheet is not None:
        name = _chosen_sheet(options.sheet, names, shown)
    elif with_data:
        name = with_data[0]
    else:
        raise LessonsError("the workbook holds no values in any sheet", path=shown)
    if options.sheet is None and len(with_data) > 1:
        others = ", ".join(f"'{n}'" for n in with_data[1:])
        shown_others = f"{others}" if len(others) < 200 else others[:199] + "…"
        source_note = (
            f"read sheet '{name}' of {shown}, the first with values; "
            f"{len(with_data) - 1} other sheet{'s' if len(with_data) > 2 else ''} "
            f"{'hold' if len(with_data) > 2 else 'holds'} values too: {shown_others} "
            "(--sheet NAME or --sheet N to read another)"
        )
    else:
        source_note = ""
    source = Source(shown, fmt, text_cells=True)
    grid = [(i + 1, [_value(c) for c in row]) for i, row in enumerate(grid_of(name))]
    prefix = f"sheet '{name}'" if len(names) > 1 else ""
    rows_from_grid(source, grid, "row", options.header_row, options.header_names, prefix)
    if source_note:
        source.notes.insert(0, source_note)
    return source


def sheet_names(data: bytes) -> list[str]:
    """The names of a workbook's sheets, in order."""
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)


def _chosen_sheet(wanted: str, names: list[str], shown: str) -> str:
    if wanted in names:
        return wanted
    folded = {n.casefold(): n for n in names}
    if wanted.casefold() in folded:
        return folded[wanted.casefold()]
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    listed = ", ".join(f"{i}. '{n}'" for i, n in enumerate(names, 1))
    raise UsageError(
        f"--sheet {wanted}: {shown} has no such sheet" + did_you_mean(wanted, names),
        hint=f"its sheets: {listed}",
    )


def _has_data(rows: list[list[Any]]) -> bool:
    return any(not is_blank_cell(c) for row in rows for c in row)


def _value(cell: Any) -> Any:
    """A cell as the import reads it: whole numbers as ints, text as text."""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2**53:
        return int(cell)
    if isinstance(cell, dt.time):
        return cell.isoformat()
    if isinstance(cell, dt.timedelta):
        return str(cell)
    return cell


def _fill_merges(rows: list[list[Any]], merges: list[Any]) -> None:
    for (r0, c0), (r1, c1) in merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if is_blank_cell(rows[r][c]):
                    rows[r][c] = value


_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def _ods_merges(data: bytes, sheet_index: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The merged ranges of one sheet of an .ods file, from its content.xml."""
    import zipfile
    from xml.etree.ElementTree import ParseError, iterparse

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    if b"-spanned" not in content:
        return []
    merges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    table, row, col, depth = -1, -1, 0, 0
    try:
        for event, elem in iterparse(io.BytesIO(content), events=("start", "end")):
            tag = elem.tag
            if tag == f"{_TABLE}table":
                if event == "start":
                    depth += 1
                    if depth == 1:
                        table, row = table + 1, -1
                else:
                    depth -= 1
                continue
            if table != sheet_index or depth != 1:
                if event == "end":
                    elem.clear()
                continue
            if tag == f"{_TABLE}table-row":
                if event == "start":
                    row, col = row + 1, 0
                else:
                    row += int(elem.get(f"{_TABLE}number-rows-repeated", "1")) - 1
                    elem.clear()
            elif tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell") and event == "end":
                rows_span = int(elem.get(f"{_TABLE}number-rows-spanned", "1"))
                cols_span = int(elem.get(f"{_TABLE}number-columns-spanned", "1"))
                if rows_span > 1 or cols_span > 1:
                    merges.append(((row, col), (row + rows_span - 1, col + cols_span - 1)))
                col += int(elem.get(f"{_TABLE}number-columns-repeated", "1"))
    except (ParseError, ValueError):
        return []
    return merges
