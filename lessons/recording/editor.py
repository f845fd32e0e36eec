"""The editor: starting ``$EDITOR`` on a temporary file, and the loop that re-opens it
on an error until the text is valid or the writer gives up."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from lessons.errors import ConflictError, LessonsError, UsageError

T = TypeVar("T")

# Marks the line the editor loop puts at the top of a re-opened file.
ERROR_MARK = "# lessons: "


class EditorError(UsageError):
    """The editor could not be started, or it failed."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """``$EDITOR``, else ``$VISUAL``, else ``vi`` or ``nano``, whichever is installed."""
    env = os.environ if env is None else env
    for name in ("EDITOR", "VISUAL"):
        value = (env.get(name) or "").strip()
        if value:
            return shlex.split(value)
    for fallback in ("vi", "nano"):
        found = shutil.which(fallback)
        if found:
            return [found]
    raise EditorError("no editor: set $EDITOR", hint="for example: export EDITOR=nano")


def run_editor(text: str, name: str = "lesson.yaml") -> str:
    """Open ``text`` in the editor, in a temporary file that is always removed; the result."""
    command = editor_command()
    folder = tempfile.mkdtemp(prefix="lessons-edit-")
    path = Path(folder) / name
    try:
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise EditorError(
                f"cannot start the editor '{command[0]}': {exc.strerror}",
                hint="check $EDITOR",
            ) from None
        if done.returncode != 0:
            raise EditorError(
                f"the editor exited with status {done.returncode}; nothing was written"
            )
        return path.read_text(encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def is_blank(text: str) -> bool:
    """True when nothing but comments and white space is left: the writer gave up."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def with_error_line(text: str, exc: LessonsError) -> str:
    """``text`` with one comment line on top saying what is wrong (the old one replaced)."""
    body = "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(ERROR_MARK)
    )
    old = len(text.splitlines()) - len(body.splitlines())
    where = []
    if exc.line:
        # The line as counted in the re-opened text: old error lines out, this one in.
        where.append(f"line {exc.line - old + 1}")
    if exc.field:
        where.append(f"field '{exc.field}'")
    place = f"{', '.join(where)}: " if where else ""
    message = " ".join(exc.message.split())
    return (
        f"{ERROR_MARK}{place}{message}. Fix it, save and close; empty the file to give up.\n" + body
    )


def edit_until_valid(
    text: str,
    check: Callable[[str], T],
    *,
    retry: Callable[[LessonsError], bool],
    edit: Callable[[str], str] = run_editor,
) -> T | None:
    """Edit, check, and on an error ask ``retry`` whether to re-open; ``None`` when abandoned.

    ``check`` turns the edited text into a result or raises ``LessonsError``
    (a ``ConflictError`` ends the loop: re-opening cannot help). An empty file
    is abandoned at once. Nothing is written here: ``check`` decides that.
    """
    while True:
        text = edit(text)
        if is_blank(text):
            return None
        try:
            return check(text)
        except ConflictError:
            raise
        except LessonsError as exc:
            if not retry(exc):
                return None
            text = with_error_line(text, exc)
