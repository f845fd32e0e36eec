"""Cross-links: link, unlink, related (and --recurring), graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import JsonOpt, LimitOpt, build_filters, synced_kb, with_filters
from lessons.cli.render import Doc, emit, print_json, table
from lessons.model import RELATIONS

_RELS = ", ".join(RELATIONS)
IdArg = Annotated[str, typer.Argument(metavar="ID", help="An id or a unique prefix of one.")]
OtherArg = Annotated[str, typer.Argument(metavar="OTHER", help="The id (or prefix) linked to.")]


@app.command()
def link(
    ref: IdArg,
    other: OtherArg,
    rel: Annotated[str, typer.Option("--rel", "-r", help=f"The relation: {_RELS}.")] = (
        "relates-to"
    ),
    note: Annotated[str | None, typer.Option("--note", help="Why they are linked.")] = None,
) -> None:
    """Link record ID to OTHER with a typed relation (written into ID's file).

    OTHER shows the link as a backlink under the inverse name (caused-by ->
    caused, repeats -> repeated-by, ...). Example:
    lessons link 2012-09-apologise 2012-09-hashtags --rel caused-by
    """
    from lessons.links import add_link

    kb, _ = synced_kb()
    edit = add_link(kb, ref, other, rel, note)
    write_err(f"linked {edit.src} --{rel}--> {edit.dst}  ({edit.path})")
    for warning in edit.warnings:
        write_err(f"warning: {warning}")


@app.command()
def unlink(
    ref: IdArg,
    other: OtherArg,
    rel: Annotated[
        str | None, typer.Option("--rel", "-r", help="Only the link of this relation.")
    ] = None,
) -> None:
    """Remove the links from record ID to OTHER (of every relation, or only --rel).

    OTHER may be a record that no longer exists. Example:
    lessons unlink 2012-09-apologise 2012-09-hashtags --rel caused-by
    """
    from lessons.links import remove_links

    kb, _ = synced_kb()
    edit = remove_links(kb, ref, other, rel)
    for lk in edit.links:
        write_err(f"unlinked {edit.src} --{lk['rel']}--> {edit.dst}  ({edit.path})")


@app.command()
@with_filters
def related(
    ref: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="An id or prefix (optional with --recurring)."),
    ] = None,
    recurring: Annotated[
        bool,
        typer.Option(
            "--recurring",
            help="Mistakes that happened again: linked by 'repeats', and unlinked look-alikes"
            " from other campaigns or dates. The filters select the later mistake.",
        ),
    ] = False,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score", min=0.0, max=1.0, help="With --recurring: text similarity (0.5)."
        ),
    ] = None,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Records similar to ID that are not linked to it yet, best first, with the reasons.

    Text similarity over title, tags, lesson and summary; shared tags and campaign
    count too. Exit 1 when nothing is similar. Examples:
    lessons related 2012-09-hashtags;  lessons related --recurring --since 2024
    """
    from lessons.errors import NoMatchError, UsageError

    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    if recurring:
        _recurring(kb, filters, ref, min_score, limit or 20, json_out)
        return
    if ref is None:
        raise UsageError("which record? give an ID", hint="or use --recurring")
    if min_score is not None:
        raise UsageError("--min-score goes with --recurring")
    from lessons.links import related as find_related

    rid = kb.resolve(ref)
    results = find_related(kb, rid, limit=limit or 10, filters=filters)
    if json_out:
        print_json({"id": rid, "results": [r.as_dict() for r in results]})
    else:
        table(
            ("score", "id", "kind", "date", "title", "why"),
            [
                (f"{r.score:.2f}", r.id, r.kind, r.date or "", r.title, "; ".join(r.reasons))
                for r in results
            ],
            ("bold", "bold", "", "dim", "", "dim"),
        )
    if not results:
        raise NoMatchError(f"nothing similar to '{rid}' that is not linked to it already")


def _recurring(
    kb: Any, filters: Any, ref: str | None, min_score: float | None, limit: int, json_out: bool
) -> None:
    from lessons.errors import NoMatchError
    from lessons.links import RECURRENCE_SCORE, recurrence

    threshold = RECURRENCE_SCORE if min_score is None else min_score
    found = recurrence(kb, filters, record=ref, min_score=threshold)
    shown = found[:limit]
    if json_out:
        print_json({"total": len(found), "results": [r.as_dict() for r in shown]})
    else:
        doc = Doc()
        for r in shown:
            how = "linked (repeats)" if r.linked else "candidate"
            words = ", ".join(r.shared_words)
            doc.line((f"{r.score:.2f}", "bold"), f"  {how}", (f"  {words}", "dim"))
            for label, side in (("later  ", r.later), ("earlier", r.earlier)):
                doc.line(
                    f"  {label} ",
                    (side["id"], "bold"),
                    (f"  {side['date'] or ''}", "dim"),
                    f"  {side['title']}",
                )
        if shown:
            doc.print()
        if len(found) > len(shown):
            write_err(f"{len(shown)} of {len(found)} shown (--limit)")
    if not found:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(
            f"no recurring mistakes found{what}",
            hint=f"--min-score lowers the text similarity it takes (now {threshold})",
        )


@app.command()
@with_filters
def graph(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="dot (Graphviz), mermaid or json.")
    ] = "dot",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    connected: Annotated[
        bool, typer.Option("--connected", help="Leave out records that have no links.")
    ] = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """The link graph of the selected records (and the other ends of their links).

    Examples: lessons graph | dot -Tsvg > graph.svg;
    lessons graph --format mermaid --campaign "Digital Futures 2012" -o graph.mmd
    """
    import json

    from lessons.errors import NoMatchError, UsageError
    from lessons.links import graph as build_graph
    from lessons.links import to_dot, to_mermaid

    renderers = {
        "dot": to_dot,
        "mermaid": to_mermaid,
        "json": lambda g: json.dumps(g.as_dict(), ensure_ascii=False, indent=2) + "\n",
    }
    if fmt not in renderers:
        from lessons.model import did_you_mean

        raise UsageError(
            f"--format must be one of {', '.join(renderers)}, not '{fmt}'"
            + did_you_mean(fmt, renderers)
        )
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    g = build_graph(kb, filters, connected=connected)
    if not g.nodes:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(f"no records{what}")
    emit(renderers[fmt](g), output)
    if output is not None:
        write_err(f"wrote {len(g.nodes)} nodes and {len(g.edges)} edges to {output}")
