"""The Typer application, the per-invocation state, and the one error handler."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from typer._click.core import Context
from typer.core import TyperGroup

from lessons.errors import LessonsError


@dataclass
class State:
    """Global options of one invocation."""

    kb: str | None = None
    db: str | None = None
    # --from-kb, and whether the command reads across a shared index (cli/root.py).
    from_kb: tuple[str, ...] = ()
    across: bool = False
    debug: bool = False
    color: bool = True
    # Set when a read skipped broken files: the command ends with exit code 2.
    skipped_files: bool = False
    # Knowledge bases the command opened: their last warnings are shown at its end.
    opened: list[Any] = field(default_factory=list)


STATE = State()


def write_err(text: str) -> None:
    """One line to stderr (plain: errors must print even where rich is not loaded)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def render_error(exc: LessonsError) -> None:
    """``Error: <what> (<where>)`` and a hint, on stderr."""
    where = exc.where()
    write_err(f"Error: {exc.message}" + (f" ({where})" if where else ""))
    if exc.hint:
        write_err(f"hint: {exc.hint}")


class LessonsGroup(TyperGroup):
    """Runs every command through the one error handler (SPEC §4 exit codes)."""

    def invoke(self, ctx: Context) -> Any:
        try:
            try:
                result = super().invoke(ctx)
            finally:
                _last_notes()
        except LessonsError as exc:
            if STATE.debug:
                raise
            render_error(exc)
            # Skipped (invalid) files outrank "nothing matched", as in rg.
            ctx.exit(2 if STATE.skipped_files and exc.exit_code == 1 else exc.exit_code)
        except KeyboardInterrupt:
            write_err("Interrupted.")
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`lessons list | head`): not an error.
            _silence_stdout()
            ctx.exit(0)
        except Exception as exc:
            # Usage errors and exits of the CLI framework are its own to render.
            if STATE.debug or type(exc).__module__.startswith(("typer", "click")):
                raise
            write_err(f"Error: internal error: {type(exc).__name__}: {exc}")
            write_err("hint: this is a bug; re-run with --debug to see the traceback and report it")
            ctx.exit(3)
        if STATE.skipped_files:
            ctx.exit(2)
        return result


def _last_notes() -> None:
    """Show what the knowledge bases opened still have to say, and close them (an index
    connection left open would write to its file whenever it happened to be collected)."""
    for kb in STATE.opened:
        for note in kb.notes:
            write_err(f"warning: {note}")
        kb.notes.clear()
        # Closed now, not whenever the garbage collector frees it: a connection closed
        # late checkpoints into an index file something else may have replaced since.
        kb.close()
    STATE.opened.clear()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


app = typer.Typer(
    cls=LessonsGroup,
    name="lessons",
    help="A lessons-learned knowledge base: record, search, link and review lessons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
