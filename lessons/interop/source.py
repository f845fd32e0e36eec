"""What every reader gives: the rows of a source file, each named by where it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.errors import LessonsError, NotFoundError, UsageError
from lessons.model import (
    did_you_mean,
)

if TYPE_CHECKING:
    pass


FORMATS_IN = ("csv", "json", "jsonl", "yaml")
FORMATS_OUT = ("json", "jsonl", "csv", "md", "yaml")
ON_DUPLICATE = ("fail", "skip", "update")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".md": "md",
    ".markdown": "md",
}


def format_of(name: str, given: str | None, choices: tuple[str, ...]) -> str:
    """The format ``--format`` names, or the one the file name's extension implies."""
    if given:
        fmt = given.strip().lower()
        if fmt not in choices:
            raise UsageError(
                f"--format must be one of {', '.join(choices)}, not '{given}'"
                + did_you_mean(fmt, choices)
            )
        return fmt
    if name == "-":
        raise UsageError(
            "reading standard input needs --format", hint=f"one of {', '.join(choices)}"
        )
    fmt = _EXTENSIONS.get(Path(name).suffix.lower(), "")
    if fmt not in choices:
        hint = "Markdown is written for people and is not read back" if fmt == "md" else None
        raise UsageError(
            f"cannot tell the format of '{name}' from its extension",
            hint=hint or f"name it with --format: {', '.join(choices)}",
        )
    return fmt


def read_input(path: str) -> bytes:
    """The bytes of the file to import."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"'{path}' is a folder, not a file") from None
    except OSError as exc:
        raise LessonsError(f"cannot read: {exc.strerror}", path=path) from None


@dataclass
class Row:
    """One record as the source held it: its place in the file and its raw values."""

    where: str
    data: dict[str, Any]


@dataclass
class RowProblem:
    """A row that was not imported, and why."""

    where: str
    message: str


@dataclass
class Source:
    """The rows of a source file, in order."""

    shown: str
    fmt: str
    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    blank: int = 0
    unreadable: list[RowProblem] = field(default_factory=list)


def decode(data: bytes, shown: str) -> str:
    """Text from bytes: UTF-8 with or without a BOM (or UTF-16 with one)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LessonsError(
            f"not UTF-8 text (byte {exc.start})",
            path=shown,
            line=data[: exc.start].count(b"\n") + 1,
            hint="save it as UTF-8 (spreadsheets call it 'CSV UTF-8')",
        ) from None


def object_rows(source: Source, items: Iterable[tuple[str, Any]]) -> Source:
    seen: dict[str, None] = {}
    for where, item in items:
        if not isinstance(item, dict):
            kind = "a list" if isinstance(item, list) else "not a mapping of keys to values"
            source.unreadable.append(RowProblem(where, f"a record must be an object, not {kind}"))
            continue
        if not item:
            source.blank += 1
            continue
        for key in item:
            seen.setdefault(str(key), None)
        source.rows.append(Row(where, {str(k): v for k, v in item.items()}))
    source.columns = list(seen)
    return source
