"""Files -> store: the incremental sync (the only module that knows both, SPEC §1).

Every entry file is stat'ed; only files whose mtime or size differ from what the
index saw are read, and a content hash confirms a real change. Files that are
gone drop their records. All of it happens in one transaction.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import Any

from lessons.config import Config
from lessons.entries import Loaded, line_map, load_file
from lessons.hashing import digest
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
    skipped: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Publishing public records only: files read and left out of the shared index.
    withheld: int = 0
    withheld_paths: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        """True when the index was already up to date."""
        return not (self.added or self.changed or self.removed)


# From this many entry files on, a forked child process lists and stats a share of
# them: on two cores that takes about 0.17 s off a sync of 100,000 files, where one
# stat costs ~2 us of kernel time however it is called. Below it, the fork costs more.
FORK_SCAN_FROM = 5000

_ENTRY_SUFFIXES = (".yaml", ".yml")

# A folder, its path relative to the root ("entries/sub/"), and entry file names.
_Folder = tuple[str, str, list[str]]


class Scan:
    """Stat signatures of every entry file, any depth, and one hash of them all.

    A signature is ``"<path>\t<mtime_ns>\t<size>"``, the path relative to the root,
    POSIX style: a string, so that "nothing changed" is one comparison in C, not
    100,000 tuple comparisons. Files are taken in the order their folders list them,
    which is stable while the folders do not change; a new order only changes the
    stamp, which costs one full comparison of the signatures, never a missed change.
    """

    def __init__(self) -> None:
        self._parts: list[list[str] | bytes] = []
        self._digests: list[str] = []
        # Said once by the command: what the scan would not read, and why.
        self.warnings: list[str] = []

    def add(self, signatures: list[str]) -> None:
        """Add one run of signatures found here."""
        self._parts.append(signatures)
        self._digests.append(_part_digest(signatures)[1])

    def add_encoded(self, data: bytes, part_digest: str) -> None:
        """Add one run another process found, decoded only if asked for."""
        self._parts.append(data)
        self._digests.append(part_digest)

    @property
    def files(self) -> int:
        """How many entry files were found."""
        return sum(len(p) if isinstance(p, list) else p.count(b"\0") + bool(p) for p in self._parts)

    @property
    def stamp(self) -> str:
        """One hash of every signature, and their number (what the index keeps to
        skip the comparison, and the next scan reads to decide whether to fork)."""
        return f"{digest(''.join(self._digests).encode())}:{self.files}"

    def signatures(self) -> list[str]:
        """Every signature, in the order found."""
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, bytes):
                out.extend(part.decode("utf-8", "surrogateescape").split("\0") if part else [])
            else:
                out.extend(part)
        return out


def _part_digest(signatures: list[str]) -> tuple[bytes, str]:
    # NUL between signatures: a file name may hold a line break, never a NUL.
    data = "\0".join(signatures).encode("utf-8", "surrogateescape")
    return data, digest(data)


def scan(root: Path, entries: Path, *, expected: int = 0, fork_from: int | None = None) -> Scan:
    """Stat every entry file under ``entries`` (SPEC §1), hidden names aside.

    The work is cut in two shares: whole sub-folders, alternately, when the top
    folder has two or more; else the files of the listing, in two halves. From
    ``fork_from`` files on (default ``FORK_SCAN_FROM``; ``expected``, the count of
    the last scan, decides before the sub-folders are listed) a forked child does
    the second share meanwhile. The shares are the same either way, so the stamp
    does not depend on who did them.
    """
    found = Scan()
    real_root = os.path.realpath(root)
    if os.path.islink(entries) and _link_target(str(entries), real_root) is None:
        found.warnings.append(
            f"{entries.name}/ is a symbolic link to a folder outside the knowledge base "
            "(or to nothing); nothing in it was read"
        )
        return found
    if not entries.is_dir():
        return found
    if fork_from is None:
        fork_from = FORK_SCAN_FROM
    top, subfolders = _list_one(str(entries), entries.relative_to(root).as_posix() + "/")
    if len(subfolders) >= 2:
        # Each process lists its own sub-folders too: listing 100,000 names costs
        # about a quarter of the stats.
        mine, theirs = subfolders[0::2], subfolders[1::2]
        shares = (
            lambda: _stat_all([top, *_list_folders(mine)], real_root),
            lambda: _stat_all(_list_folders(theirs), real_root),
        )
        fork = expected >= fork_from
    else:
        folders = [top, *_list_folders(subfolders)]
        files = sum(len(names) for _, _, names in folders)
        first, second = _halves(folders, files)
        shares = (lambda: _stat_all(first, real_root), lambda: _stat_all(second, real_root))
        fork = files >= fork_from
    if not (fork and _forked(found, *shares)):
        for share in shares:
            found.add(share())
    return found


def _list_one(folder: str, rel: str) -> tuple[_Folder, list[tuple[str, str]]]:
    """One folder's entry file names, in listing order, and its sub-folders."""
    try:
        names = os.listdir(folder)
    except OSError:
        return (folder, rel, []), []
    files = []
    subfolders = []
    for name in names:
        # Hidden names include the temporary files of atomic writes.
        if name[0] == ".":
            continue
        if name.endswith(_ENTRY_SUFFIXES):
            files.append(name)
            continue
        path = os.path.join(folder, name)
        try:
            # lstat: a linked folder is not followed (a loop would never end).
            if S_ISDIR(os.lstat(path).st_mode):
                subfolders.append((path, f"{rel}{name}/"))
        except OSError:
            continue
    return (folder, rel, files), subfolders


def _list_folders(start: list[tuple[str, str]]) -> list[_Folder]:
    """Every folder under ``start``, any depth, with its entry file names."""
    out: list[_Folder] = []
    stack = list(reversed(start))
    while stack:
        listed, subfolders = _list_one(*stack.pop())
        out.append(listed)
        stack.extend(reversed(subfolders))
    return out


def _stat_all(folders: list[_Folder], root: str) -> list[str]:
    """Signatures of the files named, and of any under a folder named like a file."""
    found: list[str] = []
    while folders:
        signatures, more = _stat_files(folders, root)
        found.extend(signatures)
        folders = _list_folders(more)
    return found


def _halves(folders: list[_Folder], files: int) -> tuple[list[_Folder], list[_Folder]]:
    """Split the files in two runs, so that the first run then the second is the
    listing order (and the scan's order does not depend on whether it forked)."""
    left = files // 2
    first: list[_Folder] = []
    second: list[_Folder] = []
    for folder, rel, names in folders:
        take = min(left, len(names))
        left -= take
        if take:
            first.append((folder, rel, names[:take]))
        if take < len(names):
            second.append((folder, rel, names[take:]))
    return first, second


def _stat_files(folders: list[_Folder], root: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Signatures of the entry files named, and any folder found named like a file.

    A file that must not be read — a symbolic link leading out of the knowledge
    base (``root``, resolved) or to nothing, a FIFO, a device — keeps the signature
    of the name itself: ``load_file`` then reports it without opening it.
    """
    found: list[str] = []
    dirs: list[tuple[str, str]] = []
    add = found.append
    for folder, rel, names in folders:
        # Relative to an open folder, the kernel does not walk the whole path again
        # for every file: about a third of the cost of a stat here.
        fd = _open_folder(folder)
        try:
            for name in names:
                try:
                    if fd is not None:
                        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    else:
                        st = os.lstat(f"{folder}/{name}")
                except OSError:
                    continue
                if S_ISLNK(st.st_mode):
                    target = _link_target(f"{folder}/{name}", root)
                    if target is not None and S_ISDIR(target.st_mode):
                        continue  # a linked folder is not followed (a loop would never end)
                    if target is not None and S_ISREG(target.st_mode):
                        st = target
                if S_ISDIR(st.st_mode):
                    dirs.append((f"{folder}/{name}", f"{rel}{name}/"))
                else:
                    add(f"{rel}{name}\t{st.st_mtime_ns}\t{st.st_size}")
        finally:
            if fd is not None:
                os.close(fd)
    return found, dirs


def _link_target(path: str, root: str) -> os.stat_result | None:
    """The stat of what a symbolic link leads to, when that is inside ``root``."""
    real = os.path.realpath(path)
    if not (real == root or real.startswith(root.rstrip("/") + "/")):
        return None
    try:
        return os.stat(real)
    except OSError:
        return None


def _open_folder(folder: str) -> int | None:
    if os.stat not in os.supports_dir_fd:
        return None
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


def _forked(found: Scan, here: Callable[[], list[str]], there: Callable[[], list[str]]) -> bool:
    """Both shares into ``found``: ``there`` in a forked child, ``here`` meanwhile.

    False, with nothing done, where forking is unavailable or unsafe (threads
    running). If the child fails, this process does its share too.
    """
    threading = sys.modules.get("threading")
    if not hasattr(os, "fork") or (threading is not None and threading.active_count() > 1):
        return False
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return False
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            os.close(read_end)
            data, part_digest = _part_digest(there())
            # The share's digest, a line break, its signatures.
            for chunk in (f"{part_digest}\n".encode(), data):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(write_end, view) :]
            code = 0
        finally:
            # Straight out: no atexit handlers, no flushing of the parent's buffers.
            os._exit(code)
    os.close(write_end)
    pipe = os.fdopen(read_end, "rb")
    try:
        found.add(here())
        raw = pipe.read()
    finally:
        # Closed first: interrupted before reading, this process must not wait for a
        # child blocked on a full pipe (it gets EPIPE and exits).
        pipe.close()
        _, status = os.waitpid(pid, 0)
    if status != 0:
        found.add(there())
    else:
        head, _, data = raw.partition(b"\n")
        found.add_encoded(data, head.decode())
    return True


def _split(signature: str) -> tuple[str, int, int]:
    path, mtime, size = signature.rsplit("\t", 2)
    return path, int(mtime), int(size)


_worker_schema: Schema | None = None
_worker_root: Path | None = None


def _init_worker(schema: Schema, root: Path) -> None:
    global _worker_schema, _worker_root
    _worker_schema, _worker_root = schema, root
    # The workers read ahead of what is stored: lower priority lets the process that
    # stores (and a database server on this machine) go first when cores are short.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def _load_one(rel: str) -> Loaded:
    assert _worker_schema is not None and _worker_root is not None
    return load_file(_worker_root / rel, rel, _worker_schema, root=_worker_root)


def iter_loaded(
    root: Path, schema: Schema, paths: Sequence[str], progress: Progress | None
) -> Iterator[Loaded]:
    """Read and validate files in order, in worker processes when there are many."""
    total = len(paths)
    if total < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        results: Iterable[Loaded] = (load_file(root / rel, rel, schema, root=root) for rel in paths)
        yield from _counted(results, total, progress)
        return
    reading = _Reading(root, schema, paths)
    try:
        yield from _counted(reading.results, total, progress)
    finally:
        reading.close()


class _Reading:
    """Files read and validated in worker processes, in order, from the moment this is
    made: the caller may go on with other work (creating the index's tables) meanwhile."""

    def __init__(self, root: Path, schema: Schema, paths: Sequence[str]) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        workers = min(os.cpu_count() or 2, 8)
        self.paths = list(paths)
        self.pool = ctx.Pool(workers, initializer=_init_worker, initargs=(schema, root))
        self.results: Iterator[Loaded] = self.pool.imap(_load_one, self.paths, chunksize=64)

    def close(self) -> None:
        """Stop the workers (at once: what they have not read yet is not wanted)."""
        self.pool.terminate()
        self.pool.join()


def _read_early(config: Config, found: Scan) -> _Reading | None:
    """Start reading every file of a new index now (every one will be read),
    so that the workers read while this process creates the tables: about a second of
    a cold ``index`` (importing SQLAlchemy, the DDL) no longer waits for them or they
    for it. None where ``iter_loaded`` would read in this process (few files, one CPU)."""
    if (os.cpu_count() or 1) < 2:
        return None
    paths = sorted(_split(sig)[0] for sig in found.signatures())
    if len(paths) < PARALLEL_FROM:
        return None
    return _Reading(config.root, config.schema, paths)


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


def sync(
    store: Store,
    config: Config,
    *,
    progress: Progress | None = None,
    reset: bool = False,
    public_only: bool = False,
) -> SyncReport:
    """Bring the store in step with the files; cheap when nothing changed.

    On a shared index this publishes the knowledge base: its own rows only, in one
    transaction. ``reset`` publishes it afresh (its rows dropped and written again,
    still in one transaction); ``public_only`` leaves out every record that is not
    ``visibility: public`` (and keeps nothing of them, not even the file's name).
    """
    # A new index: the files are scanned and their reading started before the tables
    # are created (_read_early); the scan is the one the sync goes on with.
    early_scan = scan(config.root, config.entries) if _new_index(store) else None
    early = _read_early(config, early_scan) if early_scan is not None else None
    try:
        return _sync(store, config, progress, reset, public_only, early_scan, early)
    finally:
        if early is not None:
            early.close()


def _new_index(store: Store) -> bool:
    """Whether the store holds no index yet (cheap: SQLite reads one header field)."""
    if store.shared:
        return False
    try:
        return store.schema_version() is None
    except Exception:  # an unreadable index: the sync below meets it and says so
        return False


def _sync(
    store: Store,
    config: Config,
    progress: Progress | None,
    reset: bool,
    public_only: bool,
    early_scan: Scan | None,
    early: _Reading | None,
) -> SyncReport:
    fingerprint = config.fingerprint + (":public" if public_only else "")
    fresh = store.ensure_schema(fingerprint)
    report = SyncReport(rebuilt=fresh)
    # A shared index drops this knowledge base's rows inside the transaction below,
    # so that searches see the old publication until the new one is complete.
    reset = store.shared and (reset or fresh)
    # The stamp of the last sync's scan: equal stamps mean nothing changed, without
    # reading 100,000 signatures back from the index.
    last = None if reset else store.get_meta("scan")
    found = (
        early_scan
        if early_scan is not None
        else scan(config.root, config.entries, expected=_files_in(last))
    )
    report.warnings = found.warnings
    stamp = found.stamp
    if last == stamp:
        return report
    disk = set(found.signatures())
    indexed = set() if reset else store.file_signatures()
    if disk == indexed and not reset:
        with store.transaction():
            store.set_meta("scan", stamp)
        return report
    with store.transaction():
        # The write lock is held from here. Another process may have synced since the
        # look above: then look again, or this sync would insert files that one
        # inserted (each "a duplicate of itself") or drop files it found.
        if reset:
            report.removed = store.forget_kb()
            store.set_meta("config", fingerprint)
            indexed = set()
        elif store.get_meta("scan") != last:
            found = scan(config.root, config.entries, expected=found.files)
            disk, stamp = set(found.signatures()), found.stamp
            indexed = store.file_signatures()
        _apply(store, config, report, disk, indexed, stamp, progress, public_only, early)
    if reset:
        # Counted as records: what went and came back is a change, not a removal.
        back = min(report.removed, report.added)
        report.removed -= back
        report.added -= back
        report.changed += back
    return report


def _files_in(stamp: str | None) -> int:
    """The number of files a scan stamp counted (0 for none, or an older form)."""
    count = (stamp or "").rpartition(":")[2]
    return int(count) if count.isdigit() else 0


def _apply(
    store: Store,
    config: Config,
    report: SyncReport,
    disk: set[str],
    indexed: set[str],
    stamp: str,
    progress: Progress | None,
    public_only: bool = False,
    early: _Reading | None = None,
) -> None:
    """The body of ``sync``, inside its transaction: read what changed, write it;
    ``early`` is the reading of these very files already started, if it is."""
    if disk == indexed:
        store.set_meta("scan", stamp)
        return
    on_disk = {p: (m, size) for p, m, size in map(_split, disk - indexed)}
    stale = {_split(sig)[0] for sig in indexed - disk}
    removed = sorted(stale - on_disk.keys())
    candidates = sorted(on_disk)
    known = store.file_digests(stale & on_disk.keys())
    if early is not None and early.paths == candidates:
        loaded = _counted(early.results, len(candidates), progress)
    else:
        loaded = iter_loaded(config.root, config.schema, candidates, progress)
    if public_only:
        loaded = _public(loaded, report)
    if not indexed:
        # An empty index: stream the files straight in (memory stays flat at 100k).
        with store.bulk():
            _insert(store, config.root, loaded, on_disk, empty=True)
            store.set_meta("scan", stamp)
        report.added = len(candidates) - report.withheld
        return
    fresh: list[Loaded] = []
    for item in loaded:
        seen = known.get(item.path)
        mtime, size = on_disk[item.path]
        if seen is not None and seen == item.digest and item.digest:
            store.touch_file(item.path, mtime, size)
        else:
            fresh.append(item)
    fresh_paths = {item.path for item in fresh}
    replaced = [item.path for item in fresh if item.path in known]
    # A published record that is no longer public: its rows go, as if its file had.
    hidden = [p for p in known if p not in fresh_paths and p in on_disk and public_only]
    hidden = [p for p in hidden if p in report.withheld_paths]
    gone = store.delete_paths(removed + replaced + hidden)
    _insert(store, config.root, fresh, on_disk, empty=False)
    if gone or removed:
        _retry_duplicates(store, config)
    store.set_meta("scan", stamp)
    report.removed += len(removed) + len(hidden)
    report.changed += len(replaced)
    report.added += len(fresh) - len(replaced)


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
    return store.owners(ids)


def _public(items: Iterable[Loaded], report: SyncReport) -> Iterator[Loaded]:
    """The files whose record is public; the others are counted and left out (an
    invalid file is left out too: its problems may quote what it holds)."""
    for item in items:
        if item.record is not None and item.record.get("visibility") == "public":
            yield item
        else:
            report.withheld += 1
            report.withheld_paths.add(item.path)


def _retry_duplicates(store: Store, config: Config) -> None:
    """Files refused as duplicates may own their id now that another record went."""
    rows = store.duplicate_files()
    stats = {r[0]: (r[1], r[2]) for r in rows if (config.root / r[0]).is_file()}
    if not stats:
        return
    reloaded = [
        load_file(config.root / p, p, config.schema, root=config.root) for p in sorted(stats)
    ]
    store.delete_paths(sorted(stats))
    _insert(store, config.root, reloaded, stats, empty=False)
