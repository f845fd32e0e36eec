"""Editing cross-links: ``link`` and ``unlink`` as round-trip edits of one record file.

The edits keep the file's comments and layout (SPEC §6) and refuse when the file
changed on disk since the index read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lessons.errors import ConflictError, NotFoundError, UsageError
from lessons.kb import KnowledgeBase
from lessons.model import KEY_ORDER, RELATIONS, did_you_mean

# Relations that read the same from both ends: a link back is a duplicate.
SYMMETRIC = frozenset(rel for rel, inverse in RELATIONS.items() if rel == inverse)


@dataclass
class LinkEdit:
    """What ``add_link`` or ``remove_links`` changed in one record file."""

    src: str
    dst: str
    path: str
    links: list[dict[str, Any]]
    # What `check` would warn about the graph now (a repeats cycle, or one pointing forward).
    warnings: list[str] = field(default_factory=list)


def check_relation(rel: str) -> str:
    """``rel`` if it is one of the relations of SPEC §3, else a UsageError with a suggestion."""
    if rel not in RELATIONS:
        raise UsageError(
            f"unknown relation '{rel}'{did_you_mean(rel, RELATIONS)}",
            hint="relations are " + ", ".join(RELATIONS),
        )
    return rel


def add_link(
    kb: KnowledgeBase, ref: str, other: str, rel: str, note: str | None = None
) -> LinkEdit:
    """Add the link ``ref --rel--> other`` to ``ref``'s file (both ids may be prefixes).

    Refuses unknown relations, missing targets, self-links and duplicates; the
    edit keeps the file's comments and layout and refuses if the file changed on
    disk since the index read it.
    """
    check_relation(rel)
    src = kb.resolve(ref)
    dst = kb.resolve(other)
    if src == dst:
        raise UsageError(f"a record cannot link to itself ('{src}')")
    rec = kb.store.get(src)
    assert rec is not None
    for existing in rec.get("links") or []:
        if existing["to"] == dst and existing["rel"] == rel:
            raise UsageError(
                f"'{src}' already links to '{dst}' as {rel}",
                hint=f"`lessons unlink {src} {dst} --rel {rel}` removes it",
            )
    if rel in SYMMETRIC:
        target = kb.store.get(dst)
        assert target is not None
        if any(lk["to"] == src and lk["rel"] == rel for lk in target.get("links") or []):
            raise UsageError(
                f"'{dst}' already links to '{src}' as {rel}, which reads the same both ways",
            )
    warnings: list[str] = []
    if rel in ("repeats", "supersedes"):
        loop = _cycle(kb, src, dst, rel)
        if loop and rel == "supersedes":
            # `check` counts a supersedes circle as an error: never write one.
            raise UsageError(
                f"'{src}' cannot supersede '{dst}': supersedes links would go round in a "
                "circle: " + " -> ".join([*loop, loop[0]]),
            )
        if loop:
            warnings.append(
                "repeats links now go round in a circle: " + " -> ".join([*loop, loop[0]])
            )
    if rel == "repeats":
        target = kb.store.get(dst)
        assert target is not None
        if rec.get("date") and target.get("date") and rec["date"] < target["date"]:
            warnings.append(
                f"'repeats' points forward in time: {src} ({rec['date']}) is older than "
                f"{dst} ({target['date']}); the newer record should repeat the older one "
                f"(`lessons unlink {src} {dst}` then `lessons link {dst} {src} --rel repeats`)"
            )
    new: dict[str, Any] = {"to": dst, "rel": rel}
    if note and note.strip():
        new["note"] = note.strip()
    path = _edit_links(kb, rec, lambda doc: _append_link(doc, new))
    return LinkEdit(src, dst, path, [new], warnings)


def _cycle(kb: KnowledgeBase, src: str, dst: str, rel: str) -> list[str] | None:
    """The circle a new link ``src --rel--> dst`` would close: ``[src, dst, …]`` when
    ``dst`` already leads back to ``src`` through links of ``rel``; else None."""
    graph: dict[str, list[str]] = {}
    for a, b, r, _note, _seq in kb.store.all_links():
        if r == rel:
            graph.setdefault(a, []).append(b)
    # Breadth first from dst: the shortest way back to src.
    came: dict[str, str] = {dst: src}
    queue = [dst]
    while queue:
        here = queue.pop(0)
        for nxt in sorted(graph.get(here, ())):
            if nxt == src:
                path = [here]
                while path[-1] != dst:
                    path.append(came[path[-1]])
                return [src, *reversed(path)]
            if nxt not in came:
                came[nxt] = here
                queue.append(nxt)
    return None


def remove_links(kb: KnowledgeBase, ref: str, other: str, rel: str | None = None) -> LinkEdit:
    """Remove the links from ``ref`` to ``other`` (only those of ``rel`` when given).

    ``other`` may name a record that no longer exists, so dangling links can go too.
    """
    if rel is not None:
        check_relation(rel)
    src = kb.resolve(ref)
    rec = kb.store.get(src)
    assert rec is not None
    links = rec.get("links") or []
    dst = _link_target(kb, links, other)
    doomed = [lk for lk in links if lk["to"] == dst and (rel is None or lk["rel"] == rel)]
    if not doomed:
        what = f"no {rel} link" if rel else "no link"
        back = kb.store.get(dst)
        hint = None
        if back and any(lk["to"] == src for lk in back.get("links") or []):
            hint = f"the link goes the other way: `lessons unlink {dst} {src}`"
        elif links:
            hint = "its links: " + ", ".join(f"{lk['rel']} {lk['to']}" for lk in links)
        raise NotFoundError(f"{what} from '{src}' to '{dst}'", hint=hint)

    def change(doc: Any) -> None:
        seq = doc["links"]
        for i in reversed(range(len(seq))):
            item = seq[i]
            if (
                isinstance(item, dict)
                and item.get("to") == dst
                and (rel is None or item.get("rel", "relates-to") == rel)
            ):
                _remove_link(doc, i)

    path = _edit_links(kb, rec, change)
    return LinkEdit(src, dst, path, doomed)


def _link_target(kb: KnowledgeBase, links: list[dict[str, Any]], other: str) -> str:
    """The id ``other`` names: a record, or the target of one of ``links`` (maybe missing)."""
    other = other.strip()
    targets = [lk["to"] for lk in links]
    if other in targets:
        return other
    try:
        return kb.resolve(other)
    except NotFoundError:
        starting = sorted({t for t in targets if t.startswith(other)})
        if len(starting) == 1:
            return starting[0]
        raise


def _edit_links(kb: KnowledgeBase, rec: dict[str, Any], change: Any) -> str:
    from lessons.entries import edit_file

    path = kb.path_of(rec)
    digest = kb.store.file_digest(rec["path"])
    if digest is None:
        raise ConflictError("the index does not know this record's file", path=rec["path"])
    edit_file(path, kb.root, kb.config.schema, change, expected_digest=digest)
    kb.sync()
    return str(rec["path"])


def _append_link(doc: Any, link: dict[str, Any]) -> None:
    """Add a link, in the style of the file's other links (a ``{to: …, rel: …}`` line
    when there are none, as in SPEC §2)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from lessons.entries import map_insert

    item = CommentedMap(link)
    seq = doc.get("links")
    if isinstance(seq, CommentedSeq) and len(seq):
        last = seq[-1]
        if not isinstance(last, CommentedMap) or last.fa.flow_style():
            item.fa.set_flow_style()
        n = len(seq)
        tail = _cut_below(seq, n - 1)
        seq.append(item)
        _hang_below(seq, n, tail)
        return
    item.fa.set_flow_style()
    if isinstance(seq, CommentedSeq):
        seq.append(item)
        return
    fresh = CommentedSeq()
    fresh.append(item)
    if "links" in doc:
        doc["links"] = fresh
        return
    map_insert(doc, "links", fresh, KEY_ORDER)
    # map_insert hangs the comments that stood below the previous key on the new
    # key itself, which a block list would print between "links:" and its item.
    slots = doc.ca.items.get("links")
    if slots and slots[2] is not None:
        fresh.ca.items[0] = [slots[2], None, None, None]
        slots[2] = None


def _remove_link(doc: Any, index: int) -> None:
    """Remove one link; the full-line comments below it stay where they were. The
    last link takes the ``links`` key with it, unless comments hang there."""
    from lessons.entries import _comment_token, empty_list, hang_comments, seq_remove

    seq = doc["links"]
    tail = _cut_below(seq, index)
    tail = seq_remove(seq, index) + tail
    if len(seq):
        if not tail:
            return
        if index > 0:
            _hang_below(seq, index - 1, tail)
            return
        if seq.ca.comment is None:
            seq.ca.comment = [None, []]
        if seq.ca.comment[1] is None:
            seq.ca.comment[1] = []
        seq.ca.comment[1].append(_comment_token(tail))
        return
    # Comments above the first item, and after the last one, hang on the list.
    head = seq.ca.comment[1] if seq.ca.comment and seq.ca.comment[1] else []
    end = getattr(seq.ca, "end", None) or []
    tail = "".join(t.value for t in head) + tail + "".join(t.value for t in end)
    slots = doc.ca.items.get("links")
    if not tail and not (slots and any(slots)):
        del doc["links"]
        return
    empty_list(doc, "links")
    hang_comments(doc, "links", tail)


def _cut_below(seq: Any, index: int) -> str:
    """Cut off the full-line comments below item ``index`` of a block list.

    ruamel hangs them on the item, or on the last key of an item that is a block
    mapping; either way they belong above whatever follows the item.
    """
    from ruamel.yaml.comments import CommentedMap

    from lessons.entries import _item_line, _take_nested_tail, _take_tail

    if seq.fa.flow_style():
        return ""
    tail = ""
    if index in seq.ca.items:
        tail = _take_tail(seq.ca.items[index], 0, _item_line(seq, index))
    item = seq[index]
    if not tail and isinstance(item, CommentedMap) and not item.fa.flow_style():
        tail = str(_take_nested_tail(item))
    return tail


def _hang_below(seq: Any, index: int, tail: str) -> None:
    """Hang full-line comments below item ``index`` of a block list."""
    from ruamel.yaml.comments import CommentedMap

    from lessons.entries import _give_tail

    if not tail:
        return
    item = seq[index]
    if isinstance(item, CommentedMap) and not item.fa.flow_style() and len(item):
        # Below a block mapping item they must hang on its last key, or they
        # would print between the "-" and the mapping.
        slots = item.ca.items.setdefault(list(item)[-1], [None, None, None, None])
        _give_tail(slots, 2, tail)
    else:
        _give_tail(seq.ca.items.setdefault(index, [None, None, None, None]), 0, tail)


# --- links to a record that is removed or renamed (rm --unlink, mv) -------------------


def drop_links_to(doc: Any, targets: set[str]) -> list[dict[str, Any]]:
    """Remove from a round-trip record every link pointing at one of ``targets``, keeping
    the file's comments as ``unlink`` does; the links removed."""
    seq = doc.get("links")
    if not isinstance(seq, list):
        return []
    gone = []
    for i in reversed(range(len(seq))):
        item = seq[i]
        if isinstance(item, dict) and item.get("to") in targets:
            gone.append({"to": str(item["to"]), "rel": str(item.get("rel", "relates-to"))})
            _remove_link(doc, i)
    gone.reverse()
    return gone


def retarget_links(doc: Any, old: str, new: str) -> int:
    """Point every link of a round-trip record at ``old`` to ``new``; how many changed."""
    seq = doc.get("links")
    if not isinstance(seq, list):
        return 0
    n = 0
    for item in seq:
        if isinstance(item, dict) and item.get("to") == old:
            item["to"] = new
            n += 1
    return n
