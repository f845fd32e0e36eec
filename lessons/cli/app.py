"""The Typer application, the per-invocation state, and the one error handler."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException
from typer.core import TyperGroup
from typer.exceptions import Exit

from lessons.cli.terminal import COLOR_MODES, safe, stop_pager
from lessons.cli.terminal import reset as terminal_reset
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
    color: str = "auto"  # --color: auto, always or never (--no-color is never)
    pager: bool = True  # --no-pager turns it off
    # Set when a read skipped broken files: the command ends with exit code 2.
    skipped_files: bool = False
    # Knowledge bases the command opened: their last warnings are shown at its end.
    opened: list[Any] = field(default_factory=list)


STATE = State()


def write_err(text: str) -> None:
    """One line to stderr, made safe for the terminal (plain: errors must print even
    where rich is not loaded). Every message, warning and hint goes through here."""
    sys.stderr.write(safe(text) + "\n")
    sys.stderr.flush()


def render_error(exc: LessonsError) -> None:
    """``Error: <what> (<where>)`` and a hint, on stderr."""
    where = exc.where()
    write_err(f"Error: {exc.message}" + (f" ({where})" if where else ""))
    if exc.hint:
        write_err(f"hint: {exc.hint}")


def color_mode(value: str | None) -> str | None:
    """The --color value as one of auto, always, never (a unique prefix will do)."""
    if value is None:
        return None
    from lessons.cli.choices import choose

    return choose(value, COLOR_MODES, "--color")


class LessonsGroup(TyperGroup):
    """Runs every command through the one error handler (SPEC §4 exit codes), and
    lets every command take the global options after its name as well."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_options(self)

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        try:
            return super().make_context(*args, **kwargs)
        except ClickException as exc:
            raise _shown(exc) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return self._invoke(ctx)
        except ClickException as exc:
            # A usage error in a command's arguments (they may come from a file).
            raise _shown(exc) from None
        finally:
            # Whatever happened, the pager gets the end of its input and the reader
            # the terminal back before the process exits.
            stop_pager()

    def _invoke(self, ctx: Context) -> Any:
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
            # The reader went away (`lessons list | head`, or q in the pager): not an error.
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


def _shown(exc: ClickException) -> Exit:
    """The framework's own message for a usage error, made safe (it quotes what was
    typed), on stderr; the exit that follows it."""
    import io

    buffer = io.StringIO()
    exc.show(file=buffer)
    sys.stderr.write(safe(buffer.getvalue()))
    sys.stderr.flush()
    return Exit(exc.exit_code)


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


# --- the global options after the command name ------------------------------------


def _set(attr: str, value: Any) -> Any:
    def callback(ctx: Any, param: Any, given: Any) -> None:
        if given is None or given is False:
            return
        setattr(STATE, attr, value(given) if callable(value) else value)
        terminal_reset()

    return callback


def _global_params() -> list[Any]:
    """Hidden copies of the global options for every command: they set the same state
    as the root's (which is applied first), so `lessons list --kb PATH` works."""
    from typer.core import TyperOption

    def option(name: str, attr: str, value: Any, metavar: str | None = None) -> Any:
        flag = metavar is None
        return TyperOption(
            param_decls=[name],
            metavar=metavar,
            is_flag=flag or None,
            default=False if flag else None,
            hidden=True,
            expose_value=False,
            callback=_set(attr, value),
        )

    return [
        option("--kb", "kb", str, "PATH"),
        option("--db", "db", str, "URL"),
        option("--color", "color", color_mode, "WHEN"),
        option("--no-color", "color", "never"),
        option("--no-pager", "pager", False),
        option("--debug", "debug", True),
    ]


def add_global_options(group: Any) -> None:
    """Give every command and sub-command under ``group`` the hidden global options."""
    for sub in getattr(group, "commands", {}).values():
        taken = {opt for p in sub.params for opt in getattr(p, "opts", [])}
        sub.params.extend(p for p in _global_params() if not set(p.opts) & taken)
        add_global_options(sub)


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
