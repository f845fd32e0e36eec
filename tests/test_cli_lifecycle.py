"""The life of a record from the command line: rm, mv, actions done/reopen.

Real files in a temporary folder, the real CLI; a real terminal (pexpect) where
rm asks; a real process killed half way through mv (strace's fault injection
delivers SIGKILL at an exact rename) and a real failure half way (a rename that
fails) to show that every file is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from lessons.kb import KnowledgeBase
from tests.conftest import KB, cli_env, run_lessons

LINKED_B = """\
id: b
title: Another DNS change broke resolution
kind: mistake
date: 2024-06-01
summary: Again the TTL.
lesson: Really lower the TTL.
links:
  # why: the same cause
  - {to: a, rel: repeats}     # confirmed by ops
  - {to: c, rel: relates-to}
tags: [dns]   # keep
"""

LINKED_C = """\
id: c
title: Unrelated observation
kind: observation
date: 2024-03-01
summary: x
lesson: y
links: [{to: a, rel: relates-to}]
"""

ACTIONS_A = """\
# Record A, written by hand.
id: a
title: DNS change broke resolution
kind: mistake
date: 2024-01-05
summary: A TTL was too long.
lesson: Lower the TTL first.
actions:
  - {do: Lower TTLs a day before, owner: ops}   # the key one
  - do: Write the runbook
    owner: Ann
    due: 2024-02-01
recommendations:
  - Lower TTLs first.
"""


def _linked(kb: KB) -> None:
    kb.write("a.yaml", ACTIONS_A)
    kb.write("b.yaml", LINKED_B)
    kb.write("c.yaml", LINKED_C)


def _files(kb: KB) -> dict[str, bytes]:
    return {
        p.relative_to(kb.root).as_posix(): p.read_bytes()
        for p in kb.entries.rglob("*")
        if p.is_file()
    }


# --- rm ----------------------------------------------------------------------------


def test_rm_refuses_while_linked_naming_the_linking_records(kb: KB) -> None:
    _linked(kb)
    before = _files(kb)
    res = kb.run("rm", "a", "--yes")
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: 'a' is linked from b (repeats), c (relates-to)\n"
        "hint: --unlink removes those links too (comments and layout of those files are kept)\n"
    )
    assert _files(kb) == before


def test_rm_unlink_removes_the_links_keeping_comments_and_layout(kb: KB) -> None:
    _linked(kb)
    res = kb.run("rm", "a", "--unlink", "--yes")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == (
        "unlinked b -> a (repeats)\nunlinked c -> a (relates-to)\nremoved a (entries/a.yaml)\n"
    )
    assert not (kb.entries / "a.yaml").exists()
    # The link and its end-of-line comment go; the comment above and the rest stay.
    assert (kb.entries / "b.yaml").read_text() == LINKED_B.replace(
        "  - {to: a, rel: repeats}     # confirmed by ops\n", ""
    )
    assert (kb.entries / "c.yaml").read_text() == LINKED_C.replace(
        "links: [{to: a, rel: relates-to}]\n", ""
    )
    check = kb.run("check")
    assert check.exit_code == 0 and "0 errors" in check.stderr
    assert kb.run("show", "a").exit_code == 2


def test_rm_of_records_linking_only_each_other_needs_no_unlink(kb: KB) -> None:
    kb.write("b.yaml", LINKED_B.replace("  - {to: c, rel: relates-to}\n", ""))
    kb.write("a.yaml", ACTIONS_A)
    kb.add("keep")
    res = kb.run("rm", "a", "b", "--yes", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == {
        "removed": [{"id": "a", "path": "entries/a.yaml"}, {"id": "b", "path": "entries/b.yaml"}],
        "unlinked": [],
    }
    assert sorted(_files(kb)) == ["entries/keep.yaml"]


def test_rm_without_yes_off_a_terminal_exits_2_and_removes_nothing(kb: KB) -> None:
    kb.add("lonely")
    res = kb.run("rm", "lonely", input="y\n")
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: rm deletes files: confirm with --yes\n"
        "hint: standard input is not a terminal, so nothing was asked or removed\n"
    )
    assert (kb.entries / "lonely.yaml").exists()


def test_rm_unknown_id_exits_2(kb: KB) -> None:
    kb.add("one")
    res = kb.run("rm", "nope", "--yes")
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: no record with id 'nope'\n")


def _spawn(root: Path, *args: str):  # type: ignore[no-untyped-def]
    pexpect = pytest.importorskip("pexpect")
    return pexpect.spawn(
        sys.executable,
        ["-m", "lessons", "--kb", str(root), *args],
        env=cli_env(),
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 80),
    )


def test_rm_asks_on_a_terminal_and_no_keeps_the_files(kb: KB) -> None:
    _linked(kb)
    before = _files(kb)
    child = _spawn(kb.root, "rm", "a", "--unlink")
    child.expect_exact("a  entries/a.yaml  DNS change broke resolution")
    child.expect_exact("linked from b (repeats): the link will be removed")
    child.expect_exact("Remove 1 record? [y/N] ")
    child.sendline("n")
    child.expect_exact("nothing was removed")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()
    assert child.exitstatus == 1
    assert _files(kb) == before


def test_rm_asks_on_a_terminal_and_yes_removes(kb: KB) -> None:
    kb.add("one")
    kb.add("two")
    child = _spawn(kb.root, "rm", "one", "two")
    child.expect_exact("Remove 2 records? [y/N] ")
    child.sendline("y")
    child.expect_exact("removed two (entries/two.yaml)")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()
    assert child.exitstatus == 0
    assert _files(kb) == {}


# --- mv ----------------------------------------------------------------------------


def test_mv_renames_file_and_id_and_rewrites_every_link_byte_for_byte(kb: KB) -> None:
    _linked(kb)
    res = kb.run("mv", "a", "2024-01-dns-ttl-too-long")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == (
        "renamed a -> 2024-01-dns-ttl-too-long (entries/2024-01-dns-ttl-too-long.yaml)\n"
        "2 links rewritten in 2 records: b, c\n"
    )
    assert not (kb.entries / "a.yaml").exists()
    new = "2024-01-dns-ttl-too-long"
    assert (kb.entries / f"{new}.yaml").read_text() == ACTIONS_A.replace("id: a\n", f"id: {new}\n")
    # Only the id changes: the comment keeps its column, the rest every byte.
    assert (kb.entries / "b.yaml").read_text() == LINKED_B.replace(
        "{to: a, rel: repeats}", f"{{to: {new}, rel: repeats}}"
    )
    assert (kb.entries / "c.yaml").read_text() == LINKED_C.replace("{to: a,", f"{{to: {new},")
    check = kb.run("check", "--json")
    assert json.loads(check.stdout)["errors"] == []
    back = json.loads(kb.run("show", new, "--json").stdout)["backlinks"]
    assert sorted(b["from"] for b in back) == ["b", "c"]


def test_mv_keeps_quotes_and_block_mapping_links(kb: KB) -> None:
    kb.add("old-one")
    text = textwrap.dedent(
        """\
        id: "linker"
        title: Links in block style
        kind: success
        date: 2024-02-02
        summary: s
        lesson: l
        links:
          - to: 'old-one'
            rel: applies
            note: the first   # a comment
        """
    )
    kb.write("sub/linker.yaml", text)
    res = kb.run("mv", "old", "new-one")
    assert res.exit_code == 0, res.stderr
    assert (kb.entries / "sub" / "linker.yaml").read_text() == text.replace(
        "'old-one'", "'new-one'"
    )


def test_mv_keeps_the_sub_folder_of_the_record(kb: KB) -> None:
    kb.write("team/x.yaml", __import__("tests.conftest").conftest.record_text("x"))
    res = kb.run("mv", "x", "y")
    assert res.exit_code == 0, res.stderr
    assert (kb.entries / "team" / "y.yaml").exists()
    assert not (kb.entries / "team" / "x.yaml").exists()


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Bad Id", "Error: 'Bad Id' is not a valid id"),
        ("b", "Error: the id 'b' is taken\n"),
        ("a", "Error: the record is already called 'a'\n"),
    ],
)
def test_mv_refuses_bad_or_taken_ids_and_changes_nothing(kb: KB, new: str, message: str) -> None:
    _linked(kb)
    before = _files(kb)
    res = kb.run("mv", "a", new)
    assert res.exit_code == 2
    assert res.stderr.startswith(message)
    assert _files(kb) == before


def test_mv_refuses_an_id_a_broken_file_already_has(kb: KB) -> None:
    _linked(kb)
    kb.write("taken.yaml", "id: taken\ntitle: [broken\n")
    res = kb.run("mv", "a", "taken")
    assert res.exit_code == 2
    assert "Error: the id 'taken' is taken\n" in res.stderr


def test_mv_refuses_when_a_file_changed_since_it_was_indexed(kb: KB) -> None:
    _linked(kb)
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    (kb.entries / "c.yaml").write_text(LINKED_C + "team: Ops\n")
    before = _files(kb)
    from lessons.errors import ConflictError
    from lessons.lifecycle import rename_record

    with pytest.raises(ConflictError, match="changed on disk"):
        rename_record(base, "a", "renamed")
    assert _files(kb) == before


def test_mv_failing_half_way_puts_every_file_back(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third rename of the batch fails (as a full disk or a vanished folder would):
    the two files already changed are put back, the temporaries removed."""
    _linked(kb)
    before = _files(kb)
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    real = os.replace
    calls = {"n": 0}

    def flaky(src: object, dst: object) -> None:
        if str(src).endswith(".tmp") and str(kb.entries) in str(dst):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device", str(dst))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    from lessons.errors import LessonsError
    from lessons.lifecycle import rename_record

    with pytest.raises(LessonsError, match="every file was put back as it was"):
        rename_record(base, "a", "renamed")
    monkeypatch.setattr(os, "replace", real)
    # The new file and b were written, c failed; putting b back was the fourth.
    assert calls["n"] == 4
    assert _files(kb) == before
    assert not list((kb.root / ".lessons" / "pending").glob("*"))


def test_mv_killed_half_way_is_undone_by_the_next_command(kb: KB, tmp_path: Path) -> None:
    """A real process killed (SIGKILL, by strace's fault injection) at its third
    rename of record files: the new file and one link are written, the rest not.
    The next command puts every file back before it reads anything."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    _linked(kb)
    before = _files(kb)
    assert run_lessons(kb.root, "index", timeout=120).returncode == 0
    # Renames of the run: the batch's new file (1), b (2), c (3); a is then unlinked.
    prefix = (
        "strace",
        "-f",
        "-o",
        "/dev/null",
        "-e",
        "trace=rename,renameat,renameat2",
        "-e",
        "inject=rename,renameat,renameat2:signal=SIGKILL:when=3",
    )
    probe = subprocess.run(["strace", "-o", "/dev/null", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr!r}")
    killed = run_lessons(kb.root, "mv", "a", "renamed", prefix=prefix, timeout=120)
    assert killed.returncode != 0
    now = _files(kb)
    # Half way: the new file and the first linking record are written, c is not.
    assert "entries/renamed.yaml" in now
    assert now["entries/a.yaml"] == before["entries/a.yaml"]
    assert now["entries/b.yaml"] != before["entries/b.yaml"]
    assert now["entries/c.yaml"] == before["entries/c.yaml"]
    assert list((kb.root / ".lessons" / "pending").glob("batch-*.json"))

    after = run_lessons(kb.root, "list", timeout=120)
    assert after.returncode == 0, after.stderr
    assert _files(kb) == before
    assert not list((kb.root / ".lessons" / "pending").glob("*"))
    assert sorted(line.split("\t")[0] for line in after.stdout.splitlines()) == ["a", "b", "c"]
    assert "files put back" in after.stderr
    # And the rename, run again, completes.
    again = run_lessons(kb.root, "mv", "a", "renamed", timeout=120)
    assert again.returncode == 0, again.stderr
    assert yaml.safe_load((kb.entries / "c.yaml").read_text())["links"] == [
        {"to": "renamed", "rel": "relates-to"}
    ]


def _unprivileged() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    if not shutil.which("unshare"):
        pytest.skip("running as root and `unshare` is missing: cannot drop write access")
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and user namespaces are unavailable: {probe.stderr!r}")
    return ("unshare", "--user")


def test_mv_with_a_read_only_folder_of_a_linking_record_changes_nothing(kb: KB) -> None:
    kb.write("a.yaml", ACTIONS_A)
    kb.write("b.yaml", LINKED_B.replace("  - {to: c, rel: relates-to}\n", ""))
    kb.write("locked/c.yaml", LINKED_C)
    assert run_lessons(kb.root, "index", timeout=120).returncode == 0
    before = _files(kb)
    prefix = _unprivileged()
    locked = kb.entries / "locked"
    locked.chmod(0o555)
    try:
        res = run_lessons(kb.root, "mv", "a", "renamed", prefix=prefix, timeout=120)
    finally:
        locked.chmod(0o755)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("Error: cannot write to entries/locked: ")
    assert "nothing was changed" in res.stderr
    assert _files(kb) == before


# --- actions done / reopen -----------------------------------------------------------


def test_actions_done_closes_one_action_with_date_and_who(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.write("a.yaml", ACTIONS_A)
    res = kb.run("actions", "done", "a", "2", "--by", "Ann Smith", "--date", "2024-02-03")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "done: a action 2 (Write the runbook), 2024-02-03 by Ann Smith\n"
    assert (kb.entries / "a.yaml").read_text() == ACTIONS_A.replace(
        "    due: 2024-02-01\n",
        "    due: 2024-02-01\n    status: done\n    closed: 2024-02-03\n    closed_by: Ann Smith\n",
    )
    listed = kb.run("actions")
    assert listed.stdout.splitlines() == [
        "2024-02-01\tdone\tAnn\ta\t2\tWrite the runbook\t2024-02-03 Ann Smith",
        "\topen\tops\ta\t1\tLower TTLs a day before\t",
    ]
    data = json.loads(kb.run("actions", "--json").stdout)["results"]
    assert data[0]["closed"] == "2024-02-03" and data[0]["closed_by"] == "Ann Smith"
    assert data[0]["n"] == 2 and data[1]["closed"] is None
    # Reopened, the file is as it was but for the explicit status.
    res = kb.run("actions", "reopen", "a", "2")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "reopened a action 2 (Write the runbook)\n"
    assert (kb.entries / "a.yaml").read_text() == ACTIONS_A.replace(
        "    due: 2024-02-01\n", "    due: 2024-02-01\n    status: open\n"
    )


def test_actions_done_on_a_flow_mapping_action_keeps_its_comment(kb: KB) -> None:
    kb.write("a.yaml", ACTIONS_A)
    res = kb.run("actions", "done", "a", "1", "--by", "ops", "--date", "2024-01-06")
    assert res.exit_code == 0, res.stderr
    text = (kb.entries / "a.yaml").read_text()
    assert "# the key one" in text
    rec = yaml.safe_load(text)
    assert rec["actions"][0] == {
        "do": "Lower TTLs a day before",
        "owner": "ops",
        "status": "done",
        "closed": __import__("datetime").date(2024, 1, 6),
        "closed_by": "ops",
    }
    # Every other line is as it was.
    assert text.splitlines()[:8] + text.splitlines()[9:] == (
        ACTIONS_A.splitlines()[:8] + ACTIONS_A.splitlines()[9:]
    )


def test_actions_done_takes_who_from_the_users_git_then_user(kb: KB, tmp_path: Path) -> None:
    kb.write("a.yaml", ACTIONS_A)
    home = tmp_path / "home"
    home.mkdir()
    env = {**cli_env(), "HOME": str(home), "USER": "login-name", "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("GIT_CONFIG_GLOBAL", None)
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "lessons", "--kb", str(kb.root), *a],
        capture_output=True,
        text=True,
        env=env,
    )
    res = run("actions", "done", "a", "1")
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load((kb.entries / "a.yaml").read_text())["actions"][0]["closed_by"] == (
        "login-name"
    )
    if shutil.which("git"):
        # The repository's own user.name is a stranger's setting in a cloned knowledge
        # base: not taken. The user's global one is.
        subprocess.run(["git", "init", "-q", str(kb.root)], check=True, env=env)
        subprocess.run(
            ["git", "-C", str(kb.root), "config", "user.name", "Repo Stranger"],
            check=True,
            env=env,
        )
        res = run("actions", "done", "a", "2")
        assert res.returncode == 0, res.stderr
        assert yaml.safe_load((kb.entries / "a.yaml").read_text())["actions"][1]["closed_by"] == (
            "login-name"
        )
        run("actions", "reopen", "a", "2")
        subprocess.run(
            ["git", "config", "--global", "user.name", "Git Person"], check=True, env=env
        )
        res = run("actions", "done", "a", "2")
        assert res.returncode == 0, res.stderr
        assert yaml.safe_load((kb.entries / "a.yaml").read_text())["actions"][1]["closed_by"] == (
            "Git Person"
        )


def test_actions_done_twice_changes_nothing_and_says_so(kb: KB) -> None:
    kb.write("a.yaml", ACTIONS_A)
    assert kb.run("actions", "done", "a", "1", "--by", "x").exit_code == 0
    before = _files(kb)
    res = kb.run("actions", "done", "a", "1")
    assert res.exit_code == 0
    assert res.stderr == "a action 1 (Lower TTLs a day before) is already done; nothing changed\n"
    assert _files(kb) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("a", "3"), "Error: 'a' has 2 actions, so no action 3\n"),
        (("nope", "1"), "Error: no record with id 'nope'\n"),
        (("a", "0"), None),
    ],
)
def test_actions_done_bad_numbers_exit_2(
    kb: KB, args: tuple[str, ...], message: str | None
) -> None:
    kb.write("a.yaml", ACTIONS_A)
    before = _files(kb)
    res = kb.run("actions", "done", *args)
    assert res.exit_code == 2
    if message:
        assert res.stderr.startswith(message)
    assert _files(kb) == before


def test_actions_dropped_and_check_accepts_the_new_keys(kb: KB) -> None:
    kb.write("a.yaml", ACTIONS_A)
    res = kb.run("actions", "done", "a", "2", "--dropped", "--by", "Ann", "--date", "2024-03-01")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "dropped: a action 2 (Write the runbook), 2024-03-01 by Ann\n"
    check = kb.run("check", "--json")
    assert json.loads(check.stdout)["errors"] == []
    kb.write(
        "bad.yaml",
        ACTIONS_A.replace("id: a", "id: bad").replace(
            "    due: 2024-02-01\n", "    due: 2024-02-01\n    closed: 2024-13-01\n"
        ),
    )
    errors = json.loads(kb.run("check", "--json").stdout)["errors"]
    assert [(e["path"], e["field"], e["message"]) for e in errors] == [
        ("entries/bad.yaml", "actions", "'closed' must be a date YYYY-MM-DD, not '2024-13-01'")
    ]


def test_a_journal_shipped_in_a_repository_writes_nothing_outside_the_records(
    kb: KB, tmp_path: Path
) -> None:
    """``.lessons/pending/`` may come with a cloned repository: what its journal names
    outside entries/ (a git hook, a file outside the knowledge base, a non-record file)
    is never written; a record file it names is put back to the journal's bytes."""
    import base64

    kb.add("one")
    hooks = kb.root / ".git" / "hooks"
    hooks.mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    pending = kb.root / ".lessons" / "pending"
    pending.mkdir(parents=True)
    evil = base64.b64encode(b"#!/bin/sh\necho owned\n").decode()
    steps = [
        {"path": ".git/hooks/pre-commit", "old": evil, "mode": 0o755, "tmp": None},
        {"path": "../outside.yaml", "old": evil, "mode": None, "tmp": None},
        {"path": "entries/notes.txt", "old": evil, "mode": None, "tmp": None},
        {"path": "lessons.yaml", "old": evil, "mode": None, "tmp": None},
    ]
    (pending / "batch-x.json").write_text(json.dumps({"version": 1, "steps": steps}))
    before = _files(kb)
    res = kb.run("list")
    assert res.exit_code == 0, res.stderr
    assert not (hooks / "pre-commit").exists()
    assert not outside.exists()
    assert not (kb.root / "lessons.yaml").exists()
    assert _files(kb) == before
    assert not list(pending.glob("*"))


def test_actions_on_a_terminal_shows_the_closed_column_only_when_something_was_closed(
    kb: KB,
) -> None:
    pexpect = pytest.importorskip("pexpect")
    kb.write("a.yaml", ACTIONS_A)

    def header() -> str:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "lessons", "--kb", str(kb.root), "actions"],
            env=cli_env(),
            encoding="utf-8",
            timeout=30,
            dimensions=(24, 200),
        )
        child.expect(pexpect.EOF)
        child.close()
        import re

        plain = re.sub(r"\x1b\[[0-9;]*m", "", child.before)  # bold headers
        return next(line for line in plain.splitlines() if "status" in line)

    assert header().split() == ["due", "status", "owner", "id", "#", "action"]
    assert kb.run("actions", "done", "a", "2", "--by", "Ann").exit_code == 0
    assert header().split() == ["due", "status", "owner", "id", "#", "action", "closed"]


def test_mv_and_rm_with_a_postgresql_index(kb: KB, pg_url: str) -> None:
    _linked(kb)
    res = kb.run("--db", pg_url, "mv", "a", "renamed")
    assert res.exit_code == 0, res.stderr
    assert res.stderr.splitlines()[1] == "2 links rewritten in 2 records: b, c"
    back = json.loads(kb.run("--db", pg_url, "show", "renamed", "--json").stdout)["backlinks"]
    assert sorted(b["from"] for b in back) == ["b", "c"]
    res = kb.run("--db", pg_url, "rm", "renamed", "--unlink", "--yes")
    assert res.exit_code == 0, res.stderr
    assert sorted(_files(kb)) == ["entries/b.yaml", "entries/c.yaml"]
    assert json.loads(kb.run("--db", pg_url, "check", "--json").stdout)["errors"] == []


def test_actions_limit_shows_the_first_n_and_says_how_many_there_are(kb: KB) -> None:
    kb.add("a", actions=[{"do": f"Step {i}", "due": f"2024-0{i}-01"} for i in range(1, 6)])
    res = kb.run("actions", "--limit", "2")
    assert res.exit_code == 0, res.stderr
    assert [line.split("\t")[5] for line in res.stdout.splitlines()] == ["Step 1", "Step 2"]
    assert "2 of 5 shown (--limit)" in res.stderr
    data = json.loads(kb.run("actions", "-n", "3", "--json").stdout)
    assert data["total"] == 5 and [a["do"] for a in data["results"]] == [
        "Step 1",
        "Step 2",
        "Step 3",
    ]
