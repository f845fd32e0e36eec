"""The core commands through the real CLI: init, index, list, show, check, stats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KB, REPO

from lessons import __version__
from lessons.cli.root import COMMANDS


def lessons(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in a real process."""
    return subprocess.run(
        [sys.executable, "-m", "lessons", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


def test_version_and_module_entry_point() -> None:
    proc = lessons("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"lessons {__version__}\n"


def test_a_command_ends_with_its_objects_frozen_for_a_quick_exit(tmp_path: Path) -> None:
    # The exit's garbage collection is skipped (lessons/cli/main.py), whether the
    # command succeeds or fails, and what it printed is all there.
    lessons("init", str(tmp_path / "kb"))
    code = (
        "import gc, sys\nfrom lessons.cli.main import main\n"
        "sys.argv = ['lessons', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('frozen', gc.get_freeze_count() > 1000, code, file=sys.stderr)"
    )
    for args, code_seen in ((["list"], "1"), (["stats"], "0")):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path / "kb",
            timeout=120,
        )
        assert proc.stderr.splitlines()[-1] == f"frozen True {code_seen}", proc.stderr
    stats = lessons("stats", cwd=tmp_path / "kb")
    assert stats.returncode == 0 and stats.stdout.strip()


def test_init_creates_config_entries_and_gitignore(tmp_path: Path) -> None:
    target = tmp_path / "new-kb"
    proc = lessons("init", str(target))
    assert proc.returncode == 0, proc.stderr
    assert (target / "lessons.yaml").is_file()
    assert (target / "entries").is_dir()
    assert (target / ".gitignore").read_text() == ".lessons/\n/site/\n"
    again = lessons("init", str(target))
    assert again.returncode == 0
    assert "already a knowledge base" in again.stderr
    listed = lessons("list", cwd=target)
    assert listed.returncode == 1
    assert "no records" in listed.stderr


def test_root_discovery_order(tmp_path: Path) -> None:
    lessons("init", str(tmp_path / "a"))
    lessons("init", str(tmp_path / "b"))
    (tmp_path / "a" / "entries" / "in-a.yaml").write_text(
        "id: in-a\ntitle: A\nkind: success\nsummary: s\nlesson: l\ndate: 2024-01-01\n"
    )
    sub = tmp_path / "a" / "entries"
    assert lessons("list", cwd=sub).stdout.startswith("in-a\t")
    # $LESSONS_KB beats the nearest lessons.yaml; --kb beats $LESSONS_KB.
    assert lessons("list", cwd=sub, env={"LESSONS_KB": str(tmp_path / "b")}).returncode == 1
    env_b = {"LESSONS_KB": str(tmp_path / "b")}
    assert lessons("--kb", str(tmp_path / "a"), "list", cwd=sub, env=env_b).returncode == 0
    nowhere = lessons("list", cwd=tmp_path)
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("Error: no knowledge base here")


def test_index_reports_changes(kb: KB) -> None:
    kb.add("one")
    kb.add("two")
    assert kb.run("index").stderr == "+2 added  ~0 changed  -0 removed\n"
    assert kb.run("index").stderr == "+0 added  ~0 changed  -0 removed\n"
    path = kb.add("one", title="Edited on disk")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    listed = kb.run("list")
    assert "Edited on disk" in listed.stdout
    kb.add("one", title="Edited again")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    assert kb.run("index").stderr == "+0 added  ~1 changed  -0 removed\n"
    assert kb.run("index", "--rebuild").stderr == "+2 added  ~0 changed  -0 removed\n"


def test_list_filters_sort_limit_and_json(kb: KB) -> None:
    kb.add("a-old", date="2020-01-01", kind="success", tags=["x", "y"], impact="low")
    kb.add("b-new", date="2024-01-01", tags=["x"], campaign="Launch", impact="high")
    kb.add("c-mid", date="2022-06-15", kind="observation", team="Ops", stage="strategy")
    out = kb.run("list")
    assert [line.split("\t")[0] for line in out.stdout.splitlines()] == ["b-new", "c-mid", "a-old"]
    assert out.stdout.splitlines()[0] == "b-new\tmistake\t2024-01-01\tTitle of b-new\tx"
    assert kb.run("list", "--sort", "title").stdout.splitlines()[0].startswith("a-old")
    assert kb.run("list", "--sort", "impact").stdout.splitlines()[0].startswith("b-new")

    def ids(*args: str) -> list[str]:
        return [r["id"] for r in json.loads(kb.run("list", "--json", *args).stdout)["results"]]

    assert ids("--tag", "x") == ["b-new", "a-old"]
    assert ids("--tag", "x", "--tag", "y") == ["a-old"]
    assert ids("--tag", "X") == ["b-new", "a-old"]  # tags are normalised
    assert ids("--kind", "success") == ["a-old"]
    assert ids("--campaign", "launch") == ["b-new"]
    assert ids("--team", "Ops", "--stage", "strategy") == ["c-mid"]
    assert ids("--impact", "high") == ["b-new"]
    assert ids("--since", "2021", "--until", "2022-06") == ["c-mid"]
    assert ids("--since", "2022-06-16") == ["b-new"]
    assert ids("--status", "final") == ["b-new", "c-mid", "a-old"]

    data = json.loads(kb.run("list", "--json", "--limit", "1").stdout)
    assert data["total"] == 3
    assert data["results"] == [
        {
            "id": "b-new",
            "title": "Title of b-new",
            "kind": "mistake",
            "date": "2024-01-01",
            "tags": ["x"],
            "path": "entries/b-new.yaml",
        }
    ]


def test_list_exit_codes_for_nothing_and_bad_filters(kb: KB) -> None:
    kb.add("one")
    none = kb.run("list", "--tag", "nope")
    assert none.exit_code == 1
    assert none.stdout == ""
    assert none.stderr == "Error: no records with --tag nope\nhint: loosen the filters\n"
    bad = kb.run("list", "--kind", "mistakes")
    assert bad.exit_code == 2
    assert "did you mean 'mistake'" in bad.stderr
    assert kb.run("list", "--since", "last tuesday").exit_code == 2
    assert kb.run("list", "--sort", "colour").exit_code == 2


def test_show_renders_links_backlinks_and_actions(kb: KB) -> None:
    kb.add(
        "cause",
        links=[{"to": "effect", "rel": "caused-by", "note": "why"}],
        actions=[{"do": "Fix the thing", "owner": "Ann", "due": "2020-01-01"}],
        tags=["ops"],
    )
    kb.add("effect", title="The effect", kind="success")
    out = kb.run("show", "cau")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[:3] == ["cause", "Title of cause", "mistake · 2024-05-01"]
    assert "Links" in lines
    i = lines.index("  caused-by")
    assert lines[i + 1] == "    effect  The effect  — why"
    assert "  [ ] Fix the thing  (Ann, due 2020-01-01 (overdue))" in lines
    back = kb.run("show", "effect").stdout.splitlines()
    i = back.index("  caused")
    assert back[i + 1] == "    cause  Title of cause  — why"


def test_show_json_shape(kb: KB) -> None:
    kb.add("cause", links=[{"to": "effect", "rel": "caused-by"}])
    kb.add("effect")
    data = json.loads(kb.run("show", "effect", "--json").stdout)
    assert data["id"] == "effect"
    assert data["path"] == "entries/effect.yaml"
    assert data["backlinks"] == [
        {"from": "cause", "rel": "caused-by", "as": "caused", "title": "Title of cause"}
    ]
    for key in ("title", "kind", "date", "summary", "tags", "links", "visibility", "status"):
        assert key in data


def test_show_prints_the_columns_an_import_kept_under_extra(kb: KB) -> None:
    kb.add("kept", extra={"Owner column": "Maria", "Cost\x1b[31m": "1200", "Phases": ["a", "b"]})
    res = kb.run("show", "kept")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    i = lines.index("Extra (kept from the import)")
    shown = ["  Owner column: Maria", "  Cost\\x1b[31m: 1200", "  Phases: a, b"]
    assert lines[i + 1 : i + 4] == shown
    assert "\x1b" not in res.stdout


def test_show_unknown_and_ambiguous_ids(kb: KB) -> None:
    kb.add("hashtags-humour", title="Hashtags that attempted humour")
    kb.add("hashtags-apology", title="Apologise quickly")
    unknown = kb.run("show", "hashtag-humor")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith(
        "Error: no record with id 'hashtag-humor'\nhint: closest: hashtags-humour"
    )
    ambiguous = kb.run("show", "hashtags")
    assert ambiguous.exit_code == 2
    assert "more than one id: hashtags-apology, hashtags-humour" in ambiguous.stderr


DEFECTS = {
    "syntax.yaml": ("id: syntax\ntitle: [unclosed\nkind: mistake\n", 3, None, "YAML syntax error"),
    "list.yaml": ("- just\n- a list\n", 1, None, "must be a mapping"),
    "missing.yaml": (
        "id: missing\ntitle: T\nkind: mistake\n",
        1,
        "summary",
        "missing required key 'summary'",
    ),
    "wrongtype.yaml": (
        "id: wrongtype\ntitle: T\nkind: mistake\nsummary: s\ndate: soon\n",
        5,
        "date",
        "must be a date",
    ),
    "unknown.yaml": (
        "id: unknown\ntitle: T\nkind: mistake\nsummary: s\nlesons: l\n",
        5,
        "lesons",
        "did you mean 'lesson'",
    ),
    "mismatch.yaml": (
        "id: other-name\ntitle: T\nkind: mistake\nsummary: s\n",
        1,
        "id",
        "does not match the file name",
    ),
    "selflink.yaml": (
        "id: selflink\ntitle: T\nkind: mistake\nsummary: s\nlinks:\n  - {to: selflink}\n",
        6,
        "links",
        "points at the record itself",
    ),
}


def test_each_defect_is_named_with_file_and_line_while_good_records_list(kb: KB) -> None:
    kb.add("good")
    for name, (text, *_rest) in DEFECTS.items():
        kb.write(name, text)
    listed = kb.run("list")
    assert listed.exit_code == 2
    assert listed.stdout.startswith("good\t")
    assert f"warning: {len(DEFECTS)} files skipped (invalid):" in listed.stderr
    checked = kb.run("check", "--json")
    assert checked.exit_code == 2
    errors = json.loads(checked.stdout)["errors"]
    for name, (_text, line, field, message) in DEFECTS.items():
        found = [e for e in errors if e["path"] == f"entries/{name}"]
        assert found, name
        assert found[0]["line"] == line, name
        assert found[0]["field"] == field, name
        assert message in found[0]["message"], name


def test_unknown_key_suggestion_in_check_text(kb: KB) -> None:
    kb.write("x.yaml", "id: x\ntitle: T\nkind: mistake\nsumary: s\n")
    out = kb.run("check")
    assert out.exit_code == 2
    assert (
        "entries/x.yaml:4: error [sumary]: unknown key 'sumary' (did you mean 'summary'?)"
        in out.stderr
    )


def test_cross_record_link_problems(kb: KB) -> None:
    kb.add("a", links=[{"to": "ghost", "rel": "relates-to"}, {"to": "b", "rel": "supersedes"}])
    kb.add("b", links=[{"to": "a", "rel": "supersedes"}])
    kb.add("old", date="2020-01-01", links=[{"to": "new", "rel": "repeats"}])
    kb.add("new", date="2024-01-01")
    assert kb.run("list").exit_code == 0  # indexed, not skipped
    out = json.loads(kb.run("check", "--json").stdout)
    messages = [(e["path"], e["line"], e["message"]) for e in out["errors"]]
    assert ("entries/a.yaml", 8, "link to 'ghost', which does not exist") in messages
    assert any("go round in a circle: a -> b -> a" in m for _, _, m in messages)
    assert any(
        "'repeats' points at a newer record (new, 2024-01-01)" in w["message"]
        for w in out["warnings"]
    )


def test_duplicate_ids_are_reported(kb: KB) -> None:
    kb.add("dup")
    kb.write("zz/dup.yaml", (kb.entries / "dup.yaml").read_text())
    out = json.loads(kb.run("check", "--json").stdout)
    assert out["errors"] == [
        {
            "path": "entries/zz/dup.yaml",
            "line": 1,
            "field": "id",
            "message": "duplicate id 'dup': entries/dup.yaml already has it",
        }
    ]


def test_huge_file_and_alias_bomb_are_refused_and_others_still_list(kb: KB) -> None:
    from test_entries import BOMB

    kb.add("good")
    big = kb.entries / "big.yaml"
    big.write_text("id: big\nsummary: " + "x" * (1024 * 1024) + "\n")
    kb.write("bomb.yaml", BOMB)
    out = kb.run("list")
    assert out.exit_code == 2
    assert out.stdout.startswith("good\t")
    assert "entries/big.yaml: file is larger than 1024 KiB; refused" in out.stderr
    assert "aliases expand to more than 100000 values; refused" in out.stderr


def test_index_file_deleted_answers_and_garbage_is_refused_untouched(kb: KB) -> None:
    kb.add("one")
    assert kb.run("list").exit_code == 0
    db = kb.root / ".lessons" / "index.db"
    for suffix in ("-wal", "-shm"):
        (kb.root / ".lessons" / f"index.db{suffix}").unlink(missing_ok=True)
    garbage = b"\x00garbage" * 4096
    db.write_bytes(garbage)
    # Not provably ours (issue 12): named, left as it is, never deleted.
    out = kb.run("list")
    assert out.exit_code == 2 and out.stdout == ""
    assert "not a lessons index" in out.stderr and str(db) in out.stderr
    assert db.read_bytes() == garbage
    db.unlink()
    assert kb.run("list").stdout.startswith("one\t")
    shutil.rmtree(kb.root / ".lessons")
    assert kb.run("show", "one").exit_code == 0


def test_stats_json(kb: KB) -> None:
    kb.add("a", tags=["x"], date="2024-01-05", campaign="C")
    kb.add("b", tags=["x", "y"], date="2024-02-01", kind="success", team="T")
    data = json.loads(kb.run("stats", "--json").stdout)
    assert data["total"] == 2
    assert data["kind"] == {"mistake": 1, "success": 1}
    assert data["tag"] == {"x": 2, "y": 1}
    assert data["campaign"] == {"C": 1}
    assert data["team"] == {"T": 1}
    assert data["month"] == {"2024-01": 1, "2024-02": 1}


def test_custom_fields_from_config(kb: KB) -> None:
    kb.config(
        """\
        fields:
          channels: {type: list}
          evaluation: {type: choice, values: [output, outcome]}
        """
    )
    kb.add("ok", channels=["twitter"], evaluation="outcome")
    kb.add("bad", evaluation="outtake")
    out = kb.run("check", "--json")
    errors = json.loads(out.stdout)["errors"]
    assert [(e["path"], e["field"]) for e in errors] == [("entries/bad.yaml", "evaluation")]
    assert json.loads(kb.run("show", "ok", "--json").stdout)["channels"] == ["twitter"]


def test_bad_config_is_named(kb: KB) -> None:
    kb.config("name: x\nstagess: [a]\n")
    out = kb.run("list")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: unknown setting 'stagess' (did you mean 'stages'?) (")
    assert "lessons.yaml:2, field 'stagess')" in out.stderr


def test_internal_errors_exit_3_with_a_hint(kb: KB) -> None:
    kb.add("one")
    kb.run("list")
    db = kb.root / ".lessons" / "index.db"
    os.chmod(kb.root / ".lessons", 0o755)
    # A store URL nobody can serve is a usage error (2), not a crash.
    out = kb.run("--db", "mysql://x", "list")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: unsupported index URL: mysql://x")
    assert db.exists()


def test_debug_shows_traceback_only_when_asked(kb: KB) -> None:
    out = lessons("--kb", str(kb.root), "--db", "mysql://x", "list")
    assert "Traceback" not in out.stderr
    dbg = lessons("--kb", str(kb.root), "--debug", "--db", "mysql://x", "list")
    assert "Traceback" in dbg.stderr


def test_read_only_knowledge_base_still_lists(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    lessons("init", str(root))
    (root / "entries" / "one.yaml").write_text(
        "id: one\ntitle: T\nkind: success\nsummary: s\nlesson: l\ndate: 2024-01-01\n"
    )
    shutil.rmtree(root / ".lessons", ignore_errors=True)
    os.chmod(root, 0o555)
    try:
        cmd = ["--kb", str(root), "list"]
        if os.geteuid() == 0:
            if not shutil.which("unshare"):
                pytest.skip("running as root and `unshare` is missing: cannot drop write access")
            # In a new user namespace root's files are checked by their owner bits.
            proc = subprocess.run(
                ["unshare", "--user", sys.executable, "-m", "lessons", *cmd],
                capture_output=True,
                text=True,
                timeout=60,
            )
        else:
            proc = lessons(*cmd)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("one\t")
        assert not (root / ".lessons").exists()
    finally:
        os.chmod(root, 0o755)


def test_repo_entries_pass_check() -> None:
    proc = lessons("--kb", str(REPO), "check")
    assert proc.returncode == 0, proc.stderr
    listed = lessons("--kb", str(REPO), "list", "--json")
    assert json.loads(listed.stdout)["total"] >= 10


def test_every_command_has_help_and_is_in_the_readme() -> None:
    from typer.main import get_command

    from lessons.cli.root import load

    app = load()
    readme = (REPO / "README.md").read_text()
    group = get_command(app)
    names = list(group.commands)  # type: ignore[attr-defined]
    assert {"init", "index", "list", "show", "check", "stats"} <= set(names)
    # The table that lets a command line load its command alone names them all.
    assert sorted(names) == sorted(COMMANDS)
    for name in names:
        proc = lessons(name, "--help")
        assert proc.returncode == 0, name
        assert "Usage:" in proc.stdout
        assert f"lessons {name}" in readme, f"README does not show `lessons {name}`"


def test_supersedes_cycles_are_found_once_and_long_chains_do_not_overflow() -> None:
    from lessons.check import supersedes_cycles

    links = [("a", "b", "supersedes", None, 0), ("b", "c", "supersedes", None, 0)]
    links += [("c", "a", "supersedes", None, 0), ("c", "d", "relates-to", None, 0)]
    assert supersedes_cycles(links) == [["a", "b", "c"]]
    chain = [(f"r{i:05d}", f"r{i + 1:05d}", "supersedes", None, 0) for i in range(5000)]
    assert supersedes_cycles(chain) == []
    chain.append(("r05000", "r00000", "supersedes", None, 0))
    (cycle,) = supersedes_cycles(chain)
    assert len(cycle) == 5001 and cycle[0] == "r00000"


def test_config_cache_follows_edits_of_lessons_yaml(kb: KB) -> None:
    kb.add("one", stage="launch")
    kb.config("stages: [plan, launch]\n")
    assert kb.run("list").exit_code == 0
    assert (kb.root / ".lessons" / "config.json").is_file()
    kb.config("stages: [plan, review]\n")  # a different size: the cache is stale
    out = kb.run("list")
    assert out.exit_code == 2
    assert "'stage' must be one of plan, review" in out.stderr
    kb.config("stagess: [plan]\n")
    assert kb.run("list").stderr.startswith("Error: unknown setting 'stagess'")


def test_a_command_line_loads_the_command_it_names_past_the_global_options() -> None:
    from lessons.cli.root import command_named, load

    assert command_named(["--kb", "search", "--db", "show", "list", "--tag", "x"]) == "list"
    assert command_named(["--no-color", "--debug", "tag", "add"]) == "tag"
    assert command_named(["--kb=here", "show", "x"]) == "show"
    assert command_named(["--help"]) is None
    one = load("show")
    assert [c.callback.__name__ for c in one.registered_commands if c.callback] == ["show"]
    assert one.registered_groups == []
    # Loading one command leaves the others where a later full load finds them.
    # `tag` and `actions` are groups.
    assert len(load().registered_commands) == len(COMMANDS) - 2


def test_a_mistyped_command_is_suggested_from_every_command(kb: KB) -> None:
    proc = lessons("--kb", str(kb.root), "serch", "word")
    assert proc.returncode == 2
    assert "Did you mean 'search'?" in proc.stderr


def test_check_points_at_what_an_interrupted_write_left(kb: KB) -> None:
    kb.add("a")
    text = (kb.entries / "a.yaml").read_text().replace("Title of a", "Half-saved title")
    old = kb.write(".a.yaml.k3j9x_2a.tmp", text)  # as atomic_write names them
    os.utime(old, (old.stat().st_atime - 3600, old.stat().st_mtime - 3600))
    kb.write("sub/.b.yaml.q8ab01zz.tmp", "id: b\n")  # a write in progress: too young
    out = kb.run("check")
    assert out.exit_code == 0  # a warning: nothing is wrong with the records
    assert (
        "entries/.a.yaml.k3j9x_2a.tmp: warning: left by an interrupted write of "
        "entries/a.yaml: compare the two, keep what you need, then delete this file"
    ) in out.stderr
    assert ".b.yaml" not in out.stderr
    assert old.read_text() == text  # reported, never deleted
