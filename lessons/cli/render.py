"""Output: tables and pages that fit the terminal, plain lines when piped, JSON on request.

Every writer here makes text safe for the terminal (``terminal.safe``) and sends a
command's data through the pager on a terminal. Tables and pages are laid out
here, without rich: a table of 10,000 records is drawn in a fraction of a
second, and piped output never loads rich at all. rich draws the retrospective,
progress bars and prompts, through ``console()``, which makes them safe too.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lessons.cli.app import STATE, write_err
from lessons.cli.terminal import (
    Terminal,
    cells,
    out,
    paint,
    safe,
    safe_json,
    safe_line,
    shorten,
    terminal,
)
from lessons.indexer import SyncReport

Segment = tuple[str, str]  # (text, style such as "bold cyan")

KIND_STYLE = {"mistake": "red", "success": "green", "observation": "cyan"}
MAX_SKIPPED_SHOWN = 10
GAP = 2  # spaces between table columns


def is_tty(stream: Any = None) -> bool:
    """True when ``stream`` (standard output by default, as it was when the command
    started, before any pager) is a terminal."""
    if stream is None or stream is sys.stdout:
        return terminal().tty
    if stream is sys.stderr:
        return terminal().err_tty
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --- pages of styled lines -----------------------------------------------------------


class Doc:
    """Lines of styled segments: word-wrapped to the terminal (or shortened with …),
    plain when piped, always made safe."""

    def __init__(self) -> None:
        self.lines: list[list[Segment]] = []
        self.cut: set[int] = set()  # the lines shortened, not wrapped, on a terminal
        self.hang: dict[int, int] = {}  # continuation indents given

    def line(self, *segments: Segment | str, cut: bool = False, hang: int | None = None) -> None:
        """Add one line; plain strings carry no style. On a terminal it is word-wrapped
        (continuation lines indented by ``hang`` if given), or with ``cut`` shortened
        with … to the width."""
        segs = [(s, "") if isinstance(s, str) else s for s in segments]
        if cut:
            self.cut.add(len(self.lines))
        if hang is not None:
            self.hang[len(self.lines)] = hang
        self.lines.append([(safe_line(t), style) for t, style in segs])

    def blank(self) -> None:
        """Add an empty line (never two in a row)."""
        if self.lines and self.lines[-1]:
            self.lines.append([])

    def extend(self, lines: Sequence[list[Segment]]) -> None:
        """Add lines already laid out (a table's), as they are."""
        self.lines.extend(list(segs) for segs in lines)

    def render(self, term: Terminal) -> str:
        """The text to write: wrapped or shortened to the width on a terminal."""
        rendered: list[str] = []
        for n, segs in enumerate(self.lines):
            cut = n in self.cut
            if term.tty:
                parts = (
                    [_shorten_segments(segs, term.width)]
                    if cut
                    else wrap(segs, term.width, self.hang.get(n))
                )
            else:
                parts = [segs]
            for part in parts:
                rendered.append(_join(part, term.color))
        return "".join(line + "\n" for line in rendered)

    def print(self) -> None:
        """Write to standard output (through the pager on a terminal)."""
        term = terminal()
        text = self.render(term)
        out().write(text)


def _join(segs: Sequence[Segment], color: bool) -> str:
    if color:
        return "".join(paint(t, s) for t, s in segs).rstrip()
    return "".join(t for t, _ in segs).rstrip()


def _width(segs: Sequence[Segment]) -> int:
    return sum(cells(t) for t, _ in segs)


def _shorten_segments(segs: Sequence[Segment], width: int) -> list[Segment]:
    if _width(segs) <= width:
        return list(segs)
    out_segs: list[Segment] = []
    used = 0
    for text, style in segs:
        w = cells(text)
        if used + w <= width - 1:
            out_segs.append((text, style))
            used += w
            continue
        out_segs.append((shorten(text + "…", width - used), style))
        break
    return out_segs


_TOKENS = re.compile(r"\s+|\S+")
# A list item's marker: its continuation lines hang under the text after it.
_MARKER = re.compile(r" *(?:[-*•] |\[[ x-]\] |\d+\. )")


def wrap(segs: Sequence[Segment], width: int, hang: int | None = None) -> list[list[Segment]]:
    """Word-wrap one styled line; continuation lines are indented as the line is (under
    the text of a list item, or by ``hang``). A word longer than the line (a URL) is
    never broken: it runs on, so that it can still be copied or clicked."""
    if _width(segs) <= width:
        return [list(segs)]
    text = "".join(t for t, _ in segs)
    if hang is None:
        marker = _MARKER.match(text)
        hang = marker.end() if marker else len(text) - len(text.lstrip(" "))
    indent = " " * min(hang, width // 2)
    lines: list[list[Segment]] = []
    current: list[Segment] = []
    used = 0
    start = True  # still in the line's own leading spaces

    def flush() -> None:
        nonlocal current, used
        while current and current[-1][0].isspace():
            current.pop()
        lines.append(current)
        current = [(indent, "")] if indent else []
        used = len(indent)

    for chunk, style in segs:
        for token in _TOKENS.findall(chunk):
            w = cells(token)
            if token.isspace():
                if start or used + w <= width:
                    current.append((token, style))
                    used += w
                continue
            start = False
            if used + w > width and used > len(indent):
                flush()
            current.append((token, style))
            used += w
    if current and any(not t.isspace() for t, _ in current):
        lines.append(current)
    return lines


# --- tables --------------------------------------------------------------------------

Cell = str | tuple[str, str] | None  # text, or (text, style) to style one cell


class Column:
    """A table column. ``cut`` 0: never shortened (ids, dates, counts: they are copied);
    otherwise it may be shortened with … down to ``min`` columns, the highest ``cut``
    first (tags before titles). ``items``: a list ("a, b, c"), shortened by whole items
    ("a, b +1"). ``own_line``: an id, printed on a line of its own when too long for
    the room left. ``alone``: when rows become blocks, this cell gets a line of its own.
    (A plain class: a dataclass costs start-up time on every command.)"""

    __slots__ = ("alone", "cut", "header", "items", "min", "own_line", "right", "style")

    def __init__(
        self,
        header: str,
        style: str = "",
        *,
        cut: int = 0,
        min: int = 12,
        right: bool = False,
        items: bool = False,
        own_line: bool = False,
        alone: bool = False,
    ) -> None:
        self.header = header
        self.style = style
        self.cut = cut
        self.min = min
        self.right = right
        self.items = items
        self.own_line = own_line
        self.alone = alone


def table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
    """A table fitted to the terminal (through the pager), or tab-separated lines
    without a header when piped."""
    term = terminal()
    if not term.tty:
        if term.color:
            lines = [
                "\t".join(
                    paint(t, s or col.style)
                    for (t, s), col in zip(map(_cell, row), columns, strict=False)
                )
                for row in rows
            ]
        else:  # the usual pipe: the cells' text alone, as fast as it comes
            lines = ["\t".join(_cell(c)[0] for c in row) for row in rows]
        out().write("".join(line + "\n" for line in lines))
        return
    stream = out()
    chunk: list[str] = []
    for line in layout(columns, rows, term.width):
        chunk.append(_join(line, term.color))
        if len(chunk) == CHUNK:
            stream.write("".join(f"{c}\n" for c in chunk))
            chunk = []
    stream.write("".join(f"{c}\n" for c in chunk))


CHUNK = 200  # lines written at a time: the pager has a screenful to show at once


def _cell(cell: Cell) -> Segment:
    if cell.__class__ is str:  # the common case first: a table may have 50,000 cells
        return (cell if cell.isprintable() else safe_line(cell)), ""
    if cell is None:
        return "", ""
    if isinstance(cell, tuple):
        return safe_line(str(cell[0])), cell[1]
    return safe_line(str(cell)), ""


def layout(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
) -> Iterator[list[Segment]]:
    """The lines of a table ``width`` columns wide, as they are made (a pager shows the
    first screen while the rest is laid out).

    Columns that are never cut keep their full width; the others share what is left,
    the highest ``cut`` shortened first. When that does not fit, the ``own_line``
    column (the id) gets the room left: the few ids longer than that are printed
    whole on a line of their own, the row continuing aligned below. When most would
    be, each row becomes a block: the uncut cells on one line, the others below.
    """
    body = [[_cell(c) for c in row] for row in rows]
    keep = [
        i for i, col in enumerate(columns) if not body or any(row[i][0] for row in body)
    ]  # a column empty in every row is left out
    cols = [columns[i] for i in keep]
    body = [[row[i] for i in keep] for row in body]
    natural = [
        max([cells(col.header)] + [cells(row[i][0]) for row in body]) for i, col in enumerate(cols)
    ]
    widths = fit(cols, natural, width)
    long_ids: int | None = None
    if widths != natural:
        # Something is shortened: narrowing the id column to what most ids need (the
        # few longer ones on lines of their own) may leave room for it.
        which, narrowed = _fit_long_ids(cols, body, natural, width)
        if narrowed is not None and (widths is None or _roomier(cols, narrowed, widths)):
            long_ids, widths = which, narrowed
    if widths is None:
        yield from _blocks(cols, body, natural, width)
        return
    header = [(_pad(col.header, w, col.right), "bold") for col, w in zip(cols, widths, strict=True)]
    yield _row(header)
    for row in body:
        cells_out = [
            (_pad(_shorten(t, w, col), w, col.right), s or col.style)
            for (t, s), col, w in zip(row, cols, widths, strict=True)
        ]
        if long_ids is not None and cells(row[long_ids][0]) > widths[long_ids]:
            text, style = row[long_ids]
            yield [(text, style or cols[long_ids].style)]
            cells_out[long_ids] = (" " * widths[long_ids], "")
        yield _row(cells_out)


def _roomier(cols: Sequence[Column], new: Sequence[int], old: Sequence[int]) -> bool:
    """True when ``new`` gives the most important shortened column (the title) more room."""
    first = min((i for i, c in enumerate(cols) if c.cut), key=lambda i: cols[i].cut, default=None)
    return first is not None and new[first] > old[first]


def _fit_long_ids(
    cols: Sequence[Column], body: Sequence[Sequence[Segment]], natural: Sequence[int], width: int
) -> tuple[int | None, list[int] | None]:
    """The own-line column and widths that fit when it is narrowed to what most of its
    cells need (and no more than the room left); None when most cells would not fit."""
    which = next((i for i, c in enumerate(cols) if c.own_line), None)
    if which is None or not body:
        return None, None
    least = [
        natural[i] if not c.cut else min(natural[i], max(c.min, cells(c.header)))
        for i, c in enumerate(cols)
    ]
    room = width - (sum(least) - least[which]) - GAP * (len(cols) - 1)
    lengths = sorted(cells(row[which][0]) for row in body)
    usual = lengths[int(0.9 * (len(lengths) - 1))]  # what nine ids in ten need
    narrowed = max(cells(cols[which].header), min(room, usual))
    if narrowed > room or sum(1 for n in lengths if n > narrowed) * 2 > len(lengths):
        return None, None
    trial = list(natural)
    trial[which] = narrowed
    return which, fit(cols, trial, width)


def fit(cols: Sequence[Column], natural: Sequence[int], width: int) -> list[int] | None:
    """Column widths that fit ``width``, or None when the uncut columns and the least
    the others may shrink to do not."""
    widths = list(natural)
    excess = sum(widths) + GAP * (len(widths) - 1) - width
    order = sorted((i for i, c in enumerate(cols) if c.cut), key=lambda i: -cols[i].cut)
    for i in order:
        if excess <= 0:
            break
        least = min(natural[i], max(cols[i].min, cells(cols[i].header)))
        give = min(excess, widths[i] - least)
        widths[i] -= give
        excess -= give
    return widths if excess <= 0 else None


LIST_SEP = ", "


def _shorten(text: str, width: int, col: Column) -> str:
    if not col.items or cells(text) <= width:
        return shorten(text, width)
    items = text.split(LIST_SEP)
    for k in range(len(items) - 1, 0, -1):
        head, more = LIST_SEP.join(items[:k]), f" +{len(items) - k}"
        if cells(head) + cells(more) <= width:
            return head + more
    more = f" +{len(items) - 1}"
    return (
        shorten(items[0], width - cells(more)) + more
        if width > cells(more) + 2
        else shorten(text, width)
    )


def _pad(text: str, width: int, right: bool) -> str:
    room = width - cells(text)
    return (" " * room + text) if right else (text + " " * room)


def _row(segs: list[Segment]) -> list[Segment]:
    joined: list[Segment] = []
    for i, seg in enumerate(segs):
        if i:
            joined.append((" " * GAP, ""))
        joined.append(seg)
    return joined


INDENT = 4


def _blocks(
    cols: Sequence[Column], body: Sequence[Sequence[Segment]], natural: Sequence[int], width: int
) -> Iterator[list[Segment]]:
    """Each row as a block: the uncut cells on the first line (aligned), then the others,
    on one line when they fit and each on its own when not, shortened with …"""
    whole = [i for i, c in enumerate(cols) if not c.cut]
    # Below the first line: the cells that may be cut, the most important first, on one
    # line (each shortened to its share), and those marked ``alone`` on their own.
    rest = sorted(
        (i for i, c in enumerate(cols) if c.cut and not c.alone), key=lambda i: cols[i].cut
    )
    alone = [i for i, c in enumerate(cols) if c.cut and c.alone]
    room = width - INDENT
    # Pad the uncut cells into columns only as far as the line stays within the width.
    pads = [natural[i] for i in whole]
    if pads and sum(pads) + GAP * (len(pads) - 1) > width:
        # The widest (the id) is not padded: the cells after it follow it directly.
        pads[pads.index(max(pads))] = 0
    for row in body:
        first = [
            (_pad(row[i][0], pads[n], cols[i].right), row[i][1] or cols[i].style)
            if n < len(whole) - 1
            else (row[i][0], row[i][1] or cols[i].style)
            for n, i in enumerate(whole)
        ]
        if _width(_row(first)) > width:
            # Too wide with the id: the cells after it go on a line of their own.
            at = next((n for n, i in enumerate(whole) if cols[i].own_line), 0) + 1
            yield _row([(t.rstrip(), s) for t, s in first[:at]])
            if first[at:]:
                yield [(" " * INDENT, ""), *_row([(t.rstrip(), s) for t, s in first[at:]])]
        else:
            yield _row(first)
        cells_rest = [(i, row[i]) for i in rest if row[i][0]]
        # Fitted row by row: nothing below has to line up with the row above.
        sub = fit([cols[i] for i, _ in cells_rest], [cells(c[0]) for _, c in cells_rest], room)
        if sub is not None and cells_rest:
            share = dict(zip([i for i, _ in cells_rest], sub, strict=True))
            segs = [
                (_shorten(t, share[i], cols[i]), s or cols[i].style) for i, (t, s) in cells_rest
            ]
            yield [(" " * INDENT, ""), *_row(segs)]
        else:
            for i, (t, s) in cells_rest:
                yield [(" " * INDENT, ""), (_shorten(t, room, cols[i]), s or cols[i].style)]
        for i in alone:
            t, s = row[i]
            if t:
                yield [(" " * INDENT, ""), (_shorten(t, room, cols[i]), s or cols[i].style)]


# --- other writers -----------------------------------------------------------------


def emit(text: str, output: Path | None, *, exact: bool = False) -> None:
    """``text`` to standard output (made safe; ``exact``: only on a terminal, for data
    formats that are piped into files), or atomically to ``output`` as it is."""
    if output is None:
        stream = out()
        stream.write(text if exact and not terminal().tty else safe(text))
        return
    from lessons.entries import atomic_write
    from lessons.errors import UsageError

    try:
        atomic_write(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


def json_text(data: Any) -> str:
    """One JSON document, with every character a terminal would act on escaped (JSON
    escapes the C0 controls itself; C1 and bidirectional controls get ``\\u`` escapes)."""
    return safe_json(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"


def print_json(data: Any) -> None:
    """One JSON document on standard output."""
    out().write(json_text(data))


def print_ids(ids: Sequence[str]) -> None:
    """One id per line (``--ids``), as ``rg -l`` prints file names."""
    out().write("".join(safe_line(i) + "\n" for i in ids))


def console(stderr: bool = False) -> Any:
    """A rich console honouring --color, NO_COLOR and FORCE_COLOR, as wide as the
    terminal, writing through the pager (standard output) and made safe."""
    from rich.console import Console
    from rich.segment import Segment as RichSegment

    class SafeConsole(Console):
        """Every text rich writes passes ``safe`` (rich itself strips a few controls,
        but passes ESC, C1 and bidirectional controls through)."""

        def _render_buffer(self, buffer: Any) -> str:
            return str(
                super()._render_buffer(
                    RichSegment(safe(s.text), s.style, s.control) if not s.control else s
                    for s in buffer
                )
            )

    term = terminal()
    tty = term.err_tty if stderr else term.tty
    color = term.err_color if stderr else term.color
    return SafeConsole(
        file=sys.stderr if stderr else out(),
        force_terminal=tty,
        force_interactive=False if not stderr else None,
        width=term.width if tty else None,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )


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

    The bar appears only once a long job reports in (rich loads only then). With
    colour off it is a plain counter redrawn with a carriage return: no escape codes.
    """
    term = terminal()
    if not term.err_tty:
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if total < PROGRESS_FROM:
                return
            if not term.err_color:
                state["bar"] = None
            else:
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
        if state["bar"] is None:
            step = max(1, total // 100)
            if done == total or done % step == 0:
                sys.stderr.write(f"\r{label} {done:,}/{total:,}")
                sys.stderr.flush()
                state["plain"] = True
        else:
            state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if state.get("bar") is not None:
            state["bar"].stop()
        elif state.get("plain"):
            sys.stderr.write("\r" + " " * term.width + "\r")
            sys.stderr.flush()
