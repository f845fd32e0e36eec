"""``lessons browse``: an interactive picker for the lesson half remembered.

A full-screen prompt_toolkit application: a search line on top (the ranking of
``lessons search``), the results on the left, the highlighted record on the
right. prompt_toolkit is imported here only, so no other command pays for it.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer

from lessons.cli.app import app
from lessons.cli.common import synced_kb
from lessons.cli.render import is_tty

# How many results the list holds (the search runs again on every keystroke).
LIMIT = 50
HELP_LINE = " type to search · ↑↓ move · Enter show · e edit · / search · q quit"
# Characters a terminal acts on instead of showing: C0 and C1 controls (an escape
# sequence starts with one; newline and tab pass), bidirectional overrides and
# isolates, line separators, and lone surrogates (file-name bytes that are not UTF-8).
# The same set as the cli helper's cli/terminal.py `safe` (to use once it is merged).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0xA0:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def clean(text: str) -> str:
    """Record text made safe for the screen: every character a terminal would act on
    shown as an escape (``\\x1b``, ``<U+202E>``), never sent (a record may hold
    ``\\x1b[31m``)."""
    return _UNSAFE.sub(_visible, text)


@app.command()
def browse(
    query: Annotated[
        list[str] | None, typer.Argument(metavar="[QUERY...]", help="Start with this search.")
    ] = None,
) -> None:
    """Pick a record interactively: type to search, arrows to move, a preview beside.

    The list is ranked as `lessons search` ranks; with no query it shows the
    newest records. Enter shows the highlighted record (as `lessons show`), e
    opens it in $EDITOR and comes back, / returns to the search line, q or Esc
    leaves. Needs a terminal. Example: lessons browse hashtags
    """
    from lessons.errors import UsageError

    if not (is_tty(sys.stdin) and is_tty(sys.stdout)):
        raise UsageError(
            "browse needs a terminal",
            hint="`lessons search QUERY` and `lessons show ID` work in scripts and pipes",
        )
    kb, _ = synced_kb()
    text = " ".join(query or [])
    chosen: str | None = None
    while True:
        # Back from the editor, the highlight is where it was, in the list.
        picker = Picker(kb, text, chosen, in_list=chosen is not None)
        action = picker.run()
        if action is None:
            return
        verb, chosen = action
        text = picker.query
        if verb == "show":
            from lessons.cli.read import show

            show(chosen, json_out=False)
            return
        _edit(chosen)
        kb.sync()


def _edit(rid: str) -> None:
    """``lessons edit ID``; its errors are shown and the picker comes back."""
    from lessons.cli.app import render_error
    from lessons.cli.record import edit
    from lessons.errors import LessonsError

    try:
        edit(rid)
    except LessonsError as exc:
        render_error(exc)
    except typer.Exit:
        pass


class Picker:
    """The application: search line, result list, preview."""

    def __init__(
        self, kb: Any, query: str = "", selected: str | None = None, *, in_list: bool = False
    ) -> None:
        self.kb = kb
        self.in_list = in_list
        self.query = query
        self.rows: list[dict[str, Any]] = []
        self.index = 0
        self.message = ""
        self._search(query)
        if selected:
            ids = [r["id"] for r in self.rows]
            self.index = ids.index(selected) if selected in ids else 0

    # --- the data ----------------------------------------------------------------

    def _search(self, text: str) -> None:
        from lessons.errors import LessonsError

        self.query = text
        self.index = 0
        self.message = ""
        if not text.strip():
            from lessons.filters import Filters

            _, rows = self.kb.store.select(
                Filters(), sort="date", columns="r.id, r.title, r.kind, r.date", limit=LIMIT
            )
            self.rows = [dict(r) for r in rows]
            return
        from lessons.search import search

        try:
            found = search(self.kb.store, text, limit=LIMIT, synonyms=self.kb.config.synonyms)
        except LessonsError as exc:
            self.rows = []
            self.message = exc.message
            return
        self.rows = [
            {"id": h.id, "title": h.title, "kind": h.kind, "date": h.date} for h in found.hits
        ]
        if found.showing:
            self.message = f"showing {found.showing}"

    def current(self) -> str | None:
        """The id highlighted, if any."""
        return self.rows[self.index]["id"] if self.rows else None

    def list_text(self, width: int) -> list[tuple[str, str]]:
        """The result list as prompt_toolkit fragments, the highlighted row reversed."""
        out: list[tuple[str, str]] = []
        if not self.rows:
            out.append(("class:dim", clean(self.message or "nothing matches") + "\n"))
            return out
        for i, row in enumerate(self.rows):
            mark = {"mistake": "M", "success": "S", "observation": "O"}.get(row["kind"], "?")
            line = f"{mark} {row['date'] or '          '} {clean(row['title'])}"
            line = line if len(line) <= width else line[: max(width - 1, 0)] + "…"
            style = "class:selected" if i == self.index else f"class:{row['kind']}"
            out.append((style, line.ljust(width) + "\n"))
        return out

    def preview_text(self) -> str:
        """The highlighted record as `lessons show` lays it out, as plain safe text."""
        rid = self.current()
        if rid is None:
            return ""
        from lessons.cli.read import render_record

        rec = self.kb.store.get(rid)
        if rec is None:
            return ""
        backlinks = self.kb.store.backlinks(rid)
        titles = self.kb.store.titles(link["to"] for link in rec.get("links", []))
        doc = render_record(rec, backlinks, titles)
        return "\n".join(clean("".join(chunk for chunk, _ in segs)) for segs in doc.lines)

    # --- the screen --------------------------------------------------------------

    def run(self) -> tuple[str, str] | None:
        """Show the picker; ("show" or "edit", id) when one was chosen, None on leaving."""
        from prompt_toolkit.application import Application
        from prompt_toolkit.buffer import Buffer
        from prompt_toolkit.document import Document
        from prompt_toolkit.filters import has_focus
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import HSplit, Layout, VSplit, Window
        from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
        from prompt_toolkit.layout.dimension import D
        from prompt_toolkit.layout.processors import BeforeInput
        from prompt_toolkit.styles import Style

        search = Buffer(
            document=Document(self.query, len(self.query)),
            multiline=False,
            on_text_changed=lambda buf: self._search(buf.text),
        )
        search_window = Window(
            BufferControl(search, input_processors=[BeforeInput("search: ")]), height=1
        )

        def listed() -> Any:
            info = list_window.render_info
            return self.list_text(max(info.window_width, 20) if info else 36)

        list_control = FormattedTextControl(
            listed,
            focusable=True,
            show_cursor=False,
        )
        # Two fifths of the width for the list, the rest for the preview.
        list_window = Window(list_control, width=D(weight=2), wrap_lines=False)
        preview = Window(
            FormattedTextControl(lambda: [("", self.preview_text())]),
            width=D(weight=3),
            wrap_lines=True,
        )
        keys = KeyBindings()
        in_list = has_focus(list_window)

        def move(step: int) -> None:
            if self.rows:
                self.index = max(0, min(len(self.rows) - 1, self.index + step))

        @keys.add("up")
        def _up(event: Any) -> None:
            move(-1)
            event.app.layout.focus(list_window)

        @keys.add("down")
        def _down(event: Any) -> None:
            move(1)
            event.app.layout.focus(list_window)

        @keys.add("pageup")
        def _pgup(event: Any) -> None:
            move(-10)

        @keys.add("pagedown")
        def _pgdown(event: Any) -> None:
            move(10)

        @keys.add("enter")
        def _show(event: Any) -> None:
            if self.current():
                event.app.exit(result=("show", self.current()))

        @keys.add("e", filter=in_list)
        @keys.add("c-e")
        def _edit_key(event: Any) -> None:
            if self.current():
                event.app.exit(result=("edit", self.current()))

        @keys.add("/", filter=in_list)
        def _to_search(event: Any) -> None:
            event.app.layout.focus(search_window)

        @keys.add("q", filter=in_list)
        @keys.add("escape", eager=True)
        @keys.add("c-c")
        @keys.add("c-d")
        def _quit(event: Any) -> None:
            event.app.exit(result=None)

        body = HSplit(
            [
                search_window,
                Window(height=1, char="─"),
                VSplit(
                    [
                        list_window,
                        Window(width=1, char="│"),
                        preview,
                    ],
                    padding=0,
                ),
                Window(
                    FormattedTextControl(lambda: [("class:help", HELP_LINE)]),
                    height=1,
                ),
            ]
        )
        style = Style.from_dict(
            {
                "selected": "reverse",
                "mistake": "",
                "success": "",
                "observation": "",
                "dim": "italic",
                "help": "reverse",
            }
        )
        application: Application[tuple[str, str] | None] = Application(
            layout=Layout(body, focused_element=list_window if self.in_list else search_window),
            key_bindings=keys,
            full_screen=True,
            style=style,
            mouse_support=False,
        )
        return application.run()
