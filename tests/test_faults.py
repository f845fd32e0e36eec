"""Fault injection: the process killed (SIGKILL) in the middle of a write, of an index
sync and of a tag rename across many files. Afterwards no entry file is corrupt (each
parses and validates, and is the old or the new version of itself), temporary files
are hidden (the scan ignores them), and the next command heals the index."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from lessons.config import load_config
from lessons.entries import load_file
from lessons.model import validate
from tests.conftest import REPO, cli_env, record_text, run_lessons

# Temporary files of atomic writes: ".<name>.<random>.tmp" beside the file.
TMP_NAME = re.compile(r"^\.[^/]+\.yaml\.[^/]+\.tmp$")
NOTHING = "+0 added  ~0 changed  -0 removed\n"


def _generate(dest: Path, n: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("generate", REPO / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids: list[str] = module.generate(dest, n)
    return ids


def _start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lessons", "--kb", str(root), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
        start_new_session=True,  # its own process group: forked workers die with it
    )


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the command and every worker it forked; True when it was still running."""
    running = proc.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Forked workers of the group may outlive the leader for a moment: wait for them.
    for _ in range(200):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return running


def _kill_after(root: Path, delay: float, *args: str) -> bool:
    """Run ``lessons ARGS`` and kill it after ``delay`` seconds."""
    proc = _start(root, *args)
    time.sleep(delay)
    return _kill(proc)


def _kill_when(root: Path, ready: Callable[[int], bool], *args: str) -> bool:
    """Run ``lessons ARGS`` and kill it as soon as ``ready(pid)`` holds (polled)."""
    proc = _start(root, *args)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if ready(proc.pid):
            break
        time.sleep(0.005)
    return _kill(proc)


def _children(pid: int) -> list[int]:
    """The processes ``pid`` forked (its worker pool), from /proc."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    return found


def _entry_files(root: Path) -> list[Path]:
    return sorted((root / "entries").rglob("*.yaml"))


def _hidden(root: Path) -> list[Path]:
    """Files the scan skips: every one must be a temporary file of an atomic write."""
    found = [p for p in (root / "entries").rglob(".*") if p.is_file()]
    for path in found:
        assert TMP_NAME.match(path.name), path
    return found


def _assert_all_valid(root: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    schema = load_config(root).schema
    out = {}
    for path in _entry_files(root):
        loaded = load_file(path, path.name, schema)
        errors = [p for p in loaded.problems if p.severity == "error"]
        assert loaded.record is not None and errors == [], (path, loaded.problems)
        out[loaded.record["id"]] = loaded.record
    return out


def _assert_heals(root: Path, first: str | Callable[[str], bool] | None = None) -> None:
    """The next command brings the index in step, and then there is nothing to do (the
    words: vectors, minutes for thousands of records, are not what these faults touch)."""
    healed = run_lessons(root, "index", "--words-only")
    assert healed.returncode == 0, healed.stderr
    if isinstance(first, str):
        assert healed.stderr == first
    elif first is not None:
        assert first(healed.stderr), healed.stderr
    again = run_lessons(root, "index", "--words-only")
    assert again.stderr == NOTHING
    checked = run_lessons(root, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["errors"] == []
    listed = run_lessons(root, "list", "--json", "--limit", "1")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["total"] == len(_entry_files(root))


# --- (a) a write: import of thousands of rows, and add ---------------------------------


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated records as one JSON file to import (links left out, so that a
    partial import leaves no link pointing at a record not yet written)."""
    folder = tmp_path_factory.mktemp("rows")
    _generate(folder / "gen", 3000)
    data = []
    for path in _entry_files(folder / "gen"):
        rec = yaml.safe_load(path.read_text(encoding="utf-8"))
        rec.pop("links", None)
        data.append(rec)
    out = folder / "rows.json"
    out.write_text(json.dumps(data, default=str), encoding="utf-8")
    return out


def _count_entries(root: Path) -> int:
    return sum(1 for name in os.listdir(root / "entries") if name.endswith(".yaml"))


@pytest.mark.parametrize("after", [50, 1500, 2800])
def test_import_killed_midway_leaves_whole_files_and_heals(
    tmp_path: Path, rows: Path, after: int
) -> None:
    root = tmp_path / "kb"
    (root / "entries").mkdir(parents=True)
    schema = load_config(root).schema
    expected = {}
    for raw in json.loads(rows.read_text(encoding="utf-8")):
        rec, problems = validate(raw, schema)
        assert rec is not None, problems
        expected[rec["id"]] = rec
    assert run_lessons(root, "index").returncode == 0
    # Killed once `after` of the 3,000 files are written (more land while the kill flies).
    killed = _kill_when(root, lambda _: _count_entries(root) >= after, "import", str(rows))
    assert killed, "the import finished before it was killed"
    _hidden(root)
    written = _assert_all_valid(root)
    # Each file written is whole: exactly the record its row gave.
    for rid, rec in written.items():
        assert rec == expected[rid], rid
    _assert_heals(root, lambda err: re.fullmatch(r"\+\d+ added  ~0 changed  -0 removed\n", err))
    if after != 1500:
        return
    # Importing again finishes the job: what was written is skipped, the rest written.
    again = run_lessons(root, "import", str(rows), "--on-duplicate", "skip")
    assert again.returncode == 0, again.stderr
    assert f"skipped {len(written):,}" in again.stderr
    assert _assert_all_valid(root) == expected
    _assert_heals(root, NOTHING)


def test_add_killed_at_any_moment_writes_the_whole_file_or_none(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "entries").mkdir(parents=True)
    (root / "entries" / "first.yaml").write_text(record_text("first"), encoding="utf-8")
    assert run_lessons(root, "index").returncode == 0
    outcomes = []
    for i, delay in enumerate([0.05, 0.15, 0.25, 0.35, 0.45, 0.6, 0.8, 1.2]):
        title = f"Killed add number {i} about the overnight backup window"
        _kill_after(
            root, delay, "add", "--id", f"killed-{i}", "-t", title, "-k", "mistake",
            "-s", "The backup ran into the morning.", "-l", "Start it earlier.",
            "--tag", "backup", "--on-similar", "write",
        )  # fmt: skip
        path = root / "entries" / f"killed-{i}.yaml"
        outcomes.append(path.exists())
        if path.exists():
            rec = _assert_all_valid(root)[f"killed-{i}"]
            assert rec["title"] == title
            assert rec["tags"] == ["backup"]
        _hidden(root)
        listed = run_lessons(root, "list", "--json", "--limit", "1")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["total"] == len(_entry_files(root))
    # The late kills come after the write: the run did reach it.
    assert outcomes[-1] is True
    _assert_heals(root, NOTHING)


# --- (b) an index sync ---------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated records plus 100 of our own, indexed: copied for each test."""
    root = tmp_path_factory.mktemp("gen") / "kb"
    _generate(root, 3000)
    for i in range(100):
        (root / "entries" / f"extra-{i}.yaml").write_text(record_text(f"extra-{i}"))
    # The words: these tests kill syncs, and embedding 3,100 records would take minutes.
    assert run_lessons(root, "index", "--words-only").returncode == 0
    return root


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


@pytest.mark.parametrize("extra", [0.0, 0.2, 0.5])
def test_incremental_sync_killed_midway_is_all_or_nothing(
    tmp_path: Path, generated: Path, extra: float
) -> None:
    root = _copy(generated, tmp_path / "kb")
    files = [p for p in _entry_files(root) if not p.name.startswith("extra-")]
    for path in files[:1500]:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("# edited after indexing\n")
    for i in range(100):
        (root / "entries" / f"extra-{i}.yaml").unlink()
    for i in range(300):
        (root / "entries" / f"new-{i}.yaml").write_text(record_text(f"new-{i}"))
    everything = "+300 added  ~1500 changed  -100 removed\n"
    # The sync reads the changed files in worker processes inside its transaction, which
    # commits only after they are gone: killed while they run, it must have changed nothing.
    proc = _start(root, "index")
    deadline = time.monotonic() + 120
    while proc.poll() is None and not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(extra)
    midway = bool(_children(proc.pid))
    _kill(proc)
    if extra == 0.0:
        assert midway, "the sync ended before its workers were seen"
    # One transaction: a sync killed before it committed changed nothing, so the next
    # one does it all.
    _assert_heals(root, everything if midway else lambda err: err in (everything, NOTHING))


# --- (c) a rename across many files ----------------------------------------------------


@pytest.fixture(scope="module")
def renamed(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The most used tag of the generated knowledge base, and a copy with it renamed."""
    tags = json.loads(run_lessons(generated, "tag", "list", "--json").stdout)
    top = tags[0]["tag"]
    done = _copy(generated, tmp_path_factory.mktemp("renamed") / "kb")
    res = run_lessons(done, "tag", "rename", top, "renamed-tag")
    assert res.returncode == 0, res.stderr
    assert res.stderr.endswith(f"renamed {top} to renamed-tag: {tags[0]['count']} files changed\n")
    return top, done


def _changed_since(root: Path, start_ns: int) -> int:
    return sum(1 for p in _entry_files(root) if p.stat().st_mtime_ns > start_ns)


@pytest.mark.parametrize("after", [20, 400])
def test_tag_rename_killed_midway_leaves_old_or_new_files_and_heals(
    tmp_path: Path, generated: Path, renamed: tuple[str, Path], after: int
) -> None:
    top, done = renamed
    root = _copy(generated, tmp_path / "kb")
    old = {p.relative_to(root): p.read_bytes() for p in _entry_files(root)}
    new = {p.relative_to(done): p.read_bytes() for p in _entry_files(done)}
    assert old.keys() == new.keys()
    start = time.time_ns()
    killed = _kill_when(
        root, lambda _: _changed_since(root, start) >= after, "tag", "rename", top, "renamed-tag"
    )
    assert killed, "the rename finished before it was killed"
    now = {p.relative_to(root): p.read_bytes() for p in _entry_files(root)}
    assert now.keys() == old.keys()
    for rel, data in now.items():
        assert data in (old[rel], new[rel]), rel
    changed = sum(1 for rel, data in now.items() if data != old[rel])
    to_change = sum(1 for rel in old if old[rel] != new[rel])
    assert 0 < changed < to_change
    _hidden(root)
    _assert_all_valid(root)
    _assert_heals(root, f"+0 added  ~{changed} changed  -0 removed\n")
    if after != 400:
        return
    # The rename run again finishes the job.
    finish = run_lessons(root, "tag", "rename", top, "renamed-tag")
    assert finish.returncode == 0, finish.stderr
    assert finish.stderr.endswith(f"{to_change - changed} files changed\n")
    assert {p.relative_to(root): p.read_bytes() for p in _entry_files(root)} == new
