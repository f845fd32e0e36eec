"""Commands about the knowledge base as a whole: init, index, check, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import JsonOpt, open_kb, synced_kb
from lessons.cli.render import Doc, print_json, progress_bar, report_skipped


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
) -> None:
    """Bring the index up to date with the files and say what changed.

    Every command does this quietly first; this one reports it:
    +N added  ~N changed  -N removed. With --db postgresql://… it publishes this
    knowledge base into the shared index. Example: lessons index --rebuild
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
    write_err(f"+{report.added} added  ~{report.changed} changed  -{report.removed} removed")
    if report.withheld:
        write_err(f"{report.withheld} records not published: they are not visibility: public")
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
    """Counts of records by kind, tag, campaign, team and month.

    Example: lessons stats --json
    """
    kb, _ = synced_kb()
    store = kb.store
    data = {
        "total": store.count(),
        "kind": dict(store.counts("kind")),
        "impact": dict(store.counts("impact")),
        "tag": dict(store.tag_counts()),
        "campaign": dict(store.counts("campaign")),
        "team": dict(store.counts("team")),
        "month": dict(sorted(store.counts("month"))),
    }
    if json_out:
        print_json(data)
        return
    doc = Doc()
    doc.line((f"{data['total']} records", "bold"))
    for key in ("kind", "impact", "tag", "campaign", "team", "month"):
        counts = data[key]
        assert isinstance(counts, dict)
        if not counts:
            continue
        doc.blank()
        doc.line((f"by {key}", "bold"))
        shown = list(counts.items())
        limit = 15 if key == "tag" else len(shown)
        width = max(len(str(k)) for k, _ in shown[:limit])
        for name, n in shown[:limit]:
            doc.line(f"  {str(name).ljust(width)}  ", (f"{n:>5}", "cyan"))
        if len(shown) > limit:
            doc.line(f"  … {len(shown) - limit} more (lessons tag list)")
    doc.print()
