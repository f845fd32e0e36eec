"""Commands about the knowledge base as a whole: init, index, check, stats."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lessons.cli.app import STATE, app, write_err
from lessons.cli.common import JsonOpt, open_kb, synced_kb
from lessons.cli.render import (
    Column,
    Doc,
    is_tty,
    layout,
    print_json,
    progress_bar,
    report_skipped,
)
from lessons.cli.terminal import terminal


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to make a knowledge base of.")] = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="Its name in lessons.yaml.")] = None,
) -> None:
    """Create lessons.yaml, entries/ and a .gitignore for the index.

    Existing files are left as they are. PATH may not be a file, nor inside the
    entries/ folder of another knowledge base (exit 2). Example: lessons init my-kb
    """
    from lessons.kb import enclosing_kb, init_kb

    created = init_kb(path, name)
    for item in created:
        write_err(f"created {item}")
    if not created:
        write_err(f"{path} is already a knowledge base; nothing changed")
    outer = enclosing_kb(path)
    if outer is not None and created:
        write_err(
            f"note: {path} is inside the knowledge base at {outer}; commands run in {path} "
            "now use the new one (--kb chooses)"
        )


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start the index over.")] = False,
    json_out: JsonOpt = False,
    public_only: Annotated[
        bool | None,
        typer.Option(
            "--public-only/--no-public-only",
            help="Shared index: publish only visibility: public records (remembered).",
        ),
    ] = None,
    drop: Annotated[
        bool, typer.Option("--drop", help="Shared index: remove this knowledge base from it.")
    ] = False,
    words_only: Annotated[
        bool,
        typer.Option(
            "--words-only", help="Bring the words up to date and stop: vectors are left for later."
        ),
    ] = False,
) -> None:
    """Bring the index up to date with the files and say what changed.

    Every command does this quietly first; this one reports it:
    +N added  ~N changed  -N removed (--json: the counts and the files skipped
    as invalid). Then it gives every new or changed record a vector for semantic
    search (interrupted, it keeps what it did; searches use what is there;
    --words-only leaves it for the next run). With --db postgresql://… it
    publishes this knowledge base into the shared index.
    Example: lessons index --rebuild
    """
    kb = open_kb()
    if drop:
        gone = kb.drop()
        write_err(f"-{gone} removed: '{kb.home}' is no longer in the shared index")
        return
    with progress_bar("Indexing") as progress:
        if rebuild:
            report = kb.rebuild(progress, public_only=public_only)
        else:
            report = kb.sync(progress, allow_stale=False, publish=True, public_only=public_only)
    if not json_out:
        write_err(f"+{report.added} added  ~{report.changed} changed  -{report.removed} removed")
        if report.withheld:
            write_err(f"{report.withheld} records not published: they are not visibility: public")
    # The words are searchable from here on; the vectors follow (a transformer's minutes
    # for thousands of records: a job that only needs the words can leave them).
    embedded = reused = 0
    if not words_only:
        from lessons.search.semantic import update_vectors

        with progress_bar("Embedding") as progress:
            vectors = update_vectors(kb.store, progress=progress)
        embedded, reused = vectors.embedded, vectors.reused
    if json_out:
        print_json(
            {
                "added": report.added,
                "changed": report.changed,
                "removed": report.removed,
                "rebuilt": report.rebuilt,
                "records": kb.store.count(),
                "withheld": report.withheld,
                "embedded": embedded,
                "vectors_reused": reused,
                "skipped": [
                    {
                        "path": path,
                        "line": problem.get("line"),
                        "field": problem.get("field"),
                        "message": problem.get("message", ""),
                    }
                    for path, problem in report.skipped
                ],
            }
        )
        if report.skipped:
            STATE.skipped_files = True
        return
    if (embedded or reused) and is_tty(sys.stderr):
        # Like the progress bars, a terminal's: piped, the line above stays the only one.
        write_err(f"{embedded} records embedded, {reused} vectors reused")
    if kb.read_only:
        write_err(f"note: the knowledge base is read-only; the index is kept at {kb.db_url}")
    report_skipped(report)


@app.command()
def check(json_out: JsonOpt = False) -> None:
    """Validate every record: errors exit 2, warnings are shown but exit 0.

    Checks YAML syntax, keys, types, ids, duplicates, links and more (SPEC §6).
    Example: lessons check --json
    """
    from lessons.check import check as run_check

    result = run_check(open_kb())
    if json_out:
        print_json(
            {
                "errors": [f.as_dict() for f in result.errors],
                "warnings": [f.as_dict() for f in result.warnings],
            }
        )
    else:
        for label, findings in (("error", result.errors), ("warning", result.warnings)):
            for f in findings:
                where = f"{f.path}:{f.line}" if f.line else f.path
                field = f" [{f.field}]" if f.field else ""
                write_err(f"{where}: {label}{field}: {f.message}")
        write_err(
            f"{result.files} files, {result.records} records: "
            f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        )
    if result.errors:
        raise typer.Exit(2)


@app.command()
def stats(json_out: JsonOpt = False) -> None:
    """Counts of records by kind, impact, tag, campaign, team and month.

    Campaign and team values that differ only in letter case or spacing count
    as one, under their most common spelling. Example: lessons stats --json
    """
    kb, _ = synced_kb()
    store = kb.store
    data = {
        "total": store.count(),
        "kind": dict(store.counts("kind")),
        "impact": dict(store.counts("impact")),
        "tag": dict(store.tag_counts()),
        "campaign": merged_counts(store.counts("campaign")),
        "team": merged_counts(store.counts("team")),
        "month": dict(sorted(store.counts("month"))),
    }
    if json_out:
        print_json(data)
        return
    doc = Doc()
    doc.line((f"{data['total']} records", "bold"))
    term = terminal()
    width = term.width - 2 if term.tty else 10**6  # piped: nothing is shortened
    for key in ("kind", "impact", "tag", "campaign", "team", "month"):
        counts = data[key]
        assert isinstance(counts, dict)
        if not counts:
            continue
        doc.blank()
        doc.line((f"by {key}", "bold"))
        shown = list(counts.items())
        limit = 15 if key == "tag" else len(shown)
        rows = [(str(name), str(n)) for name, n in shown[:limit]]
        lines = list(layout(STATS_COLUMNS, rows, width))
        # No header (the section's title says what it counts), indented under it.
        doc.extend([[("  ", ""), *line] for line in lines[1:]])
        if len(shown) > limit:
            doc.line(f"  … {len(shown) - limit} more (lessons tag list)")
    doc.print()


STATS_COLUMNS = (
    Column("value", cut=1, min=16),
    Column("records", "cyan", right=True),
)


def merged_counts(counts: list[tuple[str, int]]) -> dict[str, int]:
    """Counts of values that differ only in case or spacing added up, each under its
    most common spelling, most frequent first."""
    from lessons.filters import value_key

    spelling: dict[str, str] = {}
    totals: dict[str, int] = {}
    for value, n in counts:  # most frequent first: the first spelling seen is the usual one
        key = value_key(value)
        spelling.setdefault(key, value)
        totals[key] = totals.get(key, 0) + n
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], spelling[kv[0]]))
    return {spelling[key]: n for key, n in ranked}
