"""A knowledge base: its root, configuration and index, wired together in one place."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from lessons.config import INDEX_DIR, Config, find_root, kb_key, load_config
from lessons.errors import (
    AccessError,
    ConflictError,
    LessonsError,
    NotFoundError,
    RecordError,
    StoreError,
    UsageError,
)
from lessons.indexer import Progress, SyncReport, sync
from lessons.store import Store, open_store
from lessons.store.location import (
    check_index_dir,
    fallback_index,
    inside,
    mask_url,
    real_inside,
    remove_index,
    sqlite_path,
)


class KnowledgeBase:
    """The files under ``root`` and the index derived from them."""

    def __init__(
        self,
        config: Config,
        db_url: str | None = None,
        *,
        across: bool = False,
        from_kb: tuple[str, ...] = (),
        detached: bool = False,
    ) -> None:
        self.config = config
        self.root = config.root
        self.read_only = False
        # Warnings for the command to show (the library never prints).
        self.notes: list[str] = []
        self.db_url = self._choose_url(db_url or os.environ.get("LESSONS_DB") or None)
        self._store: Store | None = None
        self.synced = False  # set once this process has brought the index up to date
        # On a shared index, reads cover every knowledge base in it (``across``) or the
        # ones named, and otherwise (and every write) this knowledge base alone.
        # ``detached``: no knowledge base here; a shared index is read as it is.
        self.across = across
        self.from_kb = from_kb
        self.detached = detached
        self.recovered: list[str] = []  # files put back after an interrupted rm or mv

    @classmethod
    def open(
        cls,
        kb: str | None = None,
        db: str | None = None,
        cwd: Path | None = None,
        *,
        across: bool = False,
        from_kb: tuple[str, ...] = (),
    ) -> KnowledgeBase:
        """Find the root (SPEC §1), read its configuration. A command that reads across
        a shared index needs no knowledge base of its own."""
        try:
            root = find_root(kb, cwd)
        except UsageError:
            url = db or os.environ.get("LESSONS_DB") or ""
            if kb or not across or not is_shared_url(url):
                raise
            here = (cwd or Path.cwd()).resolve()
            config = Config(root=here, name="")
            return cls(config, url, across=True, from_kb=from_kb, detached=True)
        return cls(load_config(root), db, across=across, from_kb=from_kb)

    @property
    def home(self) -> str | None:
        """This knowledge base's key in a shared index (None when there is none here)."""
        return None if self.detached else self.config.key

    def _choose_url(self, explicit: str | None) -> str:
        """The index URL: the user's own ``--db``/``$LESSONS_DB`` as given; ``index:`` of
        lessons.yaml only where it keeps the index inside ``.lessons/``; else the default."""
        if explicit:
            if explicit.startswith("sqlite:///"):
                # Relative to the folder the user typed it in, fixed now.
                return f"sqlite:///{sqlite_path(explicit)}"
            return explicit
        wanted = self.config.index
        if wanted:
            index_dir = self.root / INDEX_DIR
            path = sqlite_path(wanted, base=self.root) if wanted.startswith("sqlite:///") else None
            if (
                path is not None
                and inside(path.parent, index_dir)
                and (not path.parent.exists() or real_inside(path.parent, index_dir))
            ):
                if self._writable():
                    return f"sqlite:///{path}"
            else:
                # A cloned repository must not choose where lessons writes.
                self.notes.append(
                    f"lessons.yaml asks for the index at {mask_url(wanted)}, outside "
                    f"{INDEX_DIR}/; a knowledge base's own settings may not choose where "
                    f"lessons writes, so {INDEX_DIR}/index.db is used (pass --db or set "
                    "LESSONS_DB to use it)"
                )
        return self._default_url()

    def _writable(self) -> bool:
        index_dir = self.root / INDEX_DIR
        return os.access(index_dir if index_dir.exists() else self.root, os.W_OK)

    def _default_url(self) -> str:
        if self._writable():
            return self.config.default_db_url()
        # A read-only knowledge base still answers, from an index in the user's cache.
        self.read_only = True
        return f"sqlite:///{fallback_index(self.root)}"

    @property
    def index_path(self) -> Path | None:
        """The SQLite file of the index (None for a server)."""
        return sqlite_path(self.db_url) if self.db_url.startswith("sqlite:///") else None

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
            # Inside .lessons/, an index of an earlier version (no marker yet) is ours too.
            store = open_store(self.db_url, legacy_ok=self._own_folder())
            store.home = self.home
            try:
                store.scope = self._scope(store)
            except BaseException:
                store.close()
                raise
            self._store = store
        return self._store

    def _scope(self, store: Store) -> tuple[str, ...] | None:
        """The knowledge bases reads cover (None: every one in the index)."""
        named = tuple(dict.fromkeys(kb_key(n) for n in self.from_kb))
        if not store.shared:
            others = [n for n in named if n != self.home]
            if others:
                raise UsageError(
                    f"--from-kb {others[0]}: the local index holds one knowledge base,"
                    f" '{self.home}'",
                    hint="several knowledge bases are searched in a shared index:"
                    " --db postgresql://… (docs/postgres.md)",
                )
            return None
        if named:
            return named
        if self.across:
            return None
        return (self.home,) if self.home is not None else ()

    def _own_folder(self) -> bool:
        """True when the index lives in this knowledge base's ``.lessons/`` (which must
        then be a real folder, not a link to somewhere else)."""
        path = self.index_path
        own = path is not None and inside(path, self.root / INDEX_DIR)
        if own:
            check_index_dir(self.root / INDEX_DIR)
        return own

    def close(self) -> None:
        """Close the index."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def sync(
        self,
        progress: Progress | None = None,
        *,
        allow_stale: bool = True,
        publish: bool = False,
        public_only: bool | None = None,
    ) -> SyncReport:
        """Bring the index up to date; a corrupt index file of ours is rebuilt on the way.

        When the index cannot be written (a full disk) but holds an earlier sync,
        ``allow_stale`` lets a reading command go on with it, with a note saying so.

        On a shared index this publishes the knowledge base when this role may write
        it; otherwise (a read-only role, or no knowledge base here) the index is read
        as last published, unless ``publish`` asked for it: then that is an error.
        """
        if not self.detached and (self.root / INDEX_DIR / "pending").is_dir():
            # A multi-file change (rm, mv) was killed half way: put its files back first.
            from lessons.lifecycle.batch import recover

            self.recovered = recover(self.root, self.config.entries)
            if self.recovered:
                n = len(self.recovered)
                self.notes.append(
                    f"an interrupted rm or mv was undone: {n} file{'s' if n != 1 else ''} "
                    "put back as they were"
                )
        if is_shared_url(self.db_url):
            return self._publish(progress, publish=publish, public_only=public_only)
        if public_only is not None:
            raise UsageError(
                "--public-only is for publishing to a shared index (--db postgresql://…)",
                hint="the local index holds every record; `lessons export --public` writes"
                " the public ones out",
            )
        try:
            report = sync(self.store, self.config, progress=progress)
        except sqlite3.DatabaseError as exc:
            if self.index_path is None or not _corrupt(exc):
                error = self._store_error(exc)
                if not (allow_stale and _full(exc, self.index_path) and self._read_as_it_was()):
                    raise error from None
                self.notes.append(
                    f"{error.message}: the answers come from the index as it was at its last "
                    "update (changes since are not in it)"
                )
                report = SyncReport()
                report.skipped = self.store.skipped_files()
                self.synced = True
                return report
            report = self._rebuild_sqlite(progress)
        self.notes.extend(report.warnings)
        report.skipped = self.store.skipped_files()
        self.synced = True
        return report

    def _publish(
        self,
        progress: Progress | None,
        *,
        publish: bool,
        public_only: bool | None,
        reset: bool = False,
    ) -> SyncReport:
        """``sync`` on a shared index."""
        store: Any = self.store
        self.synced = True
        store.prepare(create=self.home is not None)
        self._check_from_kb(store)
        if self.home is None:
            return SyncReport()
        if not store.can_publish():
            if publish:
                raise AccessError(
                    f"the role '{store.role}' may only read the index at {store.where_};"
                    " nothing was published",
                    hint="publishing needs SELECT, INSERT, UPDATE and DELETE on the tables of"
                    " schema 'lessons' (docs/postgres.md, Roles)",
                )
            return SyncReport()
        if public_only is None:
            # Once published public-only, a knowledge base stays so in this index until
            # a publication says otherwise (--no-public-only): a later command run here
            # must not publish its internal records.
            stored = store.get_meta("config") or ""
            public_only = self.config.public_only or stored.endswith(":public")
        report = sync(store, self.config, progress=progress, reset=reset, public_only=public_only)
        self.notes.extend(report.warnings)
        report.skipped = store.skipped_files()
        return report

    def _check_from_kb(self, store: Any) -> None:
        """Every knowledge base --from-kb names must be in the index."""
        if not self.from_kb or store.scope is None:
            return
        known = store.knowledge_bases()
        missing = [k for k in store.scope if k not in known and k != self.home]
        if missing:
            raise NotFoundError(
                f"no knowledge base '{missing[0]}' in the index at {store.where_}",
                hint=f"it holds: {', '.join(known) or 'none yet'}",
            )

    def rebuild(
        self, progress: Progress | None = None, *, public_only: bool | None = None
    ) -> SyncReport:
        """Throw the index away and build it again from the files (on a shared index,
        this knowledge base's rows alone, in one transaction)."""
        if self.db_url.startswith("sqlite:///"):
            if public_only is not None:
                self.sync(public_only=public_only)  # refused: not for a local index
            report = self._rebuild_sqlite(progress)
        else:
            report = self._publish(progress, publish=True, public_only=public_only, reset=True)
        report.rebuilt = True
        self.notes.extend(report.warnings)
        report.skipped = self.store.skipped_files()
        self.synced = True
        return report

    def drop(self) -> int:
        """Remove this knowledge base's rows from a shared index and nothing else;
        return how many of its files the index knew."""
        if not is_shared_url(self.db_url):
            raise UsageError(
                "--drop removes a knowledge base from a shared index (--db postgresql://…)",
                hint="the local index is derived from the files: `lessons index --rebuild`"
                " starts it over",
            )
        if self.home is None:
            raise UsageError("no knowledge base here to drop: run it inside one, or with --kb")
        store: Any = self.store
        store.prepare()
        if not store.can_publish():
            raise AccessError(
                f"the role '{store.role}' may only read the index at {store.where_};"
                " nothing was removed",
                hint="removing needs DELETE on the tables of schema 'lessons'",
            )
        with store.transaction():
            return int(store.forget_kb())

    def _rebuild_sqlite(self, progress: Progress | None) -> SyncReport:
        path = self.index_path
        assert path is not None
        self.close()
        remove_index(path, legacy_ok=self._own_folder())
        try:
            report = sync(self.store, self.config, progress=progress)
        except sqlite3.DatabaseError as exc:
            raise self._store_error(exc) from None
        report.rebuilt = True
        return report

    def _read_as_it_was(self) -> bool:
        """Reopen the index to read it as it stands, writing nothing (no room to write);
        False when it holds no earlier sync to read."""
        from lessons.store.sqlite import open_sqlite

        self.close()
        try:
            self._store = open_sqlite(self.db_url, legacy_ok=self._own_folder(), frozen=True)
            return self._store.get_meta("scan") is not None
        except (sqlite3.Error, LessonsError):
            self.close()
            return False

    def _store_error(self, exc: sqlite3.DatabaseError) -> LessonsError:
        """What went wrong with the SQLite index, for the user: nothing here deletes it."""
        where = str(self.index_path)
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
            # Another process held the index past the busy timeout: it is busy, not
            # corrupt, and rebuilding would delete it from under that process.
            return ConflictError(
                "the index is busy: another lessons command is writing it",
                path=where,
                hint="try again in a moment",
            )
        if _full(exc, self.index_path):
            return StoreError(
                f"no space left for the index at {where}",
                hint="free some space; the index was left as it was",
            )
        if name.startswith("SQLITE_READONLY"):
            return StoreError(f"the index cannot be written: {exc}", path=where)
        return StoreError(f"the index could not be used: {exc}", path=where)

    # --- ids -------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The id ``ref`` names: itself, the record of the file it is a path to
        (``entries/x.yaml``, from the working folder or the root), or the one id it is a
        prefix of. On a shared index another knowledge base's record is ``KB:ID``; a
        plain id is looked for at home first, then in every knowledge base the reads
        cover."""
        ref = ref.strip()
        store = self.store
        rec = store.get(ref) if ref else None
        if rec is not None:
            return str(rec["id"])
        if ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref:
            return self._record_of_file(ref)
        matches = store.ids_with_prefix(ref) if ref else []
        if store.shared and matches:
            exact = [m for m in matches if m.rpartition(":")[2] == ref.rpartition(":")[2]]
            at_home = [m for m in matches if ":" not in m]
            matches = exact or at_home or matches
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
            raise UsageError(
                f"'{ref}' is the start of more than one id: {shown}",
                hint="type more of the id" + (", or KB:ID" if store.shared else ""),
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

        store = self.store
        if store.shared:
            # Not every id of a million into Python: the server finds the closest.
            pairs = store.closest_ids(ref, 3)  # type: ignore[attr-defined]
            if not pairs:
                return "`lessons list` shows every id"
            return "closest: " + "; ".join(f"{rid}  ({title})" for rid, title in pairs)
        pairs = store.id_titles()
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
        """The file of an indexed record (of this knowledge base: another's record,
        read from a shared index, is changed in its own folder)."""
        kb = rec.get("kb")
        if self.detached or (kb is not None and kb != self.home):
            raise UsageError(
                f"'{rec['id']}' belongs to knowledge base '{kb}': change it in its own folder",
                hint="a shared index only reads other knowledge bases' records",
            )
        return self.root / rec["path"]


def is_shared_url(url: str) -> bool:
    """True for the URL of a shared (PostgreSQL) index."""
    return url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    """True for an index file that is damaged (rebuilt when ours), not one that is full,
    busy or read-only (those are reported, never rebuilt)."""
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _full(exc: sqlite3.DatabaseError, path: Path | None) -> bool:
    """True when a write failed for want of room: SQLite says so, or an I/O error
    (growing the WAL's shared-memory file, say) struck a file system with none left."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_FULL" or "disk is full" in str(exc):
        return True
    if path is None or not (name.startswith("SQLITE_IOERR") or "I/O error" in str(exc)):
        return False
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1024 * 1024


def enclosing_kb(path: Path) -> Path | None:
    """The root of the knowledge base ``path`` would be inside (not ``path`` itself)."""
    from lessons.config import CONFIG_NAME

    here = path.resolve()
    for folder in here.parents:
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def _check_init_place(path: Path) -> None:
    """Refuse to make a knowledge base of a file, under a file, or inside the entries
    folder of another (whose scan would read the new lessons.yaml as a broken record)."""
    from lessons.config import ENTRIES_DIR

    here = path.resolve()
    for folder in (here, *here.parents):
        if folder.exists() and not folder.is_dir():
            what = "is a file" if folder == here else f"is inside {folder}, which is a file"
            raise UsageError(
                f"cannot make a knowledge base at {path}: it {what}, not a folder",
                hint="give a folder (it is created when missing): `lessons init my-kb`",
            )
    for folder in here.parents:
        entries = None
        outer = enclosing_kb(folder / "x")
        if outer == folder:
            try:
                entries = load_config(folder).entries.resolve()
            except LessonsError:
                entries = (folder / ENTRIES_DIR).resolve()
        elif (folder / ENTRIES_DIR).is_dir():
            entries = (folder / ENTRIES_DIR).resolve()
        if entries is not None and (here == entries or entries in here.parents):
            raise UsageError(
                f"cannot make a knowledge base at {path}: it is inside {entries}, the records "
                f"folder of the knowledge base at {folder}, whose lessons.yaml would be read "
                "as a broken record",
                hint="make it outside that entries folder",
            )


def init_kb(path: Path, name: str | None = None) -> list[Path]:
    """Create ``lessons.yaml``, ``entries/`` and a ``.gitignore``; return what was created."""
    from lessons.config import CONFIG_NAME, DEFAULT_CONFIG, ENTRIES_DIR
    from lessons.entries import atomic_write

    _check_init_place(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
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
    # The index, and the website `lessons site` writes by default (at the root only:
    # a folder of records may be called site): both are derived from the records.
    wanted = {f"{INDEX_DIR}/": (INDEX_DIR, f"{INDEX_DIR}/"), "/site/": ("/site", "/site/")}
    missing = [line for line, forms in wanted.items() if not set(forms) & set(lines)]
    if missing:
        text = "\n".join([*lines, *missing]) + "\n"
        atomic_write(ignore, text)
        created.append(ignore)
    return created
