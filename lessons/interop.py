"""Import and export (SPEC §8): CSV, JSON, JSONL and YAML in; those and Markdown out.

Import happens in two steps. ``plan_import`` reads the source, matches its
columns to record keys, normalises values (dates, tags, lists, ids) and
validates every row, without writing anything: it is all ``--dry-run`` needs.
``apply_import`` then writes the plan (new files with ``dump_record`` and an
atomic write, existing ones through the round-trip-safe ``edit_file``) and
syncs the index once.

CSV cells of list fields hold items separated by ``;``. Inside an item ``\\;``
stands for a literal ``;`` and ``\\\\`` for a backslash; a backslash before
anything else is kept as it is. Links are ``rel:id`` or ``rel:id:note`` items;
actions are a JSON list (or plain ``;``-separated things to do).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.errors import ConflictError, LessonsError, NotFoundError, UsageError
from lessons.model import (
    ACTION_STATUSES,
    ID_RE,
    IMPACTS,
    KEY_ORDER,
    KINDS,
    LIST_KEYS,
    MAX_TITLE,
    STATUSES,
    VISIBILITIES,
    Schema,
    did_you_mean,
    id_from_foreign,
    make_id,
    normalise_tag,
    suggest,
    to_document,
    unique_id,
    validate,
)

if TYPE_CHECKING:
    from lessons.indexer import Progress, SyncReport
    from lessons.kb import KnowledgeBase

FORMATS_IN = ("csv", "json", "jsonl", "yaml")
FORMATS_OUT = ("json", "jsonl", "csv", "md", "yaml")
ON_DUPLICATE = ("fail", "skip", "update")
LIST_SEP = ";"

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


# --- reading sources ---------------------------------------------------------


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


def read_source(data: bytes, shown: str, fmt: str) -> Source:
    """Parse ``data`` as ``fmt`` into rows, each with its line or item number."""
    text = decode(data, shown)
    if "\x00" in text:
        raise LessonsError("the file holds a NUL byte: not a text file", path=shown)
    reader = {"csv": _read_csv, "json": _read_json, "jsonl": _read_jsonl, "yaml": _read_yaml}
    return reader[fmt](text, shown)


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


def _read_csv(text: str, shown: str) -> Source:
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
            source.rows.append(Row(where, dict(zip(source.columns, cells, strict=False))))
    except csv.Error as exc:
        raise LessonsError(f"CSV could not be read: {exc}", path=shown, line=previous) from None
    if header is None:
        raise LessonsError("the file is empty: no header row", path=shown)
    return source


def _object_rows(source: Source, items: Iterable[tuple[str, Any]]) -> Source:
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


def _read_json(text: str, shown: str) -> Source:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # One object per line in a file named .json: read it as JSONL.
            return _read_jsonl(text, shown)
        raise LessonsError(f"not valid JSON: {exc.msg}", path=shown, line=exc.lineno) from None
    except RecursionError:
        raise LessonsError("JSON nested too deep; refused", path=shown) from None
    items = data if isinstance(data, list) else [data]
    return _object_rows(
        Source(shown, "json"), ((f"{shown}, item {i}", v) for i, v in enumerate(items, 1))
    )


def _read_jsonl(text: str, shown: str) -> Source:
    source = Source(shown, "jsonl")
    items: list[tuple[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            source.blank += 1
            continue
        where = f"{shown}, line {n}"
        try:
            items.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            source.unreadable.append(RowProblem(where, f"not valid JSON: {exc.msg}"))
        except RecursionError:
            source.unreadable.append(RowProblem(where, "JSON nested too deep"))
    return _object_rows(source, items)


def _read_yaml(text: str, shown: str) -> Source:
    import yaml

    loader_cls: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if "&" in text and "*" in text:
            # Refuse aliases outright: a few lines of them can expand to gigabytes.
            for event in yaml.parse(text, Loader=loader_cls):
                if isinstance(event, yaml.AliasEvent):
                    mark = event.start_mark
                    raise LessonsError(
                        "YAML aliases (*name) are not accepted in imported files",
                        path=shown,
                        line=mark.line + 1 if mark else None,
                    )
        nodes = list(yaml.compose_all(text, Loader=loader_cls))
        constructor = loader_cls("")
        items: list[tuple[str, Any]] = []
        for doc in nodes:
            if doc is None:
                continue
            parts = doc.value if isinstance(doc, yaml.SequenceNode) else [doc]
            for node in parts:
                n = len(items) + 1
                where = f"{shown}, item {n} (line {node.start_mark.line + 1})"
                items.append((where, constructor.construct_document(node)))
        constructor.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LessonsError(
            f"YAML syntax error: {exc.problem or exc.context}",
            path=shown,
            line=mark.line + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise LessonsError(f"YAML could not be read: {exc}", path=shown) from None
    except RecursionError:
        raise LessonsError("YAML nested too deep; refused", path=shown) from None
    return _object_rows(Source(shown, "yaml"), items)


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


# --- dates ----------------------------------------------------------------------

_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm])?)?"
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)
_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_Y = re.compile(r"\d{4}")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME)
_D_MON_Y = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s/.-]+([A-Za-z]{3,9})\.?,?[\s/.-]+(\d{4}|\d{2})")
_MON_D_Y = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_MON_Y = re.compile(r"([A-Za-z]{3,9})\.?[\s/-]+(\d{4})")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
# Spreadsheet serial numbers count days from 1899-12-30; 20000..80000 is 1954..2119.
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _year(text: str) -> int:
    # Two-digit years as strptime's %y reads them: 69-99 -> 19xx, 00-68 -> 20xx.
    y = int(text)
    if len(text) == 2:
        y += 1900 if y >= 69 else 2000
    return y


def day_month_order(values: Iterable[str]) -> tuple[bool, bool]:
    """Whether ``values`` (dates like 01/05/2024) show day-first and month-first evidence."""
    dayfirst = monthfirst = False
    for value in values:
        found = _NUMERIC.fullmatch(value.strip())
        if found:
            a, b = int(found.group(1)), int(found.group(2))
            dayfirst |= a > 12 >= b
            monthfirst |= b > 12 >= a
    return dayfirst, monthfirst


def parse_loose_date(text: str, dayfirst: bool | None) -> tuple[str | None, str]:
    """``(YYYY-MM-DD or None, how)``: how is exact, completed, ordered, clamped, serial,
    ambiguous or unknown.

    ``ordered``: a date like 03/04/2024 read in the order ``dayfirst`` gives; with
    ``dayfirst`` None such a date is ``ambiguous`` and not read. ``clamped``: a day
    the month does not have (2018-02-29) moved to the month's last day.
    """
    text = text.strip()
    if _SERIAL.fullmatch(text) and 20000 <= float(text) <= 80000:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(float(text)))).isoformat(), "serial"
    parts, how = _date_parts(text, dayfirst)
    if parts is None:
        return None, how
    y, m, d = parts
    try:
        return dt.date(y, m, d).isoformat(), how
    except ValueError:
        pass
    if 1 <= y <= 9999 and 1 <= m <= 12 and 29 <= d <= 31:
        last = calendar.monthrange(y, m)[1]
        return dt.date(y, m, last).isoformat(), "clamped"
    return None, "unknown"


def _date_parts(text: str, dayfirst: bool | None) -> tuple[tuple[int, int, int] | None, str]:
    found = _YMD.fullmatch(text)
    if found:
        y, m, d = (int(g) for g in found.groups())
        return (y, m, d), "exact"
    if _Y.fullmatch(text):
        return (int(text), 1, 1), "completed"
    found = _YM.fullmatch(text)
    if found:
        return (int(found.group(1)), int(found.group(2)), 1), "completed"
    found = _MY.fullmatch(text)
    if found:
        return (int(found.group(2)), int(found.group(1)), 1), "completed"
    found = _NUMERIC.fullmatch(text)
    if found:
        a, b, y = int(found.group(1)), int(found.group(2)), _year(found.group(3))
        if a == b:
            return (y, a, a), "exact"
        if dayfirst is None:
            if a > 12 >= b:
                return (y, b, a), "exact"
            if b > 12 >= a:
                return (y, a, b), "exact"
            return None, "ambiguous"
        how = "ordered" if a <= 12 and b <= 12 else "exact"
        return ((y, b, a) if dayfirst else (y, a, b)), how
    found = _D_MON_Y.fullmatch(text)
    if found and found.group(2).lower() in _MONTHS:
        month = _MONTHS[found.group(2).lower()]
        return (_year(found.group(3)), month, int(found.group(1))), "exact"
    found = _MON_D_Y.fullmatch(text)
    if found and found.group(1).lower() in _MONTHS:
        month = _MONTHS[found.group(1).lower()]
        return (int(found.group(3)), month, int(found.group(2))), "exact"
    found = _MON_Y.fullmatch(text)
    if found and found.group(1).lower() in _MONTHS:
        return (int(found.group(2)), _MONTHS[found.group(1).lower()], 1), "completed"
    return None, "unknown"


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


# --- column mapping ----------------------------------------------------------------


def norm_name(name: str) -> str:
    """A column name as matched: lower case, trimmed, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-_]+", "_", name.strip().lower())


def _known_names(schema: Schema) -> dict[str, str]:
    return {norm_name(key): key for key in schema.known_keys()}


def _key_for(dest: str, schema: Schema, flag: str) -> str:
    known = _known_names(schema)
    key = known.get(norm_name(dest))
    if key is None:
        raise UsageError(
            f"{flag}: '{dest}' is not a record key" + did_you_mean(dest, schema.known_keys()),
            hint="the keys are listed in SPEC §2; custom ones come from fields: in lessons.yaml",
        )
    return key


def parse_maps(specs: Iterable[str], schema: Schema) -> dict[str, str | None]:
    """``--map SRC=DEST`` options: normalised source name -> record key (None drops it)."""
    maps: dict[str, str | None] = {}
    for spec in specs:
        src, eq, dest = spec.rpartition("=")
        if not eq or not src.strip():
            raise UsageError(
                f"--map takes SRC=DEST, not '{spec}'",
                hint="e.g. --map 'Lesson Learned=lesson', or --map Notes= to drop a column",
            )
        maps[norm_name(src)] = _key_for(dest, schema, f"--map '{spec}'") if dest.strip() else None
    return maps


def parse_defaults(specs: Iterable[str], schema: Schema) -> dict[str, str]:
    """``--default KEY=VALUE`` options: record key -> value (read like a CSV cell)."""
    defaults: dict[str, str] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise UsageError(f"--default takes KEY=VALUE, not '{spec}'", hint="e.g. kind=mistake")
        defaults[_key_for(key, schema, f"--default '{spec}'")] = value
    return defaults


# Headers spreadsheets often use, and the key each most likely means. Only ever
# suggested: a column is read as a key by its own name or by --map, never by a guess.
_HEADER_HINTS = {
    "type": "kind",
    "description": "summary",
    "details": "summary",
    "what_happened": "summary",
    "problem": "summary",
    "issue": "summary",
    "lessons_learned": "lesson",
    "lesson_learnt": "lesson",
    "learning": "lesson",
    "learnings": "lesson",
    "insight": "lesson",
    "takeaway": "lesson",
    "recommendation": "recommendations",
    "next_time": "recommendations",
    "root_cause": "why",
    "cause": "why",
    "reason": "why",
    "severity": "impact",
    "priority": "impact",
    "project": "campaign",
    "programme": "campaign",
    "program": "campaign",
    "incident": "campaign",
    "org": "team",
    "organisation": "team",
    "organization": "team",
    "department": "team",
    "author": "authors",
    "owner": "authors",
    "reporter": "authors",
    "raised_by": "authors",
    "phase": "stage",
    "tag": "tags",
    "label": "tags",
    "labels": "tags",
    "keywords": "tags",
    "category": "tags",
    "categories": "tags",
    "link": "sources",
    "url": "sources",
    "source": "sources",
    "source_url": "sources",
    "reference": "sources",
    "references": "sources",
    "action": "actions",
    "follow_up": "actions",
    "subject": "title",
    "name": "title",
    "headline": "title",
}


def _closest_key(column: str, schema: Schema) -> str | None:
    name = norm_name(column)
    known = schema.known_keys()
    hinted = _HEADER_HINTS.get(name)
    if hinted in known:
        return hinted
    return suggest(name, known, cutoff=70)


def map_columns(
    source: Source, schema: Schema, maps: Mapping[str, str | None]
) -> tuple[dict[str, str], list[str]]:
    """Source column -> record key for the columns imported, plus notes about the rest.

    A column that names nothing known and holds a value is an error (nothing is
    dropped by accident): the message suggests the closest key and the --map
    that maps or drops it.
    """
    known = _known_names(schema)
    colmap: dict[str, str] = {}
    owners: dict[str, str] = {}
    unknown: list[str] = []
    notes: list[str] = []
    used_maps: set[str] = set()
    for column in source.columns:
        name = norm_name(column)
        if name in maps:
            used_maps.add(name)
            key = maps[name]
            if key is None:
                continue
        elif name in known:
            key = known[name]
        else:
            if any(not _blank(row.data.get(column)) for row in source.rows):
                unknown.append(column)
            else:
                notes.append(f"column '{column}' is empty and not a record key; ignored")
            continue
        if key in owners:
            raise UsageError(
                f"columns '{owners[key]}' and '{column}' both give '{key}'",
                hint=f"drop one with --map '{column}='",
            )
        owners[key] = column
        colmap[column] = key
    if unknown:
        lines = []
        for column in unknown:
            best = _closest_key(column, schema)
            lines.append(
                f"'{column}'"
                + (f" (did you mean '{best}'? --map '{column}={best}')" if best else "")
            )
        shown = "; ".join(lines)
        raise UsageError(
            f"{len(unknown)} column{'s' if len(unknown) != 1 else ''} of {source.shown} "
            f"{'are' if len(unknown) != 1 else 'is'} not a record key: {shown}; "
            "nothing was written",
            hint="map a column with --map 'SRC=KEY', or leave it out with --map 'SRC='",
        )
    for name in maps:
        if name not in used_maps:
            notes.append(f"--map: no column '{name}' in {source.shown}")
    return colmap, notes


# --- building records from rows ----------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


@dataclass
class _Context:
    schema: Schema
    dayfirst: bool | None
    # Why dates like 03/04/2024 read as they do: flag, file or default.
    order_reason: str = "flag"
    completed: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    serial: list[str] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    foreign: list[tuple[str, str, str]] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)
    titled: list[str] = field(default_factory=list)
    dropped_tags: list[str] = field(default_factory=list)

    def forget(self, wheres: Iterable[str]) -> None:
        """Leave rows that were not imported out of the notes."""
        gone = set(wheres)
        for name in ("completed", "guessed", "serial", "clamped", "shortened", "titled"):
            setattr(self, name, [w for w in getattr(self, name) if w not in gone])
        self.foreign = [f for f in self.foreign if f[0] not in gone]
        self.dropped_tags = [t for t in self.dropped_tags if t.split(" ('", 1)[0] not in gone]


def _choices(schema: Schema) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {
        "kind": KINDS,
        "impact": IMPACTS,
        "stage": tuple(schema.stages),
        "visibility": VISIBILITIES,
        "status": STATUSES,
    }
    for custom in schema.fields:
        if custom.type == "choice":
            out[custom.name] = custom.values
    return out


class _Converter:
    """Turns one row's raw values into what ``validate`` expects."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        schema = ctx.schema
        self.choices = _choices(schema)
        self.dates = {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}
        self.lists = set(LIST_KEYS) | {f.name for f in schema.fields if f.type == "list"}
        self.numbers = {f.name for f in schema.fields if f.type == "number"}

    def convert(self, key: str, value: Any, text_cells: bool, where: str) -> Any:
        """The value of ``key``; ``text_cells`` when it came from a CSV cell or the command line."""
        if key == "id":
            return self.ident(value, where)
        if key in self.choices and isinstance(value, str):
            return self.choice(value.strip(), self.choices[key])
        if key in self.dates:
            return self.date(value, where)
        if key == "tags":
            return self.tags(self.as_list(value, text_cells), where)
        if key in self.lists:
            return self.as_list(value, text_cells)
        if key == "links":
            return self.links(value)
        if key == "actions":
            return self.actions(value, where)
        if key in self.numbers and isinstance(value, str):
            return _number(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def ident(self, value: Any, where: str) -> str | None:
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return value
        text = value.strip()
        if ID_RE.fullmatch(text):
            return text
        converted = id_from_foreign(text)
        if not converted:
            return None
        self.ctx.foreign.append((where, text, converted))
        return converted

    @staticmethod
    def choice(text: str, options: tuple[str, ...]) -> str:
        if text in options:
            return text
        lowered = {o.lower(): o for o in options}
        return lowered.get(text.lower(), text)

    def date(self, value: Any, where: str) -> Any:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            return value
        parsed, how = parse_loose_date(value, self.ctx.dayfirst)
        if parsed is None:
            if how == "ambiguous":
                return _Ambiguous(value.strip())
            return value.strip()
        if how == "completed":
            self.ctx.completed.append(where)
        elif how == "ordered":
            self.ctx.guessed.append(where)
        elif how == "serial":
            self.ctx.serial.append(where)
        elif how == "clamped":
            self.ctx.clamped.append(where)
        return parsed

    @staticmethod
    def as_list(value: Any, text_cells: bool) -> Any:
        if isinstance(value, str):
            return split_list(value) if text_cells else [value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [str(value)]
        return value

    def tags(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for tag in value:
            if isinstance(tag, str):
                norm = normalise_tag(tag, self.ctx.schema.tag_aliases)
                if not norm:
                    self.ctx.dropped_tags.append(f"{where} ('{tag}')")
                    continue
                tag = norm
            out.append(tag)
        return out

    def links(self, value: Any) -> Any:
        if isinstance(value, str):
            value = split_list(value)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = _parse_link(item)
            elif isinstance(item, dict):
                item = dict(item)
            if isinstance(item, dict) and isinstance(item.get("to"), str):
                to = item["to"].strip()
                item["to"] = to if ID_RE.fullmatch(to) else id_from_foreign(to)
            out.append(item)
        return out

    def actions(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("[", "{")):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    return _Invalid(f"'actions' is not valid JSON: {exc.msg}")
            else:
                value = [{"do": item} for item in split_list(text)]
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = {"do": item}
            elif isinstance(item, dict):
                item = dict(item)
                if item.get("due") is not None:
                    due = self.date(item["due"], where)
                    item["due"] = str(due) if isinstance(due, _Ambiguous) else due
                if isinstance(item.get("status"), str):
                    item["status"] = self.choice(item["status"].strip(), ACTION_STATUSES)
            out.append(item)
        return out


class _Ambiguous(str):
    """A date like 03/04/2024 in a file that shows no day/month order."""


@dataclass
class _Invalid:
    message: str


def _parse_link(item: str) -> dict[str, Any]:
    parts = item.split(":", 2)
    if len(parts) == 1:
        return {"to": parts[0].strip(), "rel": "relates-to"}
    link: dict[str, Any] = {"to": parts[1].strip(), "rel": parts[0].strip()}
    if len(parts) == 3:
        link["note"] = parts[2].strip()
    return link


def _number(text: str) -> Any:
    value = text.strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _link_cell(links: Iterable[Mapping[str, Any]]) -> str:
    items = []
    for link in links:
        item = f"{link['rel']}:{link['to']}"
        if link.get("note") is not None:
            item += f":{link['note']}"
        items.append(item)
    return join_list(items)


# --- the plan -------------------------------------------------------------------------


@dataclass
class Planned:
    """A valid row and what importing it does."""

    where: str
    record: dict[str, Any]
    path: str
    # Keys the row gave (an update sets only these).
    given: tuple[str, ...] = ()
    digest: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportPlan:
    """What an import would do; nothing has been written yet."""

    source: str
    on_duplicate: str
    new: list[Planned] = field(default_factory=list)
    updates: list[Planned] = field(default_factory=list)
    unchanged: list[Planned] = field(default_factory=list)
    skipped: list[Planned] = field(default_factory=list)
    conflicts: list[Planned] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)
    blank: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows read, blank ones aside."""
        return (
            len(self.new)
            + len(self.updates)
            + len(self.unchanged)
            + len(self.skipped)
            + len(self.conflicts)
            + len(self.invalid)
        )


@dataclass
class ImportOptions:
    """How to read and map a source (the options of ``lessons import``)."""

    maps: Mapping[str, str | None] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    on_duplicate: str = "fail"
    dayfirst: bool | None = None


def plan_import(kb: KnowledgeBase, source: Source, options: ImportOptions) -> ImportPlan:
    """Map, normalise and validate every row; decide what each does. Writes nothing.

    The index must be synced: the ids it holds decide what counts as a duplicate.
    """
    if options.on_duplicate not in ON_DUPLICATE:
        raise UsageError(
            f"--on-duplicate must be one of {', '.join(ON_DUPLICATE)}, "
            f"not '{options.on_duplicate}'" + did_you_mean(options.on_duplicate, ON_DUPLICATE)
        )
    schema = kb.config.schema
    colmap, notes = map_columns(source, schema, options.maps)
    plan = ImportPlan(source.shown, options.on_duplicate, blank=source.blank, notes=notes)
    plan.invalid.extend(source.unreadable)

    ctx = _Context(schema, options.dayfirst)
    conv = _Converter(ctx)
    if options.dayfirst is None:
        # The file decides: a 13/05/2024 anywhere makes it day-first, a 05/13/2024
        # month-first; with neither, day-first; with both, ambiguous dates are invalid.
        date_cols = [c for c, k in colmap.items() if k in conv.dates]
        values = [
            v for row in source.rows for c in date_cols if isinstance(v := row.data.get(c), str)
        ]
        by_day, by_month = day_month_order(values)
        if by_day != by_month:
            ctx.dayfirst, ctx.order_reason = by_day, "file"
        elif not by_day:
            ctx.dayfirst, ctx.order_reason = True, "default"
        else:
            ctx.dayfirst, ctx.order_reason = None, "mixed"

    built: list[tuple[Row, dict[str, Any], bool, tuple[str, ...]]] = []
    for row in source.rows:
        result = _build_row(row, colmap, options.defaults, source.fmt == "csv", conv, schema)
        if isinstance(result, RowProblem):
            plan.invalid.append(result)
        else:
            built.append((row, *result))
    _assign_ids(built, plan)
    _classify(kb, built, plan)
    ctx.forget(p.where for p in plan.invalid)
    plan.invalid.sort(key=lambda p: _order_key(p.where))
    plan.notes.extend(_context_notes(ctx))
    return plan


def _order_key(where: str) -> tuple[int, str]:
    found = re.search(r"(?:line|item) (\d+)", where)
    return (int(found.group(1)) if found else 0, where)


def _build_row(
    row: Row,
    colmap: Mapping[str, str],
    defaults: Mapping[str, str],
    csv_cells: bool,
    conv: _Converter,
    schema: Schema,
) -> RowProblem | tuple[dict[str, Any], bool, tuple[str, ...]]:
    """(record, whether its id was made, keys given) or the row's problem."""
    raw: dict[str, Any] = {}
    for column, value in row.data.items():
        key = colmap.get(column)
        if key is None or _blank(value):
            continue
        raw[key] = conv.convert(key, value, csv_cells, row.where)
    for key, value in defaults.items():
        if _blank(raw.get(key)):
            raw[key] = conv.convert(key, value, True, row.where)
    raw = {k: v for k, v in raw.items() if not _blank(v)}
    given = tuple(raw)

    for key, value in raw.items():
        if isinstance(value, _Invalid):
            return RowProblem(row.where, value.message)
        if isinstance(value, _Ambiguous):
            return RowProblem(
                row.where,
                f"'{key}' {value} could be day/month or month/day, and the file shows no "
                "order; pass --dayfirst or --monthfirst",
            )

    title = raw.get("title")
    if isinstance(title, str):
        if "\n" in title or "\r" in title:
            title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            title = shorten(title)
            conv.ctx.shortened.append(row.where)
        raw["title"] = title
    elif title is None and isinstance(raw.get("summary"), str) and raw["summary"].strip():
        raw["title"] = first_sentence(raw["summary"])
        conv.ctx.titled.append(row.where)
        given += ("title",)

    made = "id" not in raw
    if made and isinstance(raw.get("title"), str):
        date = raw.get("date") if isinstance(raw.get("date"), str) else None
        raw["id"] = make_id(date, raw["title"])
    record, problems = validate(raw, schema)
    errors = [p.message for p in problems if p.severity == "error"]
    if record is None or errors:
        return RowProblem(row.where, "; ".join(errors) or "invalid")
    return record, made, given


def _assign_ids(
    built: list[tuple[Row, dict[str, Any], bool, tuple[str, ...]]], plan: ImportPlan
) -> None:
    """Given ids stay (a repeat in the file is invalid); made ids get -2, -3… in file order.

    Made ids are unique within the file only, never against the knowledge base, so
    the same file gives the same ids every time and a re-import finds its duplicates.
    """
    first_at: dict[str, str] = {}
    keep: list[tuple[Row, dict[str, Any], bool, tuple[str, ...]]] = []
    for item in built:
        row, rec, made, _ = item
        if made:
            keep.append(item)
            continue
        if rec["id"] in first_at:
            plan.invalid.append(
                RowProblem(row.where, f"id '{rec['id']}' is already used by {first_at[rec['id']]}")
            )
            continue
        first_at[rec["id"]] = row.where
        keep.append(item)
    taken = set(first_at)
    for _, rec, made, _ in keep:
        if made:
            rec["id"] = unique_id(rec["id"], taken.__contains__)
            taken.add(rec["id"])
    built[:] = keep


def _classify(
    kb: KnowledgeBase,
    built: list[tuple[Row, dict[str, Any], bool, tuple[str, ...]]],
    plan: ImportPlan,
) -> None:
    store = kb.store
    owners = store.id_paths()
    entries = kb.config.entries
    folder = entries / kb.config.add_folder if kb.config.add_folder else entries
    prefix = folder.relative_to(kb.root).as_posix()
    # Files already there that hold no indexed record (broken ones): one listing, not a stat a row.
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    updates: list[Planned] = []
    for row, rec, _, given in built:
        rid = rec["id"]
        if rid in owners:
            item = Planned(row.where, rec, owners[rid], given)
            if plan.on_duplicate == "fail":
                plan.conflicts.append(item)
            elif plan.on_duplicate == "skip":
                plan.skipped.append(item)
            else:
                existing = store.get(rid) or {}
                item.changes = {
                    k: rec[k]
                    for k in given
                    if k != "id" and _comparable(rec.get(k)) != _comparable(existing.get(k))
                }
                updates.append(item)
                (plan.updates if item.changes else plan.unchanged).append(item)
            continue
        path = f"{prefix}/{rid}.yaml"
        if f"{rid}.yaml" in present:
            plan.invalid.append(
                RowProblem(
                    row.where,
                    f"{path} already exists but is not a valid record; "
                    "fix it first (`lessons check` says what is wrong)",
                )
            )
            continue
        plan.new.append(Planned(row.where, rec, path, given))
    # The digests the index saw: an update refuses if the file changed since.
    digests = store.file_digests(item.path for item in updates) if updates else {}
    for item in updates:
        item.digest = digests.get(item.path)


def _comparable(value: Any) -> Any:
    return None if value in ([], "") else value


def _ranges(wheres: list[str]) -> str:
    """``people.csv, lines 2-5, 9`` from row labels (numbers compressed into runs)."""
    by_file: dict[str, list[int]] = {}
    unit: dict[str, str] = {}
    other: list[str] = []
    for where in wheres:
        found = re.fullmatch(r"(.*), (line|item) (\d+)(?: \(line \d+\))?", where)
        if not found:
            other.append(where)
            continue
        by_file.setdefault(found.group(1), []).append(int(found.group(3)))
        unit[found.group(1)] = found.group(2)
    parts = []
    for name, numbers in by_file.items():
        numbers = sorted(set(numbers))
        runs: list[str] = []
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            runs.append(str(start) if start == prev else f"{start}-{prev}")
            if n is not None:
                start = prev = n
        shown = ", ".join(runs[:20])
        if len(runs) > 20:
            shown += f", … ({len(runs) - 20} more runs)"
        plural = "s" if len(numbers) > 1 else ""
        parts.append(f"{name}, {unit[name]}{plural} {shown}")
    return "; ".join(parts + other)


def _context_notes(ctx: _Context) -> list[str]:
    notes = []
    if ctx.completed:
        n = len(ctx.completed)
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} gave only a year or a month and "
            f"{'were' if n != 1 else 'was'} completed to the first day "
            f"(YYYY -> YYYY-01-01, YYYY-MM -> YYYY-MM-01): {_ranges(ctx.completed)}"
        )
    if ctx.serial:
        notes.append(
            f"{len(ctx.serial):,} date(s) were spreadsheet serial numbers, read as days since "
            f"1899-12-30: {_ranges(ctx.serial)}"
        )
    if ctx.clamped:
        n = len(ctx.clamped)
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} named a day the month does not have "
            f"(like 2018-02-29) and {'were' if n != 1 else 'was'} moved to the month's last "
            f"day: {_ranges(ctx.clamped)}"
        )
    if ctx.guessed and ctx.order_reason != "flag":
        n = len(ctx.guessed)
        order = "day/month/year" if ctx.dayfirst else "month/day/year"
        why = (
            "the order other dates in the file show"
            if ctx.order_reason == "file"
            else "no date in the file tells the order; pass --monthfirst if they are month first"
        )
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} like 03/04/2024 {'were' if n != 1 else 'was'} "
            f"read as {order} ({why}): {_ranges(ctx.guessed)}"
        )
    if ctx.foreign:
        n = len(ctx.foreign)
        examples = ", ".join(f"{a} -> {b}" for _, a, b in ctx.foreign[:3])
        notes.append(
            f"{n:,} id{'s' if n != 1 else ''} {'were' if n != 1 else 'was'} not valid record "
            f"ids and {'were' if n != 1 else 'was'} converted (lower case, every run of other "
            f"characters one hyphen): {examples}" + (", …" if n > 3 else "")
        )
    if ctx.shortened:
        n = len(ctx.shortened)
        notes.append(
            f"{n:,} title{'s' if n != 1 else ''} longer than {MAX_TITLE} characters "
            f"{'were' if n != 1 else 'was'} cut at a word boundary (ending in …): "
            f"{_ranges(ctx.shortened)}"
        )
    if ctx.titled:
        n = len(ctx.titled)
        notes.append(
            f"{n:,} row{'s' if n != 1 else ''} had no title and took the first sentence "
            f"of the summary: {_ranges(ctx.titled)}"
        )
    if ctx.dropped_tags:
        notes.append(
            f"{len(ctx.dropped_tags):,} tag(s) had no letters or digits and were left out: "
            + ", ".join(ctx.dropped_tags[:5])
            + (", …" if len(ctx.dropped_tags) > 5 else "")
        )
    return notes


# --- applying the plan ---------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did."""

    written: int = 0
    updated: int = 0
    failed: list[RowProblem] = field(default_factory=list)
    report: SyncReport | None = None


def apply_import(
    kb: KnowledgeBase,
    plan: ImportPlan,
    progress: Progress | None = None,
    sync_progress: Progress | None = None,
) -> ImportResult:
    """Write the plan's new records and updates, then sync the index once.

    Refuses (``ConflictError``, nothing written) when ``--on-duplicate fail`` met
    ids that exist.
    """
    from lessons.entries import write_lock

    if plan.conflicts:
        raise conflict_error(plan, dry_run=False)
    schema = kb.config.schema
    result = ImportResult()
    total = len(plan.new) + len(plan.updates)
    done = 0
    with write_lock(kb.root):
        for i, problem in _write_new(kb.root, schema, plan.new):
            if problem:
                result.failed.append(RowProblem(plan.new[i].where, problem))
            else:
                result.written += 1
            done += 1
            if progress and done % 200 == 0:
                progress(done, total)
        if result.written:
            # Written atomically but not fsynced one by one (see _write_one): flush once.
            os.sync()
    for item in plan.updates:
        try:
            _update(kb, item)
            result.updated += 1
        except LessonsError as exc:
            result.failed.append(RowProblem(item.where, exc.message))
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    if progress:
        progress(total, total)
    result.report = kb.sync(sync_progress)
    return result


# Below this many new files, starting worker processes costs more than it saves.
PARALLEL_FROM = 400
_CHUNK = 250
_job: tuple[Path, Schema, list[Planned]] | None = None


def _write_one(root: Path, schema: Schema, item: Planned) -> str | None:
    """Write one new record file; the reason it was not written, if it was not."""
    from lessons.entries import atomic_write, dump_record

    path = root / item.path
    if path.exists():
        # Appeared since the plan was made: something else wrote it first.
        return f"{item.path} appeared meanwhile; not overwritten"
    # Atomic (temporary file, then rename) but not fsynced here: an fsync per file
    # costs more than everything else put together; the caller flushes once.
    atomic_write(path, dump_record(item.record, schema), durable=False)
    return None


def _write_chunk(bounds: tuple[int, int]) -> list[tuple[int, str | None]]:
    assert _job is not None
    root, schema, items = _job
    return [(i, _write_one(root, schema, items[i])) for i in range(*bounds)]


def _write_new(
    root: Path, schema: Schema, items: list[Planned]
) -> Iterable[tuple[int, str | None]]:
    """(index, problem or None) for each new file, written by worker processes when many."""
    global _job
    if len(items) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        for i, item in enumerate(items):
            yield i, _write_one(root, schema, item)
        return
    import multiprocessing

    # The workers are forked, so they see the plan without pickling it.
    _job = (root, schema, items)
    try:
        ctx = multiprocessing.get_context("fork")
        chunks = [(s, min(s + _CHUNK, len(items))) for s in range(0, len(items), _CHUNK)]
        with ctx.Pool(min(os.cpu_count() or 2, 4)) as pool:
            for results in pool.imap_unordered(_write_chunk, chunks):
                yield from results
    finally:
        _job = None


def conflict_error(plan: ImportPlan, *, dry_run: bool) -> ConflictError:
    """The error of ``--on-duplicate fail`` meeting ids that exist."""
    ids = [item.record["id"] for item in plan.conflicts]
    n = len(ids)
    shown = ", ".join(ids[:10]) + (f" … ({n - 10} more)" if n > 10 else "")
    return ConflictError(
        f"{n:,} record{'s' if n != 1 else ''} of {plan.source} already "
        f"exist{'s' if n == 1 else ''} in the knowledge base: {shown}; "
        + ("nothing would be written" if dry_run else "nothing was written"),
        hint="--on-duplicate skip leaves them as they are; --on-duplicate update changes them",
    )


def _update(kb: KnowledgeBase, item: Planned) -> None:
    from lessons.entries import edit_file

    schema = kb.config.schema
    changes = {key: _yaml_value(key, value, schema) for key, value in item.changes.items()}

    def change(doc: Any) -> None:
        for key, value in changes.items():
            old = doc.get(key)
            if _is_flow(old) and isinstance(value, list):
                value = _flow(value)
            if key in doc:
                doc[key] = value
            else:
                doc.insert(_position(doc, key, kb.config.schema), key, value)

    edit_file(kb.root / item.path, kb.root, kb.config.schema, change, expected_digest=item.digest)


def _is_flow(value: Any) -> bool:
    fa = getattr(value, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _flow(items: list[Any]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _position(doc: Any, key: str, schema: Schema) -> int:
    order = list(KEY_ORDER) + [f.name for f in schema.fields]
    if key not in order:
        return len(doc)
    before = set(order[: order.index(key)])
    keys = list(doc.keys())
    last = max((i for i, k in enumerate(keys) if k in before), default=-1)
    return last + 1


def _yaml_value(key: str, value: Any, schema: Schema) -> Any:
    """A normalised value as ruamel should write it: dates unquoted, multi-line text as ``|``."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    dates = {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}
    if key in dates and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and "\n" in value.strip("\n"):
        return LiteralScalarString(value)
    if key == "actions":
        return [
            {k: (dt.date.fromisoformat(v) if k == "due" else v) for k, v in a.items()}
            for a in to_document({"actions": value}).get("actions", [])
        ]
    return value


# --- export ---------------------------------------------------------------------


def public_only(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with ``visibility: public``."""
    return [r for r in records if r.get("visibility") == "public"]


def export_text(records: list[dict[str, Any]], fmt: str, schema: Schema, name: str = "") -> str:
    """The records as ``fmt`` text; every format but ``md`` reads back with import."""
    docs = [to_document({k: v for k, v in r.items() if k != "path"}, schema) for r in records]
    if fmt == "json":
        return json.dumps(docs, ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    if fmt == "yaml":
        return _yaml_list(docs, schema)
    if fmt == "csv":
        return _csv(docs, schema)
    if fmt == "md":
        return _markdown(docs, schema, name)
    raise UsageError(f"--format must be one of {', '.join(FORMATS_OUT)}, not '{fmt}'")


def _yaml_list(docs: list[dict[str, Any]], schema: Schema) -> str:
    from lessons.entries import dump_record

    if not docs:
        return "[]\n"
    out: list[str] = []
    for doc in docs:
        lines = dump_record(doc, schema).splitlines()
        out.append("- " + lines[0])
        out.extend("  " + line if line else "" for line in lines[1:])
    return "\n".join(out) + "\n"


def _csv(docs: list[dict[str, Any]], schema: Schema) -> str:
    import csv
    import io

    order = list(KEY_ORDER) + [f.name for f in schema.fields]
    present = {k for d in docs for k in d}
    order += sorted(present - set(order))
    columns = [k for k in order if k in present or k in ("id", "title", "kind", "summary")]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for doc in docs:
        writer.writerow([_cell(key, doc.get(key)) for key in columns])
    return buf.getvalue()


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "links":
        return _link_cell(value)
    if key == "actions":
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return join_list(str(v) for v in value)
    return str(value)


def _markdown(docs: list[dict[str, Any]], schema: Schema, name: str) -> str:
    lines = [f"# {name or 'Lessons'}", ""]
    if not docs:
        lines.append("No records.")
    for doc in docs:
        lines += [f"## {doc['title']}", ""]
        meta = [f"`{doc['id']}`", doc["kind"]]
        meta += [str(doc[k]) for k in ("date",) if doc.get(k)]
        meta += [f"{k} {doc[k]}" for k in ("impact", "stage", "status") if doc.get(k)]
        lines.append(" · ".join(meta))
        who = [f"{k}: {doc[k]}" for k in ("campaign", "team") if doc.get(k)]
        if doc.get("authors"):
            who.append("by " + ", ".join(doc["authors"]))
        if doc.get("tags"):
            who.append("tags: " + ", ".join(doc["tags"]))
        if who:
            lines.append(" · ".join(who))
        for key in ("summary", "lesson", "expected", "why", "response", "evidence"):
            if doc.get(key):
                lines += ["", f"**{key.capitalize()}.** {doc[key].strip()}"]
        sections: list[tuple[str, list[str]]] = [
            ("Recommendations", [f"- {r}" for r in doc.get("recommendations", [])]),
            (
                "Links",
                [_md_link(link) for link in doc.get("links", [])],
            ),
            ("Actions", [_md_action(a) for a in doc.get("actions", [])]),
            ("Sources", [f"- {s}" for s in doc.get("sources", [])]),
        ]
        for title, body in sections:
            if body:
                lines += ["", f"**{title}**", "", *body]
        custom = []
        for spec in schema.fields:
            value = doc.get(spec.name)
            if value not in (None, []):
                shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                custom.append(f"{spec.name}: {shown}")
        if custom:
            lines += ["", " · ".join(custom)]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_link(link: Mapping[str, Any]) -> str:
    note = f" — {link['note']}" if link.get("note") else ""
    return f"- {link['rel']} `{link['to']}`{note}"


def _md_action(action: Mapping[str, Any]) -> str:
    box = {"open": "[ ]", "done": "[x]", "dropped": "[-]"}.get(action.get("status", "open"), "[ ]")
    extra = [action[k] for k in ("owner",) if action.get(k)]
    if action.get("due"):
        extra.append(f"due {action['due']}")
    return f"- {box} {action['do']}" + (f" ({', '.join(extra)})" if extra else "")


def dry_run_lines(plan: ImportPlan) -> list[str]:
    """One line per row of a dry run: what it would do, the id, where it came from."""
    rows: list[tuple[str, str, Planned]] = []
    rows += [("write", "would write", p) for p in plan.new]
    rows += [("update", "would update", p) for p in plan.updates]
    rows += [("unchanged", "unchanged", p) for p in plan.unchanged]
    rows += [("skip", "would skip", p) for p in plan.skipped]
    rows.sort(key=lambda r: _order_key(r[2].where))
    out = []
    for _, label, item in rows:
        extra = f"  [{', '.join(item.changes)}]" if item.changes else ""
        out.append(f"{label:<12} {item.record['id']}  ({item.where}){extra}")
    return out
