"""Bringing records in and taking them out: import and export (SPEC §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import build_filters, synced_kb, with_filters
from lessons.cli.render import emit, progress_bar

MAX_SHOWN_NOTES = 10


@app.command("import")
def import_(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="CSV, JSON, JSONL or YAML; - reads stdin.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, json, jsonl or yaml (default: from FILE)."),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="SRC=DEST",
            help="Read column SRC as record key DEST; SRC= leaves it out. Repeatable.",
        ),
    ] = None,
    defaults: Annotated[
        list[str] | None,
        typer.Option(
            "--default", metavar="KEY=VALUE", help="Fill KEY where the source lacks it. Repeatable."
        ),
    ] = None,
    on_duplicate: Annotated[
        str,
        typer.Option(
            "--on-duplicate", help="For ids that exist: fail (write nothing), skip or update."
        ),
    ] = "fail",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing; list what each row would do.")
    ] = False,
    dayfirst: Annotated[
        bool | None,
        typer.Option(
            "--dayfirst/--monthfirst",
            help="How to read dates like 03/04/2024 (default: as the file shows, else day first).",
        ),
    ] = None,
) -> None:
    """Bring records in from a CSV, JSON, JSONL or YAML file, one YAML file per record.

    Columns match record keys whatever their case and spacing. Invalid rows are
    reported with their line and not written; the others are. Exit 2 when any
    row was invalid or an id already exists (with --on-duplicate fail).

    Example: lessons import lessons.csv --map "Lesson Learned=lesson" --default kind=mistake
    """
    from lessons import interop

    kb, _ = synced_kb()
    schema = kb.config.schema
    options = interop.ImportOptions(
        maps=interop.parse_maps(maps or [], schema),
        defaults=interop.parse_defaults(defaults or [], schema),
        on_duplicate=on_duplicate,
        dayfirst=dayfirst,
    )
    source_fmt = interop.format_of(file, fmt, interop.FORMATS_IN)
    if file == "-":
        data, shown = typer.get_binary_stream("stdin").read(), "<stdin>"
    else:
        data, shown = interop.read_input(file), file
    source = interop.read_source(data, shown, source_fmt)
    plan = interop.plan_import(kb, source, options)

    for note in plan.notes:
        write_err(f"warning: {note}")
    if plan.conflicts:
        _report_invalid(plan.invalid)
        raise interop.conflict_error(plan, dry_run=dry_run)

    if dry_run:
        lines = interop.dry_run_lines(plan)
        if lines:
            emit("\n".join(lines) + "\n", None)  # made safe: the lines quote the rows
        _report_invalid(plan.invalid)
        write_err(_summary(plan, len(plan.new), len(plan.updates), [], dry_run=True))
    else:
        with progress_bar("Importing") as progress, progress_bar("Indexing") as indexing:
            result = interop.apply_import(kb, plan, progress, indexing)
        _report_invalid(plan.invalid + result.failed)
        write_err(_summary(plan, result.written, result.updated, result.failed, dry_run=False))
    if plan.invalid or (not dry_run and result.failed):
        raise typer.Exit(2)


def _report_invalid(problems: list[Any]) -> None:
    if not problems:
        return
    n = len(problems)
    write_err(f"error: {n:,} row{'s' if n != 1 else ''} not imported:")
    for problem in problems:
        write_err(f"  {problem.where}: {problem.message}")


def _summary(plan: Any, written: int, updated: int, failed: list[Any], *, dry_run: bool) -> str:
    invalid = len(plan.invalid) + len(failed)
    skipped = len(plan.skipped)
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
    return f"{head} ({counts})" + ("; nothing was written (--dry-run)" if dry_run else "")


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
    text = interop.export_text(records, out_fmt, kb.config.schema, kb.config.name)
    emit(text, output, exact=True)  # data: exact when piped, made safe on a terminal
    write_err(f"exported {_records(len(records))}" + (f" to {output}" if output else ""))
    if not records:
        what = [filters.describe()] if not filters.is_empty() else []
        what += ["--public"] if public else []
        raise NoMatchError(
            "no records" + (f" with {' '.join(what)}" if what else ""),
            hint="loosen the filters" if what else "the knowledge base is empty",
        )
