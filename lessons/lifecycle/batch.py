"""All-or-nothing changes to several record files (``rm --unlink``, ``mv``).

A change that touches many files must never stop half way. So every new text is
first written to a temporary file beside its target, where a full disk or a
read-only folder shows itself before any record has changed. Then an undo
journal holding the old bytes of every file is written (durably) to
``.lessons/pending/``. Only then are the temporary files renamed over their
targets and the doomed files removed, and the journal deleted.

An error in that last phase puts every file back at once. A process killed in
it leaves the journal behind: the next command (``KnowledgeBase.sync``) calls
``recover``, which puts every file back, before anything is read. Recovery takes
the write lock first, so it never undoes the batch of a process still running.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lessons.errors import ConflictError, LessonsError

# Under the knowledge base's own folder, beside the write lock (entries.write_lock).
PENDING = Path(".lessons") / "pending"


@dataclass
class _Step:
    path: Path
    old: bytes | None  # None: the file is created
    new: str | None  # None: the file is removed
    mode: int | None = None
    tmp: Path | None = None
    done: bool = False


class Batch:
    """Files to replace, create and remove, committed together or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.steps: list[_Step] = []

    def replace(self, path: Path, old: bytes, text: str) -> None:
        """Write ``text`` over ``path``, which must still hold ``old`` at commit."""
        self.steps.append(_Step(path, old, text))

    def create(self, path: Path, text: str) -> None:
        """Create ``path`` with ``text``; it must not exist at commit."""
        self.steps.append(_Step(path, None, text))

    def remove(self, path: Path, old: bytes) -> None:
        """Remove ``path``, which must still hold ``old`` at commit."""
        self.steps.append(_Step(path, old, None))

    def commit(self) -> None:
        """Make every change, or (raising) none of them."""
        from lessons.entries import write_lock

        # Writes first, removals last: a record is never gone before its
        # replacement (mv) or the edits of the records linking to it (rm) are in.
        self.steps.sort(key=lambda s: s.new is None)
        with write_lock(self.root):
            self._verify()
            try:
                self._stage()
                journal = self._journal()
            except BaseException:
                self._drop_temporaries()
                raise
            try:
                self._apply()
            except BaseException as exc:
                self._drop_temporaries()
                try:
                    _undo(self.steps)
                except OSError as again:
                    # The journal stays: the next command puts the files back.
                    raise LessonsError(
                        f"cannot change {_shown(self.root, exc)} ({again.strerror or again}); "
                        "the files will be put back as they were by the next lessons command",
                    ) from None
                _remove(journal)
                if isinstance(exc, OSError):
                    raise LessonsError(
                        f"cannot change {_shown(self.root, exc)}: {exc.strerror or exc}; "
                        "every file was put back as it was",
                    ) from None
                raise
            _sync_folders({s.path.parent for s in self.steps})
            _remove(journal)

    def _verify(self) -> None:
        for step in self.steps:
            rel = _rel(self.root, step.path)
            try:
                now = step.path.read_bytes()
            except FileNotFoundError:
                now = None
            except OSError as exc:
                raise LessonsError(f"cannot read {rel}: {exc.strerror}") from None
            if step.old is None and now is not None:
                raise ConflictError(f"a file already exists at {rel}; nothing was changed")
            if step.old is not None and now != step.old:
                raise ConflictError(
                    f"{rel} changed on disk since it was read; nothing was changed",
                    hint="run the command again",
                )
            if now is not None:
                step.mode = step.path.stat().st_mode & 0o7777

    def _stage(self) -> None:
        for step in self.steps:
            if step.new is None:
                continue
            try:
                fd, name = tempfile.mkstemp(
                    dir=step.path.parent, prefix=f".{step.path.name}.", suffix=".tmp"
                )
            except OSError as exc:
                raise LessonsError(
                    f"cannot write to {_rel(self.root, step.path.parent)}: "
                    f"{exc.strerror}; nothing was changed"
                ) from None
            step.tmp = Path(name)
            try:
                os.fchmod(fd, step.mode if step.mode is not None else _new_mode())
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(step.new)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise LessonsError(
                    f"cannot write {_rel(self.root, step.path)}: {exc.strerror}; "
                    "nothing was changed"
                ) from None

    def _journal(self) -> Path:
        """The undo journal, written and flushed before the first file changes."""
        from lessons.fsafe import own_folder

        folder = self.root / PENDING
        entries = [
            {
                "path": _rel(self.root, s.path),
                "old": None if s.old is None else base64.b64encode(s.old).decode("ascii"),
                "mode": s.mode,
                "tmp": None if s.tmp is None else _rel(self.root, s.tmp),
            }
            for s in self.steps
        ]
        # Never through a link: .lessons/ of a cloned repository is not to be trusted.
        own_folder(own_folder(self.root / ".lessons") / "pending")
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix="batch-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": 1, "steps": entries}, handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise LessonsError(
                f"cannot write the undo journal: {exc.strerror}; nothing was changed",
                path=str(folder),
            ) from None
        _sync_folders({folder})
        return Path(name)

    def _apply(self) -> None:
        for step in self.steps:
            if step.new is None:
                os.unlink(step.path)
            else:
                assert step.tmp is not None
                os.replace(step.tmp, step.path)
                step.tmp = None
            step.done = True

    def _drop_temporaries(self) -> None:
        for step in self.steps:
            if step.tmp is not None:
                _remove(step.tmp)
                step.tmp = None


def _undo(steps: Sequence[_Step]) -> None:
    """Put back every file of ``steps`` as it was (done or not: undoing is idempotent)."""
    for step in reversed(steps):
        if step.old is None:
            _remove(step.path)
            continue
        try:
            if step.path.read_bytes() == step.old:
                continue
        except FileNotFoundError:
            pass
        _write_bytes(step.path, step.old, step.mode)


def pending(root: Path) -> bool:
    """True when an interrupted batch left its journal (one stat: cheap on every command)."""
    return (root / PENDING).is_dir() and any((root / PENDING).glob("batch-*.json"))


def recover(root: Path, entries: Path) -> list[str]:
    """Undo every batch a killed process left half done; the paths put back.

    Nothing happens while another process holds the write lock (its batch is
    still running) or when the folder cannot be written. A journal is itself a
    file of the knowledge base (a cloned repository could ship one), so only
    record files (``*.yaml``, ``*.yml``) under ``entries`` are ever written back:
    nothing a journal says can touch another file.
    """
    import stat

    from lessons.entries import write_lock

    folder = root / PENDING
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
    except OSError:
        return []
    restored: list[str] = []
    try:
        with write_lock(root, timeout=0):
            for journal in sorted(folder.glob("batch-*.json")):
                restored += _recover_one(root, entries, journal)
    except (ConflictError, LessonsError, OSError):
        return restored
    return restored


def _recover_one(root: Path, entries: Path, journal: Path) -> list[str]:
    try:
        items = json.loads(journal.read_text(encoding="utf-8"))["steps"]
    except (OSError, ValueError, KeyError, TypeError):
        # A journal cut short was never finished, so no file had changed yet.
        _remove(journal)
        return []
    steps = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        path = _record_file(root, entries, item.get("path"))
        old = item.get("old")
        mode = item.get("mode")
        if path is None or not isinstance(old, str | None):
            continue
        try:
            data = None if old is None else base64.b64decode(old, validate=True)
        except ValueError:
            continue
        tmp = _record_file(root, entries, item.get("tmp"), temporary=True)
        steps.append(_Step(path, data, None, mode if isinstance(mode, int) else None, tmp))
    changed = []
    for step in steps:
        try:
            now: bytes | None = step.path.read_bytes()
        except FileNotFoundError:
            now = None
        if now != step.old:
            changed.append(_rel(root, step.path))
    _undo(steps)
    for step in steps:
        if step.tmp is not None:
            _remove(step.tmp)
    _sync_folders({s.path.parent for s in steps})
    _remove(journal)
    return changed


def _record_file(root: Path, entries: Path, rel: object, *, temporary: bool = False) -> Path | None:
    """``root / rel`` when it names a record file (or, ``temporary``, the hidden
    temporary file of one) under ``entries``, through no link; else None."""
    import re

    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    path = root / rel
    name = path.name
    pattern = r"\..+\.ya?ml\.[^/]+\.tmp" if temporary else r"[^.].*\.ya?ml"
    if not re.fullmatch(pattern, name):
        return None
    try:
        path.parent.resolve().relative_to(entries.resolve())
    except (ValueError, OSError, RuntimeError):
        return None
    if path.is_symlink():
        return None
    return path


def _write_bytes(path: Path, data: bytes, mode: int | None) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode if mode is not None else _new_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        _remove(Path(name))
        raise


def _new_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _sync_folders(folders: set[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _shown(root: Path, exc: BaseException) -> str:
    name = getattr(exc, "filename", None)
    return _rel(root, Path(name)) if isinstance(name, str) else "a file"
