"""Several real processes writing one knowledge base at once: every write lands or is
refused with a message, no file is half-written, and the index agrees with the files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lessons.config import load_config
from lessons.entries import load_file
from tests.conftest import KB, cli_env

WORKERS = 5
SEEDS = 6
# What a refused write says: the lock was busy, or the file changed under the command.
REFUSALS = ("try again in a moment", "run the command again")


@dataclass
class Op:
    """One command a worker ran, and how it ended."""

    worker: int
    args: tuple[str, ...]
    code: int = -1
    stderr: str = ""


def _run(root: Path, op: Op) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(root), *op.args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    op.code, op.stderr = proc.returncode, proc.stderr


def _plan(worker: int) -> list[Op]:
    """Adds, tags and links; some on the worker's own records, some on records every
    worker edits (seed-0's tags, seed-1's links), so that writers meet on one file."""
    me = f"w{worker}"
    ops = [
        Op(worker, ("add", "--id", f"{me}-a", "-t", f"Worker {worker} first note",
                    "-k", "mistake", "-s", f"Summary {worker} a.", "-l", "Lesson a.",
                    "--tag", me, "--on-similar", "write")),
        Op(worker, ("tag", "add", "seed-0", f"from-{me}")),
        Op(worker, ("add", "--id", f"{me}-b", "-t", f"Worker {worker} second note",
                    "-k", "success", "-s", f"Summary {worker} b.", "-l", "Lesson b.",
                    "--link", f"relates-to:seed-{2 + worker % (SEEDS - 2)}",
                    "--on-similar", "write")),
        Op(worker, ("link", "seed-1", f"{me}-a", "--rel", "relates-to")),
        Op(worker, ("tag", "add", f"seed-{2 + worker % (SEEDS - 2)}", f"busy-{me}", "shared")),
        Op(worker, ("link", f"{me}-b", f"{me}-a", "--rel", "repeats", "--note", "same again")),
        Op(worker, ("tag", "add", f"{me}-a", "own", f"own-{me}")),
        Op(worker, ("add", "--id", f"{me}-c", "-t", f"Worker {worker} third note",
                    "-k", "observation", "-s", f"Summary {worker} c.", "-l", "Lesson c.",
                    "--on-similar", "write")),
    ]  # fmt: skip
    return ops


def _seed(kb: KB) -> None:
    kb.config("name: concurrency\n")
    for i in range(SEEDS):
        kb.add(f"seed-{i}", title=f"Seed record number {i}", tags=["seed"])


def _race(root: Path) -> list[Op]:
    """Every worker runs its plan, in its own thread of real processes, all started at once."""
    plans = [_plan(w) for w in range(WORKERS)]
    start = threading.Barrier(WORKERS)

    def work(plan: list[Op]) -> None:
        start.wait()
        for op in plan:
            _run(root, op)

    threads = [threading.Thread(target=work, args=(plan,)) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [op for plan in plans for op in plan]


def _records(root: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every entry file, parsed and validated: none may be half-written."""
    schema = load_config(root).schema
    out = {}
    for path in sorted((root / "entries").rglob("*.yaml")):
        loaded = load_file(path, path.name, schema)
        assert loaded.record is not None, (path, loaded.problems)
        assert [p for p in loaded.problems if p.severity == "error"] == []
        out[loaded.record["id"]] = loaded.record
    return out


def _assert_outcomes(ops: list[Op]) -> None:
    for op in ops:
        assert "Traceback" not in op.stderr, op
        assert "internal error" not in op.stderr, op
        if op.code != 0:
            assert op.code == 2, op
            assert op.stderr.startswith("Error: "), op
            assert any(r in op.stderr for r in REFUSALS), op


def _assert_landed(ops: list[Op], records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    """Every write that said it succeeded is in the files."""
    for op in ops:
        if op.code != 0:
            continue
        args = op.args
        if args[0] == "add":
            rid = args[args.index("--id") + 1]
            assert rid in records, op
            assert records[rid]["title"] == args[args.index("-t") + 1]
        elif args[:2] == ("tag", "add"):
            assert set(args[3:]) <= set(records[args[2]]["tags"]), op
        elif args[0] == "link":
            links = {(lk["to"], lk["rel"]) for lk in records[args[1]]["links"]}
            assert (args[2], args[args.index("--rel") + 1]) in links, op


def _assert_consistent(root: Path, records: dict[str, dict]) -> None:  # type: ignore[type-arg]
    kb = KB(root)
    hidden = [p for p in (root / "entries").rglob(".*")]
    assert hidden == [], "temporary files left behind"
    # add and tag leave the index to the next command (every command syncs before it
    # answers, SPEC §1): the first sync catches up on files only, skipping none, and
    # after it there is nothing left to do.
    idx = kb.run("index")
    assert idx.exit_code == 0, idx.stderr
    assert re.fullmatch(r"\+\d+ added  ~\d+ changed  -0 removed\n", idx.stderr), idx.stderr
    idx = kb.run("index")
    assert idx.stderr == "+0 added  ~0 changed  -0 removed\n"
    checked = kb.run("check", "--json")
    assert json.loads(checked.stdout)["errors"] == []
    assert checked.exit_code == 0
    listed = json.loads(kb.run("list", "--json", "--limit", "1000").stdout)
    assert sorted(r["id"] for r in listed["results"]) == sorted(records)
    for rid, rec in records.items():
        shown = json.loads(kb.run("show", rid, "--json").stdout)
        assert shown["tags"] == rec["tags"], rid
        assert shown["links"] == rec["links"], rid


def test_concurrent_adds_tags_and_links_land_or_are_refused(kb: KB) -> None:
    _seed(kb)
    assert kb.run("index").exit_code == 0
    ops = _race(kb.root)
    _assert_outcomes(ops)
    records = _records(kb.root)
    _assert_landed(ops, records)
    _assert_consistent(kb.root, records)
    adds = [op for op in ops if op.args[0] == "add"]
    # Adds of new ids never meet: each one lands.
    assert [op.code for op in adds] == [0] * len(adds)
    assert len(records) == SEEDS + len(adds)


def test_concurrent_writers_on_a_knowledge_base_never_indexed(kb: KB) -> None:
    # No index yet: every process finds none and they all race to create it.
    _seed(kb)
    assert not (kb.root / ".lessons").exists()
    ops = _race(kb.root)
    _assert_outcomes(ops)
    records = _records(kb.root)
    _assert_landed(ops, records)
    _assert_consistent(kb.root, records)


def test_concurrent_readers_and_one_writer_always_answer(kb: KB) -> None:
    # Readers sync while files are being added: each must answer, never a locked index.
    _seed(kb)
    ops = [Op(0, ("add", "--id", f"new-{i}", "-t", f"New record {i}", "-k", "mistake", "-s", "s.",
                  "-l", "l.", "--on-similar", "write")) for i in range(6)]  # fmt: skip
    readers = [Op(1 + i % 3, ("search", "seed")) for i in range(9)]
    readers += [Op(4, ("list", "--json")), Op(4, ("stats",)), Op(4, ("tag", "list"))]
    threads = [threading.Thread(target=_run, args=(kb.root, op)) for op in ops + readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_outcomes(ops + readers)
    assert [op.code for op in ops + readers] == [0] * len(ops + readers), [
        op for op in ops + readers if op.code
    ]
    records = _records(kb.root)
    assert len(records) == SEEDS + 6
    _assert_consistent(kb.root, records)


def test_concurrent_adds_of_the_same_id_write_one_file(kb: KB) -> None:
    _seed(kb)
    text = "id: same\ntitle: {title}\nkind: mistake\nsummary: s\nlesson: l\ndate: 2024-01-01\n"
    sources = []
    for i in range(WORKERS):
        src = kb.root / f"from-{i}.yaml"
        src.write_text(text.format(title=f"Writer {i}"))
        sources.append(src)
    ops = [
        Op(i, ("add", "--from", str(src), "--on-similar", "write")) for i, src in enumerate(sources)
    ]
    threads = [threading.Thread(target=_run, args=(kb.root, op)) for op in ops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [op for op in ops if op.code == 0]
    assert len(won) == 1, ops
    for op in ops:
        assert "Traceback" not in op.stderr and "internal error" not in op.stderr, op
        if op.code:
            assert op.code == 2 and op.stderr.startswith("Error: "), op
    files = list(kb.entries.rglob("same.yaml"))
    assert len(files) == 1
    assert yaml.safe_load(files[0].read_text())["title"] == f"Writer {won[0].worker}"
    _assert_consistent(kb.root, _records(kb.root))


def test_an_index_held_past_the_busy_timeout_is_busy_not_rebuilt(kb: KB) -> None:
    import sqlite3

    from lessons.errors import ConflictError
    from lessons.kb import KnowledgeBase

    _seed(kb)
    assert kb.run("index").exit_code == 0
    kb.add("late", title="Written while another process holds the index")
    db = kb.root / ".lessons" / "index.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what a long sync in another process does
    base = KnowledgeBase.open(str(kb.root))
    try:
        base.store.conn.execute("PRAGMA busy_timeout = 200")  # not 30 s in a test
        with pytest.raises(ConflictError) as caught:
            base.sync()
        assert caught.value.message == "the index is busy: another lessons command is writing it"
        assert caught.value.hint == "try again in a moment"
        # The index was left alone: the holder's transaction still commits into it.
        holder.execute("INSERT INTO meta (key, value) VALUES ('holder', 'was here')")
        holder.execute("COMMIT")
    finally:
        base.close()
        holder.close()
    assert db.exists()
    again = KnowledgeBase.open(str(kb.root))
    try:
        assert again.store.get_meta("holder") == "was here"
    finally:
        again.close()
    assert kb.run("index").stderr == "+1 added  ~0 changed  -0 removed\n"
