"""File operations that never follow a link out of the knowledge base.

A knowledge base may come from a stranger, with symbolic links where lessons
expects its own files (``.lessons/``, its lock files, ``recovered/``). What
lessons creates there it creates without following links, and a folder of its
own that turns out to be a link is refused with its path named.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO

from lessons.errors import LessonsError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def lstat_no_link(
    path: Path, what: str, hint: str, error: type[LessonsError] = LessonsError
) -> os.stat_result | None:
    """The ``lstat`` of ``path`` (None when there is nothing there); a symbolic link
    there is refused, naming ``what`` it stands for."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot use {what}: {exc.strerror}", path=str(path)) from None
    if stat.S_ISLNK(st.st_mode):
        raise error(
            f"{what} is a symbolic link; lessons will not write through it",
            path=str(path),
            hint=hint,
        )
    return st


def own_folder(path: Path) -> Path:
    """``path`` as a real folder (created if missing): never a link, never a file."""
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        if not os.path.islink(path):
            raise LessonsError(
                f"cannot write to this knowledge base: {exc.strerror}", path=str(path)
            ) from None
    st = lstat_no_link(path, f"{path.name}/", "remove the link: lessons makes the folder itself")
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise LessonsError(f"{path.name} is not a folder", path=str(path))
    return path


def open_lock(path: Path) -> IO[str]:
    """Open (creating) a lock file without following a link at its name."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        if os.path.islink(path):
            raise LessonsError(
                "the lock file is a symbolic link; lessons will not follow it",
                path=str(path),
                hint="remove the link: lessons makes the lock file itself",
            ) from None
        raise LessonsError(
            f"cannot write to this knowledge base: {exc.strerror}", path=str(path)
        ) from None
    return os.fdopen(fd, "r+")


def create_new(folder: Path, stem: str, suffix: str, text: str) -> Path:
    """Write ``text`` to a file of ``folder`` that did not exist before, named
    ``<stem><suffix>`` or ``<stem>-<n><suffix>``: two writers in the same second
    never take the same name, and nothing that is there is overwritten."""
    data = text.encode("utf-8")
    n = 1
    while True:
        path = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
        except FileExistsError:
            n += 1
            continue
        except OSError as exc:
            raise _cannot(path, exc) from None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            # Half a text is no copy of it: the error says nothing was kept.
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise _cannot(path, exc) from None
        os.close(fd)
        return path


def _cannot(path: Path, exc: OSError) -> LessonsError:
    return LessonsError(f"cannot write {path.name}: {exc.strerror}", path=str(path.parent))


def read_regular(path: Path, *, inside: Path | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (through a link only when the link
    leads inside ``inside``): a FIFO is never opened (it would block), a device never
    read, a link out of the knowledge base never followed. ``OSError`` otherwise."""
    if inside is not None and os.path.islink(path):
        real = os.path.realpath(path)
        base = os.path.realpath(inside)
        if not real.startswith(base.rstrip("/") + "/"):
            raise OSError(f"{path.name} is a symbolic link to a file outside {inside}")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
