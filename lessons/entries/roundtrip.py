"""Round-trip edits: change a record file and keep its comments, order and layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lessons.entries.parse import _loader, yaml
from lessons.entries.write import _read_unchanged, _write_valid, write_lock
from lessons.errors import RecordError
from lessons.model import Schema


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
    shown = str(path)
    with write_lock(root):
        data = _read_unchanged(path, shown, expected_digest)
        new_text = _changed(data.decode("utf-8"), change, shown)
        loaded = _write_valid(
            path, shown, schema, new_text, "the change would make the record invalid: "
        )
        assert loaded.record is not None
        return loaded.record


def _changed(text: str, change: Callable[[Any], None], shown: str) -> str:
    """``text`` after ``change`` on its round-trip document, in the file's own line
    endings (CRLF stays CRLF) and with its byte-order mark if it had one."""
    import io

    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text.removeprefix("\ufeff")
    crlf = text.count("\r\n") * 2 > text.count("\n")
    if crlf:
        text = text.replace("\r\n", "\n")
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
    if crlf:
        new_text = new_text.replace("\n", "\r\n")
    return bom + new_text


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
    return _changed(text, change, "<text>")


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
