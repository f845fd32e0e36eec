"""The incremental sync (SPEC §1): files are the truth, the index follows them."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest
from conftest import KB, record_text

from lessons import indexer
from lessons.errors import StoreError
from lessons.indexer import scan
from lessons.kb import KnowledgeBase
from lessons.store.schema import SCHEMA_VERSION


def open_kb(kb: KB) -> KnowledgeBase:
    return KnowledgeBase.open(str(kb.root))


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_sync_counts_added_changed_removed(kb: KB) -> None:
    kb.add("one")
    kb.add("two")
    base = open_kb(kb)
    report = base.sync()
    assert (report.added, report.changed, report.removed, base.store.count()) == (2, 0, 0, 2)
    assert base.sync().nothing

    path = kb.add("one", title="A new title")
    bump_mtime(path)
    (kb.entries / "two.yaml").unlink()
    kb.add("three")
    report = base.sync()
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
    assert base.get("one")["title"] == "A new title"


def test_touched_file_with_same_content_is_not_a_change(kb: KB) -> None:
    path = kb.add("one")
    base = open_kb(kb)
    base.sync()
    bump_mtime(path)
    assert base.sync().nothing


def test_records_in_sub_folders_are_indexed_and_hidden_files_are_not(kb: KB) -> None:
    kb.write("2024/q2/deep.yaml", "")
    kb.add("deep", title="Deep")
    (kb.entries / "2024" / "q2" / "deep.yaml").write_text((kb.entries / "deep.yaml").read_text())
    (kb.entries / "deep.yaml").unlink()
    (kb.entries / ".deep.yaml.tmp").write_text("garbage: [")
    base = open_kb(kb)
    base.sync()
    assert base.get("deep")["path"] == "entries/2024/q2/deep.yaml"


def test_broken_file_is_skipped_and_the_rest_indexed(kb: KB) -> None:
    kb.add("good")
    kb.write("bad.yaml", "id: bad\ntitle: [unclosed\n")
    base = open_kb(kb)
    report = base.sync()
    assert base.store.count() == 1
    assert [(path, p["line"]) for path, p in report.skipped] == [("entries/bad.yaml", 3)]


def test_duplicate_id_first_path_wins_and_the_other_takes_over_when_it_goes(kb: KB) -> None:
    kb.add("same")
    text = (kb.entries / "same.yaml").read_text()
    kb.write("sub/same.yaml", text)
    base = open_kb(kb)
    report = base.sync()
    assert base.store.count() == 1
    ((path, problem),) = report.skipped
    assert path == "entries/sub/same.yaml"
    assert problem["message"] == "duplicate id 'same': entries/same.yaml already has it"
    assert problem["line"] == 1
    (kb.entries / "same.yaml").unlink()
    report = base.sync()
    assert report.skipped == []
    assert base.get("same")["path"] == "entries/sub/same.yaml"


def test_full_text_index_follows_the_records(kb: KB) -> None:
    path = kb.add("one", summary="The certificate expired overnight.")
    base = open_kb(kb)
    base.sync()

    def hits(word: str) -> list[str]:
        rows = base.store.all(
            "SELECT r.id FROM record_fts f JOIN record r ON r.pk = f.rowid"
            " WHERE record_fts MATCH ?",
            (word,),
        )
        return [r[0] for r in rows]

    assert hits("certificate") == ["one"]
    assert hits("certificates") == ["one"]  # porter stemming
    kb.add("one", summary="The disk filled up.")
    bump_mtime(path)
    base.sync()
    assert hits("certificate") == []
    assert hits("disk") == ["one"]
    path.unlink()
    base.sync()
    assert hits("disk") == []


def test_deleted_index_is_rebuilt(kb: KB) -> None:
    kb.add("one")
    base = open_kb(kb)
    base.sync()
    base.close()
    for f in (kb.root / ".lessons").glob("index.db*"):
        f.unlink()
    again = open_kb(kb)
    again.sync()
    assert again.store.count() == 1


def test_garbage_index_is_refused_and_kept(kb: KB) -> None:
    kb.add("one")
    base = open_kb(kb)
    base.sync()
    base.close()
    for f in (kb.root / ".lessons").glob("index.db*"):
        f.unlink()
    garbage = b"this is not a database" * 100
    db = kb.root / ".lessons" / "index.db"
    db.write_bytes(garbage)
    again = open_kb(kb)
    with pytest.raises(StoreError, match="not a lessons index"):
        again.sync()
    assert db.read_bytes() == garbage


def test_damaged_index_of_ours_is_rebuilt(kb: KB) -> None:
    kb.add("one")
    base = open_kb(kb)
    base.sync()
    base.close()
    db = kb.root / ".lessons" / "index.db"
    for f in (kb.root / ".lessons").glob("index.db-*"):
        f.unlink()
    # Our header (and marker) kept, every page after it overwritten.
    head = db.read_bytes()[:100]
    db.write_bytes(head + b"\xff" * (db.stat().st_size - 100))
    again = open_kb(kb)
    report = again.sync()
    assert report.rebuilt and again.store.count() == 1


def test_schema_version_change_rebuilds(kb: KB) -> None:
    kb.add("one")
    base = open_kb(kb)
    base.sync()
    base.close()
    conn = sqlite3.connect(kb.root / ".lessons" / "index.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 100}")
    conn.close()
    again = open_kb(kb)
    report = again.sync()
    assert report.rebuilt and report.added == 1


def test_configuration_change_revalidates(kb: KB) -> None:
    kb.add("one", stage="launch")
    base = open_kb(kb)
    base.sync()
    assert base.store.count() == 0
    base.close()
    kb.config("stages: [plan, launch]\n")
    again = open_kb(kb)
    report = again.sync()
    assert report.rebuilt and again.store.count() == 1


# Two layouts: the shares of a scan are the two halves of the files when the top
# folder has fewer than two sub-folders, and alternate sub-folders when it has more.
LAYOUTS = ["one sub-folder", "many sub-folders"]


def tree_for_scan(kb: KB, layout: str = LAYOUTS[0]) -> int:
    """Records at three depths, and everything a scan must pass over or look into;
    returns how many entry files there are."""
    for i in range(7):
        kb.add(f"top-{i}")
        kb.write(f"2024/q{i % 3}/deep-{i}.yaml", record_text(f"deep-{i}"))
    kb.write("odd.yaml/inside.yaml", record_text("inside"))  # a folder named like a file
    kb.write("notes.md", "not a record")
    kb.write(".hidden.yaml.tmp", "garbage: [")
    (kb.entries / "linked").symlink_to(kb.entries / "2024")  # not followed: a loop risk
    if layout == LAYOUTS[0]:
        return 15
    for year in (2021, 2022, 2023):
        for i in range(4):
            kb.write(f"{year}/r-{year}-{i}.yaml", record_text(f"r-{year}-{i}"))
        kb.write(f"{year}/nested/n-{year}.yaml", record_text(f"n-{year}"))
    return 30


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_forked_scan_finds_what_a_single_process_finds_in_the_same_order(
    kb: KB, layout: str
) -> None:
    count = tree_for_scan(kb, layout)
    alone = scan(kb.root, kb.entries, fork_from=10**9)
    shared = scan(kb.root, kb.entries, fork_from=1, expected=1)
    assert shared.signatures() == alone.signatures()
    assert shared.stamp == alone.stamp
    paths = sorted(sig.split("\t")[0] for sig in alone.signatures())
    assert "entries/odd.yaml/inside.yaml" in paths
    assert "entries/2024/q1/deep-1.yaml" in paths
    assert not [p for p in paths if "linked" in p or ".hidden" in p or p.endswith(".md")]
    assert len(paths) == count
    assert alone.stamp.endswith(f":{count}")
    for sig in alone.signatures():
        path, mtime, size = sig.split("\t")
        st = (kb.root / path).stat()
        assert (int(mtime), int(size)) == (st.st_mtime_ns, st.st_size)


def test_forked_scan_does_the_childs_half_itself_when_the_child_fails(
    kb: KB, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    tree_for_scan(kb, layout)
    alone = scan(kb.root, kb.entries, fork_from=10**9)
    parent = os.getpid()
    real = indexer._stat_files

    def failing_in_child(folders: list, root: str) -> tuple[list[str], list[tuple[str, str]]]:
        if os.getpid() != parent:
            (kb.root / "child-ran").touch()  # proof that the work was shared
            raise OSError("the child fails")
        return real(folders, root)

    monkeypatch.setattr(indexer, "_stat_files", failing_in_child)
    shared = scan(kb.root, kb.entries, fork_from=1, expected=1)
    assert (shared.signatures(), shared.stamp) == (alone.signatures(), alone.stamp)
    assert (kb.root / "child-ran").exists()


def test_scan_stamp_changes_with_any_file(kb: KB, layout: str) -> None:
    tree_for_scan(kb, layout)
    before = scan(kb.root, kb.entries, fork_from=1, expected=1).stamp
    assert scan(kb.root, kb.entries).stamp == before
    bump_mtime(kb.entries / "2024" / "q0" / "deep-3.yaml")
    assert scan(kb.root, kb.entries, fork_from=1, expected=1).stamp != before


def test_sync_with_a_forked_scan_counts_every_change(
    kb: KB, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    monkeypatch.setattr(indexer, "FORK_SCAN_FROM", 1)
    count = tree_for_scan(kb, layout)
    base = open_kb(kb)
    assert base.sync().added == count
    assert base.sync().nothing
    bump_mtime(kb.add("top-1", title="Changed"))
    (kb.entries / "2024" / "q2" / "deep-2.yaml").unlink()
    kb.write("2024/q0/new.yaml", record_text("new"))
    report = base.sync()
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
    assert base.get("top-1")["title"] == "Changed"
    assert base.get("new")["path"] == "entries/2024/q0/new.yaml"


def test_an_interrupted_forked_scan_does_not_wait_on_its_child(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enough files that the child's half overflows a pipe's buffer (64 KiB).
    bulk = kb.entries / "bulk"
    bulk.mkdir()
    for i in range(3000):
        (bulk / f"record-{i:05d}-named-at-some-length.yaml").write_text("x: 1\n")
    parent = os.getpid()
    real = indexer._stat_files

    def interrupted(folders: list, root: str) -> tuple[list[str], list[tuple[str, str]]]:
        if os.getpid() == parent:
            raise KeyboardInterrupt  # Ctrl-C reaching this process alone
        return real(folders, root)

    def hung(*_: object) -> None:
        raise TimeoutError("the scan waited on its child")

    monkeypatch.setattr(indexer, "_stat_files", interrupted)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        with pytest.raises(KeyboardInterrupt):
            scan(kb.root, kb.entries, fork_from=1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the child was reaped


def test_file_names_with_a_line_break_or_a_tab_are_scanned_and_synced(kb: KB, layout: str) -> None:
    count = tree_for_scan(kb, layout)
    kb.write("2024/line\nbreak.yaml", record_text("line-break"))
    kb.write("tab\there.yaml", record_text("tab-here"))
    alone = scan(kb.root, kb.entries, fork_from=10**9)
    shared = scan(kb.root, kb.entries, fork_from=1, expected=1)
    assert shared.signatures() == alone.signatures()
    assert shared.stamp == alone.stamp
    paths = {sig.rsplit("\t", 2)[0] for sig in alone.signatures()}
    assert {"entries/2024/line\nbreak.yaml", "entries/tab\there.yaml"} <= paths
    assert len(paths) == count + 2
    base = open_kb(kb)
    report = base.sync()
    assert report.added == count + 2
    assert base.sync().nothing


def test_a_new_index_reads_its_files_while_the_tables_are_made(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enough files for worker processes; one broken, one a duplicate id.
    n = indexer.PARALLEL_FROM + 20
    for i in range(n):
        kb.add(f"r{i:04d}", title=f"Record {i}")
    kb.write("broken.yaml", "id: [unclosed\n")
    kb.write("zz-copy.yaml", record_text("r0007", title="A copy"))
    started: list[int] = []
    real = indexer._Reading.__init__

    def reading(self: indexer._Reading, *args: object) -> None:
        real(self, *args)  # type: ignore[arg-type]
        started.append(len(self.paths))

    monkeypatch.setattr(indexer._Reading, "__init__", reading)
    base = open_kb(kb)
    report = base.sync()
    # Read once, early, before the tables existed; every file went in as a serial read would.
    assert started == [n + 2]
    assert report.added == n + 2
    assert base.store.count() == n
    assert base.get("r0007")["title"] == "Record 7"
    assert sorted(path for path, _ in report.skipped) == [
        "entries/broken.yaml",
        "entries/zz-copy.yaml",
    ]
    # An index that exists is not read early: only what changed is read, here nothing.
    assert base.sync().nothing
    bump_mtime(kb.add("r0001", title="Changed"))
    assert base.sync().changed == 1
    assert started == [n + 2]
