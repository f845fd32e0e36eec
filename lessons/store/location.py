"""Where the index may live, and proof that a file there is one of ours.

A knowledge base is often a stranger's repository: its ``lessons.yaml`` may name
any path as the index, and its ``.lessons/`` folder may hold symbolic links. The
rules here keep ``lessons`` from writing, truncating or deleting anything it did
not make:

- a knowledge base's own settings may place the index inside its ``.lessons/``
  folder only; anywhere else (another path, a server) needs the user's own
  ``--db`` or ``$LESSONS_DB``;
- an existing file is used as the index only when it carries our marker (the
  ``application_id`` pragma in its header, or, for an index made before the
  marker existed, our ``meta`` table inside ``.lessons/``); any other file, a
  symbolic link, a device or a FIFO is refused with its path named and left
  untouched;
- the index of a knowledge base that cannot be written lives in a per-user
  cache folder (mode 0700, owner and mode checked, no symbolic links).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from lessons.errors import StoreError
from lessons.fsafe import lstat_no_link
from lessons.hashing import digest

# The 32-bit marker every index carries in its SQLite header ("LESN").
APPLICATION_ID = 0x4C45534E
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Files SQLite opens beside the database, which must not lead elsewhere either.
COMPANIONS = ("-wal", "-shm", "-journal")
INDEX_DIR = ".lessons"


def sqlite_path(url: str, base: Path | None = None) -> Path:
    """The file a ``sqlite:///PATH`` URL names; a relative PATH is taken from ``base``
    (the working folder when None)."""
    raw = url.removeprefix("sqlite:///")
    path = Path(raw).expanduser() if raw.startswith("~") else Path(raw)
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return Path(os.path.normpath(path))


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or under it, by name (no link is followed)."""
    try:
        Path(os.path.normpath(path)).relative_to(os.path.normpath(folder))
    except ValueError:
        return False
    return True


def real_inside(path: Path, folder: Path) -> bool:
    """True when ``path``, every link resolved, is under ``folder`` (resolved too)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


_REBUILT = "remove the link (the index is rebuilt from the records) or pass --db"


def check_index_dir(folder: Path) -> None:
    """Refuse an index folder that is a symbolic link or not a folder."""
    st = lstat_no_link(folder, "the index folder", _REBUILT, StoreError)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise StoreError("the index folder is not a folder", path=str(folder))


def check_sqlite_file(path: Path, *, legacy_ok: bool) -> bool:
    """Refuse, leaving it untouched, any existing file at ``path`` that is not one of
    our indexes; True when a file with content is there (ours), False when there is
    none yet or it is empty (the caller marks it first thing).

    ``legacy_ok`` accepts an index made before the marker existed, recognised by
    our ``meta`` table (only inside a knowledge base's own ``.lessons/``).
    """
    for suffix in COMPANIONS:
        companion = path.parent / (path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            mode = os.lstat(companion).st_mode
            if not stat.S_ISREG(mode):
                raise StoreError(
                    f"{companion.name} beside the index is not a regular file; lessons will "
                    "not open the index through it",
                    path=str(companion),
                    hint="remove it; the index is rebuilt from the records",
                )
    st = lstat_no_link(path, "the index", _REBUILT, StoreError)
    if st is None:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(
            "the index location is not a regular file; lessons will not touch it",
            path=str(path),
            hint="pass --db with a path of its own, e.g. sqlite:///lessons-index.db",
        )
    if st.st_size == 0:
        return False
    head = _header(path)
    if head.startswith(_SQLITE_MAGIC):
        app_id = int.from_bytes(head[68:72], "big")
        if app_id == APPLICATION_ID:
            return True
        if app_id == 0 and legacy_ok and _legacy_index(path):
            return True
        raise StoreError(
            "this file is an SQLite database of another application, not a lessons "
            "index; lessons will not touch it",
            path=str(path),
            hint="pass --db with a path of its own",
        )
    raise StoreError(
        "this file is not a lessons index; lessons will not change or delete it",
        path=str(path),
        hint="if it is a damaged lessons index, delete it and the next command rebuilds "
        "it; else pass --db with a path of its own",
    )


def _header(path: Path) -> bytes:
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise StoreError(f"cannot read the index: {exc.strerror}", path=str(path)) from None
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def _legacy_index(path: Path) -> bool:
    """An index of an earlier version: our tables, opened read-only to look."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"meta", "record", "file", "record_fts"} <= names:
            return False
        return conn.execute("SELECT 1 FROM meta WHERE key = 'config'").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def remove_index(path: Path, *, legacy_ok: bool) -> None:
    """Delete an index file proven ours (see ``check_sqlite_file``) and its companions;
    anything else is refused, untouched."""
    check_sqlite_file(path, legacy_ok=legacy_ok)
    for suffix in ("", *COMPANIONS):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / (path.name + suffix)).unlink()


# --- the per-user cache, for knowledge bases this user cannot write ---------------


def _private_dir(path: Path) -> bool:
    """Create ``path`` (0700) if missing; True when it is a real folder of ours that no
    one else can write or read."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


def cache_base() -> Path | None:
    """``$XDG_CACHE_HOME/lessons`` (default ``~/.cache/lessons``), made 0700 and checked;
    None when no such folder can be had safely."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(base)
    except (OSError, RuntimeError):
        return None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        return None
    folder = base / "lessons"
    return folder if _private_dir(folder) else None


def fallback_index(root: Path) -> Path:
    """Where the index of a read-only knowledge base lives: a folder per knowledge base
    in the user's cache, or else a private temporary folder removed at exit."""
    base = cache_base()
    if base is not None:
        folder = base / digest(str(root).encode(), 8)
        if _private_dir(folder):
            return folder / "index.db"
    import atexit
    import shutil
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix="lessons-index-"))
    atexit.register(shutil.rmtree, temp, True)
    return temp / "index.db"


def mask_url(url: str) -> str:
    """A store URL fit to show: any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    if "password=" in tail:
        import re

        tail = re.sub(r"(password=)[^&]*", r"\1***", tail)
    return f"{scheme}{sep}{netloc}{slash}{tail}"
