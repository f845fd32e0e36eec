"""The root command: global options, and the command modules that register on the app."""

# No ``from __future__ import annotations``: Typer reads the root's annotations on
# every command line, and string annotations cost an eval (and a compile) each.
import copy
import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from lessons import __version__
from lessons.cli.app import STATE, State, app, color_mode
from lessons.cli.completion import SHELLS, complete_from
from lessons.cli.terminal import COLOR_MODES, reset

# The module that registers each command on ``app`` when imported. A command line
# naming one of them imports that module alone and has Typer build that command
# alone: building all of them costs about 25 ms of every command's start-up here.
COMMANDS: dict[str, str] = {
    "init": "kb_cmds",
    "index": "kb_cmds",
    "check": "kb_cmds",
    "stats": "kb_cmds",
    "list": "read",
    "show": "read",
    "search": "search",
    "add": "record",
    "edit": "record",
    "browse": "browse",
    "tag": "tag",
    "link": "links",
    "unlink": "links",
    "related": "links",
    "graph": "links",
    "retro": "reports",
    "brief": "reports",
    "actions": "actions",
    "rm": "lifecycle",
    "mv": "lifecycle",
    "import": "interop",
    "export": "interop",
    "site": "site",
}

# Global options that take a value (the next argument is not a command name).
_VALUED = ("--kb", "--db", "--color", "--from-kb")

# Commands that read across every knowledge base of a shared index (or --from-kb's);
# the others work on the knowledge base they run in.
# (`link` too: its target may be another knowledge base's record, KB:ID; the record
# it edits must be this one's.)
ACROSS = (
    "search",
    "list",
    "show",
    "related",
    "brief",
    "retro",
    "actions",
    "graph",
    "stats",
    "link",
)


def command_named(args: Sequence[str]) -> str | None:
    """The command a command line names, past the global options; None if none."""
    rest = iter(args)
    for arg in rest:
        if arg in _VALUED:
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def load(name: str | None = None) -> typer.Typer:
    """The application, with command ``name`` alone when it is one of ours, else
    with every command (for help, suggestions after a typo, and the tests)."""
    module = COMMANDS.get(name or "")
    if module is None:
        for each in sorted(set(COMMANDS.values())):
            importlib.import_module(f"lessons.cli.{each}")
        return app
    importlib.import_module(f"lessons.cli.{module}")
    # A shallow copy: the shared application keeps every command loaded so far.
    one = copy.copy(app)
    one.registered_commands = [c for c in app.registered_commands if _name(c) == name]
    one.registered_groups = [g for g in app.registered_groups if g.name == name]
    return one


def _name(info: typer.models.CommandInfo) -> str:
    from typer.main import get_command_name

    return info.name or get_command_name(info.callback.__name__ if info.callback else "")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"lessons {__version__}\n")
        raise typer.Exit()


def _show_completion(ctx: Any, param: Any, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from lessons.cli.completion import show

    _or_error(lambda: show(value))
    raise typer.Exit()


def _install_completion(ctx: Any, param: Any, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from lessons.cli.completion import install

    _or_error(lambda: install(value))
    raise typer.Exit()


def _or_error(run: Any) -> None:
    """Run an eager option's work; its errors as every command's (it runs before them)."""
    from lessons.cli.app import render_error
    from lessons.errors import LessonsError

    try:
        run()
    except LessonsError as exc:
        render_error(exc)
        raise typer.Exit(exc.exit_code) from None


@app.callback()
def global_options(
    ctx: typer.Context,
    kb: Annotated[
        str | None,
        typer.Option("--kb", metavar="PATH", help="The knowledge base folder [env: LESSONS_KB]."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="URL", help="Index store URL [env: LESSONS_DB]."),
    ] = None,
    from_kb: Annotated[
        list[str] | None,
        typer.Option(
            "--from-kb",
            metavar="NAME",
            help="With a shared index: read this knowledge base (repeat for more).",
        ),
    ] = None,
    color: Annotated[
        str | None,
        typer.Option(
            "--color",
            metavar="WHEN",
            help="Colour: auto (on a terminal, unless NO_COLOR), always (also FORCE_COLOR)"
            " or never (no escape codes at all).",
            autocompletion=complete_from(COLOR_MODES),
        ),
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Same as --color never.")] = False,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Do not page long output (else $LESSONS_PAGER, $PAGER or less -FRX"
            " on a terminal).",
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="SHELL",
            callback=_show_completion,
            is_eager=True,
            expose_value=False,
            help="Print the completion script for bash, zsh or fish.",
            autocompletion=complete_from(SHELLS),
        ),
    ] = None,
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="SHELL",
            callback=_install_completion,
            is_eager=True,
            expose_value=False,
            help="Install completion for bash, zsh or fish (in its start-up file).",
            autocompletion=complete_from(SHELLS),
        ),
    ] = None,
) -> None:
    """A lessons-learned knowledge base: record, search, link and review lessons.

    Records are YAML files under entries/; the index (.lessons/) is derived from
    them and kept up to date by every command. The global options may come
    before or after the command: lessons --kb ~/kb list, or lessons list --kb ~/kb.
    """
    reset()
    STATE.__dict__.update(
        State(
            kb=kb,
            db=db,
            from_kb=tuple(from_kb or ()),
            across=ctx.invoked_subcommand in ACROSS,
            debug=debug,
            color="never" if no_color else (color_mode(color) or "auto"),
            pager=not no_pager,
        ).__dict__
    )
