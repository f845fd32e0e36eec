"""Output: plain text when piped, rich on a terminal, JSON on request.

rich is imported only when the output is a terminal: piped output (scripts, the
benchmarks) skips its start-up cost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lessons.cli.app import STATE, write_err
from lessons.indexer import SyncReport

Segment = tuple[str, str]  # (text, rich style)

KIND_STYLE = {"mistake": "red", "success": "green", "observation": "cyan"}
MAX_SKIPPED_SHOWN = 10


def is_tty(stream: Any = None) -> bool:
    """True when ``stream`` (stdout by default) is a terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console(stderr: bool = False) -> Any:
    """A rich console honouring --no-color and NO_COLOR."""
    from rich.console import Console

    return Console(stderr=stderr, no_color=not STATE.color, highlight=False, soft_wrap=False)


class Doc:
    """Lines of styled segments, printed plain or with rich."""

    def __init__(self) -> None:
        self.lines: list[list[Segment]] = []

    def line(self, *segments: Segment | str) -> None:
        """Add one line; plain strings carry no style."""
        self.lines.append([(s, "") if isinstance(s, str) else s for s in segments])

    def blank(self) -> None:
        """Add an empty line (never two in a row)."""
        if self.lines and self.lines[-1]:
            self.lines.append([])

    def print(self) -> None:
        """Print to stdout."""
        if is_tty():
            from rich.text import Text

            out = console()
            for segs in self.lines:
                text = Text()
                for chunk, style in segs:
                    text.append(chunk, style=style or None)
                out.print(text)
        else:
            sys.stdout.write("\n".join("".join(c for c, _ in segs) for segs in self.lines) + "\n")


def emit(text: str, output: Path | None) -> None:
    """``text`` to stdout, or atomically to ``output`` (a clean error if it cannot be written)."""
    if output is None:
        sys.stdout.write(text)
        return
    from lessons.entries import atomic_write
    from lessons.errors import UsageError

    try:
        atomic_write(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    styles: Sequence[str] = (),
    ratios: Sequence[int] = (),
) -> None:
    """A table on a terminal, tab-separated lines (no header) when piped.

    ``ratios[i]`` shares the width among wrapping columns; 0 keeps column i whole
    on one line (ids must stay whole to be copied).
    """
    if not is_tty():
        out = "".join("\t".join("" if c is None else str(c) for c in row) + "\n" for row in rows)
        sys.stdout.write(out)
        return
    from rich.table import Table

    t = Table(show_edge=False, box=None, pad_edge=False, header_style="bold", expand=True)
    for i, header in enumerate(headers):
        ratio = ratios[i] if i < len(ratios) else 1
        t.add_column(
            header,
            style=styles[i] if i < len(styles) else None,
            no_wrap=not ratio,
            overflow="ellipsis",
            ratio=ratio or None,
        )
    for row in rows:
        t.add_row(*["" if c is None else str(c) for c in row])
    console().print(t)


def report_skipped(report: SyncReport) -> None:
    """Say once, on stderr, which files were left out of the index and why."""
    if not report.skipped:
        return
    STATE.skipped_files = True
    n = len(report.skipped)
    write_err(f"warning: {n} file{'s' if n != 1 else ''} skipped (invalid):")
    for path, problem in report.skipped[:MAX_SKIPPED_SHOWN]:
        line = problem.get("line")
        where = f"{path}:{line}" if line else path
        field = problem.get("field")
        write_err(f"  {where}: " + (f"{field}: " if field else "") + problem.get("message", ""))
    if n > MAX_SKIPPED_SHOWN:
        write_err(f"  … and {n - MAX_SKIPPED_SHOWN} more")
    write_err("hint: `lessons check` lists every problem")


# Below this many items a bar would only flash on the screen.
PROGRESS_FROM = 200


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal, or None when stderr is not one.

    The bar appears only once a long job reports in (rich loads only then).
    """
    if not is_tty(sys.stderr):
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if total < PROGRESS_FROM:
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
