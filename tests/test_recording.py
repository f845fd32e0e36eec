"""The recording library: flags to a record, ids and paths, the template, the editor loop
(with a real editor process), similar records, and safe whole-file edits."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import EDITOR_SCRIPT

from lessons.errors import ConflictError, NotFoundError, RecordError, UsageError
from lessons.kb import KnowledgeBase
from lessons.model import today
from lessons.recording import (
    ERROR_MARK,
    EditorError,
    check_edit,
    edit_until_valid,
    editor_command,
    link_for,
    missing,
    open_record,
    parse_action,
    parse_fields,
    parse_link,
    prepare,
    raw_from_flags,
    run_editor,
    save_edit,
    similar_records,
    template,
    write,
)


def make_editor(folder: Path, *steps: dict) -> str:
    """A real editor program: on its n-th run it applies ``steps[n]`` to the file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "editor.py").write_text(EDITOR_SCRIPT)
    (folder / "steps.json").write_text(json.dumps(list(steps)))
    return f"{sys.executable} {folder / 'editor.py'}"


def open_kb(kb) -> KnowledgeBase:
    k = KnowledgeBase.open(str(kb.root))
    k.sync()
    return k


FILLED = [
    ["title: \n", "title: Moderators were not briefed\n"],
    ["kind: \n", "kind: mistake\n"],
    ["summary: |\n  \n", "summary: |\n  Questions piled up.\n  Nobody answered.\n"],
    ["lesson: |\n  \n", "lesson: Brief the moderators first.  # my note\n# a comment of mine\n"],
]


# --- flags -------------------------------------------------------------------------------


def test_parse_link_takes_rel_and_id() -> None:
    assert parse_link("repeats:2012-09-hash") == ("repeats", "2012-09-hash")


def test_parse_link_unknown_relation_suggests_one() -> None:
    with pytest.raises(UsageError, match=r"unknown relation 'repeat' .*did you mean 'repeats'"):
        parse_link("repeat:x")


def test_parse_link_without_a_colon_is_an_error() -> None:
    with pytest.raises(UsageError, match="--link takes REL:ID"):
        parse_link("2012-09-x")


def test_parse_action_reads_owner_due_and_status() -> None:
    assert parse_action("Fix the checklist; owner=Ann ;due=2026-12-01;status=done") == {
        "do": "Fix the checklist",
        "owner": "Ann",
        "due": "2026-12-01",
        "status": "done",
    }
    assert parse_action("Use a; in the text") == {"do": "Use a; in the text"}


def test_parse_action_bad_due_date_is_an_error() -> None:
    with pytest.raises(UsageError, match="due= must be a date"):
        parse_action("Do it;due=next week")


def test_parse_fields_types_values_as_configured(kb) -> None:
    kb.config("fields:\n  channels: {type: list}\n  reach: {type: number}\n")
    schema = KnowledgeBase.open(str(kb.root)).config.schema
    assert parse_fields(["channels=twitter;facebook", "channels=blog", "reach=1200"], schema) == {
        "channels": ["twitter", "facebook", "blog"],
        "reach": 1200,
    }
    with pytest.raises(UsageError, match="unknown field 'chanels' \\(did you mean 'channels'"):
        parse_fields(["chanels=x"], schema)
    with pytest.raises(UsageError, match="'title' is a standard key"):
        parse_fields(["title=x"], schema)


def test_raw_from_flags_resolves_link_prefixes_and_normalises_tags(kb) -> None:
    kb.add("2012-09-hashtags-attempted-humour")
    kb.config("tag_aliases: {tweet: twitter}\n")
    raw = raw_from_flags(
        open_kb(kb),
        {"title": "T", "tags": ["Tweet", "Live Chat"], "lesson": None},
        links=["repeats:2012-09-hash"],
        public=True,
        draft=True,
    )
    assert raw == {
        "title": "T",
        "tags": ["twitter", "live-chat"],
        "links": [{"to": "2012-09-hashtags-attempted-humour", "rel": "repeats"}],
        "visibility": "public",
        "status": "draft",
    }


def test_raw_from_flags_unknown_link_target_names_it(kb) -> None:
    kb.add("a")
    with pytest.raises(NotFoundError, match="no record with id 'zzz'"):
        raw_from_flags(open_kb(kb), {}, links=["relates-to:zzz"])


def test_missing_lists_required_fields_in_order() -> None:
    assert missing({"title": "T", "summary": ""}) == ["kind", "summary"]
    assert missing({"title": "T", "kind": "mistake", "summary": "S"}) == []


# --- prepare: id, path, recorded ---------------------------------------------------------


def test_prepare_makes_the_id_from_date_and_title_and_sets_recorded(kb) -> None:
    draft = prepare(
        open_kb(kb),
        {"title": "Hashtags fell flat!", "kind": "mistake", "summary": "S.", "date": "2024-03-05"},
    )
    assert draft.id == "2024-03-hashtags-fell-flat"
    assert draft.path == kb.entries / "2024-03-hashtags-fell-flat.yaml"
    assert draft.record["recorded"] == today()
    assert [w.field for w in draft.warnings] == ["lesson"]


def test_prepare_defaults_the_date_to_today(kb) -> None:
    draft = prepare(open_kb(kb), {"title": "T", "kind": "success", "summary": "S."})
    assert draft.record["date"] == today()
    assert draft.id == f"{today()[:7]}-t"


def test_prepare_makes_a_unique_id_against_records_and_files(kb) -> None:
    kb.add("2024-03-same-title")
    kb.write("sub/2024-03-same-title-2.yaml", "not: a valid record\n")
    draft = prepare(
        open_kb(kb),
        {"title": "Same title", "kind": "mistake", "summary": "S.", "date": "2024-03-01"},
    )
    assert draft.id == "2024-03-same-title-3"


def test_prepare_writes_to_the_configured_folder(kb) -> None:
    kb.config("add_folder: new\n")
    draft = prepare(open_kb(kb), {"title": "T", "kind": "mistake", "summary": "S."})
    assert draft.path == kb.entries / "new" / f"{draft.id}.yaml"
    write(open_kb(kb), draft)
    assert draft.path.read_text() == draft.text


def test_prepare_refuses_a_forced_id_that_is_taken(kb) -> None:
    kb.add("taken")
    with pytest.raises(RecordError, match="the id 'taken' is taken") as info:
        prepare(open_kb(kb), {"id": "taken", "title": "T", "kind": "mistake", "summary": "S."})
    assert info.value.field == "id"


def test_prepare_names_the_field_of_a_bad_value(kb) -> None:
    with pytest.raises(
        RecordError, match=r"'kind' must be one of .*did you mean 'mistake'"
    ) as info:
        prepare(open_kb(kb), {"title": "T", "kind": "mistak", "summary": "S."})
    assert info.value.field == "kind"
    assert info.value.hint == "check --kind"


def test_prepare_from_text_keeps_the_writers_comments_and_layout(kb) -> None:
    text = textwrap.dedent(
        """\
        # my own header
        title: From a file
        kind: success
        summary: >
          Folded
          text.
        why:   # not sure yet
        tags: [a, b]
        """
    )
    draft = prepare(open_kb(kb), text=text, shown="x.yaml")
    assert draft.text == textwrap.dedent(
        f"""\
        # my own header
        id: {today()[:7]}-from-a-file
        title: From a file
        kind: success
        date: {today()}
        summary: >
          Folded
          text.
        why:   # not sure yet
        tags: [a, b]
        recorded: {today()}
        """
    )


def test_prepare_from_text_reports_the_line_of_an_error(kb) -> None:
    text = "title: T\nkind: mistake\nsummary: S.\nimpact: huge\n"
    with pytest.raises(RecordError) as info:
        prepare(open_kb(kb), text=text, shown="in.yaml")
    exc = info.value
    assert (exc.path, exc.line, exc.field) == ("in.yaml", 4, "impact")


def test_prepare_from_text_refuses_a_link_to_a_missing_record(kb) -> None:
    kb.add("there")
    text = "title: T\nkind: mistake\nsummary: S.\nlinks:\n  - {to: thre, rel: relates-to}\n"
    with pytest.raises(RecordError, match="points at 'thre', which does not exist") as info:
        prepare(open_kb(kb), text=text, shown="in.yaml")
    assert info.value.line == 5


# --- the template ------------------------------------------------------------------------


def test_template_parses_and_holds_the_flags(kb) -> None:
    kb.config("fields:\n  channels: {type: list}\n")
    k = open_kb(kb)
    raw = {"title": "Colon: in title", "kind": "mistake", "tags": ["a", "b"], "date": "2024-01-02"}
    text, comments = template(raw, k.config.schema, [("twitter", 3)])
    data = yaml.safe_load(text)
    assert data["title"] == "Colon: in title"
    assert data["kind"] == "mistake"
    assert data["tags"] == ["a", "b"]
    assert str(data["date"]) == "2024-01-02"
    assert "channels" in data and "recorded" not in data
    assert "# Lower case, hyphens for spaces, e.g. [twitter, live-chat]. In use: twitter (3)." in (
        text.splitlines()
    )
    assert all(c in text.splitlines() for c in comments)


def test_template_filled_in_becomes_a_record_without_the_templates_comments(kb) -> None:
    k = open_kb(kb)
    text, comments = template({"date": "2024-01-02"}, k.config.schema)
    for old, new in FILLED:
        text = text.replace(old, new, 1)
    draft = prepare(k, text=text, shown="<editor>", strip_lines=comments)
    assert draft.text == textwrap.dedent(
        f"""\
        id: 2024-01-moderators-were-not-briefed
        title: Moderators were not briefed
        kind: mistake
        date: 2024-01-02
        summary: |
          Questions piled up.
          Nobody answered.
        lesson: Brief the moderators first.  # my note
        recorded: {today()}
        # a comment of mine
        """
    )


def test_template_left_empty_names_the_missing_title_and_its_line(kb) -> None:
    k = open_kb(kb)
    text, comments = template({}, k.config.schema)
    with pytest.raises(RecordError, match="missing required key 'title'") as info:
        prepare(k, text=text, shown="<editor>", strip_lines=comments)
    assert text.splitlines()[info.value.line - 1] == "title: "


# --- the editor loop, with a real editor process -----------------------------------------


def test_editor_command_prefers_editor_then_visual_then_vi() -> None:
    assert editor_command({"EDITOR": "nano -w", "VISUAL": "code"}) == ["nano", "-w"]
    assert editor_command({"VISUAL": "code --wait"}) == ["code", "--wait"]
    assert Path(editor_command({})[0]).name in ("vi", "nano")


def test_run_editor_returns_the_text_and_removes_its_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ed"
    monkeypatch.setenv("EDITOR", make_editor(folder, {"replace": [["a: 1", "a: 2"]]}))
    assert run_editor("a: 1\n") == "a: 2\n"
    assert not Path((folder / "path-0").read_text()).exists()


def test_run_editor_failing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", make_editor(tmp_path / "ed", {"exit": 1}))
    with pytest.raises(EditorError, match="the editor exited with status 1"):
        run_editor("a: 1\n")


def test_edit_loop_reopens_with_the_error_on_top_and_accepts_the_fix(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ed"
    mistake = [*FILLED[:1], ["kind: \n", "kind: mistakk\n"], *FILLED[2:]]
    monkeypatch.setenv(
        "EDITOR",
        make_editor(
            folder, {"replace": mistake}, {"replace": [["kind: mistakk", "kind: mistake"]]}
        ),
    )
    k = open_kb(kb)
    text, comments = template({"date": "2024-01-02"}, k.config.schema)
    errors: list[str] = []

    def retry(exc: Exception) -> bool:
        errors.append(str(exc))
        return True

    draft = edit_until_valid(
        text, lambda t: prepare(k, text=t, shown="<editor>", strip_lines=comments), retry=retry
    )
    assert draft is not None and draft.record["kind"] == "mistake"
    assert len(errors) == 1 and "'kind' must be one of" in errors[0]
    reopened = (folder / "seen-1.yaml").read_text().splitlines()
    assert reopened[0].startswith(ERROR_MARK + "line ")
    line = int(reopened[0][len(ERROR_MARK) + 5 :].split(",")[0])
    assert reopened[line - 1] == "kind: mistakk"
    assert ERROR_MARK not in draft.text


def test_edit_loop_abandoned_after_an_error_returns_none_and_writes_nothing(
    kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", make_editor(tmp_path / "ed", {"replace": [["kind: ", "kind: x"]]}))
    k = open_kb(kb)
    text, comments = template({}, k.config.schema)
    result = edit_until_valid(
        text, lambda t: prepare(k, text=t, strip_lines=comments), retry=lambda exc: False
    )
    assert result is None
    assert list(kb.entries.iterdir()) == []


def test_edit_loop_empty_file_is_abandoned_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", make_editor(tmp_path / "ed", {"write": "# only a comment\n\n"}))
    calls: list[str] = []
    result = edit_until_valid("a: 1\n", calls.append, retry=lambda exc: True)
    assert result is None and calls == []


# --- similar records ---------------------------------------------------------------------


def test_similar_records_finds_a_near_copy_and_not_a_different_record(kb) -> None:
    kb.add(
        "2012-09-hashtags",
        title="Announcement hashtags that attempted humour fell flat",
        summary="Hashtags chosen in advance tried to be funny; the audience did not like them.",
        lesson="Try hashtags on outsiders before using them.",
        date="2012-09-10",
    )
    kb.add("other", title="Survey run in school lessons reached many pupils", kind="success")
    k = open_kb(kb)
    new = {
        "title": "Announcement hashtags attempted humour and fell flat",
        "kind": "mistake",
        "date": "2024-01-01",
        "summary": "Hashtags chosen in advance tried to be funny; the audience did not like them.",
        "lesson": "Try hashtags on outsiders before using them.",
    }
    found = similar_records(k, new)
    assert [s.id for s in found] == ["2012-09-hashtags"]
    assert found[0].score >= 80
    assert link_for(new, found[0]) == "repeats"
    assert link_for({**new, "kind": "observation"}, found[0]) == "relates-to"
    assert link_for({**new, "date": "2001-01-01"}, found[0]) == "relates-to"
    assert similar_records(k, {"title": "Something else entirely", "summary": "x"}) == []


# --- edit ID: whole-file replacement -------------------------------------------------------


def test_save_edit_replaces_the_file_with_a_valid_record(kb) -> None:
    kb.add("one")
    k = open_kb(kb)
    opened = open_record(k, "one")
    new = opened.text.replace("mistake", "success")
    assert check_edit(k, opened, new) == []
    save_edit(k, opened, new)
    assert (kb.entries / "one.yaml").read_text() == new


def test_check_edit_refuses_an_invalid_record_with_its_line(kb) -> None:
    kb.add("one")
    k = open_kb(kb)
    opened = open_record(k, "one")
    bad = opened.text.replace("kind: mistake", "kind: mistakes")
    with pytest.raises(RecordError) as info:
        check_edit(k, opened, bad)
    assert (info.value.path, info.value.line, info.value.field) == ("entries/one.yaml", 3, "kind")


def test_check_edit_refuses_a_new_link_to_a_missing_record(kb) -> None:
    kb.add("one")
    k = open_kb(kb)
    opened = open_record(k, "one")
    with pytest.raises(RecordError, match="points at 'nowhere', which does not exist"):
        check_edit(k, opened, opened.text + "links:\n- {to: nowhere, rel: relates-to}\n")


def test_save_edit_refuses_when_the_file_changed_meanwhile_and_keeps_the_edit(kb) -> None:
    path = kb.add("one")
    k = open_kb(kb)
    opened = open_record(k, "one")
    path.write_text(opened.text.replace("Title of one", "Changed elsewhere"))
    mine = opened.text.replace("Title of one", "My edit")
    with pytest.raises(ConflictError, match="changed on disk while you edited") as info:
        save_edit(k, opened, mine)
    assert "Changed elsewhere" in path.read_text()
    kept = list((kb.root / ".lessons" / "recovered").glob("one-*.yaml"))
    assert len(kept) == 1 and kept[0].read_text() == mine
    assert str(kept[0]) in (info.value.hint or "")


def test_ids_stay_unique_across_writes_by_one_process(kb) -> None:
    base = open_kb(kb)
    fields = {"title": "Same title", "kind": "mistake", "summary": "S.", "date": "2024-03-01"}
    first = prepare(base, dict(fields))
    write(base, first)
    second = prepare(base, dict(fields))  # no sync in between: taken_ids must see the file
    write(base, second)
    assert (first.id, second.id) == ("2024-03-same-title", "2024-03-same-title-2")
