"""The root command: global options, and the command modules that register on the app."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from lessons import __version__
from lessons.cli.app import STATE, State, app

# Each module registers its commands on ``app`` when imported.
from lessons.cli import interop, kb_cmds, links, read, record, reports, search, tag  # noqa: F401  isort: skip


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"lessons {__version__}\n")
        raise typer.Exit()


@app.callback()
def global_options(
    kb: Annotated[
        str | None,
        typer.Option("--kb", metavar="PATH", help="The knowledge base folder [env: LESSONS_KB]."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="URL", help="Index store URL [env: LESSONS_DB]."),
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
            debug=debug,
            color=not no_color and not os.environ.get("NO_COLOR"),
        ).__dict__
    )
