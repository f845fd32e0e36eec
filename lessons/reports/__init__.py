"""Reports (SPEC §7): data builders for ``retro``, ``brief`` and ``actions``, and their templates.

Each builder returns plain data (dataclasses with ``as_dict()``); the CLI picks
the format. Markdown and HTML are Jinja2 templates under ``templates/`` that
receive exactly the dict ``--format json`` prints, so a user's own template
(``--template FILE``) can show anything the built-in ones show.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from lessons.filters import Filters
from lessons.mdtext import md_escape

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Look-alike recurrences are found by comparing every mistake with every other
# one (``links.recurrence``); above this many mistakes in the knowledge base a
# report keeps to the recorded ``repeats`` links, so that it stays quick.
RECURRENCE_SCAN_MAX = 1000


def recurring(
    kb: Any,
    filters: Filters | None = None,
    *,
    touching: Collection[str] | None = None,
    tags: Collection[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Recurring mistakes whose later record ``filters`` select, most similar first, in
    the shape of ``links.Recurrence.as_dict()``; and a note when look-alikes were not
    searched for.

    Up to ``RECURRENCE_SCAN_MAX`` mistakes, ``links.recurrence`` does it all:
    ``repeats`` links and unlinked look-alikes, in words and meaning (the note says
    when some mistakes had no vector yet and were compared by words alone). Above,
    only the links are read (without similarity, which would mean vectorising every
    linked record); and a caller that wants only the links ``touching`` some records,
    or whose two records share one of ``tags`` (a brief), gets only those, without
    the records of every other link being read (86,000 links at 1,000,000 records).
    """
    store = kb.store
    mistakes = int(dict(store.counts("kind")).get("mistake", 0))
    if mistakes <= RECURRENCE_SCAN_MAX:
        from lessons.links import recurrence

        found = recurrence(kb, filters)
        text_only = None
        if found.without_vectors:
            text_only = (
                f"look-alike mistakes were compared by meaning for {found.with_vectors} of"
                f" {found.mistakes} mistakes, the others by their words alone;"
                " `lessons index` gives them vectors"
            )
        return [r.as_dict() for r in found], text_only
    note = (
        f"look-alike mistakes were not searched for: the knowledge base holds "
        f"{mistakes} mistakes (more than {RECURRENCE_SCAN_MAX}); "
        f"`lessons related --recurring` searches them all"
    )
    pairs = [(src, dst) for src, dst, _, _, _ in store.all_links("repeats")]
    if touching is not None or tags is not None:
        near = set(touching or ())
        sharing = set(store.repeats_sharing(sorted(tags))) if tags else set()
        pairs = [p for p in pairs if p[0] in near or p[1] in near or p in sharing]
    if filters is not None and not filters.is_empty():
        _, rows = store.select(filters, sort="id", columns="r.id")
        chosen = {r["id"] for r in rows}
        pairs = [(src, dst) for src, dst in pairs if src in chosen]
    info = {
        r[0]: {"id": r[0], "title": r[1], "date": r[3], "campaign": r[4], "tags": r[5].split()}
        for r in store.similarity_rows({i for pair in pairs for i in pair})
    }
    out = []
    for src, dst in pairs:
        later, earlier = info.get(src), info.get(dst)
        if later is None or earlier is None:
            continue
        shared = sorted(set(later["tags"]) & set(earlier["tags"]))
        out.append(
            {
                "id": src,
                "title": later["title"],
                "score": None,
                "linked": True,
                "earlier": {k: earlier[k] for k in ("id", "title", "date", "campaign")},
                "later": {k: later[k] for k in ("id", "title", "date", "campaign")},
                "shared_words": [],
                "shared_tags": shared,
            }
        )
    out.sort(key=lambda r: (r["later"]["date"] or "", r["id"]), reverse=True)
    return out, note


def kb_name(kb: Any) -> str:
    """The knowledge base's configured name, or its folder's when none is set."""
    name = kb.config.name
    return name if name and name != "lessons" else kb.root.name


def shift_date(day: str, days: int) -> str:
    """``day`` (YYYY-MM-DD) moved by ``days``."""
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def selection_label(filters: Filters) -> str:
    """The selection in words, for report titles: ``campaign X, 2024-01-01 – 2024-03-31``."""
    parts = []
    if filters.campaign:
        parts.append(f"campaign {filters.campaign}")
    if filters.team:
        parts.append(f"team {filters.team}")
    if filters.since or filters.until:
        parts.append(f"{filters.since or '…'} – {filters.until or '…'}")
    for name in ("kind", "stage", "impact", "status"):
        value = getattr(filters, name)
        if value:
            parts.append(f"{name} {value}")
    if filters.tags:
        parts.append("tagged " + ", ".join(filters.tags))
    if filters.linked_to:
        parts.append(f"linked to {filters.linked_to}")
    if filters.orphans:
        parts.append("without links")
    return ", ".join(parts) or "all records"


def short(text: str | None, n: int = 240) -> str:
    """``text`` on one line, cut at a word boundary to at most ``n`` characters."""
    text = " ".join((text or "").split())
    if len(text) <= n:
        return text
    cut = text[: n - 1].rsplit(" ", 1)[0] if " " in text[: n - 1] else text[: n - 1]
    return cut.rstrip(",;:.") + "…"


# --- templates ---------------------------------------------------------------------

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.j2", ".htm.j2", ".svg")


def template_format(path: Path) -> str:
    """``html`` for a template whose name says HTML, else ``md``."""
    return "html" if path.name.lower().endswith(HTML_SUFFIXES) else "md"


def render(
    name: str,
    data: Mapping[str, Any],
    *,
    html: bool,
    template: Path | None = None,
) -> str:
    """Render a shipped template (``name``) or the user's ``template`` with ``data``.

    HTML is autoescaped. A user's template gets the same variables; an error in
    it (syntax, an unknown variable) is a ``UsageError`` naming file and line.
    """
    from lessons.templating import environment, render_template

    if template is not None:
        # The template the user named, wherever its name leads; what it includes must
        # then be beside it.
        template = template.resolve()
    folder = template.parent if template else TEMPLATES
    env = environment(
        folder,
        html=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["short"] = short
    env.filters["md"] = md_escape
    env.filters["cell"] = md_escape
    env.filters["pct"] = pct
    env.filters["signed"] = signed
    shown = str(template) if template else name
    main = template.name if template else name
    text = render_template(env, folder, main, data, shown=shown)
    return text if template or html else tidy_markdown(text)


def tidy_markdown(text: str) -> str:
    """One blank line between blocks: before each heading, never two in a row."""
    text = re.sub(r"\n*(\n#{1,6} )", r"\n\1", text)
    text = re.sub(r"([^\n])\n(#{1,6} )", r"\1\n\n\2", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def pct(value: float | None, digits: int = 0) -> str:
    """0.425 -> ``42%``; None -> ``–``."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def signed(value: float | int | None, unit: str = "") -> str:
    """+3, −2, ±0 (with ``unit`` after the number)."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = round(value, 1)
        if value == int(value):
            value = int(value)
    if value > 0:
        return f"+{value}{unit}"
    if value < 0:
        return f"−{-value}{unit}"
    return f"±0{unit}"


def ids_in(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ``id`` of each item."""
    return {str(i["id"]) for i in items}
