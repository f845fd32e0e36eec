"""Bringing records in and taking them out: import and export (SPEC §8)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import build_filters, synced_kb, with_filters
from lessons.cli.render import PROGRESS_FROM, console, emit, is_tty

MAX_SHOWN_NOTES = 10


@app.command("import")
def import_(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="CSV, JSON, JSONL, YAML, .xlsx/.xlsm/.xls/.ods, a Markdown file or a folder "
            "of them; - reads stdin.",
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="csv, json, jsonl, yaml, xlsx, ods or md (default: from FILE)."
        ),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="SRC=KEY",
            help="Read column SRC as record key KEY; SRC= leaves it out; 'A|B=KEY' takes the "
            "first with a value; 'section:HEADING=KEY' for Markdown. Repeatable.",
        ),
    ] = None,
    value_maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map-value",
            metavar="KEY:SRC=VALUE",
            help="Read value SRC of KEY (kind, impact, stage, status, a choice field) as VALUE, "
            "ignoring case and accents: --map-value 'kind:Went well=success'. Repeatable.",
        ),
    ] = None,
    defaults: Annotated[
        list[str] | None,
        typer.Option(
            "--default", metavar="KEY=VALUE", help="Fill KEY where the source lacks it. Repeatable."
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            metavar="FILE",
            help="Read these options from a mapping file (see --write-mapping).",
        ),
    ] = None,
    write_mapping: Annotated[
        str | None,
        typer.Option(
            "--write-mapping",
            metavar="FILE",
            help="With --dry-run: write a starting mapping file (columns, values, suggestions).",
        ),
    ] = None,
    ignore_unmapped: Annotated[
        bool, typer.Option("--ignore-unmapped", help="Leave out columns that map to no key.")
    ] = False,
    keep_unmapped: Annotated[
        bool,
        typer.Option("--keep-unmapped", help="Keep columns that map to no key under extra:."),
    ] = False,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            metavar="SEP",
            help="Split list cells on SEP (',' ';' newline '#'); default: per column, as its "
            "values show.",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet", metavar="NAME|N", help="The sheet to read (default: the first with values)."
        ),
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option("--header-row", metavar="N", min=1, help="The header's row (default: found)."),
    ] = None,
    records: Annotated[
        str | None,
        typer.Option(
            "--records",
            metavar="PATH",
            help="The list of records inside a JSON or YAML document: a.b or /a/b; the "
            "parent's fields are columns parent.FIELD.",
        ),
    ] = None,
    unpivot: Annotated[
        str | None,
        typer.Option(
            "--unpivot",
            metavar="COL1,COL2,…",
            help="A board with one column per retro column: one record per card; the column's "
            "name becomes kind (map it with --map-value).",
        ),
    ] = None,
    on_duplicate: Annotated[
        str | None,
        typer.Option(
            "--on-duplicate",
            help="For ids that exist: fail (write nothing; the default), skip or update.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Write nothing; list what each row would do."),
    ] = False,
    dayfirst: Annotated[
        bool | None,
        typer.Option(
            "--dayfirst/--monthfirst",
            help="How to read dates like 03/04/2024 (default: as each column shows, else day "
            "first).",
        ),
    ] = None,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="Keep a leading ' before =, +, -, @ (export's guard against formulas).",
        ),
    ] = False,
) -> None:
    """Bring records in from a spreadsheet, CSV, JSON, YAML or Markdown, one YAML file each.

    Columns match record keys whatever their case and spacing; others are named
    with the --map to type. Every row is counted: written, updated, unchanged,
    skipped, invalid (each named by its row, line, file or item) or blank. Exit 2
    when any row was invalid or an id already exists (with --on-duplicate fail).

    Example: lessons import register.xlsx --map "Lesson Learned=lesson" --default kind=mistake
    """
    from lessons import interop
    from lessons.errors import UsageError

    if ignore_unmapped and keep_unmapped:
        raise UsageError("--ignore-unmapped and --keep-unmapped contradict each other")
    if write_mapping and not dry_run:
        raise UsageError(
            "--write-mapping writes a mapping file instead of importing: add --dry-run",
            hint=f"lessons import {file} --dry-run --write-mapping {write_mapping}",
        )
    kb, _ = synced_kb()
    schema = kb.config.schema
    loaded = interop.load_mapping(mapping) if mapping else None
    all_maps = [*(loaded.maps if loaded else []), *(maps or [])]
    all_values = [*(loaded.value_maps if loaded else []), *(value_maps or [])]
    all_defaults = [*(loaded.defaults if loaded else []), *(defaults or [])]
    unmapped = "ignore" if ignore_unmapped else "keep" if keep_unmapped else None
    parsed_maps = interop.parse_maps(all_maps, schema)
    read_options = interop.ReadOptions(
        raw_csv=raw_csv,
        sheet=sheet or (loaded.sheet if loaded else None),
        header_row=header_row or (loaded.header_row if loaded else None),
        records=records or (loaded.records if loaded else None),
        header_names=frozenset(p for spec in parsed_maps for p in spec.split("|")),
    )
    pivot = tuple(c.strip() for c in unpivot.split(",") if c.strip()) if unpivot else ()
    options = interop.ImportOptions(
        maps=parsed_maps,
        defaults=interop.parse_defaults(all_defaults, schema),
        value_maps=interop.parse_value_maps(all_values, schema),
        on_duplicate=on_duplicate or (loaded.on_duplicate if loaded else None) or "fail",
        dayfirst=dayfirst if dayfirst is not None else (loaded.dayfirst if loaded else None),
        unmapped=unmapped or (loaded.unmapped if loaded else None) or "error",
        split=split or (loaded.split if loaded else None) or "auto",
        unpivot=pivot or tuple(loaded.unpivot if loaded else ()),
    )
    options.tz, options.tz_name = interop.zone(kb.config.timezone)
    source_fmt = interop.format_of(file, fmt, interop.FORMATS_IN)
    stdin = typer.get_binary_stream("stdin").read() if file == "-" else None
    source = interop.open_source(file, source_fmt, read_options, stdin)
    if write_mapping:
        # A starting file: unknown columns are written with suggestions, not refused.
        options.unmapped = "ignore"
    with import_progress(len(source.rows)) as progress:
        options.progress = progress.planned if progress else None
        plan = interop.plan_import(kb, source, options)
        if write_mapping:
            shown = {
                "sheet": read_options.sheet,
                "header_row": read_options.header_row,
                "records": read_options.records,
                "unpivot": options.unpivot,
            }
            interop.write_mapping(write_mapping, plan, source, schema, shown)
            write_err(
                f"wrote {write_mapping}: edit it, then lessons import {file} "
                f"--mapping {write_mapping} --dry-run"
            )
            return
        for note in plan.notes:
            write_err(f"warning: {note}")
        if plan.conflicts:
            _report_invalid(plan)
            raise interop.conflict_error(plan, dry_run=dry_run)
        if dry_run:
            lines = interop.dry_run_lines(plan)
            if lines:
                emit("\n".join(lines) + "\n", None)  # made safe: the lines quote rows
            first = interop.first_records(plan, schema)
            if first:
                emit(first, None)
            _report_invalid(plan)
            write_err(_summary(plan, len(plan.new), len(plan.updates), [], dry_run=True))
        else:
            indexing = progress.indexing if progress else None
            result = interop.apply_import(
                kb, plan, progress.written if progress else None, indexing
            )
            _report_invalid(plan, result.failed)
            write_err(_summary(plan, result.written, result.updated, result.failed, dry_run=False))
    if plan.invalid or (not dry_run and result.failed):
        raise typer.Exit(2)


class _Progress:
    """One bar for a long import: rows planned, then records written, then indexed."""

    def __init__(self, bar: Any, total: int) -> None:
        self.bar, self.total = bar, total
        self.task = bar.add_task("Reading", total=total, read=0, written=0, invalid=0)
        self.invalid = 0

    def planned(self, done: int, total: int, invalid: int) -> None:
        self.invalid = invalid
        self.bar.update(self.task, completed=done, total=total, read=done, invalid=invalid)

    def written(self, done: int, total: int) -> None:
        self.bar.update(self.task, description="Writing", completed=done, total=total, written=done)

    def indexing(self, done: int, total: int) -> None:
        self.bar.update(self.task, description="Indexing", completed=done, total=total)


@contextlib.contextmanager
def import_progress(rows: int) -> Iterator[_Progress | None]:
    """A progress bar on a terminal for an import of many rows; None otherwise."""
    import sys

    if rows < PROGRESS_FROM or not is_tty(sys.stderr):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "read {task.fields[read]:,} · written {task.fields[written]:,} · "
            "invalid {task.fields[invalid]:,}"
        ),
        console=console(stderr=True),
        transient=True,
    )
    bar.start()
    try:
        yield _Progress(bar, rows)
    finally:
        bar.stop()


# Up to this many rows whose only problem is an unmapped value are listed one by one;
# more are listed by value, each with the ranges of rows it is in.
LIST_VALUE_ROWS = 10


def _report_invalid(plan: Any, failed: list[Any] | None = None) -> None:
    from lessons.interop import ranges, suggest_value

    problems = plan.invalid + (failed or [])
    if not problems:
        return
    only_value = [p for p in plan.invalid if _only_value_error(p, plan)]
    grouped = {p.where for p in only_value} if len(only_value) > LIST_VALUE_ROWS else set()
    n = len(problems)
    write_err(f"error: {n:,} row{'s' if n != 1 else ''} not imported:")
    for problem in problems:
        if problem.where not in grouped:
            write_err(f"  {problem.where}: {problem.message}")
    for key, value, wheres, options in plan.value_errors:
        rows = [w for w in wheres if w in grouped]
        if rows:
            k = len(rows)
            write_err(
                f"  {ranges(rows)} ({k:,} row{'s' if k != 1 else ''}): '{key}' is '{value}', "
                f"not one of {', '.join(options)}"
            )
    _hint_missing_keys(problems, plan.unit, plan.rows)
    if not plan.value_errors:
        return
    for key in dict.fromkeys(k for k, _, _, _ in plan.value_errors):
        write_err(f"the values of '{key}' in {plan.source}: " + _values_with_counts(plan, key))
    typed = []
    for key, value, _, options in plan.value_errors:
        target = suggest_value(key, value, options) or "|".join(options)
        typed.append(f"--map-value '{key}:{value}={target}'")
    shown = " ".join(typed[:6]) + (" …" if len(typed) > 6 else "")
    write_err(
        f"hint: map each value that is not ours: {shown}; or write them all into a file with "
        "--dry-run --write-mapping FILE, edit it, and import with --mapping FILE"
    )


_MISSING = re.compile(r"missing required key '([a-z_]+)'")


def _hint_missing_keys(problems: list[Any], unit: str, rows: int) -> None:
    """One hint per required key that most rows lack: the source has no such column
    (rather than a few rows being incomplete, which their own messages say)."""
    missing: dict[str, int] = {}
    for problem in problems:
        for key in _MISSING.findall(problem.message):
            missing[key] = missing.get(key, 0) + 1
    for key, n in missing.items():
        if n < 2 or 2 * n < rows:
            continue
        example = {"kind": "mistake", "date": "YYYY-MM-DD"}.get(key, "TEXT")
        write_err(
            f"hint: {n:,} {unit}{'s' if n != 1 else ''} had no '{key}': map a column to it "
            f"(--map 'COLUMN={key}') or give every {unit} one (--default {key}={example})"
        )


def _values_with_counts(plan: Any, key: str) -> str:
    from lessons.interop.mapping import value_key

    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for value, n in plan.seen_values.get(key, {}).items():
        k = value_key(value)
        first.setdefault(k, value)
        counts[k] = counts.get(k, 0) + n
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    listed = ", ".join(f"'{first[k]}' ({n})" for k, n in ordered[:20])
    return listed + (f", … ({len(ordered) - 20} more)" if len(ordered) > 20 else "")


def _only_value_error(problem: Any, plan: Any) -> bool:
    """Whether every error of a row is an unmapped choice value."""
    keys = {key for key, _, wheres, _ in plan.value_errors if problem.where in wheres}
    if not keys:
        return False
    parts = [p.strip() for p in problem.message.split("; ")]
    return all(any(p.startswith(f"'{k}' must be one of ") for k in keys) for p in parts)


def _summary(plan: Any, written: int, updated: int, failed: list[Any], *, dry_run: bool) -> str:
    invalid = len(plan.invalid) + len(failed)
    skipped = len(plan.skipped)
    total = written + updated + len(plan.unchanged) + skipped + invalid + plan.blank
    total += len(plan.conflicts)
    if plan.source_rows is not None:
        cards = total - plan.blank
        read = f"{plan.source_rows:,} rows read, holding {cards:,} card{'s' if cards != 1 else ''}"
    else:
        read = f"{total:,} {plan.unit}{'s' if total != 1 else ''} read"
    if dry_run:
        head = f"would import {_records(written + updated)} from {plan.source}"
        counts = f"write {written:,}, update {updated:,}, skip {skipped:,}, invalid {invalid:,}"
    else:
        head = f"imported {_records(written + updated)} from {plan.source}"
        counts = (
            f"written {written:,}, updated {updated:,}, skipped {skipped:,}, invalid {invalid:,}"
        )
    if plan.unchanged:
        counts += f", unchanged {len(plan.unchanged):,}"
    if plan.blank:
        counts += f", blank rows {plan.blank:,}"
    return f"{head} ({counts}; {read})" + ("; nothing was written (--dry-run)" if dry_run else "")


def _records(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


@app.command()
@with_filters
def export(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="json, jsonl, csv, md or yaml (default: from -o, else json)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Only records with visibility: public.")
    ] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV cells as they are: no ' before a cell a spreadsheet would run as a formula.",
        ),
    ] = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Write the filtered records as JSON, JSONL, CSV, Markdown or YAML.

    Every format but md reads back with `lessons import` into the same records.
    Exit 1 when no record matches.

    Example: lessons export --tag twitter --public --format csv -o twitter.csv
    """

    from lessons import interop
    from lessons.errors import NoMatchError

    if fmt is None and output is not None:
        out_fmt = interop.format_of(str(output), None, interop.FORMATS_OUT)
    else:
        out_fmt = interop.format_of("-", fmt or "json", interop.FORMATS_OUT)
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    records = kb.store.records(filters, sort="id")
    if public:
        records = interop.public_only(records)
    text = interop.export_text(records, out_fmt, kb.config.schema, kb.config.name, raw_csv=raw_csv)
    emit(text, output, exact=True)  # data: exact when piped, made safe on a terminal
    write_err(f"exported {_records(len(records))}" + (f" to {output}" if output else ""))
    if not records:
        what = [filters.describe()] if not filters.is_empty() else []
        what += ["--public"] if public else []
        raise NoMatchError(
            "no records" + (f" with {' '.join(what)}" if what else ""),
            hint="loosen the filters" if what else "the knowledge base is empty",
        )
