"""Reading record files: safe YAML with limits, line numbers, validation."""

from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.hashing import digest
from lessons.model import Problem, Schema, excerpt, validate

MAX_BYTES = 1024 * 1024
# The problem of a file holding no document at all (only comments, or nothing).
EMPTY = "file is empty"
MAX_DEPTH = 50
# Nodes a document may expand to once aliases are followed. A real record has a
# few hundred; a "billion laughs" document has 10**9.
MAX_NODES = 100_000


class _LazyYaml:
    """PyYAML, imported on first use.

    A read command whose files did not change never parses YAML, and the
    import costs about 13 ms of start-up. The first attribute access replaces
    this stand-in with the module itself.
    """

    def __getattr__(self, name: str) -> Any:
        import yaml as module

        globals()["yaml"] = module
        return getattr(module, name)


yaml: Any = _LazyYaml()


@functools.cache
def _loader() -> Any:
    """The C safe loader, refusing a key written twice in any mapping (YAML would keep
    the last value and silently drop the first: a word lost), and reading a timestamp
    that is no real date (``2024-13-45``) as text: validation then names its field
    and line, where PyYAML's ValueError would make the whole file unreadable."""
    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class RepeatedKey(yaml.constructor.ConstructorError):
        def __init__(self, key: Any, first: int, second: int, top: bool, mark: Any) -> None:
            super().__init__(None, None, f"key '{excerpt(key)}' appears twice", mark)
            self.key, self.first, self.second, self.top = key, first, second, top

    def construct_document(self: Any, node: Any) -> Any:
        self._top_node = node
        return base.construct_document(self, node)

    def construct_mapping(self: Any, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode
                ):
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    top = node is getattr(self, "_top_node", None)
                    raise RepeatedKey(key, first, line, top, key_node.start_mark)
                seen[key] = line
        return base.construct_mapping(self, node, deep)

    def timestamp(loader: Any, node: Any) -> Any:
        try:
            return base.construct_yaml_timestamp(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    loader: Any = type(
        "RecordLoader",
        (base,),
        {"construct_document": construct_document, "construct_mapping": construct_mapping},
    )
    loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    loader.RepeatedKey = RepeatedKey
    return loader


@dataclass
class Loaded:
    """The outcome of reading one record file."""

    path: str
    digest: str
    record: dict[str, Any] | None
    problems: list[Problem]


def digest_of(data: bytes) -> str:
    """The content hash the index keeps to confirm a change."""
    return digest(data)


def _structure_problem(text: str) -> Problem | None:
    """Refuse documents nested too deep or expanding too far through aliases.

    Walks parser events, never building the document, so a bomb costs only its
    own size. Only run when the text could hold such a thing (see ``_may_be_hostile``).
    """
    depth = 0
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded node count] per open collection
    # Values that exist only through aliases: a long plain list is no bomb.
    expanded = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return Problem(
                    f"nesting deeper than {MAX_DEPTH} levels; refused",
                    line=_line(event),
                )
            stack.append([event.anchor, 1])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, count = stack.pop()
            if anchor:
                sizes[anchor] = count
            if stack:
                stack[-1][1] += count
        elif isinstance(event, yaml.AliasEvent) and any(f[0] == event.anchor for f in stack):
            # An alias inside its own anchor: a structure that contains itself.
            return Problem(f"alias '*{event.anchor}' refers to itself; refused", line=_line(event))
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            count = 1 if isinstance(event, yaml.ScalarEvent) else sizes.get(event.anchor or "", 1)
            if isinstance(event, yaml.ScalarEvent) and event.anchor:
                sizes[event.anchor] = 1
            if stack:
                stack[-1][1] += count
            if isinstance(event, yaml.AliasEvent):
                expanded += count
            if expanded > MAX_NODES:
                return Problem(
                    f"aliases expand to more than {MAX_NODES} values; refused",
                    line=_line(event),
                )
    return None


def _line(event: Any) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


# A line indented (with spaces and "- ") deeper than the nesting limit allows.
_DEEP_INDENT = re.compile(rf"^[ -]{{{MAX_DEPTH + 1},}}", re.MULTILINE)


def _may_be_hostile(text: str) -> bool:
    # Cheap tests that let ordinary records skip the event walk: aliases need '*',
    # and deep nesting needs many brackets or deep indentation.
    if "*" in text and "&" in text:
        return True
    if text.count("[") + text.count("{") + text.count("- ") > MAX_DEPTH:
        return True
    return _DEEP_INDENT.search(text) is not None


def parse_yaml(data: bytes, shown: str) -> tuple[Any, list[Problem]]:
    """Decode and safely parse one YAML document; problems instead of exceptions.

    A message quotes at most a short, escaped excerpt of what the file holds.
    """
    if len(data) > MAX_BYTES:
        return None, [Problem(f"file is larger than {MAX_BYTES // 1024} KiB; refused", path=shown)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(f"not UTF-8 text (byte {exc.start})", path=shown, line=1)]
    if "\x00" in text:
        return None, [Problem("file holds a NUL byte: not a text file", path=shown, line=1)]
    loader = _loader()
    try:
        if _may_be_hostile(text):
            refused = _structure_problem(text)
            if refused:
                refused.path = shown
                return None, [refused]
        docs = list(yaml.load_all(text, Loader=loader))
    except loader.RepeatedKey as exc:
        return None, [
            Problem(
                f"key '{excerpt(exc.key)}' appears twice (lines {exc.first} and {exc.second}); "
                "YAML would keep only the second",
                field=excerpt(exc.key) if exc.top else None,
                line=exc.second,
                path=shown,
            )
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = f"YAML syntax error: {excerpt(exc.problem or exc.context, 120)}"
        return None, [Problem(msg, path=shown, line=mark.line + 1 if mark else None)]
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a control character): one line, with its line.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "?")
        msg = f"YAML could not be read: {exc.reason} (character #x{char:04x})"
        return None, [Problem(msg, path=shown, line=line)]
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"YAML could not be read: {excerpt(first, 120)}"
        return None, [Problem(msg, path=shown, line=1)]
    if len(docs) > 1:
        return None, [Problem("file holds more than one YAML document", path=shown, line=1)]
    if not docs or docs[0] is None:
        return None, [Problem(EMPTY, path=shown, line=1)]
    return docs[0], []


def line_map(text: str) -> dict[tuple[str | int, ...], int]:
    """Line numbers (1-based) of every key and list item, by their path in the document."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError:
        return lines

    def walk(node: Any, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*loc, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*loc, i)] = item.start_mark.line + 1
                walk(item, (*loc, i))

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def place_problems(problems: list[Problem], text: str | None, shown: str) -> None:
    """Fill in the file and line of each problem (lines computed only when needed)."""
    lines: dict[tuple[str | int, ...], int] | None = None
    for p in problems:
        p.path = p.path or shown
        if p.line is not None or text is None:
            continue
        if lines is None:
            lines = line_map(text)
        loc = p.loc
        while loc and loc not in lines:
            loc = loc[:-1]
        p.line = lines.get(loc, lines.get((), 1))


def _kind_of_file(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def refusal(path: Path, root: Path) -> str | None:
    """Why the entry file at ``path`` must not be read, or None when it may be.

    A symbolic link may lead only to a regular file inside the knowledge base
    (``root``); FIFOs, devices and the like are never opened (a FIFO would block).
    Nothing here reads a file's content.
    """
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        base = os.path.realpath(root)
        if not (real == base or real.startswith(base.rstrip("/") + "/")):
            return "not read: a symbolic link to a file outside the knowledge base"
        try:
            st = os.stat(real)
        except OSError:
            return "not read: a symbolic link to nothing (its target is missing)"
    if not stat.S_ISREG(st.st_mode):
        return f"not read: {_kind_of_file(st.st_mode)}, not a record file"
    if st.st_size > MAX_BYTES:
        return f"file is larger than {MAX_BYTES // 1024} KiB; refused"
    return None


def load_file(
    path: Path,
    shown: str,
    schema: Schema,
    data: bytes | None = None,
    *,
    root: Path | None = None,
) -> Loaded:
    """Read, parse and validate one record file (``data``: its bytes, already in hand).

    With ``root`` (the knowledge base), the file is first checked without being
    opened (see ``refusal``).
    """
    if data is None:
        why = refusal(path, root) if root is not None else None
        if why is None and root is None:
            try:
                if path.stat().st_size > MAX_BYTES:
                    why = f"file is larger than {MAX_BYTES // 1024} KiB; refused"
            except OSError as exc:
                why = f"cannot read: {exc.strerror}"
        if why is None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                why = f"cannot read: {exc.strerror}"
        if why is not None or data is None:
            problem = Problem(why or "cannot read")
            place_problems([problem], None, shown)
            return Loaded(shown, "", None, [problem])
    digest = digest_of(data)
    raw, problems = parse_yaml(data, shown)
    if problems:
        return Loaded(shown, digest, None, problems)
    stem = path.name.rsplit(".", 1)[0]
    record, problems = validate(raw, schema, stem=stem)
    if problems:
        place_problems(problems, data.decode("utf-8-sig"), shown)
    return Loaded(shown, digest, record, problems)
