"""Recording: ``add`` and ``edit``.

The prompts live here (they need a terminal and rich); what a record is, its id,
path, text and the similar-record check live in ``lessons.recording``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import synced_kb
from lessons.cli.render import is_tty

if TYPE_CHECKING:
    from lessons.errors import LessonsError
    from lessons.kb import KnowledgeBase
    from lessons.model import Problem
    from lessons.recording import Draft, Similar

ON_SIMILAR = ("ask", "link", "write", "stop")


def interactive() -> bool:
    """True when a person can be asked: standard input and output are both terminals."""
    return is_tty(sys.stdin) and is_tty(sys.stdout)


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _report(rid: str, path: Path, warnings: Sequence[Problem]) -> None:
    for w in warnings:
        write_err(f"warning: {w.message}" + (f" [{w.field}]" if w.field else ""))
    sys.stdout.write(f"{rid}  {_shown_path(path)}\n")


def _abandoned(what: str) -> typer.Exit:
    write_err(f"{what}: nothing was written")
    return typer.Exit(1)


@app.command()
def add(
    title: Annotated[str | None, typer.Option("--title", "-t", help="One line: the issue.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="mistake, success or observation.")
    ] = None,
    summary: Annotated[
        str | None, typer.Option("--summary", "-s", help="What happened: the facts.")
    ] = None,
    lesson: Annotated[
        str | None, typer.Option("--lesson", "-l", help="What we learned: the insight.")
    ] = None,
    rec: Annotated[
        list[str] | None,
        typer.Option("--rec", "-r", help="A recommendation for next time (repeatable)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    link: Annotated[
        list[str] | None,
        typer.Option("--link", metavar="REL:ID", help="A link, e.g. repeats:2012-09 (repeatable)."),
    ] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Campaign or project.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The team.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Stage it arose in.")] = None,
    impact: Annotated[
        str | None, typer.Option("--impact", help="low, medium, high or critical.")
    ] = None,
    date: Annotated[
        str | None, typer.Option("--date", help="When it happened, YYYY-MM-DD [default: today].")
    ] = None,
    author: Annotated[
        list[str] | None, typer.Option("--author", help="An author (repeatable).")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="A URL or reference (repeatable).")
    ] = None,
    expected: Annotated[
        str | None, typer.Option("--expected", help="What was supposed to happen.")
    ] = None,
    why: Annotated[str | None, typer.Option("--why", help="Why it went as it did.")] = None,
    response: Annotated[
        str | None, typer.Option("--response", help="What was done at the time.")
    ] = None,
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="Metrics, quotes, facts.")
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            metavar="TEXT[;owner=NAME][;due=DATE]",
            help="A follow-up action (repeatable).",
        ),
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="visibility: public.")] = False,
    draft: Annotated[bool, typer.Option("--draft", help="status: draft.")] = False,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="KEY=VALUE", help="A custom field (repeatable)."),
    ] = None,
    rid: Annotated[
        str | None, typer.Option("--id", help="Use this id instead of making one.")
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", "-e", help="Write it in $EDITOR, on a commented template.")
    ] = False,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="FILE", help="Read the record from a YAML file (- is stdin)."
        ),
    ] = None,
    on_similar: Annotated[
        str,
        typer.Option(
            "--on-similar",
            help="When a very similar record exists: ask; link (write it linked to that"
            " record); write (unlinked); stop (write nothing).",
        ),
    ] = "ask",
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask: write it linked to a very similar record."),
    ] = False,
) -> None:
    """Record a lesson; print its id and path.

    Missing fields are asked for on a terminal (and are an error, exit 2, when
    standard input is not one). Before writing, the record is compared with the
    existing ones; a very similar one is shown, with the offer to link to it.

    Examples:

      lessons add -t "Joke hashtags fell flat" -k mistake -s "..." -l "..." --tag twitter

      lessons add --edit --kind success

      lessons add --from record.yaml
    """
    from lessons.errors import UsageError
    from lessons.recording import raw_from_flags

    if on_similar not in ON_SIMILAR:
        raise UsageError(f"--on-similar must be one of {', '.join(ON_SIMILAR)}, not '{on_similar}'")
    kb, _ = synced_kb()
    kb.check_writable()
    values: dict[str, Any] = {
        "id": rid,
        "title": title,
        "kind": kind,
        "date": date,
        "summary": summary,
        "lesson": lesson,
        "recommendations": rec,
        "expected": expected,
        "why": why,
        "response": response,
        "evidence": evidence,
        "impact": impact,
        "campaign": campaign,
        "team": team,
        "authors": author,
        "stage": stage,
        "tags": tag,
        "sources": source,
    }
    raw = raw_from_flags(
        kb,
        values,
        links=link or (),
        actions=action or (),
        fields=field or (),
        public=public,
        draft=draft,
    )
    make = _draft_maker(kb, raw, edit=edit, from_=from_)
    if make is None:
        raise _abandoned("abandoned")
    result = make(())
    choice = "link" if yes and on_similar == "ask" else on_similar
    result = _similar_step(kb, result, make, choice)
    if result is None:
        raise _abandoned("stopped")
    from lessons.recording import write

    path = write(kb, result)
    _report(result.id, path, result.warnings)


Maker = Callable[[Sequence[Mapping[str, str]]], "Draft"]


def _draft_maker(kb: KnowledgeBase, raw: dict[str, Any], *, edit: bool, from_: str | None) -> Any:
    """A function making the draft (with extra links), or None when the writer gave up."""
    from lessons.recording import (
        edit_until_valid,
        missing,
        missing_error,
        prepare,
        run_editor,
        template,
    )

    if from_ is not None:
        text, shown = _read_from(from_)
        if edit:
            edited = _edit_text(text, lambda t: prepare(kb, text=t, overrides=raw))
            if edited is None:
                return None
            text, shown = edited, "<editor>"
        return lambda links: prepare(kb, text=text, shown=shown, overrides=raw, extra_links=links)
    if edit:
        from lessons.model import today

        tpl, comments = template({"date": today(), **raw}, kb.config.schema, kb.store.tag_counts())
        made = edit_until_valid(
            tpl,
            lambda t: (t, prepare(kb, text=t, shown="<editor>", strip_lines=comments)),
            retry=_ask_reopen,
            edit=lambda t: run_editor(t, "new-lesson.yaml"),
        )
        if made is None:
            return None
        final = made[0]
        return lambda links: prepare(
            kb, text=final, shown="<editor>", strip_lines=comments, extra_links=links
        )
    lacking = missing(raw)
    if lacking:
        # Flags that give every required field never start a conversation.
        if not interactive():
            raise missing_error(lacking)
        _ask(kb, raw)

    def from_raw(links: Sequence[Mapping[str, str]]) -> Draft:
        full = dict(raw)
        if links:
            full["links"] = [*full.get("links", []), *links]
        return prepare(kb, full)

    return from_raw


def _edit_text(text: str, check: Callable[[str], Any]) -> str | None:
    from lessons.recording import edit_until_valid, run_editor

    def keep(t: str) -> str:
        check(t)
        return t

    return edit_until_valid(text, keep, retry=_ask_reopen, edit=lambda t: run_editor(t))


def _read_from(source: str) -> tuple[str, str]:
    from lessons.errors import UsageError

    if source == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(source).read_text(encoding="utf-8-sig"), source
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read {source}: {reason}") from None


def _ask_reopen(exc: LessonsError) -> bool:
    """After an invalid save: show the error; on a terminal offer to re-open the editor."""
    if not interactive():
        raise exc
    from lessons.cli.app import render_error

    render_error(exc)
    answer = _prompt("Re-open the editor to fix it [r], or abandon [a]?", default="r")
    return not answer.lower().startswith("a")


def _similar_step(kb: KnowledgeBase, result: Draft, make: Maker, choice: str) -> Draft | None:
    from lessons.recording import link_for, similar_records

    found = similar_records(kb, result.record)
    linked = {link["to"] for link in result.record.get("links") or []}
    found = [s for s in found if s.id not in linked]
    if not found:
        return result
    top = found[0]
    rel = link_for(result.record, top)
    # The same title and text: a copy (a command run twice), not a lesson to link to.
    copy = top.title_score >= 100 and top.text_score >= 100
    if choice == "ask":
        if interactive():
            choice = _ask_similar(top, rel, copy)
        else:
            what = "identical to" if copy else "very similar to"
            write_err(
                f"warning: {what} {top.id} ({top.title}), score {top.score:.0f}; "
                f"written unlinked as {result.id}"
            )
            if copy:
                write_err(
                    f"hint: if it is the same lesson, `lessons rm {result.id} --yes` removes "
                    "the copy just written; --on-similar stop writes nothing next time"
                )
            else:
                write_err(
                    f"hint: `lessons link {result.id} {top.id} --rel {rel}` links the record just"
                    " written; next time --on-similar link (or --yes) writes it linked, and "
                    "--on-similar stop writes nothing"
                )
            return result
    if choice == "stop":
        return None
    if choice == "write":
        return result
    if copy:
        # Linking a record to its own copy would only hide the duplicate.
        write_err(f"an identical record exists: {top.id} ({top.title}); not linked to a copy")
        write_err(
            f"hint: `lessons edit {top.id}` adds to it; --on-similar write writes a new one anyway"
        )
        return None
    write_err(f"linked to {top.id} as '{rel}' (very similar, score {top.score:.0f})")
    return make([{"to": top.id, "rel": rel}])


# --- prompts ---------------------------------------------------------------------


def _console() -> Any:
    from lessons.cli.render import console

    return console(stderr=True)


def _prompt(question: str, default: str | None = None) -> str:
    from rich.markup import escape
    from rich.prompt import Prompt

    question = escape(question)
    try:
        if default is None:
            return str(Prompt.ask(question, console=_console()))
        return str(
            Prompt.ask(question, console=_console(), default=default, show_default=bool(default))
        )
    except EOFError:
        from lessons.errors import UsageError

        raise UsageError("input ended; nothing was written") from None


def _lines(question: str) -> str:
    """Several lines of text, ended by an empty line."""
    con = _console()
    con.print(f"{question} [dim](end with an empty line)[/dim]")
    lines: list[str] = []
    while True:
        try:
            line = con.input("  ")
        except EOFError:
            break
        if not line.strip():
            break
        lines.append(line.rstrip())
    return "\n".join(lines)


def _ask_similar(top: Similar, rel: str, copy: bool) -> str:
    from rich.markup import escape

    con = _console()
    if copy:
        con.print(f"[bold yellow]An identical record exists[/] (score {top.score:.0f}):")
    else:
        con.print(f"[bold yellow]A very similar record exists[/] (score {top.score:.0f}):")
    con.print(f"  [bold]{escape(top.id)}[/]  {escape(top.title)}")
    con.print(f"  [dim]{top.kind}, {top.date or 'no date'}, {escape(top.path)}[/]")
    if copy:
        answer = _prompt(
            "Stop, writing nothing [s], or write this copy anyway [w]?", default="s"
        ).lower()
        return "write" if answer[:1] == "w" else "stop"
    answer = _prompt(
        f"Write it linked to {top.id} as '{rel}' [l], write it unlinked [w], "
        "or stop, writing nothing [s]?",
        default="l",
    ).lower()
    return {"w": "write", "s": "stop"}.get(answer[:1], "link")


def _ask(kb: KnowledgeBase, raw: dict[str, Any]) -> None:
    """Fill ``raw`` in at the terminal: what is missing, and the lesson, date and tags."""
    from lessons.model import KINDS, MAX_TITLE, parse_date, today
    from lessons.recording import resolve_choice

    con = _console()
    con.print("[bold]Recording a lesson[/] [dim](Ctrl-C to give up: nothing is written)[/]")
    while not raw.get("title"):
        answer = _prompt("Title (one issue, one line)").strip()
        if len(answer) > MAX_TITLE:
            con.print(f"[red]That is {len(answer)} characters; at most {MAX_TITLE}.[/]")
        else:
            raw["title"] = answer
    while not raw.get("kind"):
        answer = _prompt(f"Kind ({'/'.join(KINDS)})")
        chosen = resolve_choice(answer, KINDS)
        if chosen:
            raw["kind"] = chosen
        else:
            con.print(f"[red]Choose one of {', '.join(KINDS)}.[/]")
    if not raw.get("date"):
        while True:
            answer = _prompt("Date it happened (YYYY-MM-DD)", default=today())
            parsed = parse_date(answer.strip())
            if parsed:
                raw["date"] = parsed
                break
            con.print("[red]Write the date as YYYY-MM-DD, e.g. 2026-03-31.[/]")
    while not raw.get("summary"):
        raw["summary"] = _lines("Summary: what happened? The facts, without judgement.")
    if not raw.get("lesson"):
        raw["lesson"] = _lines(
            "Lesson: what did we learn? The insight the next team needs, not the story."
        )
    if not raw.get("recommendations"):
        recs: list[str] = []
        con.print("Recommendations for next time, one per line [dim](empty line to finish)[/]")
        while True:
            try:
                line = con.input("  - ").strip()
            except EOFError:
                break
            if not line:
                break
            recs.append(line)
        if recs:
            raw["recommendations"] = recs
    if not raw.get("tags"):
        tags = _ask_tags(kb)
        if tags:
            raw["tags"] = tags
    _ask_fields(kb, raw)


def _ask_fields(kb: KnowledgeBase, raw: dict[str, Any]) -> None:
    """Ask for campaign, team, impact, stage and the custom fields of lessons.yaml not
    given yet, offering the values in use (Tab completes); Enter leaves one out."""
    from lessons.recording import field_questions

    con = _console()
    for q in field_questions(kb, skip=set(raw)):
        if q.shown:
            more = " …" if len(q.choices) > len(q.shown) else ""
            con.print(f"[dim]{q.what}: {escape_text(', '.join(q.shown))}{more}[/]")
        while True:
            with _completion(q.choices, q.delims):
                answer = _prompt(f"{q.label} (Tab completes, Enter skips)", default="")
            try:
                value = q.parse(answer)
            except ValueError as exc:
                con.print(f"[red]{escape_text(str(exc))}[/]")
                continue
            if value is not None:
                raw[q.key] = value
            break


def escape_text(text: str) -> str:
    """Record text for a rich markup string: its brackets are shown, never read as markup."""
    from rich.markup import escape

    return str(escape(text))


def _ask_tags(kb: KnowledgeBase) -> list[str]:
    """Tags, comma-separated, with Tab completion from the existing ones and a check of
    each new tag against close existing spellings."""
    from lessons.tags import closest_tags, normalise_tags

    con = _console()
    counts = kb.store.tag_counts()
    existing = [t for t, _ in counts]
    if counts:
        shown = ", ".join(f"{t} ({n})" for t, n in counts[:10])
        con.print(f"[dim]Tags in use: {shown}{' …' if len(counts) > 10 else ''}[/]")
    with _completion(existing, ", "):
        answer = _prompt("Tags (comma-separated, Tab completes)", default="")
    tags = normalise_tags([answer], kb.config.tag_aliases) if answer.strip() else []
    out: list[str] = []
    for tag in tags:
        if tag not in existing:
            close = closest_tags(tag, existing)
            if close:
                reply = _prompt(
                    f"'{tag}' is a new tag. Use '{close[0]}' instead? [y/n]", default="y"
                )
                if reply.lower().startswith("y"):
                    tag = close[0]
        if tag not in out:
            out.append(tag)
    return out


class _completion:
    """Tab completion at the prompt (GNU readline or libedit) from ``existing`` values,
    restored after; ``delims`` split a line into the words completed (", " for lists)."""

    def __init__(self, existing: Sequence[str], delims: str = "") -> None:
        self.existing = existing
        self.delims = delims
        self.saved: Any = None

    def __enter__(self) -> None:
        try:
            import readline
        except ImportError:
            return
        from lessons.recording import complete_value

        self.saved = (readline.get_completer(), readline.get_completer_delims())
        matches: list[str] = []

        def complete(text: str, state: int) -> str | None:
            nonlocal matches
            if state == 0:
                matches = complete_value(text, self.existing, tags=self.delims == ", ")
            return matches[state] if state < len(matches) else None

        readline.set_completer(complete)
        readline.set_completer_delims(self.delims)
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            return
        import readline

        readline.set_completer(self.saved[0])
        readline.set_completer_delims(self.saved[1])


# --- edit ------------------------------------------------------------------------


@app.command()
def edit(
    ref: Annotated[str, typer.Argument(metavar="ID", help="An id or a unique prefix of one.")],
) -> None:
    """Edit a record in $EDITOR; on save it is checked, and an invalid one is never written.

    On an error the editor can be re-opened on your text (a comment on top says
    what is wrong) or the edit abandoned; the file changes only when the record
    is valid and nobody changed the file meanwhile. Prints the id and path.

    Example: lessons edit 2012-09-hashtags
    """
    from lessons.recording import (
        check_edit,
        edit_until_valid,
        open_record,
        run_editor,
        save_edit,
        strip_comment_lines,
    )

    kb, _ = synced_kb()
    kb.check_writable()
    opened = open_record(kb, ref)
    unchanged = object()

    def check(text: str) -> Any:
        if strip_comment_lines(text, ()) == opened.text.lstrip("\n"):
            return unchanged
        return text, check_edit(kb, opened, text)

    result = edit_until_valid(
        opened.text,
        check,
        retry=_ask_reopen,
        edit=lambda t: run_editor(t, f"{opened.id}.yaml"),
    )
    if result is None:
        raise _abandoned("abandoned")
    if result is unchanged:
        write_err(f"no change to {opened.id}")
        return
    text, warnings = result
    path = save_edit(kb, opened, text)
    _report(opened.id, path, warnings)
