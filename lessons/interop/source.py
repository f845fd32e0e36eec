"""What every reader gives: the rows of a source file, each named by where it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.errors import LessonsError, NotFoundError, UsageError
from lessons.model import did_you_mean

FORMATS_IN = ("csv", "json", "jsonl", "yaml", "xlsx", "ods", "md")
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
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xlsb": "xlsx",
    ".xls": "xlsx",
    ".ods": "ods",
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
    if "md" in choices and Path(name).is_dir():
        return "md"
    fmt = _EXTENSIONS.get(Path(name).suffix.lower(), "")
    if fmt not in choices:
        raise UsageError(
            f"cannot tell the format of '{name}' from its extension",
            hint=f"name it with --format: {', '.join(choices)}",
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
    """The rows of a source file, in order, and what reading it noticed."""

    shown: str
    fmt: str
    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    blank: int = 0
    unreadable: list[RowProblem] = field(default_factory=list)
    # What the reader decided that the user may want to know (header row, sheet…).
    notes: list[str] = field(default_factory=list)
    # Cells are text a person typed (CSV, spreadsheet, Markdown): lists in them are split.
    text_cells: bool = False
    # A ``lessons export`` CSV: list cells hold ``;``-separated items, nothing else.
    exported: bool = False

    @property
    def read(self) -> int:
        """Every row read: the ones with values, the blank ones and the unreadable ones."""
        return len(self.rows) + self.blank + len(self.unreadable)


@dataclass
class ReadOptions:
    """How to read a source (the reading options of ``lessons import``)."""

    raw_csv: bool = False
    sheet: str | None = None
    header_row: int | None = None
    records: str | None = None
    # Column names (normalised) that look like a header: keys, hints, --map sources.
    header_names: frozenset[str] = frozenset()


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


PARENT = "parent."


def records_at(source: Source, doc: Any, path: str, where: str | None = None) -> Source:
    """The records at ``path`` in ``doc`` (``events.lessons`` or ``/events/0/lessons``).

    A list met on the way is walked item by item, so ``lessons`` reaches the lessons of
    every event in a list of events. Each record also gets its parent object's plain
    fields as ``parent.<field>`` columns; they are offered, never required.
    """
    steps = _steps(path)
    base = where or source.shown
    found: list[tuple[str, Any, dict[str, Any] | None]] = []
    _walk(doc, steps, base + ", ", None, found)
    if not found:
        raise LessonsError(
            f"--records {path}: no list of records there",
            path=source.shown,
            hint="the top-level keys are: " + ", ".join(map(str, _keys(doc)))
            if _keys(doc)
            else None,
        )
    items: list[tuple[str, Any]] = []
    for label, item, parent in found:
        if isinstance(item, dict) and parent:
            extra = {
                f"{PARENT}{k}": v
                for k, v in parent.items()
                if isinstance(v, str | int | float | bool) or _text_list(v)
            }
            item = {**item, **{k: v for k, v in extra.items() if k not in item}}
        items.append((label.rstrip(", "), item))
    before = list(source.columns)
    object_rows(source, items)
    source.columns = list(dict.fromkeys(before + source.columns))
    return source


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _keys(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [str(k) for k in doc][:20]
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        return [str(k) for k in doc[0]][:20]
    return []


def _steps(path: str) -> list[str]:
    if path.startswith("/"):
        # A JSON pointer (RFC 6901): ~1 is "/", ~0 is "~".
        return [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]
    return [s for s in path.replace("[", ".").replace("]", "").split(".") if s]


def _walk(
    node: Any,
    steps: list[str],
    label: str,
    parent: dict[str, Any] | None,
    out: list[tuple[str, Any, dict[str, Any] | None]],
) -> None:
    if isinstance(node, list):
        if steps and steps[0].isdigit():
            i = int(steps[0])
            if i < len(node):
                _walk(node[i], steps[1:], f"{label}[{i}]", parent, out)
            return
        if not steps:
            for i, item in enumerate(node):
                out.append((f"{label}[{i}]", item, parent))
            return
        for i, item in enumerate(node):
            _walk(item, steps, f"{label}[{i}]", parent, out)
        return
    if not steps:
        if isinstance(node, dict):
            out.append((label, node, parent))
        return
    if isinstance(node, dict) and steps[0] in node:
        sep = "" if label.endswith(", ") else "."
        _walk(node[steps[0]], steps[1:], f"{label}{sep}{steps[0]}", node, out)
