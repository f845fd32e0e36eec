"""A knowledge base: its root, configuration and index, wired together in one place."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from lessons.config import INDEX_DIR, Config, find_root, load_config
from lessons.errors import ConflictError, LessonsError, NotFoundError, RecordError, UsageError
from lessons.hashing import digest
from lessons.indexer import Progress, SyncReport, sync
from lessons.store import Store, open_store


class KnowledgeBase:
    """The files under ``root`` and the index derived from them."""

    def __init__(self, config: Config, db_url: str | None = None) -> None:
        self.config = config
        self.root = config.root
        self.read_only = False
        self.db_url = db_url or os.environ.get("LESSONS_DB") or config.index or self._default_url()
        self._store: Store | None = None
        self.synced = False  # set once this process has brought the index up to date

    @classmethod
    def open(
        cls, kb: str | None = None, db: str | None = None, cwd: Path | None = None
    ) -> KnowledgeBase:
        """Find the root (SPEC §1), read its configuration."""
        root = find_root(kb, cwd)
        return cls(load_config(root), db)

    def _default_url(self) -> str:
        index_dir = self.root / INDEX_DIR
        writable = os.access(index_dir if index_dir.exists() else self.root, os.W_OK)
        if writable:
            return self.config.default_db_url()
        # A read-only knowledge base still answers, from an index kept elsewhere.
        self.read_only = True
        key = digest(str(self.root).encode(), 6)
        folder = Path(tempfile.gettempdir()) / f"lessons-index-{os.getuid()}-{key}"
        return f"sqlite:///{folder / 'index.db'}"

    def check_writable(self) -> None:
        """Refuse at once, before anything is asked or typed, when the record files
        cannot be written (a read-only knowledge base still reads and searches)."""
        folder = self.config.entries
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if self.read_only or not os.access(folder, os.W_OK):
            index_dir = self.root / INDEX_DIR
            where = folder if not self.read_only else index_dir if index_dir.exists() else self.root
            raise LessonsError(
                f"cannot write to {where}: the folder is read-only",
                hint="reading and searching still work; writing needs write access to it",
            )

    @property
    def store(self) -> Store:
        """The open index (opened on first use)."""
        if self._store is None:
            self._store = open_store(self.db_url)
        return self._store

    def close(self) -> None:
        """Close the index."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Bring the index up to date; a corrupt index file is rebuilt on the way."""
        try:
            report = sync(self.store, self.config, progress=progress)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                # Another process held the index past the busy timeout: it is busy, not
                # corrupt, and rebuilding would delete it from under that process.
                raise ConflictError(
                    "the index is busy: another lessons command is writing it",
                    path=self.db_url.removeprefix("sqlite:///"),
                    hint="try again in a moment",
                ) from None
            if not self.db_url.startswith("sqlite:///"):
                raise
            report = self._rebuild_sqlite(progress)
        report.skipped = self.store.skipped_files()
        self.synced = True
        return report

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Throw the index away and build it again from the files."""
        if self.db_url.startswith("sqlite:///"):
            report = self._rebuild_sqlite(progress)
        else:
            self.store.create_schema()
            report = sync(self.store, self.config, progress=progress)
        report.rebuilt = True
        report.skipped = self.store.skipped_files()
        self.synced = True
        return report

    def _rebuild_sqlite(self, progress: Progress | None) -> SyncReport:
        from lessons.store.sqlite import remove_sqlite

        self.close()
        remove_sqlite(Path(self.db_url.removeprefix("sqlite:///")))
        report = sync(self.store, self.config, progress=progress)
        report.rebuilt = True
        return report

    # --- ids -------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The id ``ref`` names: itself, the record of the file it is a path to
        (``entries/x.yaml``, from the working folder or the root), or the one id it is a
        prefix of."""
        ref = ref.strip()
        store = self.store
        if store.owner_of(ref) is not None:
            return ref
        if ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref:
            return self._record_of_file(ref)
        matches = store.ids_with_prefix(ref) if ref else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
            raise UsageError(
                f"'{ref}' is the start of more than one id: {shown}",
                hint="type more of the id",
            )
        raise NotFoundError(f"no record with id '{ref}'", hint=self._closest_hint(ref))

    def _record_of_file(self, ref: str) -> str:
        """The id of the record in the entry file ``ref`` names."""
        given = Path(ref).expanduser()
        root = Path(os.path.abspath(self.root))
        candidates = [Path(os.path.abspath(given))]
        if not given.is_absolute():
            candidates.append(Path(os.path.abspath(root / given)))
        for path in candidates:
            for base, full in ((root, path), (root.resolve(), path.resolve())):
                try:
                    rel = full.relative_to(base).as_posix()
                except ValueError:
                    continue
                known, rid = self.store.file_record(rel)
                if rid is not None:
                    return rid
                if known:
                    raise RecordError(
                        f"{ref} holds no valid record",
                        path=rel,
                        hint="`lessons check` says what is wrong with it",
                    )
        if not any(p.exists() for p in candidates):
            raise NotFoundError(f"no record with id '{ref}', and no such file")
        raise NotFoundError(
            f"{ref} is not an entry file of the knowledge base at {self.root}",
            hint=f"record files are *.yaml under {self.config.entries}",
        )

    def _closest_hint(self, ref: str) -> str | None:
        from rapidfuzz import fuzz, process

        pairs = self.store.id_titles()
        if not pairs:
            return "the knowledge base is empty"
        choices = {rid: f"{rid} {title}" for rid, title in pairs}
        found = process.extract(ref, choices, scorer=fuzz.WRatio, limit=3, score_cutoff=50)
        if not found:
            return "`lessons list` shows every id"
        titles = dict(pairs)
        lines = [f"{key}  ({titles[key]})" for _, _, key in found]
        return "closest: " + "; ".join(lines)

    def get(self, ref: str) -> dict[str, Any]:
        """The whole record ``ref`` names (prefixes allowed)."""
        rec = self.store.get(self.resolve(ref))
        assert rec is not None
        return rec

    def path_of(self, rec: dict[str, Any]) -> Path:
        """The file of an indexed record."""
        return self.root / rec["path"]


def init_kb(path: Path, name: str | None = None) -> list[Path]:
    """Create ``lessons.yaml``, ``entries/`` and a ``.gitignore``; return what was created."""
    from lessons.config import CONFIG_NAME, DEFAULT_CONFIG, ENTRIES_DIR
    from lessons.entries import atomic_write

    path.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    config = path / CONFIG_NAME
    if not config.exists():
        atomic_write(config, DEFAULT_CONFIG.format(name=name or path.resolve().name))
        created.append(config)
    entries = path / ENTRIES_DIR
    if not entries.exists():
        entries.mkdir()
        created.append(entries)
    ignore = path / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if f"{INDEX_DIR}/" not in lines and INDEX_DIR not in lines:
        text = "\n".join([*lines, f"{INDEX_DIR}/"]) + "\n"
        atomic_write(ignore, text)
        created.append(ignore)
    return created
