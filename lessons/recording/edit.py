"""``edit ID``: an existing record's file opened, checked after the editor, and saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lessons.errors import ConflictError, RecordError
from lessons.model import Problem, did_you_mean
from lessons.recording.draft import strip_comment_lines
from lessons.recording.values import mapping_or_none

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase


@dataclass
class Opened:
    """An existing record opened for editing: its file, text and content hash then."""

    id: str
    path: Path
    text: str
    digest: str


def open_record(kb: KnowledgeBase, ref: str) -> Opened:
    """Read the file of the record ``ref`` names, remembering its hash."""
    from lessons.entries import digest_of

    rec = kb.get(ref)
    path = kb.path_of(rec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConflictError(f"cannot read the record: {exc.strerror}", path=str(path)) from None
    return Opened(rec["id"], path, data.decode("utf-8-sig"), digest_of(data))


def check_edit(kb: KnowledgeBase, opened: Opened, text: str) -> list[Problem]:
    """Raise ``RecordError`` (file, line, field) if ``text`` is not a valid record for the
    file; new links must point at records that exist. Returns the warnings."""
    from lessons.entries import load_file

    shown = _shown(kb, opened.path)
    loaded = load_file(opened.path, shown, kb.config.schema, data=text.encode("utf-8"))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors or loaded.record is None:
        first = errors[0] if errors else Problem("the record is invalid")
        raise RecordError(first.message, path=shown, line=first.line, field=first.field)
    before = mapping_or_none(opened.text)
    old_links = {
        (link.get("to"), link.get("rel", "relates-to"))
        for link in (before.get("links") or [] if isinstance(before, dict) else [])
        if isinstance(link, dict)
    }
    new_links = [
        (i, link)
        for i, link in enumerate(loaded.record.get("links") or [])
        if (link["to"], link["rel"]) not in old_links
    ]
    store = kb.store
    for i, link in new_links:
        if store.get(link["to"]) is None and link["to"] != opened.id:
            from lessons.entries import line_map

            ids = [rid for rid, _ in store.id_titles()]
            raise RecordError(
                f"link {i + 1} points at '{link['to']}', which does not exist"
                + did_you_mean(link["to"], ids),
                path=shown,
                line=line_map(text).get(("links", i)),
                field="links",
            )
    return [p for p in loaded.problems if p.severity == "warning"]


def save_edit(kb: KnowledgeBase, opened: Opened, text: str) -> Path:
    """Replace the record's file with ``text`` if the file is as it was when opened.

    If it changed meanwhile, the edit is kept in ``.lessons/recovered/`` and
    ``ConflictError`` says where: no word typed is lost.
    """
    from lessons.entries import keep_recovered, replace_file

    text = strip_comment_lines(text, ())
    try:
        replace_file(opened.path, kb.root, kb.config.schema, text, expected_digest=opened.digest)
    except ConflictError as exc:
        keep = keep_recovered(kb.root, opened.id, text)
        raise ConflictError(
            "the file changed on disk while you edited it; it was not overwritten",
            path=exc.path,
            hint=f"your edit is kept in {keep}; compare and run `lessons edit` again",
        ) from None
    return opened.path


def _shown(kb: KnowledgeBase, path: Path) -> str:
    try:
        return str(path.relative_to(kb.root))
    except ValueError:
        return str(path)
