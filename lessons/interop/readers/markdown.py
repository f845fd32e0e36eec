"""Markdown post-mortems: one record per file, from its front matter and its sections.

Front matter (YAML between ``---`` lines, or TOML between ``+++`` lines) gives
columns like any other source, read with the same safe loader as a YAML import.
The body is parsed by markdown-it-py (CommonMark): each heading of the section
level (the shallowest level in the body, below a single title heading) starts
a section, and its text (sub-headings and all, as written) is the column
``section:<heading>``. A lone top heading is the title. Text outside any section
is the column ``body``. Lists under a section are kept as lists, so a section
mapped to a list field (``actions``, ``recommendations``) gives one item per
list item.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lessons.errors import LessonsError
from lessons.interop.source import ReadOptions, Row, RowProblem, Source, decode

SECTION = "section:"
BODY = "body"
# More files than this in one folder is more likely a mistake (a home folder).
MAX_FILES = 100_000
_FRONT = re.compile(r"\A(?:\ufeff)?(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*[.)]?|[ivxIVX]+[.)])\s+")


class Section(str):
    """A section's text, and its list items when it holds a list (for list fields)."""

    items: list[tuple[str, bool]]

    def __new__(cls, text: str, items: list[tuple[str, bool]]) -> Section:
        obj = super().__new__(cls, text)
        obj.items = items
        return obj


def section_name(heading: str) -> str:
    """A heading as a column name: numbering (``3.2``, ``IV.``) and trailing colons gone."""
    return _NUMBERING.sub("", heading).strip().rstrip(":").strip()


def read_markdown(path: Path, shown: str, options: ReadOptions) -> Source:
    """Every Markdown file under ``path`` (a folder, recursively) or ``path`` itself."""
    source = Source(shown, "md", text_cells=True)
    if path.is_dir():
        found = []
        outside = []
        base = path.resolve()
        for p in path.rglob("*"):
            if any(part.startswith(".") for part in p.relative_to(path).parts) or not p.is_file():
                continue
            if p.is_symlink() and base not in p.resolve().parents:
                # A folder from elsewhere may link to any file of this machine: never read.
                outside.append(p.relative_to(path).as_posix())
                continue
            found.append(p)
        if outside:
            source.notes.append(
                f"{len(outside):,} symbolic link{'s' if len(outside) != 1 else ''} to files "
                f"outside {shown} {'were' if len(outside) != 1 else 'was'} not read: "
                + ", ".join(outside[:5])
                + (", …" if len(outside) > 5 else "")
            )
        files = sorted(p for p in found if p.suffix.lower() in (".md", ".markdown"))
        others = sorted(p.relative_to(path).as_posix() for p in found if p not in set(files))
        if others:
            shown_others = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
            source.notes.append(
                f"{len(others):,} other file{'s' if len(others) != 1 else ''} in {shown} "
                f"{'were' if len(others) != 1 else 'was'} not read (not .md or .markdown): "
                + shown_others
            )
        if len(files) > MAX_FILES:
            raise LessonsError(f"more than {MAX_FILES:,} Markdown files; refused", path=shown)
        if not files:
            raise LessonsError("no Markdown files (*.md, *.markdown) in this folder", path=shown)
        names = [(p, f"{shown.rstrip('/')}/{p.relative_to(path).as_posix()}") for p in files]
    else:
        names = [(path, shown)]
    columns: dict[str, None] = {}
    from_heading = from_file = 0
    for file, where in names:
        try:
            text = decode(file.read_bytes(), where)
        except OSError as exc:
            source.unreadable.append(RowProblem(where, f"cannot read: {exc.strerror}"))
            continue
        except LessonsError as exc:
            source.unreadable.append(RowProblem(where, exc.message))
            continue
        try:
            data, title_from = parse_document(text, where, file.stem)
        except LessonsError as exc:
            line = f" (line {exc.line})" if exc.line else ""
            source.unreadable.append(RowProblem(where, exc.message + line))
            continue
        if not data:
            source.blank += 1
            continue
        from_heading += title_from == "heading"
        from_file += title_from == "file"
        for key in data:
            columns.setdefault(key, None)
        source.rows.append(Row(where, data))
    source.columns = list(columns)
    if from_heading:
        source.notes.append(
            f"{from_heading:,} file{'s' if from_heading != 1 else ''} had no title in front "
            "matter and took the text of the top heading"
        )
    if from_file:
        source.notes.append(
            f"{from_file:,} file{'s' if from_file != 1 else ''} had no title and no top heading "
            "and took the file's name"
        )
    return source


def read_markdown_text(text: str, shown: str, options: ReadOptions) -> Source:
    """One Markdown document given as text (standard input)."""
    source = Source(shown, "md", text_cells=True)
    try:
        data, _ = parse_document(text, shown, "stdin")
    except LessonsError as exc:
        source.unreadable.append(RowProblem(shown, exc.message))
        return source
    if data:
        source.rows.append(Row(shown, data))
        source.columns = list(data)
    else:
        source.blank += 1
    return source


def _wordy(stem: str) -> bool:
    """Whether a file name holds a word (three letters or more between separators) and
    is not a hexadecimal name (a UUID or a hash, whose letters are a-f only)."""
    if re.fullmatch(r"[0-9a-fA-F_-]{8,}", stem):
        return False
    return any(len(part) >= 3 and part.isalpha() for part in re.split(r"[\W_]+", stem))


def parse_document(text: str, where: str, stem: str) -> tuple[dict[str, Any], str]:
    """(columns of one file, where its title came from: front, heading, file or '')."""
    data: dict[str, Any] = {}
    body = text
    front = _FRONT.match(text)
    if front:
        data.update(_front_matter(front.group(1), front.group(2), where))
        body = text[front.end() :]
        offset = text[: front.end()].count("\n")
    else:
        offset = 0
    title, sections, loose = _sections(body, offset)
    title_from = "front" if _present(data.get("title")) else ""
    if not title_from and title and not _present(data.get("title")):
        data["title"] = title
        title_from = "heading"
    for name, value in sections.items():
        data.setdefault(f"{SECTION}{name}", value)
    if loose.strip():
        # A body without sections is the summary (unless the front matter gave one).
        key = BODY if sections or _present(data.get("summary")) else "summary"
        data.setdefault(key, loose.strip())
    # A name of no words (a UUID, a number) is left out when there is a summary: the
    # import then titles the record with its first sentence, as any row without a title.
    named = _wordy(stem) or not _present(data.get("summary"))
    if data and not title_from and not _present(data.get("title")) and named:
        data["title"] = re.sub(r"[-_]+", " ", stem).strip()
        title_from = "file"
    return data, title_from


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _front_matter(fence: str, text: str, where: str) -> dict[str, Any]:
    if fence == "+++":
        import tomllib

        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LessonsError(f"TOML front matter could not be read: {exc}", path=where) from None
    else:
        from lessons.interop.readers.yaml import load_yaml_documents

        docs = load_yaml_documents(text, where, line_offset=1)
        data = docs[0] if docs else {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LessonsError("the front matter is not a mapping of keys to values", path=where)
    return {str(k): v for k, v in data.items()}


def _sections(body: str, offset: int) -> tuple[str | None, dict[str, Section], str]:
    """(title heading, section name -> its text, text outside any section)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(body)
    lines = body.splitlines()
    headings = [
        (int(tok.tag[1]), tokens[i + 1].content.strip(), tok.map[0], tok.map[1])
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.map is not None and tok.level == 0
    ]
    title, title_at = None, None
    # The first heading is the title when the next one is deeper (or there is no other).
    if headings and (len(headings) == 1 or headings[0][0] < headings[1][0]):
        title, title_at = headings[0][1], (headings[0][2], headings[0][3])
        headings = headings[1:]
    # Sections start at the level of the first heading left, and at any shallower one
    # (a "# Stats" after "## Action items" is a section of its own too).
    level = headings[0][0] if headings else 0
    starts = [h for h in headings if h[0] <= level]
    sections: dict[str, Section] = {}
    loose_parts: list[str] = []
    first_start = starts[0][2] if starts else len(lines)
    title_lines = range(title_at[0], title_at[1]) if title_at else range(0)
    intro = [ln for n, ln in enumerate(lines[:first_start]) if n not in title_lines]
    if "\n".join(intro).strip():
        loose_parts.append("\n".join(intro).strip())
    for k, (_, name, _, end) in enumerate(starts):
        stop = starts[k + 1][2] if k + 1 < len(starts) else len(lines)
        # Trailing spaces (a Markdown line break) would force YAML's quoted style.
        text = "\n".join(line.rstrip() for line in lines[end:stop]).strip()
        items = _list_items(tokens, end, stop)
        key = section_name(name) or name
        if key in sections:
            # The same heading twice in one file: keep both texts, in order.
            joined = f"{sections[key]}\n\n{text}".strip()
            sections[key] = Section(joined, sections[key].items + items)
        else:
            sections[key] = Section(text, items)
    return title, sections, "\n\n".join(loose_parts)


def _list_items(tokens: list[Any], begin: int, end: int) -> list[tuple[str, bool]]:
    """The top-level list items between source lines ``begin`` and ``end``: (text, checked)."""
    items: list[tuple[str, bool]] = []
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
            continue
        if tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            continue
        if (
            tok.type == "list_item_open"
            and depth == 1
            and tok.map is not None
            and begin <= tok.map[0] < end
        ):
            inline = next(
                (t for t in tokens[i + 1 :] if t.type == "inline"),
                None,
            )
            text = inline.content.strip() if inline is not None else ""
            checked = False
            box = re.match(r"\[([ xX])\]\s+", text)
            if box:
                checked = box.group(1) in "xX"
                text = text[box.end() :]
            if text:
                items.append((text, checked))
    return items
