"""Shell completion for bash, zsh and fish: commands, options, ids, tags, campaigns,
teams, stages, relations and formats.

The scripts and the protocol are Typer's (``lessons --show-completion bash``); this
module adds what to offer for each value. Ids, tags, campaigns and teams come from
the SQLite index, read directly and read-only: no sync, no store layer, so a Tab
costs a start-up and one query. The module imports nothing at its top that an
ordinary command does not already load; the completers run only when the shell
asks (``_LESSONS_COMPLETE`` set, see ``main.py``).
"""

# No ``from __future__ import annotations`` here: Typer reads the completers'
# annotations when it builds a command, and string annotations cost an eval and a
# compile each on every command line.
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

SHELLS = ("bash", "zsh", "fish")
MAX_SHOWN = 200
# Set by the shell when it asks for completions. Only then do the commands get their
# completers: Typer inspects each one when it builds a command, which would cost
# every ordinary command line about 0.2 ms a completer.
ACTIVE = "_LESSONS_COMPLETE" in os.environ

F = TypeVar("F", bound=Callable[..., Any])


def offer(completer: F) -> F | None:
    """``completer`` when the shell is asking for completions, else None."""
    return completer if ACTIVE else None


# --- installing ----------------------------------------------------------------------


def detect_shell() -> str:
    """The shell this runs under (as Typer detects it), else $SHELL's name, else bash."""
    try:
        import shellingham

        name = str(shellingham.detect_shell()[0])
    except Exception:  # detection reads /proc and may fail in many ways; fall back
        name = os.path.basename(os.environ.get("SHELL", "")) or "bash"
    return name if name in SHELLS else "bash"


def _shell(value: str) -> str:
    from lessons.cli.choices import choose

    return choose(value or detect_shell(), SHELLS, "--show-completion/--install-completion")


def script(shell: str) -> str:
    """The completion script of ``shell`` (bash, zsh or fish)."""
    from typer._completion_shared import get_completion_script

    from lessons.cli.main import COMPLETE_VAR

    return str(
        get_completion_script(prog_name="lessons", complete_var=COMPLETE_VAR, shell=_shell(shell))
    )


def show(shell: str) -> None:
    """Print the completion script of ``shell``."""
    import sys

    sys.stdout.write(script(shell) + "\n")


def install(shell: str) -> None:
    """Install the completion script where ``shell`` reads it at start-up (Typer's places:
    ~/.bash_completions/lessons.sh sourced from ~/.bashrc, ~/.zfunc/_lessons,
    ~/.config/fish/completions/lessons.fish)."""
    from typer._completion_shared import install as typer_install

    from lessons.cli.app import write_err
    from lessons.cli.main import COMPLETE_VAR

    name, path = typer_install(shell=_shell(shell), prog_name="lessons", complete_var=COMPLETE_VAR)
    write_err(f"{name} completion installed in {path}")
    write_err("it takes effect in new shells (or source that file now)")


# --- answering the shell ---------------------------------------------------------------


def prepare() -> str | None:
    """Get ready to answer the shell: Typer's completion classes registered, and the
    command to load (the one already typed, or None for all of them)."""
    from typer._completion_classes import completion_init

    from lessons.cli.root import command_named

    completion_init()
    if "COMP_WORDS" in os.environ:  # bash: the words, and the index of the one completed
        words = _split(os.environ["COMP_WORDS"])
        done = words[1 : int(os.environ.get("COMP_CWORD", len(words)))]
    else:  # zsh and fish: the line up to the cursor
        line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
        words = _split(line)[1:]
        done = words if line.endswith(" ") else words[:-1]
    return command_named(done)


def _split(line: str) -> list[str]:
    import shlex

    try:
        return shlex.split(line)
    except ValueError:  # an open quote: the user is still typing it
        return line.split()


_BASH_SPECIAL = r"([^\w@%+=:,./-])"


def _answer(values: Iterable[str], incomplete: str, *, fold: bool = False) -> list[str]:
    """The values starting with ``incomplete``, made safe for the terminal.

    With ``fold`` any letter case matches, and the letters already typed are kept as
    typed (Typer offers only what starts with them; every value completed this way is
    compared without regard to case). For bash, spaces and other special characters
    are escaped with a backslash, as bash inserts a completion as it is.
    """
    from lessons.cli.terminal import safe_line

    bash = os.environ.get("_LESSONS_COMPLETE", "").endswith("bash")
    n = len(incomplete)
    out: list[str] = []
    for value in values:
        value = safe_line(value)
        head = value[:n]
        if head != incomplete:
            if not (fold and head.casefold() == incomplete.casefold()):
                continue
            head = incomplete
        tail = value[n:]
        out.append(head + (re.sub(_BASH_SPECIAL, r"\\\1", tail) if bash else tail))
        if len(out) >= MAX_SHOWN:
            break
    return out


def _kb_and_index(ctx: Any) -> tuple[Any, str | None]:
    """The knowledge base the command line names, and its SQLite index file (None when
    the index is elsewhere or not built yet)."""
    from lessons.cli.app import STATE
    from lessons.errors import LessonsError
    from lessons.kb import KnowledgeBase

    root = ctx.find_root().params if ctx is not None else {}
    try:
        kb = KnowledgeBase.open(STATE.kb or root.get("kb"), STATE.db or root.get("db"))
    except LessonsError:
        return None, None
    url = kb.db_url
    if not url.startswith("sqlite:///"):
        return kb, None
    path = url.removeprefix("sqlite:///")
    return kb, path if os.path.isfile(path) else None


def _query(ctx: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read-only query of the index; none when there is no index to read."""
    import sqlite3

    _, path = _kb_and_index(ctx)
    if path is None:
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def complete_ids(ctx: Any, incomplete: str) -> list[str]:
    """Record ids starting with what is typed; nothing for a path (the shell then
    completes file names: a record's file is accepted wherever an id is)."""
    if "/" in incomplete or incomplete.startswith((".", "~")):
        return []
    rows = _query(
        ctx,
        "SELECT id FROM record WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (incomplete, incomplete + "\U0010ffff", MAX_SHOWN),
    )
    if rows or _kb_and_index(ctx)[1] is not None:
        return _answer((r[0] for r in rows), incomplete)
    # No SQLite index to read (PostgreSQL, or not built yet): the file names are the ids.
    kb, _ = _kb_and_index(ctx)
    if kb is None:
        return []
    stems = sorted(p.stem for p in kb.config.entries.rglob(f"{incomplete}*.yaml"))
    return _answer(stems, incomplete)


def complete_tags(ctx: Any, incomplete: str) -> list[str]:
    """Tags in use, most used first."""
    rows = _query(ctx, "SELECT tag, count(*) AS n FROM tag GROUP BY tag ORDER BY n DESC, tag")
    return _answer((r[0] for r in rows), incomplete.lower())


def _column(ctx: Any, column: str, incomplete: str) -> list[str]:
    rows = _query(
        ctx,
        f"SELECT {column}, count(*) AS n FROM record WHERE {column} IS NOT NULL"
        f" GROUP BY {column} ORDER BY n DESC",
    )
    from lessons.filters import value_key

    seen: dict[str, str] = {}
    for value, _ in rows:
        seen.setdefault(value_key(value), value)  # the most common spelling of each
    return _answer(seen.values(), incomplete, fold=True)


def complete_campaigns(ctx: Any, incomplete: str) -> list[str]:
    """Campaigns in use, most common first."""
    return _column(ctx, "campaign", incomplete)


def complete_teams(ctx: Any, incomplete: str) -> list[str]:
    """Teams in use, most common first."""
    return _column(ctx, "team", incomplete)


def complete_stages(ctx: Any, incomplete: str) -> list[str]:
    """The stages of the knowledge base's configuration."""
    kb, _ = _kb_and_index(ctx)
    from lessons.config import DEFAULT_STAGES

    return _answer(kb.config.stages if kb else DEFAULT_STAGES, incomplete, fold=True)


def complete_from(choices: Sequence[str]) -> Callable[[str], list[str]] | None:
    """A completer offering a fixed list (kinds, impacts, formats, relations), when the
    shell is asking (see ``offer``)."""

    def complete(incomplete: str) -> list[str]:
        return _answer(choices, incomplete, fold=True)

    return offer(complete)


def complete_relations(incomplete: str) -> list[str]:
    """The link relations."""
    from lessons.model import RELATIONS

    return _answer(RELATIONS, incomplete, fold=True)
