"""``lessons add`` and ``lessons edit`` through the real CLI: flags, --from, the editor (a
real process), the similar-record check, and prompts on a real terminal (pexpect)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import EDITOR_SCRIPT

from lessons.model import today

FILL = [
    ["title: \n", "title: Moderators were not briefed\n"],
    ["kind: \n", "kind: mistake\n"],
    ["summary: |\n  \n", "summary: |\n  Questions piled up in the live chat.\n"],
    ["lesson: |\n  \n", "lesson: |\n  Brief the moderators before the chat opens.\n"],
]

MONTH = today()[:7]


def use_editor(monkeypatch: pytest.MonkeyPatch, folder: Path, *steps: dict) -> Path:
    """Set $EDITOR to a real program applying ``steps[n]`` on its n-th run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "editor.py").write_text(EDITOR_SCRIPT)
    (folder / "steps.json").write_text(json.dumps(list(steps)))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {folder / 'editor.py'}")
    return folder


def entry_files(kb) -> list[str]:
    return sorted(p.relative_to(kb.entries).as_posix() for p in kb.entries.rglob("*.yaml"))


# --- flags ---------------------------------------------------------------------------------


def test_add_with_flags_writes_the_record_and_prints_id_and_path(kb) -> None:
    kb.add("2012-09-hashtags-attempted-humour", title="Hashtags", kind="mistake")
    res = kb.run(
        "add",
        "--title", "Live chat questions went unanswered",
        "--kind", "mistake",
        "--date", "2024-05-02",
        "--summary", "Questions piled up.",
        "--lesson", "Brief the moderators first.",
        "--rec", "Name a moderator.",
        "--rec", "Rehearse.",
        "--tag", "Live Chat",
        "--tag", "twitter",
        "--link", "relates-to:2012-09-hash",
        "--campaign", "Reform Plan",
        "--team", "Digital",
        "--stage", "implementation",
        "--impact", "high",
        "--author", "Ann",
        "--source", "https://example.org/a",
        "--expected", "Answers within minutes.",
        "--why", "No roles.",
        "--response", "Apologised.",
        "--evidence", "40 questions, 5 answers.",
        "--action", "Write a run sheet;owner=Ann;due=2024-06-01",
        "--public",
        "--draft",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    rid = "2024-05-live-chat-questions-went-unanswered"
    path = kb.entries / f"{rid}.yaml"
    assert res.stdout == f"{rid}  {path}\n"
    assert yaml.safe_load(path.read_text()) == {
        "id": rid,
        "title": "Live chat questions went unanswered",
        "kind": "mistake",
        "date": __import__("datetime").date(2024, 5, 2),
        "summary": "Questions piled up.",
        "lesson": "Brief the moderators first.",
        "recommendations": ["Name a moderator.", "Rehearse."],
        "expected": "Answers within minutes.",
        "why": "No roles.",
        "response": "Apologised.",
        "evidence": "40 questions, 5 answers.",
        "impact": "high",
        "campaign": "Reform Plan",
        "team": "Digital",
        "authors": ["Ann"],
        "stage": "implementation",
        "tags": ["live-chat", "twitter"],
        "links": [{"to": "2012-09-hashtags-attempted-humour", "rel": "relates-to"}],
        "actions": [
            {
                "do": "Write a run sheet",
                "owner": "Ann",
                "due": __import__("datetime").date(2024, 6, 1),
                "status": "open",
            }
        ],
        "sources": ["https://example.org/a"],
        "visibility": "public",
        "status": "draft",
        "recorded": __import__("datetime").date.fromisoformat(today()),
    }
    assert kb.run("check").exit_code == 0


def test_add_missing_required_fields_without_a_terminal_exits_2_naming_them(kb) -> None:
    res = kb.run("add", "--title", "Only a title")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        "Error: missing required fields: kind, summary",
        "hint: give --kind ... --summary ... "
        "(standard input is not a terminal, so nothing was asked)",
    ]
    assert entry_files(kb) == []


def test_add_with_closed_stdin_never_waits(kb) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(kb.root), "add", "--kind", "mistake"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Error: missing required fields: title, summary" in done.stderr


def test_add_bad_kind_is_an_error_with_a_suggestion(kb) -> None:
    res = kb.run("add", "-t", "T", "-k", "mistak", "-s", "S.")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == (
        "Error: 'kind' must be one of mistake, success, observation, not 'mistak' "
        "(did you mean 'mistake'?) (field 'kind')"
    )
    assert entry_files(kb) == []


def test_add_bad_date_is_an_error(kb) -> None:
    res = kb.run("add", "-t", "T", "-k", "mistake", "-s", "S.", "--date", "2024-13-01")
    assert res.exit_code == 2
    assert "'date' must be a date YYYY-MM-DD, not '2024-13-01'" in res.stderr


def test_add_link_with_unknown_relation_suggests_one(kb) -> None:
    kb.add("a")
    res = kb.run("add", "-t", "T", "-k", "mistake", "-s", "S.", "--link", "repeat:a")
    assert res.exit_code == 2
    assert "unknown relation 'repeat' in --link repeat:a (did you mean 'repeats'?)" in res.stderr


def test_add_link_to_an_unknown_id_is_an_error(kb) -> None:
    kb.add("a")
    res = kb.run("add", "-t", "T", "-k", "mistake", "-s", "S.", "--link", "repeats:zzz")
    assert res.exit_code == 2
    assert "Error: no record with id 'zzz'" in res.stderr


def test_add_custom_field_and_forced_id(kb) -> None:
    kb.config("fields:\n  channels: {type: list}\n")
    res = kb.run(
        "add", "-t", "T", "-k", "success", "-s", "S.", "-l", "L.",
        "--field", "channels=twitter;blog", "--id", "my-own-id",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    data = yaml.safe_load((kb.entries / "my-own-id.yaml").read_text())
    assert data["channels"] == ["twitter", "blog"] and data["id"] == "my-own-id"


def test_add_into_the_configured_folder_with_a_unique_id(kb) -> None:
    kb.config("add_folder: inbox\n")
    first = kb.run("add", "-t", "Same", "-k", "mistake", "-s", "One.", "-l", "L.")
    second = kb.run("add", "-t", "Same", "-k", "mistake", "-s", "Two, quite another text.")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.split()[0] == f"{MONTH}-same"
    assert second.stdout.split()[0] == f"{MONTH}-same-2"
    assert entry_files(kb) == [f"inbox/{MONTH}-same-2.yaml", f"inbox/{MONTH}-same.yaml"]


def test_add_warns_when_there_is_no_lesson(kb) -> None:
    res = kb.run("add", "-t", "T", "-k", "mistake", "-s", "S.")
    assert res.exit_code == 0
    assert "warning: a final record without a 'lesson': what did we learn? [lesson]" in res.stderr


# --- --from ---------------------------------------------------------------------------------


def test_add_from_a_file_keeps_its_comments(kb, tmp_path: Path) -> None:
    src = tmp_path / "in.yaml"
    src.write_text(
        "# from the review\ntitle: From a file\nkind: success\nsummary: S.\nlesson: L.\n"
    )
    res = kb.run("add", "--from", str(src), "--tag", "Review")
    assert res.exit_code == 0, res.stderr
    rid = f"{MONTH}-from-a-file"
    assert (kb.entries / f"{rid}.yaml").read_text() == (
        f"# from the review\nid: {rid}\ntitle: From a file\nkind: success\ndate: {today()}\n"
        f"summary: S.\nlesson: L.\ntags: [review]\nrecorded: {today()}\n"
    )


def test_add_from_stdin(kb) -> None:
    res = kb.run("add", "--from", "-", input="title: Piped\nkind: observation\nsummary: S.\n")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith(f"{MONTH}-piped  ")


def test_add_from_an_invalid_file_names_file_line_and_field(kb, tmp_path: Path) -> None:
    src = tmp_path / "bad.yaml"
    src.write_text("title: T\nkind: mistake\nsummary: S.\nsumary: typo\n")
    res = kb.run("add", "--from", str(src))
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == (
        f"Error: unknown key 'sumary' (did you mean 'summary'?) ({src}:4, field 'sumary')"
    )
    assert entry_files(kb) == []


def test_add_from_a_missing_file_is_an_error(kb, tmp_path: Path) -> None:
    res = kb.run("add", "--from", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2
    assert "cannot read" in res.stderr


# --- --edit -------------------------------------------------------------------------------


def test_add_edit_opens_the_template_with_the_flags_filled(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = use_editor(monkeypatch, tmp_path / "ed", {"replace": FILL[2:]})
    res = kb.run("add", "--edit", "-t", "Moderators were not briefed", "-k", "mistake")
    assert res.exit_code == 0, res.stderr
    seen = (folder / "seen-0.yaml").read_text()
    assert "title: Moderators were not briefed\n" in seen and "kind: mistake\n" in seen
    rid = f"{MONTH}-moderators-were-not-briefed"
    assert res.stdout == f"{rid}  {kb.entries / (rid + '.yaml')}\n"
    assert (kb.entries / f"{rid}.yaml").read_text() == (
        f"id: {rid}\ntitle: Moderators were not briefed\nkind: mistake\ndate: {today()}\n"
        "summary: |\n  Questions piled up in the live chat.\n"
        "lesson: |\n  Brief the moderators before the chat opens.\n"
        f"recorded: {today()}\n"
    )
    # The temporary file is gone.
    assert not Path((folder / "path-0").read_text()).exists()


def test_add_edit_invalid_without_a_terminal_exits_2_and_leaves_no_file(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [*FILL[:1], ["kind: \n", "kind: mistakk\n"], *FILL[2:]]
    folder = use_editor(monkeypatch, tmp_path / "ed", {"replace": bad})
    res = kb.run("add", "--edit")
    assert res.exit_code == 2
    kind_line = (folder / "seen-0.yaml").read_text().splitlines().index("kind: ") + 1
    assert res.stderr.splitlines()[0] == (
        "Error: 'kind' must be one of mistake, success, observation, not 'mistakk' "
        f"(did you mean 'mistake'?) (<editor>:{kind_line}, field 'kind')"
    )
    assert entry_files(kb) == []
    assert not Path((folder / "path-0").read_text()).exists()


def test_add_edit_emptied_file_is_abandoned(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_editor(monkeypatch, tmp_path / "ed", {"write": ""})
    res = kb.run("add", "--edit", "-t", "T")
    assert res.exit_code == 1
    assert res.stderr == "abandoned: nothing was written\n"
    assert entry_files(kb) == []


def test_add_edit_editor_failure_is_an_error(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_editor(monkeypatch, tmp_path / "ed", {"exit": 3})
    res = kb.run("add", "--edit")
    assert res.exit_code == 2
    assert "the editor exited with status 3; nothing was written" in res.stderr
    assert entry_files(kb) == []


# --- similar records --------------------------------------------------------------------------

OLD = {
    "title": "Announcement hashtags that attempted humour fell flat",
    "summary": "Hashtags chosen in advance tried to be funny; the audience did not like them.",
    "lesson": "Try hashtags on outsiders before using them.",
    "date": "2012-09-10",
}
NEW_FLAGS = [
    "-t", "Announcement hashtags attempted humour and fell flat",
    "-k", "mistake",
    "-s", OLD["summary"],
    "-l", OLD["lesson"],
]  # fmt: skip


def test_add_similar_without_a_terminal_writes_unlinked_with_a_warning(kb) -> None:
    kb.add("2012-09-hashtags", **OLD)
    res = kb.run("add", *NEW_FLAGS)
    assert res.exit_code == 0
    rid = res.stdout.split()[0]
    assert "links" not in yaml.safe_load((kb.entries / f"{rid}.yaml").read_text())
    lines = res.stderr.splitlines()
    assert lines[0].startswith(
        f"warning: very similar to 2012-09-hashtags ({OLD['title']}), score "
    )
    assert lines[0].endswith(f"; written unlinked as {rid}")
    # The hint says what each choice does: the record is written already.
    assert lines[1] == (
        f"hint: `lessons link {rid} 2012-09-hashtags --rel repeats` links the record just "
        "written; next time --on-similar link (or --yes) writes it linked, and --on-similar "
        "stop writes nothing"
    )
    # Following the hint links the record written, and writes nothing more.
    follow = kb.run("link", rid, "2012-09-hashtags", "--rel", "repeats")
    assert follow.exit_code == 0, follow.stderr
    assert sorted(p.name for p in kb.entries.glob("*.yaml")) == sorted(
        ["2012-09-hashtags.yaml", f"{rid}.yaml"]
    )


def test_add_similar_with_yes_links_as_repeats(kb) -> None:
    kb.add("2012-09-hashtags", **OLD)
    res = kb.run("add", *NEW_FLAGS, "--yes")
    assert res.exit_code == 0
    rid = res.stdout.split()[0]
    data = yaml.safe_load((kb.entries / f"{rid}.yaml").read_text())
    assert data["links"] == [{"to": "2012-09-hashtags", "rel": "repeats"}]
    assert res.stderr.startswith("linked to 2012-09-hashtags as 'repeats' (very similar, score ")
    assert kb.run("check").exit_code == 0


def test_add_similar_success_links_as_relates_to(kb) -> None:
    kb.add("2012-09-hashtags", **OLD)
    flags = [*NEW_FLAGS]
    flags[3] = "success"
    res = kb.run("add", *flags, "--on-similar", "link")
    data = yaml.safe_load((kb.entries / f"{res.stdout.split()[0]}.yaml").read_text())
    assert data["links"] == [{"to": "2012-09-hashtags", "rel": "relates-to"}]


def test_add_similar_stop_writes_nothing(kb) -> None:
    kb.add("2012-09-hashtags", **OLD)
    res = kb.run("add", *NEW_FLAGS, "--on-similar", "stop")
    assert res.exit_code == 1
    assert res.stderr == "stopped: nothing was written\n"
    assert entry_files(kb) == ["2012-09-hashtags.yaml"]


def test_add_edit_similar_link_keeps_the_editor_text(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.add("2012-09-hashtags", **OLD)
    use_editor(
        monkeypatch,
        tmp_path / "ed",
        {
            "replace": [
                ["summary: |\n  \n", f"summary: |\n  {OLD['summary']}\n"],
                ["lesson: |\n  \n", f"lesson: {OLD['lesson']}  # mine\n"],
            ]
        },
    )
    res = kb.run(
        "add", "--edit", "-k", "mistake", "-y",
        "-t", "Announcement hashtags attempted humour and fell flat",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    text = (kb.entries / f"{res.stdout.split()[0]}.yaml").read_text()
    assert f"lesson: {OLD['lesson']}  # mine\n" in text
    assert "links:\n  - {to: 2012-09-hashtags, rel: repeats}\n" in text


# --- edit ID ------------------------------------------------------------------------------------

HAND = textwrap.dedent(
    """\
    # kept by hand
    id: one
    title: One   # short
    kind: mistake
    summary: S.
    tags: [a, b]
    """
)


def test_edit_replaces_the_file_with_the_valid_edit(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kb.write("one.yaml", HAND)
    folder = use_editor(
        monkeypatch, tmp_path / "ed", {"replace": [["summary: S.", "summary: New."]]}
    )
    res = kb.run("edit", "on")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == f"one  {path}\n"
    assert path.read_text() == HAND.replace("summary: S.", "summary: New.")
    assert (folder / "seen-0.yaml").read_text() == HAND
    assert Path((folder / "path-0").read_text()).name == "one.yaml"


def test_edit_invalid_without_a_terminal_leaves_the_file_alone(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kb.write("one.yaml", HAND)
    use_editor(monkeypatch, tmp_path / "ed", {"replace": [["kind: mistake", "kind: oops"]]})
    res = kb.run("edit", "one")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0].endswith("(entries/one.yaml:4, field 'kind')")
    assert path.read_text() == HAND


def test_edit_without_a_change_says_so(kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb.write("one.yaml", HAND)
    use_editor(monkeypatch, tmp_path / "ed", {})
    res = kb.run("edit", "one")
    assert (res.exit_code, res.stderr) == (0, "no change to one\n")


def test_edit_refuses_when_the_file_changed_during_the_edit(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kb.write("one.yaml", HAND)
    folder = tmp_path / "ed"
    folder.mkdir()
    # This editor saves its buffer, and meanwhile "someone else" changes the record.
    (folder / "editor.py").write_text(
        "import pathlib, sys\n"
        "t = pathlib.Path(sys.argv[-1])\n"
        "t.write_text(t.read_text().replace('summary: S.', 'summary: Mine.'))\n"
        f"o = pathlib.Path({str(path)!r})\n"
        "o.write_text(o.read_text().replace('summary: S.', 'summary: Theirs.'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {folder / 'editor.py'}")
    res = kb.run("edit", "one")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == (
        f"Error: the file changed on disk while you edited it; it was not overwritten ({path})"
    )
    assert "summary: Theirs." in path.read_text()
    kept = list((kb.root / ".lessons" / "recovered").glob("one-*.yaml"))
    assert [p.read_text() for p in kept] == [HAND.replace("summary: S.", "summary: Mine.")]


def test_edit_unknown_id_suggests_the_closest(kb) -> None:
    kb.add("2012-09-hashtags")
    res = kb.run("edit", "2012-09-hashtgs")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == "Error: no record with id '2012-09-hashtgs'"


# --- on a real terminal ---------------------------------------------------------------------------


def spawn(kb, *args: str, env: dict[str, str] | None = None):
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives a real terminal")
    full_env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", **(env or {})}
    full_env.pop("LESSONS_KB", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "lessons", "--kb", str(kb.root), *args],
        env=full_env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )


def test_add_on_a_terminal_asks_for_everything_missing(kb) -> None:
    kb.add("existing", tags=["hashtags", "twitter"])
    child = spawn(kb, "add")
    child.expect("Title")
    child.sendline("Prompted hashtags went wrong")
    child.expect("Kind")
    child.sendline("nonsense")
    child.expect("Choose one of mistake, success, observation")
    child.expect("Kind")
    child.sendline("m")
    child.expect("Date it happened")
    child.sendline("2024-13-40")
    child.expect("Write the date as YYYY-MM-DD")
    child.expect("Date it happened")
    child.sendline("2024-02-03")
    child.expect("Summary")
    child.sendline("We tried jokes.")
    child.sendline("")
    child.expect("Lesson")
    child.sendline("Test jokes first.")
    child.sendline("")
    child.expect("Recommendations")
    child.sendline("Ask outsiders.")
    child.sendline("")
    child.expect("Tags in use: hashtags \\(1\\), twitter \\(1\\)")
    child.expect("Tags")
    child.sendline("hashtag, Brand New")
    child.expect("'hashtag' is a new tag. Use 'hashtags' instead\\?")
    child.sendline("y")
    # The optional fields that follow are skipped with Enter.
    for label in ("Campaign", "Team", "Impact", "Stage"):
        child.expect(label)
        child.sendline("")
    child.expect("2024-02-prompted-hashtags-went-wrong")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    data = yaml.safe_load((kb.entries / "2024-02-prompted-hashtags-went-wrong.yaml").read_text())
    assert {k: data[k] for k in ("kind", "summary", "lesson", "recommendations", "tags")} == {
        "kind": "mistake",
        "summary": "We tried jokes.",
        "lesson": "Test jokes first.",
        "recommendations": ["Ask outsiders."],
        "tags": ["hashtags", "brand-new"],
    }
    assert str(data["date"]) == "2024-02-03"
    assert not {"campaign", "team", "impact", "stage"} & set(data)


def test_add_on_a_terminal_asks_before_linking_a_similar_record(kb) -> None:
    kb.add("2012-09-hashtags", **OLD)
    child = spawn(kb, "add", *NEW_FLAGS, "--tag", "x", "-r", "r")
    child.expect("A very similar record exists")
    child.expect("2012-09-hashtags")
    child.expect("as 'repeats'")
    child.sendline("w")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    new = [p for p in kb.entries.glob("*.yaml") if p.name != "2012-09-hashtags.yaml"]
    assert len(new) == 1 and "links" not in yaml.safe_load(new[0].read_text())


def test_add_edit_on_a_terminal_reopens_the_editor_to_fix_a_mistake(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [*FILL[:1], ["kind: \n", "kind: mistakk\n"], *FILL[2:]]
    folder = use_editor(
        monkeypatch,
        tmp_path / "ed",
        {"replace": bad},
        {"replace": [["kind: mistakk", "kind: mistake"]]},
    )
    child = spawn(kb, "add", "--edit", env={"EDITOR": os.environ["EDITOR"]})
    child.expect("'kind' must be one of")
    child.expect("abandon")
    child.sendline("r")
    child.expect(f"{MONTH}-moderators-were-not-briefed")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    assert (folder / "seen-1.yaml").read_text().startswith("# lessons: line ")
    text = (kb.entries / f"{MONTH}-moderators-were-not-briefed.yaml").read_text()
    assert "kind: mistake\n" in text and "# lessons:" not in text


def test_add_edit_on_a_terminal_abandoned_leaves_no_file(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = use_editor(monkeypatch, tmp_path / "ed", {"replace": [["kind: ", "kind: x"]]})
    child = spawn(kb, "add", "--edit", env={"EDITOR": os.environ["EDITOR"]})
    child.expect("abandon")
    child.sendline("a")
    child.expect("abandoned: nothing was written")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 1
    assert entry_files(kb) == []
    assert not Path((folder / "path-0").read_text()).exists()


def pexpect_eof():
    import pexpect

    return pexpect.EOF


def test_add_on_a_terminal_asks_every_field_the_knowledge_base_uses(kb) -> None:
    """Campaign, team, impact, stage and the custom fields, with the values in use
    offered by Tab (a real terminal: readline completes what was typed)."""
    kb.config(
        """\
        stages: [plan, launch, review]
        fields:
          channels: {type: list}
          evaluation: {type: choice, values: [output, outtake, outcome]}
          budget: {type: number}
        """
    )
    kb.add(
        "existing",
        campaign="Civil Service Reform Plan",
        team="Digital Engagement",
        channels=["twitter", "blog"],
    )
    child = spawn(
        kb, "add", "-t", "Prompted fields", "-k", "mistake", "-l", "L", "--tag", "x",
        "--date", "2024-04-01",
    )  # fmt: skip
    child.expect("Summary")
    child.sendline("What happened.")
    child.sendline("")
    child.expect("Recommendations")
    child.sendline("")
    child.expect_exact("In use: Civil Service Reform Plan")
    child.expect("Campaign")
    child.send("civ\t")  # Tab completes the campaign in use, whatever the case typed
    child.sendline("")
    child.expect_exact("In use: Digital Engagement")
    child.expect("Team")
    child.sendline("digital  engagement")  # case and spacing: the value in use
    child.expect_exact("One of: low, medium, high, critical")
    child.expect("Impact")
    child.sendline("huge")
    child.expect_exact("Choose one of low, medium, high, critical (or Enter to skip).")
    child.expect("Impact")
    child.sendline("h")
    child.expect_exact("One of: plan, launch, review")
    child.expect("Stage")
    child.sendline("")  # skipped
    child.expect_exact("In use: twitter, blog")
    child.expect("channels")
    child.send("tw\t")
    child.sendline(", press")
    child.expect("evaluation")
    child.sendline("outc")
    child.expect("budget")
    child.sendline("twelve")
    child.expect_exact("Write a number (or Enter to skip).")
    child.expect("budget")
    child.sendline("12.5")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0, child.before
    (path,) = [p for p in kb.entries.glob("*.yaml") if p.name != "existing.yaml"]
    data = yaml.safe_load(path.read_text())
    assert {k: data.get(k) for k in ("campaign", "team", "impact", "stage")} == {
        "campaign": "Civil Service Reform Plan",
        "team": "Digital Engagement",
        "impact": "high",
        "stage": None,
    }
    assert (data["channels"], data["evaluation"], data["budget"]) == (
        ["twitter", "press"],
        "outcome",
        12.5,
    )
    listed = kb.run("list", "--campaign", "Civil Service Reform Plan")
    assert len(listed.stdout.splitlines()) == 2
