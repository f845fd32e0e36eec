"""Writing a plan: new files in parallel when many, updates through round-trip edits."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.errors import ConflictError, LessonsError
from lessons.model import (
    KEY_ORDER,
    Schema,
    to_document,
)

if TYPE_CHECKING:
    from lessons.indexer import Progress, SyncReport
    from lessons.kb import KnowledgeBase
from lessons.interop.plan import ImportPlan, Planned
from lessons.interop.source import RowProblem


@dataclass
class ImportResult:
    """What an import did."""

    written: int = 0
    updated: int = 0
    failed: list[RowProblem] = field(default_factory=list)
    report: SyncReport | None = None


def apply_import(
    kb: KnowledgeBase,
    plan: ImportPlan,
    progress: Progress | None = None,
    sync_progress: Progress | None = None,
) -> ImportResult:
    """Write the plan's new records and updates, then sync the index once.

    Refuses (``ConflictError``, nothing written) when ``--on-duplicate fail`` met
    ids that exist.
    """
    from lessons.entries import write_lock

    if plan.conflicts:
        raise conflict_error(plan, dry_run=False)
    schema = kb.config.schema
    result = ImportResult()
    total = len(plan.new) + len(plan.updates)
    done = 0
    with write_lock(kb.root):
        for i, problem in _write_new(kb.root, schema, plan.new):
            if problem:
                result.failed.append(RowProblem(plan.new[i].where, problem))
            else:
                result.written += 1
            done += 1
            if progress and done % 200 == 0:
                progress(done, total)
        if result.written:
            # Written atomically but not fsynced one by one (see _write_one): flush once.
            os.sync()
    for item in plan.updates:
        try:
            _update(kb, item)
            result.updated += 1
        except LessonsError as exc:
            result.failed.append(RowProblem(item.where, exc.message))
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    if progress:
        progress(total, total)
    result.report = kb.sync(sync_progress)
    return result


# Below this many new files, starting worker processes costs more than it saves.
PARALLEL_FROM = 400
_CHUNK = 250
_job: tuple[Path, Schema, list[Planned]] | None = None


def _write_one(root: Path, schema: Schema, item: Planned) -> str | None:
    """Write one new record file; the reason it was not written, if it was not."""
    from lessons.entries import atomic_write, dump_record

    path = root / item.path
    if path.exists():
        # Appeared since the plan was made: something else wrote it first.
        return f"{item.path} appeared meanwhile; not overwritten"
    # Atomic (temporary file, then rename) but not fsynced here: an fsync per file
    # costs more than everything else put together; the caller flushes once.
    atomic_write(path, dump_record(item.record, schema), durable=False)
    return None


def _write_chunk(bounds: tuple[int, int]) -> list[tuple[int, str | None]]:
    assert _job is not None
    root, schema, items = _job
    return [(i, _write_one(root, schema, items[i])) for i in range(*bounds)]


def _write_new(
    root: Path, schema: Schema, items: list[Planned]
) -> Iterable[tuple[int, str | None]]:
    """(index, problem or None) for each new file, written by worker processes when many."""
    global _job
    if len(items) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        for i, item in enumerate(items):
            yield i, _write_one(root, schema, item)
        return
    import multiprocessing

    # The workers are forked, so they see the plan without pickling it.
    _job = (root, schema, items)
    try:
        ctx = multiprocessing.get_context("fork")
        chunks = [(s, min(s + _CHUNK, len(items))) for s in range(0, len(items), _CHUNK)]
        with ctx.Pool(min(os.cpu_count() or 2, 4)) as pool:
            for results in pool.imap_unordered(_write_chunk, chunks):
                yield from results
    finally:
        _job = None


def conflict_error(plan: ImportPlan, *, dry_run: bool) -> ConflictError:
    """The error of ``--on-duplicate fail`` meeting ids that exist."""
    ids = [item.record["id"] for item in plan.conflicts]
    n = len(ids)
    shown = ", ".join(ids[:10]) + (f" … ({n - 10} more)" if n > 10 else "")
    return ConflictError(
        f"{n:,} record{'s' if n != 1 else ''} of {plan.source} already "
        f"exist{'s' if n == 1 else ''} in the knowledge base: {shown}; "
        + ("nothing would be written" if dry_run else "nothing was written"),
        hint="--on-duplicate skip leaves them as they are; --on-duplicate update changes them",
    )


def _update(kb: KnowledgeBase, item: Planned) -> None:
    from lessons.entries import edit_file

    schema = kb.config.schema
    changes = {key: _yaml_value(key, value, schema) for key, value in item.changes.items()}

    def change(doc: Any) -> None:
        for key, value in changes.items():
            old = doc.get(key)
            if _is_flow(old) and isinstance(value, list):
                value = _flow(value)
            if key in doc:
                doc[key] = value
            else:
                doc.insert(_position(doc, key, kb.config.schema), key, value)

    edit_file(kb.root / item.path, kb.root, kb.config.schema, change, expected_digest=item.digest)


def _is_flow(value: Any) -> bool:
    fa = getattr(value, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _flow(items: list[Any]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _position(doc: Any, key: str, schema: Schema) -> int:
    order = list(KEY_ORDER) + [f.name for f in schema.fields]
    if key not in order:
        return len(doc)
    before = set(order[: order.index(key)])
    keys = list(doc.keys())
    last = max((i for i, k in enumerate(keys) if k in before), default=-1)
    return last + 1


def _yaml_value(key: str, value: Any, schema: Schema) -> Any:
    """A normalised value as ruamel should write it: dates unquoted, multi-line text as ``|``."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    dates = {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}
    if key in dates and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and "\n" in value.strip("\n"):
        return LiteralScalarString(value)
    if key == "actions":
        return [
            {k: (dt.date.fromisoformat(v) if k == "due" else v) for k, v in a.items()}
            for a in to_document({"actions": value}).get("actions", [])
        ]
    return value
