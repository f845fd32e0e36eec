"""The plan of an import: every row mapped, normalised, validated and classified."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lessons.errors import UsageError
from lessons.interop.convert import (
    SPLITS,
    Ambiguous,
    Context,
    Converter,
    DateOrder,
    Invalid,
    detect_split,
)
from lessons.interop.dates import day_month_order
from lessons.interop.mapping import (
    EXTRA,
    UNMAPPED,
    ColumnMap,
    ValueMaps,
    choice_fields,
    distinct_values,
    plan_columns,
    value_key,
)
from lessons.interop.source import ON_DUPLICATE, Row, RowProblem, Source
from lessons.interop.values import first_sentence, is_blank, shorten
from lessons.model import (
    LIST_KEYS,
    MAX_TITLE,
    Schema,
    did_you_mean,
    make_id,
    suggest,
    unique_id,
    validate,
)

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase

# Unpivoted boards: the column a card stood in, and its text.
CARD_COLUMN = "column"
CARD_TEXT = "card"


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
    # Rows of the source when they are not the records (an unpivoted board's cards).
    source_rows: int | None = None
    # What one row of the source is called in the counts: row, or file (Markdown).
    unit: str = "row"
    # Rows left out because a choice value is neither a choice nor mapped: one entry
    # per key and value, with the rows (they are in ``invalid`` too).
    value_errors: list[tuple[str, str, list[str], tuple[str, ...]]] = field(default_factory=list)
    # What reading found, for --write-mapping: columns and the values of choice keys.
    columns: ColumnMap | None = None
    seen_values: dict[str, dict[str, int]] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)

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
    """How to map a source (the options of ``lessons import``)."""

    maps: Mapping[str, str | None] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    on_duplicate: str = "fail"
    dayfirst: bool | None = None
    value_maps: ValueMaps = field(default_factory=ValueMaps)
    # What to do with columns that map to no key: error, ignore or keep (under extra:).
    unmapped: str = "error"
    # How list cells split: auto (per column, from its values) or one of SPLITS.
    split: str = "auto"
    unpivot: tuple[str, ...] = ()
    tz: Any = None
    tz_name: str = ""
    # Called with (rows done, rows in all) while rows are planned.
    progress: Any = None


def plan_import(kb: KnowledgeBase, source: Source, options: ImportOptions) -> ImportPlan:
    """Map, normalise and validate every row; decide what each does. Writes nothing.

    The index must be synced: the ids it holds decide what counts as a duplicate.
    """
    if options.on_duplicate not in ON_DUPLICATE:
        raise UsageError(
            f"--on-duplicate must be one of {', '.join(ON_DUPLICATE)}, "
            f"not '{options.on_duplicate}'" + did_you_mean(options.on_duplicate, ON_DUPLICATE)
        )
    if options.unmapped not in UNMAPPED:
        raise UsageError(f"unmapped columns: one of {', '.join(UNMAPPED)}")
    schema = kb.config.schema
    maps = dict(options.maps)
    source_rows = None
    if options.unpivot:
        source_rows = len(source.rows) + source.blank + len(source.unreadable)
        unpivot(source, options.unpivot)
        maps.setdefault(CARD_TEXT, "summary")
        if CARD_COLUMN not in maps and CARD_COLUMN not in {m for s in maps for m in s.split("|")}:
            maps[CARD_COLUMN] = "kind"
    columns = plan_columns(source, schema, maps, options.unmapped)
    colmap = columns.keys
    plan = ImportPlan(
        source.shown,
        options.on_duplicate,
        blank=source.blank,
        notes=list(source.notes) + columns.notes,
        source_rows=source_rows,
        columns=columns,
        unit="file" if source.fmt == "md" else "row",
    )
    plan.invalid.extend(source.unreadable)
    _check_value_maps(source, colmap, options.value_maps, schema)

    ctx = Context(schema, options.dayfirst, value_maps=options.value_maps)
    ctx.tz, ctx.tz_name = options.tz, options.tz_name
    conv = Converter(ctx)
    if source.text_cells:
        ctx.splits = _splits(source, colmap, schema, options.split, plan)
    if options.dayfirst is None:
        # Each column decides: a 13/05/2024 anywhere in it makes it day-first, a
        # 05/13/2024 month-first; with neither, day-first; with both, its ambiguous
        # dates are invalid.
        for column, key in colmap.items():
            if key not in conv.dates:
                continue
            values = [v for row in source.rows if isinstance(v := row.data.get(column), str)]
            by_day, by_month = day_month_order(values)
            if by_day != by_month:
                ctx.orders[column] = DateOrder(by_day, "column")
            elif not by_day:
                ctx.orders[column] = DateOrder(True, "default")
            else:
                ctx.orders[column] = DateOrder(None, "mixed")
        reasons = {o.reason for o in ctx.orders.values()}
        ctx.dayfirst = True
        ctx.order_reason = "file" if reasons == {"column"} else "default"
        if "column" in reasons and len(ctx.orders) > 1:
            shown = ", ".join(
                f"'{c}' {'day' if o.dayfirst else 'month'} first"
                for c, o in ctx.orders.items()
                if o.reason == "column"
            )
            plan.notes.append(f"dates like 03/04/2024 read per column as its values show: {shown}")

    built: list[tuple[Row, dict[str, Any], bool, tuple[str, ...]]] = []
    total = len(source.rows)
    for n, row in enumerate(source.rows, 1):
        result = _build_row(
            row, columns, options.defaults, source.text_cells, conv, schema, source.fmt == "md"
        )
        if isinstance(result, RowProblem):
            plan.invalid.append(result)
        else:
            built.append((row, *result))
        if options.progress and n % 200 == 0:
            options.progress(n, total, len(plan.invalid))
    _assign_ids(built, plan)
    _classify(kb, built, plan)
    ctx.forget(p.where for p in plan.invalid)
    plan.invalid.sort(key=lambda p: order_key(p.where))
    plan.value_errors = _value_errors(ctx, plan, schema)
    plan.notes.extend(context_notes(ctx))
    # New records only: an update keeps the date the file already has.
    undated = [p.where for p in plan.new if not p.record.get("date")]
    if undated:
        # Said at import time, not only by `check` later: a record without a date drops
        # out of every --since/--until filter and of the retrospective's timeline.
        n, everyone = len(undated), len(undated) == len(plan.new)
        which = "" if everyone else ": " + ranges(undated)
        plan.notes.append(
            f"{'all ' if everyone and n > 1 else ''}{n:,} record{'s' if n != 1 else ''} "
            f"will have no date (left out of --since, --until and period retrospectives)"
            f"{which}; map a column with --map 'COLUMN=date' or give them one with "
            "--default date=YYYY-MM-DD"
        )
    plan.seen_values = ctx.seen_values
    plan.splits = ctx.splits
    if options.progress:
        options.progress(total, total, len(plan.invalid))
    return plan


def unpivot(source: Source, wanted: tuple[str, ...]) -> None:
    """Turn a board with one column per retro column into one row per card.

    Each non-empty cell of the ``wanted`` columns becomes a row with the column's
    name in ``column`` and the cell in ``card``; the row's other cells go with it.
    """
    by_name = {c.strip().casefold(): c for c in source.columns}
    chosen = []
    for name in wanted:
        column = by_name.get(name.strip().casefold())
        if column is None:
            raise UsageError(
                f"--unpivot: {source.shown} has no column '{name}'"
                + did_you_mean(name, source.columns),
                hint="its columns: " + ", ".join(f"'{c}'" for c in source.columns[:20]),
            )
        chosen.append(column)
    rest = [c for c in source.columns if c not in chosen]
    rows: list[Row] = []
    for row in source.rows:
        cards = [(c, row.data.get(c)) for c in chosen if not is_blank(row.data.get(c))]
        if not cards:
            source.blank += 1
            continue
        base = {c: row.data.get(c) for c in rest}
        for column, text in cards:
            rows.append(
                Row(
                    f"{row.where}, column '{column}'",
                    {**base, CARD_COLUMN: column, CARD_TEXT: text},
                )
            )
    source.rows = rows
    source.columns = [*rest, CARD_COLUMN, CARD_TEXT]
    source.notes.append(
        f"--unpivot: {len(rows):,} card{'s' if len(rows) != 1 else ''} from the columns "
        + ", ".join(f"'{c}'" for c in chosen)
        + f"; the column's name is '{CARD_COLUMN}', the card's text '{CARD_TEXT}'"
    )


def _check_value_maps(
    source: Source, colmap: Mapping[str, str], value_maps: ValueMaps, schema: Schema
) -> None:
    """Every --map-value must name a value its key's columns hold (a typo is an error)."""
    for key, mapped in value_maps.maps.items():
        columns = [c for c, k in colmap.items() if k == key]
        if not columns and key == "actions":
            continue
        values = [
            str(v).strip()
            for row in source.rows
            for c in columns
            if not is_blank(v := row.data.get(c))
        ]
        present = {value_key(v) for v in values}
        for wanted in mapped:
            if wanted in present:
                continue
            typed = value_maps.typed.get((key, wanted), wanted)
            if not columns:
                raise UsageError(
                    f"--map-value '{key}:{typed}=…': no column of {source.shown} gives '{key}'",
                    hint=f"map one first: --map 'COLUMN={key}'",
                )
            held = distinct_values(values)
            best = suggest(typed, [v for v, _ in held], cutoff=60)
            listed = ", ".join(f"'{v}' ({n})" for v, n in held[:12])
            raise UsageError(
                f"--map-value '{key}:{typed}=…': no row of {source.shown} has '{typed}' "
                f"in {', '.join(repr(c) for c in columns)}"
                + (f" (did you mean '{best}'?)" if best else ""),
                hint=f"the values there: {listed}" + (", …" if len(held) > 12 else ""),
            )


def _splits(
    source: Source, colmap: Mapping[str, str], schema: Schema, forced: str, plan: ImportPlan
) -> dict[str, str]:
    """Column -> how its list cells split, and a note for each column not split on ';'."""
    if forced not in ("auto", *SPLITS) and len(forced) != 1:
        raise UsageError(
            f"--split takes one character or one of {', '.join(SPLITS)}, not '{forced}'"
        )
    lists = (
        set(LIST_KEYS) | {"tags", "actions"} | {f.name for f in schema.fields if f.type == "list"}
    )
    out: dict[str, str] = {}
    for column, key in colmap.items():
        if key not in lists:
            continue
        if forced != "auto":
            out[column] = forced
            continue
        if source.exported or source.fmt == "md":
            out[column] = ";"
            continue
        cells = [v for row in source.rows if isinstance(v := row.data.get(column), str)]
        found = detect_split(
            cells,
            tags=key == "tags",
            # Commas separate names and custom list items, never sentences (actions,
            # recommendations) or URLs.
            names=key == "authors" or key not in (*LIST_KEYS, "actions"),
        )
        if found is None:
            out[column] = ";"
            continue
        out[column] = found
        if found != ";":
            n = sum(1 for c in cells if _has_split(c, found))
            what = {
                "newline": "line breaks",
                "#": "#hashtags",
                ",": "commas",
                "any": "any of ; , #hashtags and line breaks",
            }[found]
            plan.notes.append(
                f"column '{column}' ({key}) holds lists split on {what} ({n} "
                f"cell{'s' if n != 1 else ''}); --split ';' (or another) decides instead"
            )
    return out


def _has_split(cell: str, how: str) -> bool:
    if how == "newline":
        return "\n" in cell.strip()
    if how == "any":
        return any(c in cell.strip() for c in ";,\n#")
    return how in cell


def _value_errors(
    ctx: Context, plan: ImportPlan, schema: Schema
) -> list[tuple[str, str, list[str], tuple[str, ...]]]:
    """For each choice value no --map-value maps: the rows it made invalid."""
    invalid = {p.where for p in plan.invalid}
    choices = choice_fields(schema)
    out = []
    for key, values in ctx.unmapped.items():
        for value, wheres in sorted(values.items(), key=lambda kv: -len(kv[1])):
            rows = [w for w in wheres if w in invalid]
            if rows:
                out.append((key, value, rows, choices.get(key, ())))
    return out


def order_key(where: str) -> tuple[int, str]:
    """Rows in file order: by line, row or item number (else by name)."""
    found = re.search(r"(?:line|item|row) (\d+)|\[(\d+)\]", where)
    if not found:
        return (0, where)
    return (int(found.group(1) or found.group(2)), where)


def _build_row(
    row: Row,
    columns: ColumnMap,
    defaults: Mapping[str, str],
    text_cells: bool,
    conv: Converter,
    schema: Schema,
    join_text: bool = False,
) -> RowProblem | tuple[dict[str, Any], bool, tuple[str, ...]]:
    """(record, whether its id was made, keys given) or the row's problem.

    ``join_text``: two columns giving one text key are joined (Markdown sections),
    not the first taken.
    """
    raw: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    lists = conv.lists | {"tags"}
    for column, value in row.data.items():
        key = columns.keys.get(column)
        if key is None or is_blank(value):
            continue
        if key == EXTRA:
            extra[column] = _plain(value)
            continue
        converted = conv.convert(key, value, text_cells, row.where, column)
        if key in raw:
            # A second column for one key: lists merge; otherwise the first value stays
            # ("A|B=summary": the first column with a value).
            if key in lists and isinstance(raw[key], list) and isinstance(converted, list):
                raw[key] = raw[key] + [v for v in converted if v not in raw[key]]
            elif join_text and isinstance(raw[key], str) and isinstance(converted, str):
                raw[key] = f"{raw[key]}\n\n{converted}"
            continue
        raw[key] = converted
    if extra:
        given_extra = raw.get("extra")
        raw["extra"] = {**given_extra, **extra} if isinstance(given_extra, dict) else extra
    for key, value in defaults.items():
        if is_blank(raw.get(key)):
            raw[key] = conv.convert(key, value, True, row.where)
    raw = {k: v for k, v in raw.items() if not is_blank(v)}
    given = tuple(raw)

    for key, value in raw.items():
        if isinstance(value, Invalid):
            return RowProblem(row.where, value.message)
        if isinstance(value, Ambiguous):
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
    elif isinstance(title, int | float) and not isinstance(title, bool):
        raw["title"] = str(title)

    made = "id" not in raw
    if made and isinstance(raw.get("title"), str):
        date = raw.get("date") if isinstance(raw.get("date"), str) else None
        raw["id"] = make_id(date, raw["title"])
    record, problems = validate(raw, schema)
    errors = [p.message for p in problems if p.severity == "error"]
    if record is None or errors:
        return RowProblem(row.where, "; ".join(errors) or "invalid")
    return record, made, given


def _plain(value: Any) -> Any:
    """A value kept under ``extra:`` as text (dates as YYYY-MM-DD, numbers as they are)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


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


# Files (rather than numbered rows) named one by one in a note before "… (N more)".
MAX_NAMED = 5


def ranges(wheres: list[str]) -> str:
    """``people.csv, lines 2-5, 9`` from row labels (numbers compressed into runs)."""
    by_file: dict[str, list[int]] = {}
    unit: dict[str, str] = {}
    other: list[str] = []
    for where in wheres:
        found = re.fullmatch(
            r"(.*?), (line|item|row) (\d+)(?: \(line \d+\))?(?:, column '.*')?", where
        )
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
    if len(other) > MAX_NAMED:
        other = [*other[:MAX_NAMED], f"… ({len(other) - MAX_NAMED} more)"]
    return "; ".join(parts + other)


def context_notes(ctx: Context) -> list[str]:
    notes = []
    if ctx.completed:
        n = len(ctx.completed)
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} gave only a year or a month and "
            f"{'were' if n != 1 else 'was'} completed to the first day "
            f"(YYYY -> YYYY-01-01, YYYY-MM -> YYYY-MM-01): {ranges(ctx.completed)}"
        )
    if ctx.serial:
        notes.append(
            f"{len(ctx.serial):,} date(s) were spreadsheet serial numbers, read as days since "
            f"1899-12-30: {ranges(ctx.serial)}"
        )
    if ctx.clamped:
        n = len(ctx.clamped)
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} named a day the month does not have "
            f"(like 2018-02-29) and {'were' if n != 1 else 'was'} moved to the month's last "
            f"day: {ranges(ctx.clamped)}"
        )
    groups: dict[tuple[bool, str], list[str]] = {}
    for where in ctx.guessed:
        dayfirst, reason = ctx.guessed_how.get(where, (bool(ctx.dayfirst), ctx.order_reason))
        if reason != "flag":
            groups.setdefault((dayfirst, reason), []).append(where)
    for (dayfirst, reason), wheres in groups.items():
        n = len(wheres)
        order = "day/month/year" if dayfirst else "month/day/year"
        why = (
            "the order other dates in the file show"
            if reason in ("file", "column")
            else "no date in the file tells the order; pass --monthfirst if they are month first"
        )
        notes.append(
            f"{n:,} date{'s' if n != 1 else ''} like 03/04/2024 {'were' if n != 1 else 'was'} "
            f"read as {order} ({why}): {ranges(wheres)}"
        )
    if ctx.zoned:
        n, moved = len(ctx.zoned), len(ctx.shifted)
        zone = ctx.tz_name or "the machine's zone"
        notes.append(
            f"{n:,} timestamp{'s' if n != 1 else ''} with a time zone {'were' if n != 1 else 'was'}"
            f" converted to {zone} before the date was taken"
            + (
                f"; {moved} fell on another day than written there: {ranges(ctx.shifted)}"
                if moved
                else ""
            )
            + " (timezone: in lessons.yaml sets the zone)"
        )
    by_key: dict[str, list[str]] = {}
    for (key, value), count in sorted(ctx.mapped.items(), key=lambda kv: -kv[1]):
        typed = ctx.value_maps.typed.get((key, value), value)
        by_key.setdefault(key, []).append(
            f"'{typed}' -> {ctx.value_maps.maps[key][value]} ({count:,})"
        )
    for key, parts in by_key.items():
        notes.append(f"values of '{key}' mapped (--map-value): " + ", ".join(parts))
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
            f"{ranges(ctx.shortened)}"
        )
    if ctx.titled:
        n = len(ctx.titled)
        notes.append(
            f"{n:,} row{'s' if n != 1 else ''} had no title and took the first sentence "
            f"of the summary: {ranges(ctx.titled)}"
        )
    if ctx.dropped_tags:
        notes.append(
            f"{len(ctx.dropped_tags):,} tag(s) had no letters or digits and were left out: "
            + ", ".join(ctx.dropped_tags[:5])
            + (", …" if len(ctx.dropped_tags) > 5 else "")
        )
    return notes


def dry_run_lines(plan: ImportPlan) -> list[str]:
    """One line per row of a dry run: what it would do, the id, where it came from."""
    rows: list[tuple[str, str, Planned]] = []
    rows += [("write", "would write", p) for p in plan.new]
    rows += [("update", "would update", p) for p in plan.updates]
    rows += [("unchanged", "unchanged", p) for p in plan.unchanged]
    rows += [("skip", "would skip", p) for p in plan.skipped]
    rows.sort(key=lambda r: order_key(r[2].where))
    out = []
    for _, label, item in rows:
        extra = f"  [{', '.join(item.changes)}]" if item.changes else ""
        out.append(f"{label:<12} {item.record['id']}  ({item.where}){extra}")
    return out


def first_records(plan: ImportPlan, schema: Schema, n: int = 3) -> str:
    """The YAML of the first ``n`` new records, as they would be written (updates are
    listed with the keys they change)."""
    from lessons.entries import dump_record

    first = sorted(plan.new, key=lambda p: order_key(p.where))[:n]
    if not first:
        return ""
    parts = [f"--- {p.path} ({p.where})\n{dump_record(p.record, schema)}" for p in first]
    more = len(plan.new) - len(first)
    tail = f"… and {more:,} more\n" if more > 0 else ""
    return "\n" + "".join(parts) + tail


def zone(name: str | None) -> tuple[Any, str]:
    """The tzinfo of ``timezone:`` in lessons.yaml (None and '' for the machine's zone)."""
    if not name:
        return None, ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"timezone: '{name}' in lessons.yaml is not a time zone",
            hint="an IANA name such as Europe/Lisbon, Europe/Kyiv or UTC",
        ) from None
