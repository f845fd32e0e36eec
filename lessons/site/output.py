"""Writing the site's files: only those whose bytes changed, and removing only our own.

The output folder keeps a manifest (``.lessons-site.json``) of the files the
last build wrote. A rebuild compares each file's new bytes with what is on
disk and writes only the ones that differ; files of the last build that this
one did not produce (the page of a record that went away) are removed; nothing
else in the folder is ever touched. A folder that holds files but no manifest
is not ours, and is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from lessons.errors import UsageError

MANIFEST = ".lessons-site.json"
GENERATOR = "lessons site"


@dataclass
class WriteReport:
    """What a build did to the output folder, counted in files."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    bytes: int = 0
    written_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)


class Output:
    """The output folder of one build."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.report = WriteReport()
        self.files: set[str] = set()
        self.previous: set[str] = set()
        self._dirs: set[Path] = set()
        # A new folder gets its manifest with the first file (see _mark).
        self._unmarked = False

    def open(self) -> None:
        """Check the folder is ours (or new, or empty) and read the last manifest."""
        folder = self.folder
        if folder.is_symlink():
            raise UsageError(
                f"the output folder is a symlink: {folder}",
                hint="name a real folder with -o DIR",
            )
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"the output path is not a folder: {folder}")
        manifest = folder / MANIFEST
        if not manifest.is_file():
            if folder.is_dir() and any(folder.iterdir()):
                raise UsageError(
                    f"{folder} holds files that `lessons site` did not write",
                    hint="name an empty or new folder with -o DIR (nothing there is replaced)",
                )
            self._unmarked = True
            return
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                files = data["files"] if data.get("generator") == GENERATOR else None
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                files = None
            if not isinstance(files, list):
                raise UsageError(
                    "the site's manifest is not one `lessons site` wrote",
                    path=str(manifest),
                    hint="remove the folder, or name another with -o DIR",
                )
            self.previous = {f for f in files if isinstance(f, str) and _relative(f)}

    def write(self, rel: str, data: bytes) -> None:
        """Put ``data`` at ``rel`` unless the file already holds exactly that."""
        if not _relative(rel):
            raise ValueError(f"not a path inside the site: {rel!r}")
        if self._unmarked:
            self._mark()
        self.files.add(rel)
        path = self.folder / rel
        self.report.bytes += len(data)
        self._folder_for(path)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISREG(info.st_mode) and info.st_size == len(data):
            try:
                if path.read_bytes() == data:
                    self.report.unchanged += 1
                    return
            except OSError:
                pass
        if info is None:
            _create(path, data)
        else:
            _replace(path, data)
        self.report.written += 1
        self.report.written_paths.append(rel)

    def _mark(self) -> None:
        """Make the new folder and mark it as ours before any page is written: a build
        interrupted halfway leaves a folder the next build recognises and finishes."""
        self._unmarked = False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {self.folder}: {exc.strerror}") from None
        manifest = json.dumps({"generator": GENERATOR, "files": []}).encode()
        _replace(self.folder / MANIFEST, manifest)

    def close(self) -> WriteReport:
        """Remove the last build's files this one did not write; save the manifest."""
        for rel in sorted(self.previous - self.files):
            path = self.folder / rel
            if self._under_real_folders(path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    self.report.removed += 1
                    self.report.removed_paths.append(rel)
                self._drop_empty_parents(path)
        text = json.dumps(
            {"generator": GENERATOR, "files": sorted(self.files)}, indent=0, ensure_ascii=False
        )
        _replace(self.folder / MANIFEST, text.encode("utf-8"))
        return self.report

    def _folder_for(self, path: Path) -> None:
        """Make the folders above ``path``, refusing any that is a symlink."""
        parent = path.parent
        if parent in self._dirs:
            return
        rel_parts = parent.relative_to(self.folder).parts
        current = self.folder
        for part in rel_parts:
            current = current / part
            if current in self._dirs:
                continue
            if current.is_symlink():
                raise UsageError(
                    f"a folder of the site is a symlink: {current}",
                    hint="remove it; the site writes only into real folders",
                )
            try:
                current.mkdir(exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create {current}: {exc.strerror}") from None
            self._dirs.add(current)
        self._dirs.add(parent)

    def _under_real_folders(self, path: Path) -> bool:
        current = self.folder
        for part in path.parent.relative_to(self.folder).parts:
            current = current / part
            if current.is_symlink() or not current.is_dir():
                return False
        return True

    def _drop_empty_parents(self, path: Path) -> None:
        parent = path.parent
        while parent != self.folder:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent


def _relative(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _create(path: Path, data: bytes) -> None:
    """Write a new file (there is no older one a reader could see half replaced; a file
    half written by a build that died differs from the next build's, which rewrites it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        _replace(path, data)
        return
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _replace(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a reader (the preview server, a
    host syncing the folder) sees the old file or the new one, never half; a symlink
    at ``path`` is replaced, not followed."""
    # The folder is ours: a name of this process's own does, without mkstemp's retries.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        raise
