"""The root command: global options, and the command modules that register on the app."""

from __future__ import annotations

import copy
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from lessons import __version__
from lessons.cli.app import STATE, State, app

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
_VALUED = ("--kb", "--db", "--from-kb")

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
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour in output (also NO_COLOR).")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """A lessons-learned knowledge base: record, search, link and review lessons.

    Records are YAML files under entries/; the index (.lessons/) is derived from
    them and kept up to date by every command.
    """
    STATE.__dict__.update(
        State(
            kb=kb,
            db=db,
            from_kb=tuple(from_kb or ()),
            across=ctx.invoked_subcommand in ACROSS,
            debug=debug,
            color=not no_color and not os.environ.get("NO_COLOR"),
        ).__dict__
    )
