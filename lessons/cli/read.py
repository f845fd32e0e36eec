"""Reading records: list and show."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.choices import choose
from lessons.cli.common import (
    IdArg,
    IdsOpt,
    JsonOpt,
    LimitOpt,
    build_filters,
    synced_kb,
    with_filters,
)
from lessons.cli.completion import complete_from
from lessons.cli.render import KIND_STYLE, Column, Doc, print_ids, print_json, table
from lessons.model import RELATIONS, STANDARD_KEYS, today
from lessons.store.base import SORTS

LIST_COLUMNS = (
    Column("id", "bold", own_line=True),
    Column("kind"),
    Column("date", "dim"),
    Column("title", cut=1, min=24),
    Column("tags", "cyan", cut=2, min=14, items=True),
)


@app.command("list")
@with_filters
def list_(
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="date (newest first), title, impact or id.",
            autocompletion=complete_from(SORTS),
        ),
    ] = "date",
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    ids: IdsOpt = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """List records: id, kind, date, title, tags. Exit 1 when none match.

    On a terminal, a table as wide as the terminal (through the pager when it
    is long); piped, one tab-separated line per record. Example:
    lessons list --kind mistake --tag twitter --since 2012 --limit 20
    """
    from lessons.errors import NoMatchError

    sort = choose(sort, SORTS, "--sort")
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    total, rows = kb.store.select(filters, sort=sort, limit=limit)
    if json_out:
        # A shared index says which knowledge base each record is from.
        keys = ("id", "title", "kind", "date", "tags", "path", "kb")
        print_json({"total": total, "results": [{k: r[k] for k in keys if k in r} for r in rows]})
    elif ids:
        print_ids([r["id"] for r in rows])
    else:
        table(
            LIST_COLUMNS,
            [(r["id"], r["kind"], r["date"] or "", r["title"], ", ".join(r["tags"])) for r in rows],
        )
    if limit is not None and total > len(rows) and not json_out:
        write_err(f"{len(rows)} of {total} shown (--limit)")
    if not rows:
        what = f" with {filters.describe()}" if not filters.is_empty() else ""
        raise NoMatchError(
            f"no records{what}",
            hint="loosen the filters" if what else "add one with `lessons add`",
        )


@app.command()
def show(ref: IdArg, json_out: JsonOpt = False) -> None:
    """Show one record in full, with its links, backlinks and open actions.

    Example: lessons show 2012-09-hashtags (or lessons show entries/2012-09-hashtags.yaml)
    """
    kb, _ = synced_kb()
    rec = kb.get(ref)
    backlinks = kb.store.backlinks(rec["id"])
    if json_out:
        rec["backlinks"] = [
            {"from": b["from"], "rel": b["rel"], "as": RELATIONS[b["rel"]], "title": b["title"]}
            for b in backlinks
        ]
        print_json(rec)
        return
    titles = kb.store.titles(link["to"] for link in rec.get("links", []))
    render_record(rec, backlinks, titles).print()


def render_record(
    rec: dict[str, Any], backlinks: list[dict[str, Any]], titles: dict[str, str]
) -> Doc:
    """A record as a readable page."""
    doc = Doc()
    doc.line((rec["id"], "bold"))
    doc.line((rec["title"], "bold"))
    meta = [rec["kind"]]
    for key, label in (("date", ""), ("impact", "impact "), ("stage", "stage "), ("status", "")):
        if rec.get(key) and not (key == "status" and rec[key] == "final"):
            meta.append(f"{label}{rec[key]}")
    doc.line((" · ".join(meta), KIND_STYLE.get(rec["kind"], "")))
    who = [f"{k}: {rec[k]}" for k in ("campaign", "team") if rec.get(k)]
    if rec.get("authors"):
        who.append("by " + ", ".join(rec["authors"]))
    if who:
        doc.line(" · ".join(who))
    if rec.get("tags"):
        doc.line(("tags: ", "dim"), (", ".join(rec["tags"]), "cyan"))
    for key, label in (
        ("summary", "Summary"),
        ("lesson", "Lesson"),
        ("expected", "Expected"),
        ("why", "Why"),
        ("response", "Response"),
        ("evidence", "Evidence"),
    ):
        if rec.get(key):
            doc.blank()
            doc.line((label, "bold"))
            for para in rec[key].splitlines():
                doc.line("  " + para)
    if rec.get("recommendations"):
        doc.blank()
        doc.line(("Recommendations", "bold"))
        for item in rec["recommendations"]:
            doc.line("  - " + item)
    _links_section(doc, rec, backlinks, titles)
    actions = rec.get("actions") or []
    if actions:
        doc.blank()
        doc.line(("Actions", "bold"))
        now = today()
        for a in actions:
            box = {"open": "[ ]", "done": "[x]", "dropped": "[-]"}[a["status"]]
            extra = [a[k] for k in ("owner",) if a.get(k)]
            if a.get("due"):
                late = a["status"] == "open" and a["due"] < now
                extra.append(f"due {a['due']}" + (" (overdue)" if late else ""))
            style = "red" if a["status"] == "open" and a.get("due", "9") < now else ""
            doc.line(f"  {box} {a['do']}", ((f"  ({', '.join(extra)})" if extra else ""), style))
    custom = {k: v for k, v in rec.items() if k not in _SHOWN and v not in (None, [], "")}
    if rec.get("sources") or custom:
        doc.blank()
    for key, value in custom.items():
        doc.line((f"{key}: ", "dim"), _value_text(value))
    for src in rec.get("sources") or []:
        doc.line(("source: ", "dim"), src)
    kept = rec.get("extra")
    if isinstance(kept, dict) and kept:
        # Columns an import kept (--keep-unmapped): shown so that nothing kept is hidden.
        doc.blank()
        doc.line(("Extra (kept from the import)", "bold"))
        for key, value in kept.items():
            doc.line((f"  {key}: ", "dim"), _value_text(value), hang=4)
    doc.line(("file: ", "dim"), (rec.get("path", ""), "dim"))
    return doc


_SHOWN = STANDARD_KEYS | {"path"}


def _value_text(value: Any) -> str:
    """A custom or kept value on one line: a list's items joined by commas."""
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _links_section(
    doc: Doc, rec: dict[str, Any], backlinks: list[dict[str, Any]], titles: dict[str, str]
) -> None:
    groups: dict[str, list[tuple[str, str, str | None]]] = {}
    for link in rec.get("links") or []:
        title = titles.get(link["to"], "(missing record)")
        groups.setdefault(link["rel"], []).append((link["to"], title, link.get("note")))
    for back in backlinks:
        groups.setdefault(RELATIONS[back["rel"]], []).append(
            (back["from"], back["title"], back.get("note"))
        )
    if not groups:
        return
    doc.blank()
    doc.line(("Links", "bold"))
    for rel, items in groups.items():
        doc.line((f"  {rel}", "magenta"))
        for rid, title, note in items:
            style = "red" if title == "(missing record)" else ""
            doc.line(
                f"    {rid}  ", (title, style), ((f"  — {note}" if note else ""), "dim"), hang=6
            )
