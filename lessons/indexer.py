"""Files -> store: the incremental sync (the only module that knows both, SPEC §1).

Every entry file is stat'ed; only files whose mtime or size differ from what the
index saw are read, and a content hash confirms a real change. Files that are
gone drop their records. All of it happens in one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.config import Config
from lessons.entries import Loaded, line_map, load_file
from lessons.model import Problem, Schema
from lessons.store.base import Store

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_FROM = 400

Progress = Callable[[int, int], None]


@dataclass
class SyncReport:
    """What a sync changed, counted in files."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    rebuilt: bool = False
    records: int = 0
    skipped: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        """True when the index was already up to date."""
        return not (self.added or self.changed or self.removed)


def scan(root: Path, entries: Path) -> set[str]:
    """Stat signatures of every entry file, any depth: ``"<path>\t<mtime_ns>\t<size>"``.

    Paths are relative to the root, POSIX style. A signature is a string so that
    "nothing changed" is one set comparison in C, not 100,000 tuple comparisons.
    """
    found: set[str] = set()
    if not entries.is_dir():
        return found
    add = found.add
    stack = [(str(entries), entries.relative_to(root).as_posix() + "/")]
    while stack:
        folder, rel = stack.pop()
        try:
            items = os.scandir(folder)
        except OSError:
            continue
        with items:
            for item in items:
                name = item.name
                # Hidden names include the temporary files of atomic writes.
                if name[0] == ".":
                    continue
                try:
                    if name.endswith((".yaml", ".yml")) and item.is_file():
                        st = item.stat()
                        add(f"{rel}{name}\t{st.st_mtime_ns}\t{st.st_size}")
                    elif item.is_dir(follow_symlinks=False):
                        stack.append((item.path, f"{rel}{name}/"))
                except OSError:
                    continue
    return found


def scan_stamp(signatures: set[str]) -> str:
    """One hash of a whole scan, independent of the order files were found in."""
    import hashlib

    joined = "\n".join(sorted(signatures)).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


def _split(signature: str) -> tuple[str, int, int]:
    path, mtime, size = signature.rsplit("\t", 2)
    return path, int(mtime), int(size)


_worker_schema: Schema | None = None
_worker_root: Path | None = None


def _init_worker(schema: Schema, root: Path) -> None:
    global _worker_schema, _worker_root
    _worker_schema, _worker_root = schema, root


def _load_one(rel: str) -> Loaded:
    assert _worker_schema is not None and _worker_root is not None
    return load_file(_worker_root / rel, rel, _worker_schema)


def iter_loaded(
    root: Path, schema: Schema, paths: Sequence[str], progress: Progress | None
) -> Iterator[Loaded]:
    """Read and validate files in order, in worker processes when there are many."""
    total = len(paths)
    if total < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        results: Iterable[Loaded] = (load_file(root / rel, rel, schema) for rel in paths)
        yield from _counted(results, total, progress)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    workers = min(os.cpu_count() or 2, 8)
    with ctx.Pool(workers, initializer=_init_worker, initargs=(schema, root)) as pool:
        yield from _counted(pool.imap(_load_one, paths, chunksize=64), total, progress)


def _counted(items: Iterable[Loaded], total: int, progress: Progress | None) -> Iterator[Loaded]:
    done = 0
    for done, item in enumerate(items, start=1):
        yield item
        if progress and done % 200 == 0:
            progress(done, total)
    if progress:
        progress(done, total)


def _problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{**p.as_dict(), "severity": p.severity} for p in problems]


def sync(store: Store, config: Config, *, progress: Progress | None = None) -> SyncReport:
    """Bring the store in step with the files; cheap when nothing changed."""
    report = SyncReport(rebuilt=store.ensure_schema(config.fingerprint))
    disk = scan(config.root, config.entries)
    stamp = scan_stamp(disk)
    # The stamp of the last sync's scan: equal stamps mean nothing changed, without
    # reading 100,000 signatures back from the index.
    last = store.get_meta("scan")
    if last == stamp:
        return report
    indexed = store.file_signatures()
    if disk == indexed:
        with store.transaction():
            store.set_meta("scan", stamp)
        return report
    with store.transaction():
        # The write lock is held from here. Another process may have synced since the
        # look above: then look again, or this sync would insert files that one
        # inserted (each "a duplicate of itself") or drop files it found.
        if store.get_meta("scan") != last:
            disk = scan(config.root, config.entries)
            stamp = scan_stamp(disk)
            indexed = store.file_signatures()
        _apply(store, config, report, disk, indexed, stamp, progress)
    return report


def _apply(
    store: Store,
    config: Config,
    report: SyncReport,
    disk: set[str],
    indexed: set[str],
    stamp: str,
    progress: Progress | None,
) -> None:
    """The body of ``sync``, inside its transaction: read what changed, write it."""
    if disk == indexed:
        store.set_meta("scan", stamp)
        return
    on_disk = {p: (m, size) for p, m, size in map(_split, disk - indexed)}
    stale = {_split(sig)[0] for sig in indexed - disk}
    removed = sorted(stale - on_disk.keys())
    candidates = sorted(on_disk)
    known = store.file_digests(stale & on_disk.keys())
    loaded = iter_loaded(config.root, config.schema, candidates, progress)
    if not indexed:
        # An empty index: stream the files straight in (memory stays flat at 100k).
        with store.bulk():
            _insert(store, config.root, loaded, on_disk, empty=True)
            store.set_meta("scan", stamp)
        report.added = len(candidates)
        return
    fresh: list[Loaded] = []
    for item in loaded:
        seen = known.get(item.path)
        mtime, size = on_disk[item.path]
        if seen is not None and seen == item.digest and item.digest:
            store.touch_file(item.path, mtime, size)
        else:
            fresh.append(item)
    replaced = [item.path for item in fresh if item.path in known]
    gone = store.delete_paths(removed + replaced)
    _insert(store, config.root, fresh, on_disk, empty=False)
    if gone or removed:
        _retry_duplicates(store, config)
    store.set_meta("scan", stamp)
    report.removed = len(removed)
    report.changed = len(replaced)
    report.added = len(fresh) - len(replaced)


BATCH = 500


def _insert(
    store: Store,
    root: Path,
    items: Iterable[Loaded],
    on_disk: dict[str, tuple[int, int]],
    *,
    empty: bool,
) -> None:
    """Insert loaded files; a record whose id another file already holds is refused."""
    if empty:
        taken: dict[str, str] = {}
    else:
        items = list(items)
        taken = _owners(store, [i.record["id"] for i in items if i.record is not None])
    good: list[tuple[dict[str, Any], str]] = []
    files: list[tuple[Any, ...]] = []
    for item in items:
        mtime, size = on_disk[item.path]
        rec = item.record
        duplicate = False
        problems = list(item.problems)
        if rec is not None and rec["id"] in taken:
            problems.insert(
                0,
                Problem(
                    f"duplicate id '{rec['id']}': {taken[rec['id']]} already has it",
                    field="id",
                    path=item.path,
                    line=_id_line(root / item.path),
                ),
            )
            rec, duplicate = None, True
        if rec is not None:
            taken[rec["id"]] = item.path
            good.append((rec, item.path))
        files.append(
            (
                item.path,
                mtime,
                size,
                item.digest,
                rec["id"] if rec else None,
                _problem_dicts(problems),
                duplicate,
            )
        )
        if len(files) >= BATCH:
            store.put_files(files)
            store.insert_records(good)
            files, good = [], []
    store.put_files(files)
    store.insert_records(good)


def _id_line(path: Path) -> int:
    try:
        lines = line_map(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return 1
    return lines.get(("id",), 1)


def _owners(store: Store, ids: list[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for rid, path in store.all(f"SELECT id, path FROM record WHERE id IN ({marks})", chunk):
            owners[rid] = path
    return owners


def _retry_duplicates(store: Store, config: Config) -> None:
    """Files refused as duplicates may own their id now that another record went."""
    rows = store.all("SELECT path, mtime_ns, size FROM file WHERE duplicate = ?", (True,))
    stats = {r[0]: (r[1], r[2]) for r in rows if (config.root / r[0]).is_file()}
    if not stats:
        return
    reloaded = [load_file(config.root / p, p, config.schema) for p in sorted(stats)]
    store.delete_paths(sorted(stats))
    _insert(store, config.root, reloaded, stats, empty=False)
