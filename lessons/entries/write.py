"""Writing record files: new records, atomic replacement, the write lock."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lessons.entries.parse import Loaded, digest_of, load_file, yaml
from lessons.errors import ConflictError, LessonsError, RecordError
from lessons.fsafe import create_new, open_lock, own_folder
from lessons.model import Problem, Schema, to_document

# --- writing -------------------------------------------------------------------


def _str_representer(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@functools.cache
def _block_dumper() -> Any:
    """The C dumper, with multi-line text as ``|`` blocks so records stay readable in diffs."""
    base = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
    dumper: Any = type("_BlockDumper", (base,), {})
    dumper.add_representer(str, _str_representer)
    return dumper


def dump_record(rec: dict[str, Any], schema: Schema | None = None) -> str:
    """The YAML text of a new record file, keys in the order of SPEC §2."""
    doc = to_document(rec, schema)
    # Dates go out as YAML dates (2024-05-01, unquoted), as a person writes them.
    dated = ["date", "recorded"] + [
        f.name for f in (schema.fields if schema else ()) if f.type == "date"
    ]
    for key in dated:
        if isinstance(doc.get(key), str):
            doc[key] = _as_date(doc[key])
    for action in doc.get("actions") or []:
        if isinstance(action.get("due"), str):
            action["due"] = _as_date(action["due"])
    return yaml.dump(
        doc,
        Dumper=_block_dumper(),
        sort_keys=False,
        allow_unicode=True,
        width=88,
        default_flow_style=False,
    )


def _as_date(value: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return value


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _cannot_write(path: Path, exc: OSError) -> LessonsError:
    return LessonsError(f"cannot write {path.name}: {exc.strerror or exc}", path=str(path.parent))


def atomic_write(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half.

    ``durable=False`` skips the two fsyncs: for bulk writers (import) that flush
    everything once at the end with ``os.sync()`` instead of paying per file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        # A read-only folder, a full disk: the user's to fix, so a clean error (exit 2).
        raise _cannot_write(path, exc) from None
    try:
        # mkstemp makes the file private (0600); give it the mode the file had, or
        # the one a new file gets under the umask, so teammates can still read it.
        os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def write_lock(root: Path, timeout: float = 10.0) -> Iterator[None]:
    """Serialise writers of one knowledge base, so no read-modify-write is lost."""
    import fcntl
    import time

    handle = open_lock(own_folder(root / ".lessons") / "write.lock")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConflictError(
                        "another lessons command is writing to this knowledge base",
                        hint="try again in a moment",
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        handle.close()


def _read_unchanged(path: Path, shown: str, expected_digest: str | None) -> bytes:
    """The file's bytes, if it still holds what was read earlier (``expected_digest``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConflictError(f"the file is gone: {shown}") from None
    if expected_digest is not None and digest_of(data) != expected_digest:
        raise ConflictError(
            "the file changed on disk since it was read; nothing was written",
            path=shown,
            hint="run the command again",
        )
    return data


def _write_valid(path: Path, shown: str, schema: Schema, text: str, prefix: str) -> Loaded:
    """Write ``text`` over ``path`` only if it is a valid record; else raise, writing nothing."""
    loaded = load_file(path, shown, schema, data=text.encode("utf-8"))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors or loaded.record is None:
        first = errors[0] if errors else Problem("the record is invalid")
        raise RecordError(
            f"{prefix}{first.message}; nothing was written",
            path=shown,
            line=first.line,
            field=first.field,
        )
    tidy_leftovers(path)
    atomic_write(path, text)
    return loaded


# What ``atomic_write`` names its temporary files: ``.<file>.<random>.tmp`` beside the file.
LEFTOVER = re.compile(r"^\.(.+\.ya?ml)\.[^.]+\.tmp$")
# An interrupted write's file this old, holding what the record holds, is only clutter.
LEFTOVER_TIDY_S = 3600
# Per folder, the leftover temporary files found, by the name of the file they were for:
# a folder is listed once per process, not once per write (a rename of a tag across
# thousands of records writes thousands of files).
_leftovers: dict[str, dict[str, list[str]]] = {}


def tidy_leftovers(path: Path) -> None:
    """Remove the temporary files interrupted writes of ``path`` left behind, when they
    are over an hour old and hold exactly what ``path`` holds now (nothing is lost);
    any other is kept for ``lessons check`` to name."""
    folder = str(path.parent)
    known = _leftovers.get(folder)
    if known is None:
        known = {}
        with contextlib.suppress(OSError), os.scandir(folder) as listing:
            for entry in listing:
                match = LEFTOVER.match(entry.name)
                if match:
                    known.setdefault(match.group(1), []).append(entry.name)
        _leftovers[folder] = known
    names = known.pop(path.name, None)
    if not names:
        return
    try:
        current = path.read_bytes()
    except OSError:
        return
    old = time.time() - LEFTOVER_TIDY_S
    for name in names:
        leftover = path.parent / name
        try:
            st = os.lstat(leftover)
            if not stat.S_ISREG(st.st_mode) or st.st_mtime > old:
                continue
            if st.st_size == len(current) and leftover.read_bytes() == current:
                leftover.unlink()
        except OSError:
            continue


def replace_file(
    path: Path, root: Path, schema: Schema, text: str, *, expected_digest: str
) -> Loaded:
    """Write ``text`` over ``path`` (atomically, under the write lock) if it is a valid record
    and the file still holds what was read (``expected_digest``); else raise, writing nothing."""
    shown = str(path)
    with write_lock(root):
        _read_unchanged(path, shown, expected_digest)
        return _write_valid(path, shown, schema, text, "")


def write_new(path: Path, root: Path, text: str) -> None:
    """Create a record file that must not exist yet (atomically, under the write lock)."""
    with write_lock(root):
        if path.exists():
            raise ConflictError(f"a file already exists at {path}", path=str(path))
        atomic_write(path, text)


def keep_recovered(root: Path, rid: str, text: str) -> Path:
    """Keep text that could not be saved in ``.lessons/recovered/``, under a name no
    other writer can take (two conflicting edits in the same second keep both)."""
    import time

    folder = own_folder(own_folder(root / ".lessons") / "recovered")
    return create_new(folder, f"{rid}-{time.strftime('%Y%m%d-%H%M%S')}", ".yaml", text)
