"""One reader per source format; each loads only when a file of its kind is imported."""

from __future__ import annotations

from pathlib import Path

from lessons.errors import LessonsError, NotFoundError, UsageError
from lessons.interop.source import ReadOptions, Source, decode


def open_source(
    name: str, fmt: str, options: ReadOptions | None = None, stdin: bytes | None = None
) -> Source:
    """Read ``name`` (a file, a folder of Markdown, or ``-`` with ``stdin``) as ``fmt``."""
    options = options or ReadOptions()
    if fmt == "md" and name != "-":
        from lessons.interop.readers.markdown import read_markdown

        path = Path(name)
        if not path.exists():
            raise NotFoundError(f"no such file or folder: {name}")
        return read_markdown(path, name, options)
    if name == "-":
        data, shown = stdin or b"", "<stdin>"
    else:
        from lessons.interop.source import read_input

        data, shown = read_input(name), name
    return read_source(data, shown, fmt, options)


def read_source(
    data: bytes, shown: str, fmt: str, options: ReadOptions | None = None, *, raw_csv: bool = False
) -> Source:
    """Parse ``data`` as ``fmt`` into rows, each with its line, row or item number."""
    options = options or ReadOptions(raw_csv=raw_csv)
    if fmt in ("xlsx", "ods"):
        if data[:2] != b"PK" and data[:4] != b"\xd0\xcf\x11\xe0":
            raise LessonsError(
                f"not a spreadsheet: an .{fmt} file is a zip archive (or an old .xls)",
                path=shown,
                hint="a CSV saved with a spreadsheet's extension? name it .csv",
            )
        from lessons.interop.readers.xlsx import read_workbook

        return read_workbook(data, shown, fmt, options)
    if fmt != "md" and data[:2] == b"PK":
        raise UsageError(
            f"{shown} is a zip archive (a spreadsheet?), not {fmt.upper()} text",
            hint="import the spreadsheet itself: lessons import FILE.xlsx (or .ods)",
        )
    text = decode(data, shown)
    if "\x00" in text:
        raise LessonsError("the file holds a NUL byte: not a text file", path=shown)
    if fmt == "csv":
        from lessons.interop.readers.csv import read_csv

        return read_csv(text, shown, options)
    if fmt == "json":
        from lessons.interop.readers.json import read_json

        return read_json(text, shown, options)
    if fmt == "jsonl":
        from lessons.interop.readers.json import read_jsonl

        return read_jsonl(text, shown, options)
    if fmt == "md":
        from lessons.interop.readers.markdown import read_markdown_text

        return read_markdown_text(text, shown, options)
    from lessons.interop.readers.yaml import read_yaml

    return read_yaml(text, shown, options)
