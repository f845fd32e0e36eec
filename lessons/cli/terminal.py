"""What reaches the terminal: text made safe, colour, width and the pager.

Everything the CLI writes for a person goes through ``safe`` first (the writers
in ``render.py`` and ``app.write_err`` call it), so a record, a file name or an
imported row can never send the terminal a control sequence: escapes become
visible (``\\x1b``), bidirectional controls become ``<U+202E>``.

Kept free of heavy imports: every command loads this module.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

# C0 controls but tab and line feed, DEL, the C1 controls (0x9b is a one-byte CSI
# to some terminals), the bidirectional marks, embeddings, overrides and isolates
# (they reorder what is shown: "Trojan Source"), the line and paragraph separators,
# and lone surrogates (bytes of a file name that are not UTF-8).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if code < 0xA0:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        # A byte that was not UTF-8 (surrogateescape): show the byte.
        return f"\\x{code - 0xDC00:02x}"
    return f"<U+{code:04X}>"


def safe(text: str) -> str:
    """``text`` with every control character shown, never interpreted, by a terminal."""
    if text.isprintable():  # the common case, in C: no control or format character
        return text
    return _UNSAFE.sub(_visible, text)


def safe_line(text: str) -> str:
    """``safe`` on one line: line breaks and tabs become spaces (a table cell)."""
    if text.isprintable():
        return text
    return safe(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def safe_tree(value: Any) -> Any:
    """``safe`` applied to every string in nested dicts and lists (a report's data)."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {k: safe_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_tree(v) for v in value]
    return value


# Characters JSON leaves as they are that a terminal would act on: JSON escapes
# the C0 controls itself; these get \\u escapes too (the document means the same).
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def safe_json(text: str) -> str:
    """A JSON document whose every character a terminal would act on is a ``\\u`` escape."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- width -------------------------------------------------------------------------


def cells(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters take two,
    combining marks none)."""
    if text.isascii():
        return len(text)
    n = 0
    for ch in text:
        if ch.isascii():
            n += 1
        elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            n += 2
        else:
            n += 1
    return n


ELLIPSIS = "…"


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in ``…`` when it was cut."""
    if text.isascii():
        if len(text) <= width:
            return text
        return text[: max(width - 1, 0)].rstrip() + ELLIPSIS if width > 0 else ""
    if cells(text) <= width:
        return text
    if width <= 0:
        return ""
    out: list[str] = []
    used = 0
    for ch in text:
        w = cells(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


# --- colour ------------------------------------------------------------------------

COLOR_MODES = ("auto", "always", "never")

_SGR = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "underline": "4",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def paint(text: str, style: str) -> str:
    """``text`` wrapped in the SGR codes of ``style`` ("bold cyan"); unknown words ignored."""
    if not style or not text:
        return text
    codes = ";".join(_SGR[w] for w in style.split() if w in _SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes else text


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def color_wanted(mode: str, tty: bool, environ: Any = None) -> bool:
    """Whether to colour a stream: ``--color`` wins; then NO_COLOR, FORCE_COLOR (set and
    not empty, as no-color.org and force-color.org say); then whether it is a terminal
    that is not TERM=dumb."""
    env = os.environ if environ is None else environ
    if mode == "always":
        return True
    if mode == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return tty and env.get("TERM") != "dumb"


class Terminal:
    """What this invocation writes to, decided once before anything is written (the
    pager replaces standard output by a pipe). A plain class: a dataclass costs
    start-up time on every command."""

    __slots__ = ("color", "err_color", "err_tty", "tty", "width")

    def __init__(self, tty: bool, err_tty: bool, width: int, color: bool, err_color: bool):
        self.tty = tty  # standard output is a terminal: tables and colour, not tab-separated lines
        self.err_tty = err_tty
        self.width = width
        self.color = color  # colour on standard output
        self.err_color = err_color


_TERMINAL: Terminal | None = None


def terminal() -> Terminal:
    """The terminal facts of this invocation (decided on first use)."""
    global _TERMINAL
    if _TERMINAL is None:
        from lessons.cli.app import STATE

        tty = _isatty(sys.stdout)
        err_tty = _isatty(sys.stderr)
        width = _columns() if tty else 80
        _TERMINAL = Terminal(
            tty=tty,
            err_tty=err_tty,
            width=max(width, 20),
            color=color_wanted(STATE.color, tty),
            err_color=color_wanted(STATE.color, err_tty),
        )
    return _TERMINAL


def _columns() -> int:
    """The terminal's width: $COLUMNS when set (as shutil.get_terminal_size reads it),
    else the terminal's own, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def reset() -> None:
    """Forget the decisions (a new invocation in the same process, as in the tests)."""
    global _TERMINAL
    _TERMINAL = None


# --- the pager ---------------------------------------------------------------------

DEFAULT_PAGER = "less -FRX"


def pager_command(environ: Any = None) -> str | None:
    """The pager: $LESSONS_PAGER, then $PAGER, then ``less -FRX`` (as git does); set
    and empty, or ``cat``, means none. Never read from the knowledge base."""
    env = os.environ if environ is None else environ
    for var in ("LESSONS_PAGER", "PAGER"):
        value = env.get(var)
        if value is not None:
            value = value.strip()
            return value if value and value != "cat" else None
    import shutil

    return DEFAULT_PAGER if shutil.which("less") else None


class _Pager:
    __slots__ = ("process", "saved")

    def __init__(self, process: Any, saved: dict[int, int]) -> None:
        self.process = process
        self.saved = saved


_PAGER: _Pager | None = None


def start_pager() -> None:
    """Send standard output (and standard error, when it is the terminal too) through
    the pager, once, when the first output of a paged command is about to be written
    and standard output is a terminal. No-op otherwise."""
    global _PAGER
    from lessons.cli.app import STATE

    term = terminal()
    if _PAGER is not None or not STATE.pager or not term.tty:
        return
    command = pager_command()
    if command is None:
        return
    import subprocess

    env = dict(os.environ)
    # As git: less without options gets -FRX (quit when it fits, pass colour, keep the
    # screen); lv gets -c (colour).
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    fds = [1] + ([2] if term.err_tty else [])
    saved = {fd: os.dup(fd) for fd in fds}
    assert process.stdin is not None
    for fd in fds:
        os.dup2(process.stdin.fileno(), fd)
    process.stdin.close()
    _PAGER = _Pager(process, saved)


def stop_pager() -> None:
    """Close the pager's input and wait for the reader to quit it."""
    global _PAGER
    if _PAGER is None:
        return
    pager, _PAGER = _PAGER, None
    import signal

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            # The reader quit the pager: what is left in the buffer is for nobody, and
            # must not spill onto the terminal once it is back.
            _discard(stream)
    for fd, saved in pager.saved.items():
        os.dup2(saved, fd)
        os.close(saved)
    # The reader may still be scrolling: Ctrl-C is for the pager, not for us (git too).
    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pager.process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _discard(stream: TextIO) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
        stream.flush()
    except (OSError, ValueError):
        pass


def paging() -> bool:
    """True while output goes through the pager."""
    return _PAGER is not None


def out() -> TextIO:
    """Standard output for a paged command's data (starting the pager if it is due)."""
    start_pager()
    return sys.stdout
