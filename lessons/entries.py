"""Record files: safe loading with limits and line numbers, writing, atomic round-trip edits."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.errors import ConflictError, LessonsError, RecordError
from lessons.hashing import digest
from lessons.model import Problem, Schema, to_document, validate

MAX_BYTES = 1024 * 1024
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
    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class Loader(base):  # type: ignore[misc,valid-type]
        """The safe loader, reading a timestamp that is no real date (``2024-13-45``) as
        text: validation then names its field and line, where PyYAML's ValueError
        would make the whole file unreadable."""

    def timestamp(loader: Any, node: Any) -> Any:
        try:
            return base.construct_yaml_timestamp(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    return Loader


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
    total = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return Problem(
                    f"nesting deeper than {MAX_DEPTH} levels; refused",
                    line=_line(event),
                )
            stack.append([event.anchor, 1])
            total += 1
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
            total += count
            if total > MAX_NODES:
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
    """Decode and safely parse one YAML document; problems instead of exceptions."""
    if len(data) > MAX_BYTES:
        return None, [Problem(f"file is larger than {MAX_BYTES // 1024} KiB; refused", path=shown)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(f"not UTF-8 text (byte {exc.start})", path=shown, line=1)]
    if "\x00" in text:
        return None, [Problem("file holds a NUL byte: not a text file", path=shown, line=1)]
    try:
        if _may_be_hostile(text):
            refused = _structure_problem(text)
            if refused:
                refused.path = shown
                return None, [refused]
        docs = list(yaml.load_all(text, Loader=_loader()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        return None, [Problem(msg, path=shown, line=mark.line + 1 if mark else None)]
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a control character): one line, with its line.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "?")
        msg = f"YAML could not be read: {exc.reason} (character #x{char:04x})"
        return None, [Problem(msg, path=shown, line=line)]
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        return None, [Problem(f"YAML could not be read: {exc}", path=shown, line=1)]
    if len(docs) > 1:
        return None, [Problem("file holds more than one YAML document", path=shown, line=1)]
    if not docs or docs[0] is None:
        return None, [Problem("file is empty", path=shown, line=1)]
    doc = docs[0]
    if isinstance(doc, dict):
        repeated = _repeated_key(text, len(doc))
        if repeated:
            repeated.path = shown
            return None, [repeated]
    return doc, []


# A key of the top-level mapping: at the start of a line, before a colon.
_TOP_KEY = re.compile(r"^([^\s#'\"\-?:][^:\n]*?)\s*:(?:\s|$)", re.MULTILINE)


def _repeated_key(text: str, distinct: int) -> Problem | None:
    """A top-level key written twice: YAML keeps only the last, so a word would be lost."""
    keys = _TOP_KEY.findall(text)
    if len(keys) <= distinct:
        return None
    first: dict[str, int] = {}
    for match in _TOP_KEY.finditer(text):
        key = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        if key in first:
            return Problem(
                f"key '{key}' appears twice (lines {first[key]} and {line}); YAML would keep "
                "only the second",
                field=key,
                line=line,
            )
        first[key] = line
    return None


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


def load_file(path: Path, shown: str, schema: Schema, data: bytes | None = None) -> Loaded:
    """Read, parse and validate one record file."""
    if data is None:
        try:
            if path.stat().st_size > MAX_BYTES:
                problem = Problem(f"file is larger than {MAX_BYTES // 1024} KiB; refused")
                place_problems([problem], None, shown)
                return Loaded(shown, "", None, [problem])
            data = path.read_bytes()
        except OSError as exc:
            problem = Problem(f"cannot read: {exc.strerror}")
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


# --- writing -------------------------------------------------------------------


def _str_representer(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@functools.cache
def _block_dumper() -> Any:
    """The C dumper, with multi-line text as ``|`` blocks so records stay readable in diffs."""
    base = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
    dumper: Any = type("_BlockDumper", (base,), {})
    dumper.add_representer(str, _str_representer)
    return dumper


def dump_record(rec: dict[str, Any], schema: Schema | None = None) -> str:
    """The YAML text of a new record file, keys in the order of SPEC §2."""
    doc = to_document(rec, schema)
    # Dates go out as YAML dates (2024-05-01, unquoted), as a person writes them.
    dated = ["date", "recorded"] + [
        f.name for f in (schema.fields if schema else ()) if f.type == "date"
    ]
    for key in dated:
        if isinstance(doc.get(key), str):
            doc[key] = _as_date(doc[key])
    for action in doc.get("actions") or []:
        if isinstance(action.get("due"), str):
            action["due"] = _as_date(action["due"])
    return yaml.dump(
        doc,
        Dumper=_block_dumper(),
        sort_keys=False,
        allow_unicode=True,
        width=88,
        default_flow_style=False,
    )


def _as_date(value: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return value


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _cannot_write(path: Path, exc: OSError) -> LessonsError:
    return LessonsError(f"cannot write {path.name}: {exc.strerror or exc}", path=str(path.parent))


def atomic_write(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half.

    ``durable=False`` skips the two fsyncs: for bulk writers (import) that flush
    everything once at the end with ``os.sync()`` instead of paying per file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        # A read-only folder, a full disk: the user's to fix, so a clean error (exit 2).
        raise _cannot_write(path, exc) from None
    try:
        # mkstemp makes the file private (0600); give it the mode the file had, or
        # the one a new file gets under the umask, so teammates can still read it.
        os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def write_lock(root: Path, timeout: float = 10.0) -> Iterator[None]:
    """Serialise writers of one knowledge base, so no read-modify-write is lost."""
    import fcntl
    import time

    lock_dir = root / ".lessons"
    try:
        lock_dir.mkdir(exist_ok=True)
        handle = open(lock_dir / "write.lock", "a+")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise LessonsError(
            f"cannot write to this knowledge base: {exc.strerror}", path=str(lock_dir)
        ) from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConflictError(
                        "another lessons command is writing to this knowledge base",
                        hint="try again in a moment",
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        handle.close()


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    # Never re-wrap: a long line the user wrote must come back as it was.
    rt.width = 1 << 30
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _detect_indent(text: str, rt: Any) -> None:
    # Keep a file's own list style ("- x" flush with the key, or indented by two).
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and line != stripped:
            rt.indent(
                mapping=2, sequence=len(line) - len(stripped) + 2, offset=len(line) - len(stripped)
            )
            return
        if stripped.startswith("- "):
            rt.indent(mapping=2, sequence=2, offset=0)
            return


def _document_start(text: str) -> str | None:
    """The lines up to and including an opening ``---``, or None when there is none.

    ruamel drops the marker unless told, and the comments above it always.
    """
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return "".join(lines[: i + 1]) if stripped.startswith("---") else None
    return None


def _load_round_trip(rt: Any, text: str, shown: str) -> Any:
    """The round-trip document; what the round-trip parser refuses (a key given twice,
    which the safe loader lets pass with the last value) is a ``RecordError``."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return rt.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "").split())
        raise RecordError(
            f"cannot edit the file safely: {problem}; nothing was written",
            path=shown,
            line=mark.line + 1 if mark else None,
            hint="fix the file by hand (`lessons check` shows its problems)",
        ) from None
    except YAMLError as exc:
        raise RecordError(
            f"cannot edit the file safely: {exc}; nothing was written", path=shown
        ) from None


def edit_file(
    path: Path,
    root: Path,
    schema: Schema,
    change: Callable[[Any], None],
    *,
    expected_digest: str | None = None,
) -> dict[str, Any]:
    """Apply ``change`` to the round-trip document of ``path`` and write it back atomically.

    Comments, key order, quoting and the layout of untouched keys survive. The
    new text must validate; ``expected_digest`` (from an earlier read) makes the
    edit refuse if the file changed on disk in between. Returns the new record.
    """
    import io

    shown = str(path)
    with write_lock(root):
        data = _read_unchanged(path, shown, expected_digest)
        text = data.decode("utf-8-sig")
        rt = _round_trip()
        _detect_indent(text, rt)
        start = _document_start(text)
        rt.explicit_start = start is not None
        doc = _load_round_trip(rt, text, shown)
        change(doc)
        out = io.StringIO()
        rt.dump(doc, out)
        new_text = out.getvalue()
        if start is not None and start.strip() != "---" and new_text.startswith("---"):
            new_text = start + new_text.split("\n", 1)[1]
        new_text = keep_untouched(text, new_text)
        loaded = _write_valid(
            path, shown, schema, new_text, "the change would make the record invalid: "
        )
        assert loaded.record is not None
        return loaded.record


def _read_unchanged(path: Path, shown: str, expected_digest: str | None) -> bytes:
    """The file's bytes, if it still holds what was read earlier (``expected_digest``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConflictError(f"the file is gone: {shown}") from None
    if expected_digest is not None and digest_of(data) != expected_digest:
        raise ConflictError(
            "the file changed on disk since it was read; nothing was written",
            path=shown,
            hint="run the command again",
        )
    return data


def _write_valid(path: Path, shown: str, schema: Schema, text: str, prefix: str) -> Loaded:
    """Write ``text`` over ``path`` only if it is a valid record; else raise, writing nothing."""
    loaded = load_file(path, shown, schema, data=text.encode("utf-8"))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors or loaded.record is None:
        first = errors[0] if errors else Problem("the record is invalid")
        raise RecordError(
            f"{prefix}{first.message}; nothing was written",
            path=shown,
            line=first.line,
            field=first.field,
        )
    atomic_write(path, text)
    return loaded


def replace_file(
    path: Path, root: Path, schema: Schema, text: str, *, expected_digest: str
) -> Loaded:
    """Write ``text`` over ``path`` (atomically, under the write lock) if it is a valid record
    and the file still holds what was read (``expected_digest``); else raise, writing nothing."""
    shown = str(path)
    with write_lock(root):
        _read_unchanged(path, shown, expected_digest)
        return _write_valid(path, shown, schema, text, "")


def write_new(path: Path, root: Path, text: str) -> None:
    """Create a record file that must not exist yet (atomically, under the write lock)."""
    with write_lock(root):
        if path.exists():
            raise ConflictError(f"a file already exists at {path}", path=str(path))
        atomic_write(path, text)


# --- keeping comments in place when a list or a mapping changes ------------------
#
# ruamel.yaml hangs the comment lines that follow a value on that value: the
# end-of-line comment and every full-line comment up to the next key or item. So
# appending after the last item, or inserting a key after another, would put the
# new element below comments that belong to what comes next. These helpers move
# such trailing comment lines along, so they stay above what they were above.


def _split_comment(token: Any, own_line: int | None) -> tuple[str | None, str]:
    """(end-of-line comment of the element, the full-line comments that follow it)."""
    value = token.value
    if value.startswith("\n"):
        return None, value[1:]
    line = getattr(getattr(token, "start_mark", None), "line", None)
    if line is not None and own_line is not None and line == own_line:
        first, _, rest = value.partition("\n")
        return first + "\n", rest
    return None, value


def _comment_token(value: str, column: int = 0) -> Any:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    return CommentToken(value, CommentMark(column), None)


def _item_line(seq: Any, index: int) -> int | None:
    try:
        return int(seq.lc.item(index)[0])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _key_line(doc: Any, key: Any) -> int | None:
    try:
        return int(doc.lc.value(key)[0])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _take_tail(slots: Any, pos: int, own_line: int | None) -> str:
    """Cut the trailing full-line comments off ``slots[pos]``; keep its end-of-line part."""
    token = slots[pos] if slots and len(slots) > pos else None
    if token is None:
        return ""
    eol, tail = _split_comment(token, own_line)
    if eol is None:
        slots[pos] = None
    else:
        # Same place as before (the mark keeps its line: it is still an end-of-line comment).
        slots[pos] = type(token)(eol, token.start_mark, None)
    return tail


def _give_tail(slots: Any, pos: int, tail: str) -> None:
    """Hang ``tail`` (full-line comments) after the element owning ``slots``."""
    if not tail:
        return
    token = slots[pos]
    if token is None:
        slots[pos] = _comment_token("\n" + tail)
    else:
        token.value = token.value + tail


def seq_append(seq: Any, value: Any) -> None:
    """Append to a round-trip list; comments below its last item stay below the new one."""
    n = len(seq)
    tail = ""
    if n and not seq.fa.flow_style() and n - 1 in seq.ca.items:
        tail = _take_tail(seq.ca.items[n - 1], 0, _item_line(seq, n - 1))
    seq.append(value)
    if tail:
        seq.ca.items[n] = [None, None, None, None]
        _give_tail(seq.ca.items[n], 0, tail)


def seq_remove(seq: Any, index: int) -> str:
    """Remove one item of a round-trip list; its end-of-line comment goes with it, the
    full-line comments below it stay in place. Returns comments left with nowhere to
    hang (the list is now empty): the caller may pass them to ``hang_comments``."""
    tail = ""
    items = seq.ca.items
    if index in items:
        tail = _take_tail(items[index], 0, _item_line(seq, index))
    # ruamel keys item comments by position: shift the later ones up by one.
    shifted = {i - 1 if i > index else i: v for i, v in items.items() if i != index}
    del seq[index]
    items.clear()
    items.update(shifted)
    if not tail:
        return ""
    if index > 0:
        items.setdefault(index - 1, [None, None, None, None])
        _give_tail(items[index - 1], 0, tail)
        return ""
    if len(seq):
        # Comments between the first and second item: above the new first item.
        if seq.ca.comment is None:
            seq.ca.comment = [None, []]
        if seq.ca.comment[1] is None:
            seq.ca.comment[1] = []
        seq.ca.comment[1].append(_comment_token(tail))
        return ""
    return tail


def hang_comments(doc: Any, key: str, comments: str) -> None:
    """Put full-line ``comments`` right after ``key``'s value in a round-trip mapping."""
    if comments:
        slots = doc.ca.items.setdefault(key, [None, None, None, None])
        _give_tail(slots, 2, comments)


def map_insert(doc: Any, key: str, value: Any, order: Sequence[str]) -> None:
    """Add ``key`` to a round-trip mapping at its place in ``order`` (after the last key
    before it); comments that stood below that key stay below the new one."""
    keys = list(doc)
    rank = {k: i for i, k in enumerate(order)}
    mine = rank.get(key, len(order))
    pos = 0
    for i, k in enumerate(keys):
        if rank.get(k, len(order)) < mine:
            pos = i + 1
    tail = ""
    if pos > 0:
        prev = keys[pos - 1]
        slots = doc.ca.items.get(prev)
        prev_value = doc[prev]
        if slots is not None:
            tail = _take_tail(slots, 2, _key_line(doc, prev))
        elif hasattr(prev_value, "ca"):
            tail = _take_nested_tail(prev_value)
    doc.insert(pos, key, value)
    hang_comments(doc, key, tail)


def _take_nested_tail(node: Any) -> str:
    """The trailing comments of a block list or mapping hang on its last element."""
    if not len(node) or (hasattr(node, "fa") and node.fa.flow_style()):
        return ""
    comments: Any = node.ca
    if isinstance(node, list):
        last = len(node) - 1
        child = node[last]
        if last in comments.items:
            return _take_tail(comments.items[last], 0, _item_line(node, last))
        return _take_nested_tail(child) if hasattr(child, "ca") else ""
    last_key = list(node)[-1]
    if last_key in comments.items:
        return _take_tail(comments.items[last_key], 2, _key_line(node, last_key))
    child = node[last_key]
    return _take_nested_tail(child) if hasattr(child, "ca") else ""


def empty_list(doc: Any, key: str) -> None:
    """Make ``doc[key]`` an empty flow list ``[]``; the end-of-line comments of its items
    go with them, every full-line comment stays below the key."""
    from ruamel.yaml.comments import CommentedSeq

    seq = doc[key]
    eol: str | None = None
    column = 0
    parts: list[str] = []
    slots = doc.ca.items.get(key)
    token = slots[2] if slots else None
    if token is None and getattr(seq, "ca", None) is not None and seq.ca.comment:
        token = seq.ca.comment[0]
    if token is not None:
        try:
            key_line = int(doc.lc.key(key)[0])
        except (KeyError, IndexError, TypeError, AttributeError):
            key_line = None
        eol, tail = _split_comment(token, key_line)
        column = token.column
        parts.append(tail)
    if getattr(seq, "ca", None) is not None:
        for index in sorted(seq.ca.items):
            item_token = seq.ca.items[index][0]
            if item_token is not None:
                parts.append(_split_comment(item_token, _item_line(seq, index))[1])
    fresh = CommentedSeq()
    fresh.fa.set_flow_style()
    doc[key] = fresh
    doc.ca.items[key] = [None, None, _comment_token(eol, column) if eol else None, None]
    hang_comments(doc, key, "".join(p.lstrip("\n") for p in parts))


def map_delete(doc: Any, key: Any) -> bool:
    """Remove ``key`` from a round-trip mapping, keeping the comment lines below it (they
    move up to the key before). A key with a comment on its own line is kept: False."""
    if key not in doc:
        return False
    value = doc[key]
    slots = doc.ca.items.get(key)
    token = slots[2] if slots else None
    if token is None and getattr(value, "ca", None) is not None and value.ca.comment:
        token = value.ca.comment[0]
    tail = ""
    if token is not None:
        eol, tail = _split_comment(token, _key_line(doc, key))
        if eol is not None:
            return False
    elif hasattr(value, "ca"):
        tail = _take_nested_tail(value)
    keys = list(doc)
    pos = keys.index(key)
    del doc[key]
    if not tail:
        return True
    if pos > 0:
        prev = keys[pos - 1]
        prev_value = doc[prev]
        if prev not in doc.ca.items and hasattr(prev_value, "ca") and len(prev_value):
            # A block list or mapping ends the previous key: the lines go after its end.
            _hang_nested(prev_value, tail)
        else:
            hang_comments(doc, prev, tail)
    else:
        if doc.ca.comment is None:
            doc.ca.comment = [None, []]
        doc.ca.comment[1] = [*(doc.ca.comment[1] or []), _comment_token(tail)]
    return True


def _hang_nested(node: Any, tail: str) -> None:
    comments: Any = node.ca
    if isinstance(node, list):
        last = len(node) - 1
        if hasattr(node[last], "ca") and last not in comments.items and len(node[last]):
            _hang_nested(node[last], tail)
            return
        comments.items.setdefault(last, [None, None, None, None])
        _give_tail(comments.items[last], 0, tail)
        return
    last_key = list(node)[-1]
    child = node[last_key]
    if hasattr(child, "ca") and last_key not in comments.items and len(child):
        _hang_nested(child, tail)
        return
    hang_comments(node, last_key, tail)


def round_trip_text(text: str, change: Callable[[Any], None]) -> str:
    """``text`` after ``change`` on its round-trip document, as ``edit_file`` would write it."""
    import io

    rt = _round_trip()
    _detect_indent(text, rt)
    start = _document_start(text)
    rt.explicit_start = start is not None
    doc = _load_round_trip(rt, text, "<text>")
    change(doc)
    out = io.StringIO()
    rt.dump(doc, out)
    new_text = out.getvalue()
    if start is not None and start.strip() != "---" and new_text.startswith("---"):
        new_text = start + new_text.split("\n", 1)[1]
    return keep_untouched(text, new_text)


def _key_spans(text: str) -> dict[str, tuple[int, int]] | None:
    """Top-level key -> (first, last) line index of the key and its value; comment and
    blank lines after the value are not part of it. None when the text is not a block
    mapping the simple way (then nothing is restored)."""
    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    lines = text.splitlines()
    starts = [(str(k.value), k.start_mark.line) for k, _ in root.value]
    if any(k.start_mark.column != 0 for k, _ in root.value):
        return None
    spans: dict[str, tuple[int, int]] = {}
    for i, (key, first) in enumerate(starts):
        end = starts[i + 1][1] - 1 if i + 1 < len(starts) else len(lines) - 1
        while end > first and (not lines[end].strip() or lines[end].startswith("#")):
            end -= 1
        if key in spans:
            return None
        spans[key] = (first, end)
    return spans


def keep_untouched(before: str, after: str) -> str:
    """``after`` with every top-level key whose value did not change written exactly as in
    ``before``: the round trip may respace a flow list or drop a trailing blank, and a
    key the edit did not touch must come back byte for byte."""
    old_spans, new_spans = _key_spans(before), _key_spans(after)
    if not old_spans or not new_spans:
        return after
    try:
        old_data = yaml.load(before, Loader=_loader())
        new_data = yaml.load(after, Loader=_loader())
    except yaml.YAMLError:
        return after
    old_lines, new_lines = before.splitlines(), after.splitlines()
    out: list[str] = []
    pos = 0
    for key, (first, last) in sorted(new_spans.items(), key=lambda item: item[1]):
        out.extend(new_lines[pos:first])
        old = old_spans.get(key)
        if old is not None and old_data.get(key) == new_data.get(key):
            out.extend(old_lines[old[0] : old[1] + 1])
        else:
            out.extend(new_lines[first : last + 1])
        pos = last + 1
    out.extend(new_lines[pos:])
    result = "\n".join(out) + ("\n" if after.endswith("\n") else "")
    try:
        same = yaml.load(result, Loader=_loader()) == new_data
    except yaml.YAMLError:
        same = False
    return result if same else after
