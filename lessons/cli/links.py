"""Cross-links: link, unlink, related (and --recurring), graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.choices import choose, expand
from lessons.cli.common import IdArg, JsonOpt, LimitOpt, build_filters, synced_kb, with_filters
from lessons.cli.completion import complete_from, complete_ids, complete_relations, offer
from lessons.cli.render import Column, Doc, emit, print_json, table
from lessons.model import RELATIONS

_RELS = ", ".join(RELATIONS)
OtherArg = Annotated[
    str,
    typer.Argument(
        metavar="OTHER",
        help="The id (or prefix, or file) linked to.",
        autocompletion=offer(complete_ids),
    ),
]
RELATED_COLUMNS = (
    Column("score", "bold", right=True),
    Column("id", "bold", own_line=True),
    Column("kind"),
    Column("date", "dim"),
    Column("title", cut=1, min=24),
    Column("why", "dim", cut=2, min=16, alone=True),
)
GRAPH_FORMATS = ("dot", "mermaid", "json")
# -o FILE's suffix: the format written, and for images the Graphviz output type.
GRAPH_SUFFIXES = {
    ".dot": ("dot", None),
    ".gv": ("dot", None),
    ".mmd": ("mermaid", None),
    ".mermaid": ("mermaid", None),
    ".json": ("json", None),
    ".svg": ("dot", "svg"),
    ".png": ("dot", "png"),
    ".pdf": ("dot", "pdf"),
}


@app.command()
def link(
    ref: IdArg,
    other: OtherArg,
    rel: Annotated[
        str,
        typer.Option(
            "--rel", "-r", help=f"The relation: {_RELS}.", autocompletion=offer(complete_relations)
        ),
    ] = "relates-to",
    note: Annotated[str | None, typer.Option("--note", help="Why they are linked.")] = None,
) -> None:
    """Link record ID to OTHER with a typed relation (written into ID's file).

    OTHER shows the link as a backlink under the inverse name (caused-by ->
    caused, repeats -> repeated-by, ...). Example:
    lessons link 2012-09-apologise 2012-09-hashtags --rel caused-by
    """
    from lessons.links import add_link

    rel = str(expand(rel, RELATIONS))
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
        str | None,
        typer.Option(
            "--rel",
            "-r",
            help="Only the link of this relation.",
            autocompletion=offer(complete_relations),
        ),
    ] = None,
) -> None:
    """Remove the links from record ID to OTHER (of every relation, or only --rel).

    OTHER may be a record that no longer exists. Example:
    lessons unlink 2012-09-apologise 2012-09-hashtags --rel caused-by
    """
    from lessons.links import remove_links

    rel = expand(rel, RELATIONS)
    kb, _ = synced_kb()
    edit = remove_links(kb, ref, other, rel)
    for lk in edit.links:
        write_err(f"unlinked {edit.src} --{lk['rel']}--> {edit.dst}  ({edit.path})")


@app.command()
@with_filters
def related(
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="An id, prefix or file (optional with --recurring).",
            autocompletion=offer(complete_ids),
        ),
    ] = None,
    recurring: Annotated[
        bool,
        typer.Option(
            "--recurring",
            help="Mistakes that happened again: linked by 'repeats', and unlinked look-alikes"
            " (in words or meaning) from other campaigns or dates. The filters select the"
            " later mistake.",
        ),
    ] = False,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            min=0.0,
            max=1.0,
            help="With --recurring: similarity in words and meaning (0.5).",
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
            RELATED_COLUMNS,
            [
                (f"{r.score:.2f}", r.id, r.kind, r.date or "", r.title, "; ".join(r.reasons))
                for r in results
            ],
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
        out = {"total": len(found), "results": [r.as_dict() for r in shown]}
        if found.without_vectors:
            out["without_vectors"] = found.without_vectors
        print_json(out)
    else:
        doc = Doc()
        for r in shown:
            how = "linked (repeats)" if r.linked else "candidate"
            if not r.linked and r.score > r.text_similarity:
                how += ", closer in meaning than in words"
            words = ", ".join(r.shared_words)
            doc.line((f"{r.score:.2f}", "bold"), f"  {how}", (f"  {words}", "dim"))
            for label, side in (("later  ", r.later), ("earlier", r.earlier)):
                doc.line(
                    f"  {label} ",
                    (side["id"], "bold"),
                    (f"  {side['date'] or ''}", "dim"),
                    f"  {side['title']}",
                    cut=True,
                )
        if shown:
            doc.print()
        if len(found) > len(shown):
            write_err(f"{len(shown)} of {len(found)} shown (--limit)")
    if found.without_vectors:
        write_err(
            f"meaning was compared for {found.with_vectors} of {found.mistakes} mistakes,"
            " the others by their words alone; `lessons index` gives them vectors"
        )
    if not found:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(
            f"no recurring mistakes found{what}",
            hint=f"--min-score lowers the similarity it takes (now {threshold})",
        )


@app.command()
@with_filters
def graph(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="dot (Graphviz), mermaid or json [default: from -o's suffix, else dot].",
            autocompletion=complete_from(GRAPH_FORMATS),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to FILE instead of stdout: .dot, .mmd, .json, or .svg, .png, .pdf"
            " (drawn by Graphviz's dot).",
        ),
    ] = None,
    connected: Annotated[
        bool, typer.Option("--connected", help="Leave out records that have no links.")
    ] = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """The link graph of the selected records (and the other ends of their links).

    Examples: lessons graph -o graph.svg;  lessons graph | dot -Tsvg > graph.svg;
    lessons graph --format mermaid --campaign "Digital Futures 2012" -o graph.mmd
    """
    from lessons.errors import NoMatchError
    from lessons.links import graph as build_graph
    from lessons.links import to_dot, to_mermaid

    fmt, image = _graph_format(fmt, output)
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    g = build_graph(kb, filters, connected=connected)
    if not g.nodes:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(f"no records{what}")
    text = {"dot": to_dot, "mermaid": to_mermaid, "json": _json}[fmt](g)
    if image is not None and output is not None:
        _draw(text, image, output)
    elif fmt == "json" and output is None:
        print_json(g.as_dict())
    else:
        emit(text, output)
    if output is not None:
        write_err(f"wrote {len(g.nodes)} nodes and {len(g.edges)} edges to {output}")


def _json(g: Any) -> str:
    import json

    return json.dumps(g.as_dict(), ensure_ascii=False, indent=2) + "\n"


def _graph_format(fmt: str | None, output: Path | None) -> tuple[str, str | None]:
    """The text format to make, and the image type Graphviz draws from it (if any)."""
    from lessons.errors import UsageError

    if fmt is not None:
        fmt = choose(fmt, GRAPH_FORMATS, "--format")
    if output is None:
        return fmt or "dot", None
    suffix = output.suffix.lower()
    if suffix not in GRAPH_SUFFIXES:
        if fmt is not None:
            return fmt, None
        raise UsageError(
            f"cannot tell the format from the name {output}",
            hint="name it .dot, .mmd, .json, .svg, .png or .pdf, or add --format",
        )
    made, image = GRAPH_SUFFIXES[suffix]
    if fmt is not None and fmt != made:
        raise UsageError(f"--format {fmt} does not make a {suffix} file")
    return made, image


def _draw(dot_text: str, image: str, output: Path) -> None:
    """Have Graphviz's ``dot`` draw the graph into ``output`` (written whole or not at all)."""
    import shutil
    import subprocess

    from lessons.errors import UsageError

    dot = shutil.which("dot")
    if dot is None:
        raise UsageError(
            f"writing {output} needs Graphviz's `dot` program, which is not installed",
            hint="install Graphviz (apt install graphviz, brew install graphviz), or write"
            " the graph as .dot, .mmd or .json",
        )
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(
            dir=output.parent or ".", prefix=f".{output.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    os.close(fd)
    try:
        done = subprocess.run(
            [dot, f"-T{image}", "-o", tmp],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UsageError(
                f"Graphviz could not draw {output}" + (f": {reason[0]}" if reason else "")
            )
        # mkstemp made it private; an image gets the mode any new file gets.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
