"""Reports: retro and brief (SPEC §7); `actions` lives in cli/actions.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import build_filters, synced_kb, with_filters
from lessons.cli.render import KIND_STYLE, Doc, emit, is_tty, print_json

RETRO_FORMATS = ("terminal", "md", "html", "json")
BRIEF_FORMATS = ("terminal", "md", "json")
PLURAL = {"mistake": "mistakes", "success": "successes", "observation": "observations"}
# Bar characters per kind: the chart still reads without colour.
BAR_CHAR = {"mistake": "█", "success": "▓", "observation": "░"}


def _format(
    fmt: str | None, choices: tuple[str, ...], output: Path | None, template: Path | None
) -> str:
    """The output format: as asked, else from the template or -o's suffix, else terminal
    on a terminal and Markdown when piped."""
    from lessons.errors import UsageError
    from lessons.model import did_you_mean

    if fmt is not None:
        if fmt not in choices:
            raise UsageError(
                f"--format must be one of {', '.join(choices)}, not '{fmt}'"
                + did_you_mean(fmt, choices)
            )
        return fmt
    if template is not None:
        from lessons.reports import template_format

        return template_format(template)
    if output is not None:
        suffix = output.suffix.lower()
        if suffix in (".html", ".htm") and "html" in choices:
            return "html"
        if suffix == ".json":
            return "json"
        return "md"
    return "terminal" if is_tty() else "md"


def _emit(text: str, output: Path | None, what: str) -> None:
    """Write ``text`` to stdout, or atomically to ``output``."""
    emit(text, output)
    if output is not None:
        write_err(f"wrote {what} to {output}")


def _check_template(template: Path | None, fmt: str) -> None:
    from lessons.errors import NotFoundError, UsageError

    if template is None:
        return
    if fmt not in ("md", "html"):
        raise UsageError(f"--template goes with --format md or html, not {fmt}")
    if not template.is_file():
        raise NotFoundError(f"no such template file: {template}")


def _json_text(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --- retro -------------------------------------------------------------------------


@app.command()
@with_filters
def retro(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="terminal, md, html or json [default: terminal on a terminal, else md;"
            " with -o, from the file's suffix].",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout."),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            metavar="FILE",
            help="Render with your own Jinja2 template (it gets what --format json prints).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Items per list.")] = 20,
    *,
    filter_values: dict[str, Any],
) -> None:
    """A retrospective of the selected records: a campaign, a team, a period.

    Headline counts, what went well and wrong, themes against the previous
    period (--since/--until) or the rest of the knowledge base (--campaign,
    --team), recurring mistakes, lessons applied, merged recommendations, open
    actions and a timeline. Exit 1 when nothing is selected. Examples:
    lessons retro --campaign "Civil Service Reform Plan";
    lessons retro --since 2024-01 --until 2024-03 -o q1.html
    """
    from lessons.errors import UsageError
    from lessons.reports import render
    from lessons.reports.retro import build_retro

    fmt = _format(fmt, RETRO_FORMATS, output, template)
    _check_template(template, fmt)
    if output is not None and fmt == "terminal":
        raise UsageError("-o writes md, html or json", hint="add --format md, html or json")
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    data = build_retro(kb, filters, limit=limit).as_dict()
    if fmt == "terminal":
        print_retro(data)
        return
    if fmt == "json":
        text = _json_text(data)
    else:
        text = render(f"retro.{fmt}.j2", data, html=fmt == "html", template=template)
    _emit(text, output, f"the retrospective of {data['headline']['records']} records")


def print_retro(data: dict[str, Any]) -> None:
    """The retrospective on a terminal, laid out with rich."""
    from rich.table import Table
    from rich.text import Text

    from lessons.cli.render import console
    from lessons.reports import short

    out = console()
    head = data["headline"]
    acts = data["actions"]
    out.print(Text(data["title"], style="bold"))
    sub = [
        data["knowledge_base"],
        f"{head['records']} records",
        data["period"]["span"] or "",
        f"generated {data['generated']}",
    ]
    out.print(Text(" · ".join(s for s in sub if s), style="dim"))

    _rule(out, "At a glance")
    impacts = list(head["by_impact"])
    t = Table(box=None, pad_edge=False, header_style="bold")
    t.add_column("")
    for name in impacts:
        t.add_column(name, justify="right")
    t.add_column("total", justify="right", style="bold")
    for kind, row in head["by_kind_impact"].items():
        t.add_row(
            Text(PLURAL[kind], style=KIND_STYLE.get(kind, "")),
            *[str(row[i] or "·") for i in impacts],
            str(head["by_kind"][kind]),
        )
    t.add_row(
        Text("all", style="bold"),
        *[str(head["by_impact"][i] or "·") for i in impacts],
        str(head["records"]),
    )
    out.print(t)
    overdue = f" ({acts['overdue']} overdue)" if acts["overdue"] else ""
    out.print(
        Text(
            f"{head['campaigns']} campaigns · {head['teams']} teams · "
            f"{acts['open']} open actions{overdue}",
            style="dim",
        )
    )

    sections = (
        ("went_well", "What went well"),
        ("went_wrong", "What went wrong"),
        ("observed", "Also observed"),
    )
    for key, label in sections:
        section = data[key]
        if key == "observed" and not section["total"]:
            continue
        _rule(out, f"{label} ({section['total']})")
        rows = []
        for r in section["items"]:
            body = Text(r["title"], style="bold")
            meta = [r["impact"] or "not rated", r["date"] or "undated"]
            body.append("\n" + " · ".join(meta) + "  ", style="dim")
            body.append(r["id"], style="cyan")
            text = r["lesson"] or r["summary"]
            if text and key != "observed":
                body.append("\n" + short(text, 240), style="italic")
            rows.append(("•", body))
        _items(out, rows, "none in this selection")
        _more(out, section)

    _print_themes(out, data["themes"])
    _print_recurring(out, data["recurring"])
    _print_applied(out, data["applied"])

    recs = data["recommendations"]
    _rule(out, f"Recommendations ({recs['total']} made, {recs['distinct']} after merging)")
    rows = []
    for rec in recs["items"]:
        body = Text(rec["text"])
        shown = ", ".join(rec["records"][:3])
        if len(rec["records"]) > 3:
            shown += f" +{len(rec['records']) - 3}"
        body.append("  " + shown, style="cyan")
        rows.append((f"×{rec['count']}" if rec["count"] > 1 else "•", body))
    _items(out, rows, "none in this selection")
    if recs["distinct"] > len(recs["items"]):
        out.print(Text(f"… and {recs['distinct'] - len(recs['items'])} more", style="dim"))

    _rule(out, f"Open actions ({acts['open']}, {acts['overdue']} overdue)")
    if acts["owners"]:
        owners = "; ".join(
            f"{o['owner']} {o['open']}" + (f" ({o['overdue']} overdue)" if o["overdue"] else "")
            for o in acts["owners"]
        )
        out.print(Text("owners: " + owners, style="dim"))
    if acts["items"]:
        t = Table(box=None, pad_edge=False, header_style="bold", expand=True)
        t.add_column("due", no_wrap=True)
        t.add_column("owner", ratio=1)
        t.add_column("action", ratio=3)
        t.add_column("record", no_wrap=True, style="cyan")
        for a in acts["items"]:
            due = Text(a["due"] or "–", style="red bold" if a["overdue"] else "")
            if a["overdue"]:
                due.append(" overdue", style="red")
            t.add_row(due, a["owner"] or "–", a["do"], a["id"])
        out.print(t)
        if acts["open"] > len(acts["items"]):
            out.print(Text(f"… and {acts['open'] - len(acts['items'])} more", style="dim"))
    else:
        out.print(Text("no open actions", style="dim"))

    print_chart(out, data["timeline"])


def _items(out: Any, rows: list[tuple[str, Any]], empty: str) -> None:
    """A list: a marker column and a body that wraps under itself."""
    from rich.table import Table
    from rich.text import Text

    if not rows:
        out.print(Text(empty, style="dim"))
        return
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column()
    for marker, body in rows:
        grid.add_row(marker, body)
    out.print(grid)


def _rule(out: Any, title: str) -> None:
    from rich.text import Text

    out.print()
    out.rule(Text(title, style="bold"), align="left")


def _more(out: Any, section: dict[str, Any]) -> None:
    from rich.text import Text

    extra = section["total"] - len(section["items"])
    if extra > 0:
        out.print(Text(f"… and {extra} more (--limit)", style="dim"))


def _print_themes(out: Any, themes: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from lessons.reports import pct, signed

    _rule(out, "Themes")
    if not themes["items"]:
        out.print(Text("no tags in this selection", style="dim"))
        return
    if themes["compare"]:
        out.print(Text(f"compared with {themes['baseline']}", style="dim"))
    t = Table(box=None, pad_edge=False, header_style="bold")
    t.add_column("tag", style="cyan")
    t.add_column("records", justify="right")
    t.add_column("share", justify="right")
    if themes["compare"]:
        t.add_column("before", justify="right")
        t.add_column("change")
    arrows = {
        "up": ("▲ up", "green"),
        "down": ("▼ down", "red"),
        "new": ("★ new", "yellow"),
        "steady": ("steady", "dim"),
    }
    for item in themes["items"]:
        cells: list[Any] = [item["tag"], str(item["count"]), pct(item["share"])]
        if themes["compare"] == "count":
            cells.append(str(item["baseline_count"]))
            change = signed(item["count_change"])
        elif themes["compare"] == "share":
            cells.append(pct(item["baseline_share"]))
            change = signed(item["share_change"], " pts")
        if themes["compare"]:
            word, style = arrows[item["trend"]]
            cells.append(Text(f"{change} {word}", style=style))
        t.add_row(*cells)
    out.print(t)
    if themes["faded"]:
        gone = ", ".join(f"{f['tag']} ({f['baseline_count']})" for f in themes["faded"])
        out.print(Text(f"gone quiet since then: {gone}", style="dim"))


def _print_recurring(out: Any, rec: dict[str, Any]) -> None:
    from rich.text import Text

    _rule(out, f"Recurring mistakes ({rec['total']})")
    rows = []
    for r in rec["items"]:
        body = Text(r["later"]["title"], style="bold")
        body.append(f"  {r['later']['date'] or 'undated'}  ", style="dim")
        body.append(r["later"]["id"], style="cyan")
        body.append("\nrepeats ")
        body.append(r["earlier"]["title"], style="bold")
        body.append(f"  {r['earlier']['date'] or 'undated'}  ", style="dim")
        body.append(r["earlier"]["id"], style="cyan")
        if r["linked"]:
            body.append("\nlinked (repeats)", style="magenta")
        else:
            words = f": {', '.join(r['shared_words'])}" if r["shared_words"] else ""
            body.append(f"\nlooks alike, similarity {r['score']:.2f}{words}", style="yellow")
        rows.append(("•", body))
    _items(out, rows, "no recurring mistakes found")
    _more(out, rec)
    if rec["note"]:
        out.print(Text(f"note: {rec['note']}", style="dim"))


def _print_applied(out: Any, applied: dict[str, Any]) -> None:
    from rich.text import Text

    from lessons.reports import pct

    _rule(out, "Lessons applied")
    if applied["mistakes"]:
        out.print(
            f"The lesson of {applied['mistakes_applied']} of {applied['mistakes']} mistakes "
            f"({pct(applied['share'])}) has been applied."
        )
    rows = []
    for a in applied["items"]:
        body = Text(a["by"]["title"], style="bold")
        body.append(f"  {a['by']['id']}", style="cyan")
        body.append("\napplied the lesson of ")
        body.append(a["lesson_of"]["title"], style="bold")
        body.append(f"  {a['lesson_of']['id']}", style="cyan")
        rows.append(("•", body))
    if rows:
        _items(out, rows, "")
    if applied["not_applied"]:
        out.print(Text("Not applied yet:", style="dim"))
        _items(
            out,
            [
                ("·", Text.assemble(r["title"], (f"  {r['id']}", "cyan")))
                for r in applied["not_applied"]
            ],
            "",
        )


def print_chart(out: Any, timeline: dict[str, Any]) -> None:
    """Records per month (or quarter, or year) by kind, as horizontal stacked bars."""
    from rich.text import Text

    bars = timeline["bars"]
    _rule(out, f"Records per {timeline['unit']}")
    if not bars:
        out.print(Text("no dated records", style="dim"))
        return
    label_w = max(len(b["label"]) for b in bars)
    width = max(10, min(60, out.width - label_w - 8))
    top = max(b["total"] for b in bars) or 1
    for b in bars:
        line = Text(b["label"].ljust(label_w) + " ", style="dim")
        done = 0
        acc = 0
        for kind in timeline["kinds"]:
            acc += b[kind]
            end = round(acc * width / top)
            if b[kind] and end <= done:
                end = done + 1  # a kind that occurs gets at least one cell
            line.append(BAR_CHAR[kind] * (end - done), style=KIND_STYLE.get(kind, ""))
            done = max(done, end)
        line.append(f" {b['total']}" if b["total"] else "")
        out.print(line)
    legend = Text(" " * (label_w + 1))
    for kind in timeline["kinds"]:
        legend.append(BAR_CHAR[kind] + " ", style=KIND_STYLE.get(kind, ""))
        legend.append(PLURAL[kind] + "   ")
    out.print(legend)
    if timeline["undated"]:
        out.print(Text(f"{timeline['undated']} undated records not shown", style="dim"))


# --- brief -------------------------------------------------------------------------


@app.command()
def brief(
    text: Annotated[
        str | None, typer.Argument(metavar="[TEXT]", help="What you plan to do, in a few words.")
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option("--from", metavar="FILE", help="Read the plan from FILE (- for stdin)."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="A theme of the plan (repeat): lessons with it rank higher."),
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="The campaign planned: its past lessons rank higher."),
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="The stage planned (objectives, audience, …).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show at most N lessons.")
    ] = 10,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="terminal, md or json [default: terminal on a terminal, else md].",
        ),
    ] = None,
) -> None:
    """Before planning: the past lessons that bear on the plan, as a checklist.

    Mistakes first and by impact, then successes worth repeating; each with its
    lesson and its recommendations as Markdown checklist items, then the open
    actions on them and the recurring pitfalls in the plan's themes. Exit 1 when
    nothing bears on it. Examples:
    lessons brief "launch a campaign hashtag on twitter";
    lessons brief --from plan.md --tag consultation --format md >> plan.md
    """
    from lessons.reports import render
    from lessons.reports.brief import build_brief

    fmt = _format(fmt, BRIEF_FORMATS, None, None)
    plan = " ".join(part for part in (text, _read_plan(from_file)) if part)
    kb, _ = synced_kb()
    result = build_brief(kb, plan, tags=tag or (), campaign=campaign, stage=stage, limit=limit)
    data = result.as_dict()
    if fmt == "json":
        print_json(data)
    elif fmt == "md":
        sys.stdout.write(render("brief.md.j2", data, html=False))
    else:
        print_brief(data)


def _read_plan(source: str | None) -> str:
    from lessons.errors import NotFoundError, UsageError

    if source is None:
        return ""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {source}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None


def print_brief(data: dict[str, Any]) -> None:
    """The brief as styled lines (plain when piped)."""
    from lessons.reports import short

    doc = Doc()
    doc.line(("Brief: ", "bold"), (short(data["plan"], 100) or "(no text)", "bold"))
    meta = [f"from {data['knowledge_base']}"]
    if data["themes"]:
        meta.append("themes: " + ", ".join(data["themes"]))
    if data["campaign"]:
        meta.append(f"campaign: {data['campaign']}")
    if data["stage"]:
        meta.append(f"stage: {data['stage']}")
    doc.line((" · ".join(meta), "dim"))
    headings = {
        "mistake": "Mistakes to avoid",
        "success": "Successes worth repeating",
        "observation": "Also worth knowing",
    }
    current = None
    for r in data["results"]:
        if r["kind"] != current:
            current = r["kind"]
            doc.blank()
            doc.line((headings.get(current, current), "bold underline"))
        doc.blank()
        doc.line((r["title"], "bold"))
        meta = [r["kind"], r["impact"] or "impact not rated", r["date"] or "undated"]
        doc.line(
            (r["id"], "cyan"),
            ("  " + " · ".join(meta), KIND_STYLE.get(r["kind"], "")),
            (("  — " + "; ".join(r["why"])) if r["why"] else "", "dim"),
        )
        if r["lesson"]:
            doc.line(("  " + short(r["lesson"], 400), "italic"))
        for item in r["checklist"]:
            doc.line("  " + item)
    if data["actions"]:
        doc.blank()
        doc.line(("Open actions on these lessons", "bold underline"))
        for a in data["actions"]:
            extra = [a["owner"] or "no owner"]
            if a["due"]:
                extra.append(f"due {a['due']}" + (" (overdue)" if a["overdue"] else ""))
            doc.line(
                f"  - [ ] {a['do']}",
                (f"  ({', '.join(extra)})", "red" if a["overdue"] else "dim"),
                (f"  {a['id']}", "cyan"),
            )
    if data["pitfalls"]:
        doc.blank()
        doc.line(("Recurring pitfalls in these themes", "bold underline"))
        for p in data["pitfalls"]:
            doc.line(
                "  ",
                (p["later"]["title"], "bold"),
                (f" ({p['later']['id']})", "dim"),
                " repeats ",
                (p["earlier"]["title"], "bold"),
                (f" ({p['earlier']['id']})", "dim"),
            )
    doc.print()
