"""Issue 12, items 1, 2 and 4: the index never destroys what is not its own.

Every test runs the real command line in a child process against real files:
other applications' databases, a shell start-up file, devices, FIFOs, symbolic
links, a pre-created cache folder, a full file system.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KB, as_unprivileged, record_text

from lessons.store.location import APPLICATION_ID, cache_base, fallback_index


def lessons(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "lessons", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": "", **(env or {})},
        timeout=120,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def app_id(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[68:72], "big")


@pytest.fixture
def base(kb: KB) -> KB:
    kb.add("one", title="Certificate expired on the gateway")
    kb.add("two", title="DNS change broke resolution")
    return kb


def other_app_db(path: Path) -> str:
    """An SQLite database of another application, with tables named like ours."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE record (id TEXT, body TEXT); CREATE TABLE meta (key TEXT, value TEXT);"
        "INSERT INTO record VALUES ('invoice-1', 'keep me');"
        "INSERT INTO meta VALUES ('owner', 'accounts');"
    )
    conn.commit()
    conn.close()
    return sha(path)


# --- item 1: what the index URL names ---------------------------------------------------


def test_config_index_outside_lessons_folder_is_not_honoured(base: KB, tmp_path: Path) -> None:
    bashrc = base.root / ".bashrc"
    bashrc.write_text("export PATH=$HOME/bin:$PATH\n")
    before = sha(bashrc)
    base.config("index: sqlite:///.bashrc\n")
    # Run from another folder holding a .bashrc too: the relative path must not reach it.
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / ".bashrc").write_text("mine\n")
    for args in (["list"], ["index", "--rebuild"], ["search", "certificate"]):
        done = lessons("--kb", str(base.root), *args, cwd=elsewhere)
        assert done.returncode == 0, done.stderr
        assert "outside .lessons/" in done.stderr and "--db" in done.stderr
    assert sha(bashrc) == before
    assert (elsewhere / ".bashrc").read_text() == "mine\n"
    assert app_id(base.root / ".lessons" / "index.db") == APPLICATION_ID


def test_config_index_absolute_path_or_server_is_not_honoured(base: KB, tmp_path: Path) -> None:
    target = tmp_path / "chosen-by-a-stranger.db"
    for url in (f"sqlite:///{target}", "postgresql://evil@127.0.0.1:5432/test"):
        base.config(f"index: {url}\n")
        done = lessons("--kb", str(base.root), "list")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(("one\t", "two\t"))
        assert "outside .lessons/" in done.stderr
    assert not target.exists()


def test_config_index_inside_lessons_folder_is_relative_to_the_root(
    base: KB, tmp_path: Path
) -> None:
    base.config("index: sqlite:///.lessons/custom.db\n")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = lessons("--kb", str(base.root), "list", cwd=elsewhere)
    assert done.returncode == 0 and done.stderr == ""
    assert (base.root / ".lessons" / "custom.db").is_file()
    assert not (elsewhere / ".lessons").exists()


def test_an_explicit_db_that_is_a_device_or_fifo_is_refused(base: KB, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for url in ("sqlite:////dev/null", f"sqlite:///{fifo}"):
        for args in (["list"], ["index", "--rebuild"]):
            done = lessons("--kb", str(base.root), "--db", url, *args)
            assert done.returncode == 2, (url, done.stderr)
            assert "not a regular file" in done.stderr
            assert url.removeprefix("sqlite:///") in done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_an_explicit_db_of_another_application_is_left_untouched(base: KB, tmp_path: Path) -> None:
    other = tmp_path / "accounts.db"
    before = other_app_db(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 50)
    text_before = sha(text)
    for url, path, digest in ((other, other, before), (text, text, text_before)):
        for args in (["list"], ["index"], ["index", "--rebuild"], ["search", "x"]):
            done = lessons("--kb", str(base.root), "--db", f"sqlite:///{url}", *args)
            assert done.returncode == 2, (args, done.stderr)
            assert str(path) in done.stderr
            assert "internal error" not in done.stderr
            assert sha(path) == digest
    for suffix in ("-wal", "-shm", "-journal"):
        assert not (tmp_path / f"accounts.db{suffix}").exists()


def test_env_db_is_honoured_and_marked_as_ours(base: KB, tmp_path: Path) -> None:
    chosen = tmp_path / "team-index.db"
    done = lessons("--kb", str(base.root), "list", env={"LESSONS_DB": f"sqlite:///{chosen}"})
    assert done.returncode == 0, done.stderr
    assert app_id(chosen) == APPLICATION_ID
    # Ours from then on: it may be rebuilt, in place.
    again = lessons(
        "--kb", str(base.root), "index", "--rebuild", env={"LESSONS_DB": f"sqlite:///{chosen}"}
    )
    assert again.returncode == 0, again.stderr
    assert app_id(chosen) == APPLICATION_ID


def test_symlinked_index_or_index_folder_is_refused(base: KB, tmp_path: Path) -> None:
    victim = tmp_path / "victim.db"
    before = other_app_db(victim)
    index_dir = base.root / ".lessons"
    index_dir.mkdir()
    (index_dir / "index.db").symlink_to(victim)
    done = lessons("--kb", str(base.root), "index", "--rebuild")
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert sha(victim) == before

    # A link at a companion file: SQLite would write (and truncate) through it.
    (index_dir / "index.db").unlink()
    wal_victim = tmp_path / "journal.txt"
    wal_victim.write_text("keep\n")
    (index_dir / "index.db-wal").symlink_to(wal_victim)
    done = lessons("--kb", str(base.root), "list")
    assert done.returncode == 2 and "index.db-wal" in done.stderr
    assert wal_victim.read_text() == "keep\n"

    # The whole folder a link to somewhere else.
    shutil.rmtree(index_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.db").write_bytes(b"someone else's file")
    index_dir.symlink_to(outside)
    for args in (["list"], ["index", "--rebuild"]):
        done = lessons("--kb", str(base.root), *args)
        assert done.returncode == 2 and "symbolic link" in done.stderr, done.stderr
    assert (outside / "index.db").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in outside.iterdir()) == ["index.db"]


def test_lock_files_that_are_links_are_not_followed(base: KB, tmp_path: Path) -> None:
    assert lessons("--kb", str(base.root), "list").returncode == 0
    target = tmp_path / "not-a-lock"
    (base.root / ".lessons" / "write.lock").unlink(missing_ok=True)
    (base.root / ".lessons" / "write.lock").symlink_to(target)
    done = lessons("--kb", str(base.root), "tag", "add", "one", "tls")
    assert done.returncode == 2 and "lock file" in done.stderr
    assert not target.exists()


def test_index_of_an_earlier_version_inside_lessons_is_upgraded(base: KB) -> None:
    assert lessons("--kb", str(base.root), "list").returncode == 0
    db = base.root / ".lessons" / "index.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA application_id = 0")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    done = lessons("--kb", str(base.root), "list")
    assert done.returncode == 0 and done.stdout.startswith(("one\t", "two\t"))
    assert app_id(db) == APPLICATION_ID


def test_garbage_where_the_index_should_be_is_named_and_kept(base: KB) -> None:
    index_dir = base.root / ".lessons"
    index_dir.mkdir()
    garbage = index_dir / "index.db"
    garbage.write_bytes(b"\x00garbage" * 4096)
    for args in (["list"], ["index", "--rebuild"]):
        done = lessons("--kb", str(base.root), *args)
        assert done.returncode == 2 and str(garbage) in done.stderr
        assert garbage.read_bytes() == b"\x00garbage" * 4096


# --- item 2: the index of a read-only knowledge base ----------------------------------


def test_cache_folder_is_private_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    folder = cache_base()
    assert folder == cache / "lessons"
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    index = fallback_index(tmp_path / "some-kb")
    assert index.parent.parent == folder
    assert stat.S_IMODE(os.lstat(index.parent).st_mode) == 0o700


@pytest.mark.parametrize("trap", ["world-writable", "other-owner", "symlink"])
def test_cache_folder_prepared_by_someone_else_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trap: str
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    planted = cache / "lessons"
    if trap == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        planted.symlink_to(elsewhere)
    else:
        planted.mkdir()
        planted.chmod(0o777)
        if trap == "other-owner":
            if os.geteuid() != 0:
                pytest.skip("only root can give a folder to another user")
            planted.chmod(0o700)
            os.chown(planted, 12345, 12345)
    assert cache_base() is None
    index = fallback_index(tmp_path / "kb")
    # A private temporary folder instead, nowhere under the planted one.
    assert not str(index).startswith(str(planted))
    assert stat.S_IMODE(os.lstat(index.parent).st_mode) == 0o700
    assert index.parent.owner() == Path.home().owner() or os.geteuid() == index.parent.stat().st_uid


def test_read_only_knowledge_base_never_uses_the_old_shared_temp_path(
    tmp_path: Path,
) -> None:
    prefix = as_unprivileged()
    root = tmp_path / "ro"
    kb = KB(root)
    kb.add("one", title="Certificate expired on the gateway")
    # Another user's planted database at every name the old scheme could pick.
    import tempfile

    planted = []
    for uid in {os.getuid(), 65534}:
        folder = Path(tempfile.gettempdir()) / f"lessons-index-{uid}-planted"
        folder.mkdir(exist_ok=True)
        db = folder / "index.db"
        other_app_db(db) if not db.exists() else None
        planted.append((db, sha(db)))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "lessons", "--kb", str(root), "search", "certificate"],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "LESSONS_DB": "", "XDG_CACHE_HOME": ""},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "one" in done.stdout
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        for db, _ in planted:
            shutil.rmtree(db.parent, ignore_errors=True)
    for db, digest in planted:
        assert not db.exists() or sha(db) == digest


# --- item 4: a full disk under the index -----------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB file system of its own (tmpfs), mounted for the test."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_full_disk_is_reported_reads_go_on_and_nothing_is_deleted(small_disk: Path) -> None:
    kb = KB(small_disk / "kb")
    for i in range(40):
        kb.add(f"rec-{i:02d}", title=f"Certificate expired on gateway {i}", summary="x " * 200)
    assert lessons("--kb", str(kb.root), "index").returncode == 0
    index = kb.root / ".lessons" / "index.db"
    # New records on disk, then no room left for the index to take them in.
    for i in range(40, 70):
        kb.write(f"rec-{i:02d}.yaml", record_text(f"rec-{i:02d}", summary="y " * 300))
    filler = _fill(small_disk)
    done = lessons("--kb", str(kb.root), "index")
    assert done.returncode == 2, done.stderr
    assert f"no space left for the index at {index}" in done.stderr
    assert "internal error" not in done.stderr
    assert index.is_file() and app_id(index) == APPLICATION_ID
    for args, expect in (
        (["list"], "rec-00"),
        (["search", "certificate"], "rec-0"),
        (["check"], ""),
    ):
        read = lessons("--kb", str(kb.root), *args)
        assert read.returncode == 0, (args, read.stderr)
        assert expect in read.stdout
        assert "internal error" not in read.stderr
        if args != ["check"]:
            assert "no space left" in read.stderr
    assert index.is_file() and app_id(index) == APPLICATION_ID
    # Room again: the next command takes the new records in.
    filler.unlink()
    done = lessons("--kb", str(kb.root), "index")
    assert done.returncode == 0, done.stderr
    assert "+30 added" in done.stderr
