"""The plan of an import: every row mapped, normalised, validated and classified."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lessons.errors import UsageError
from lessons.model import (
    MAX_TITLE,
    Schema,
    did_you_mean,
    make_id,
    unique_id,
    validate,
)

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase
from lessons.interop.convert import Ambiguous, Context, Converter, Invalid
from lessons.interop.dates import day_month_order
from lessons.interop.mapping import map_columns
from lessons.interop.source import ON_DUPLICATE, Row, RowProblem, Source
from lessons.interop.values import first_sentence, is_blank, shorten


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

    ctx = Context(schema, options.dayfirst)
    conv = Converter(ctx)
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
    plan.invalid.sort(key=lambda p: order_key(p.where))
    plan.notes.extend(context_notes(ctx))
    return plan


def order_key(where: str) -> tuple[int, str]:
    found = re.search(r"(?:line|item) (\d+)", where)
    return (int(found.group(1)) if found else 0, where)


def _build_row(
    row: Row,
    colmap: Mapping[str, str],
    defaults: Mapping[str, str],
    csv_cells: bool,
    conv: Converter,
    schema: Schema,
) -> RowProblem | tuple[dict[str, Any], bool, tuple[str, ...]]:
    """(record, whether its id was made, keys given) or the row's problem."""
    raw: dict[str, Any] = {}
    for column, value in row.data.items():
        key = colmap.get(column)
        if key is None or is_blank(value):
            continue
        raw[key] = conv.convert(key, value, csv_cells, row.where)
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


def ranges(wheres: list[str]) -> str:
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
            f"read as {order} ({why}): {ranges(ctx.guessed)}"
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
