"""One reader per source format; each loads only when a file of its kind is imported."""

from __future__ import annotations

from lessons.errors import LessonsError
from lessons.interop.source import Source, decode


def read_source(data: bytes, shown: str, fmt: str, *, raw_csv: bool = False) -> Source:
    """Parse ``data`` as ``fmt`` into rows, each with its line or item number."""
    text = decode(data, shown)
    if "\x00" in text:
        raise LessonsError("the file holds a NUL byte: not a text file", path=shown)
    if fmt == "csv":
        from lessons.interop.readers.csv import read_csv

        return read_csv(text, shown, raw=raw_csv)
    if fmt == "json":
        from lessons.interop.readers.json import read_json

        return read_json(text, shown)
    if fmt == "jsonl":
        from lessons.interop.readers.json import read_jsonl

        return read_jsonl(text, shown)
    from lessons.interop.readers.yaml import read_yaml

    return read_yaml(text, shown)
