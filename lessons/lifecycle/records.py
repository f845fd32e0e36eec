"""Removing records (``lessons rm``) and renaming one (``lessons mv``).

Both change several files at once: the record's own, and those of the records
linking to it. They go through one ``Batch``, so either every file changes or
none does; each edit of a linking record is a round trip that keeps its
comments and layout, as ``link`` and ``unlink`` do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.errors import ConflictError, RecordError, UsageError
from lessons.kb import KnowledgeBase
from lessons.lifecycle.batch import Batch


@dataclass
class Doomed:
    """A record to remove, and the links of other records that point at it."""

    id: str
    title: str
    path: str
    backlinks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Removal:
    """What ``remove_records`` did: the records removed, the links removed with them."""

    records: list[Doomed]
    unlinked: list[dict[str, str]]  # {"from", "rel", "to"}


def plan_removal(kb: KnowledgeBase, refs: Sequence[str]) -> list[Doomed]:
    """The records ``refs`` name (ids or prefixes, each once), with the links pointing at
    each from records that are not removed too."""
    ids = list(dict.fromkeys(kb.resolve(ref) for ref in refs))
    if not ids:
        raise UsageError("name at least one record to remove")
    chosen = set(ids)
    out = []
    for rid in ids:
        rec = kb.get(rid)
        back = [b for b in kb.store.backlinks(rid) if b["from"] not in chosen]
        back.sort(key=lambda b: (b["from"], b["rel"]))
        out.append(Doomed(rid, rec["title"], rec["path"], back))
    return out


def remove_records(kb: KnowledgeBase, refs: Sequence[str], *, unlink: bool = False) -> Removal:
    """Delete the files of the records ``refs`` name, all or none.

    While other records link to one of them this refuses (a ``UsageError`` naming
    them), unless ``unlink``: then those links are removed in the same step.
    """
    doomed = plan_removal(kb, refs)
    linked = [d for d in doomed if d.backlinks]
    if linked and not unlink:
        raise still_linked(linked)
    targets = {d.id for d in doomed}
    batch = Batch(kb.root)
    unlinked: list[dict[str, str]] = []
    sources = sorted({b["from"] for d in doomed for b in d.backlinks})
    for src in sources:
        rec = kb.get(src)
        path = kb.path_of(rec)
        gone: list[dict[str, Any]] = []

        def change(doc: Any, gone: list[dict[str, Any]] = gone) -> None:
            from lessons.links import drop_links_to

            gone.extend(drop_links_to(doc, targets))

        old, text = _edit(kb, rec, change)
        batch.replace(path, old, text)
        unlinked += [{"from": src, "rel": g["rel"], "to": g["to"]} for g in gone]
    for d in doomed:
        rec = kb.get(d.id)
        batch.remove(kb.path_of(rec), _read_indexed(kb, rec))
    batch.commit()
    kb.sync()
    return Removal(doomed, unlinked)


def still_linked(linked: Sequence[Doomed]) -> UsageError:
    """The refusal to remove records that other records link to."""
    parts = []
    for d in linked:
        froms = ", ".join(f"{b['from']} ({b['rel']})" for b in d.backlinks)
        parts.append(f"'{d.id}' is linked from {froms}")
    return UsageError(
        "; ".join(parts),
        hint="--unlink removes those links too (comments and layout of those files are kept)",
    )


@dataclass
class Renamed:
    """What ``rename_record`` did."""

    old: str
    new: str
    old_path: str
    new_path: str
    # id of each record whose links were rewritten, and how many of its links.
    rewritten: list[tuple[str, int]]


def rename_record(kb: KnowledgeBase, ref: str, new_id: str) -> Renamed:
    """Give the record ``ref`` names the id ``new_id``: its file name, its ``id:`` and every
    link to it across the knowledge base change in one step, or nothing does."""
    from lessons.model import ID_RE, slugify

    old_id = kb.resolve(ref)
    new_id = new_id.strip()
    if not ID_RE.fullmatch(new_id):
        better = slugify(new_id)
        raise UsageError(
            f"'{new_id}' is not a valid id: lower-case letters, digits and hyphens, "
            "at most 80, starting with a letter or digit",
            hint=f"for example '{better}'" if better and ID_RE.fullmatch(better) else None,
        )
    if new_id == old_id:
        raise UsageError(f"the record is already called '{old_id}'")
    from lessons.recording import taken_ids

    if taken_ids(kb)(new_id):
        raise UsageError(
            f"the id '{new_id}' is taken",
            hint=f"`lessons show {new_id}` shows the record (or `lessons check` the file) "
            "that has it",
        )
    rec = kb.get(old_id)
    old_path = kb.path_of(rec)
    new_path = old_path.with_name(new_id + old_path.suffix)
    batch = Batch(kb.root)

    def set_id(doc: Any) -> list[tuple[int, int]]:
        doc["id"] = new_id
        return [_spot(doc.lc.value("id"))]

    old, text = _rename_in(kb, rec, set_id, old_id, new_id, path=new_path)
    batch.create(new_path, text)
    rewritten = []
    for src in sorted({b["from"] for b in kb.store.backlinks(old_id)}):
        other = kb.get(src)
        count: list[int] = []

        def point(doc: Any, count: list[int] = count) -> list[tuple[int, int]]:
            from lessons.links import retarget_links

            links = doc.get("links")
            spots = [
                _spot(item.lc.value("to"))  # type: ignore[attr-defined]
                for item in (links if isinstance(links, list) else [])
                if isinstance(item, dict) and item.get("to") == old_id
            ]
            count.append(retarget_links(doc, old_id, new_id))
            return spots

        before, after = _rename_in(kb, other, point, old_id, new_id)
        batch.replace(kb.path_of(other), before, after)
        rewritten.append((src, sum(count)))
    batch.remove(old_path, old)
    batch.commit()
    kb.sync()
    return Renamed(old_id, new_id, rec["path"], _rel(kb, new_path), rewritten)


def _spot(lc: Any) -> tuple[int, int]:
    return int(lc[0]), int(lc[1])


def _rename_in(
    kb: KnowledgeBase,
    rec: dict[str, Any],
    change: Callable[[Any], list[tuple[int, int]]],
    old_id: str,
    new_id: str,
    *,
    path: Path | None = None,
) -> tuple[bytes, str]:
    """(old bytes, new text) of a file where the id ``old_id`` becomes ``new_id``.

    The id is replaced where it stands in the text, so every other byte stays as
    it was (a round trip would re-space a flow mapping's comment); when that is
    not possible, the round trip's text is used. Either must read back as the
    round trip's record.
    """
    spots: list[tuple[int, int]] = []

    def change_and_note(doc: Any) -> None:
        spots.extend(change(doc))

    old, text = _edit(kb, rec, change_and_note, path=path)
    spliced = _splice(old.decode("utf-8-sig"), spots, old_id, new_id)
    if spliced is not None:
        import yaml

        try:
            same = yaml.safe_load(spliced) == yaml.safe_load(text)
        except yaml.YAMLError:
            same = False
        if same:
            return old, spliced
    return old, text


def _splice(text: str, spots: Sequence[tuple[int, int]], old: str, new: str) -> str | None:
    """``text`` with the scalar ``old`` at each (line, column) replaced by ``new`` (quotes
    kept); None when one of them is not there as expected."""
    import re

    lines = text.splitlines(keepends=True)
    for line, col in sorted(spots, reverse=True):
        if line >= len(lines):
            return None
        s = lines[line]
        quote = s[col : col + 1]
        start = col + 1 if quote in ("'", '"') else col
        end = start + len(old)
        if s[start:end] != old:
            return None
        if quote in ("'", '"'):
            if s[end : end + 1] != quote:
                return None
        elif re.match(r"[^\s,}\]#]", s[end : end + 1]):
            return None
        lines[line] = s[:start] + new + s[end:]
    return "".join(lines)


def _read_indexed(kb: KnowledgeBase, rec: dict[str, Any]) -> bytes:
    """The bytes of a record's file, if they are what the index read; else a conflict."""
    from lessons.entries import digest_of

    path = kb.path_of(rec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConflictError(f"cannot read the record: {exc.strerror}", path=rec["path"]) from None
    if digest_of(data) != kb.store.file_digest(rec["path"]):
        raise ConflictError(
            "the file changed on disk since it was indexed; nothing was changed",
            path=rec["path"],
            hint="run the command again",
        )
    return data


def _edit(
    kb: KnowledgeBase,
    rec: dict[str, Any],
    change: Callable[[Any], None],
    *,
    path: Path | None = None,
) -> tuple[bytes, str]:
    """(old bytes, new text) of a round-trip edit of a record's file; the new text must be
    a valid record (at ``path``, when it moves)."""
    from lessons.entries import load_file, round_trip_text

    old = _read_indexed(kb, rec)
    try:
        text = round_trip_text(old.decode("utf-8-sig"), change)
    except RecordError as exc:
        raise RecordError(exc.message, path=rec["path"], line=exc.line, hint=exc.hint) from None
    target = path or kb.path_of(rec)
    shown = _rel(kb, target)
    loaded = load_file(target, shown, kb.config.schema, data=text.encode("utf-8"))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors or loaded.record is None:
        first = errors[0].message if errors else "the record is invalid"
        raise RecordError(
            f"the change would make the record invalid: {first}; nothing was changed",
            path=rec["path"],
        )
    return old, text


def _rel(kb: KnowledgeBase, path: Path) -> str:
    try:
        return path.relative_to(kb.root).as_posix()
    except ValueError:
        return str(path)
