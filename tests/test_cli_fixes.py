"""Consistency fixes found by trying the CLI: init in the wrong place, dates that are no
dates or lie in the future, repeats links that loop or point forward, and add's
similar-record step when the similar record is a copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import KB

# --- init --------------------------------------------------------------------------


def test_init_on_a_file_exits_2_and_writes_nothing(kb: KB, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    res = kb.run("init", str(target))
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: cannot make a knowledge base at {target}: it is a file, not a folder\n"
        "hint: give a folder (it is created when missing): `lessons init my-kb`\n"
    )
    assert target.read_text() == "mine\n"


def test_init_under_a_file_exits_2(kb: KB, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    res = kb.run("init", str(target / "kb"))
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"Error: cannot make a knowledge base at {target / 'kb'}: it is inside {target}, "
        "which is a file, not a folder\n"
    )


@pytest.mark.parametrize("where", ["entries/nested", "entries/team/nested", "entries"])
def test_init_inside_another_knowledge_bases_entries_exits_2(kb: KB, where: str) -> None:
    kb.config("name: outer\n")
    kb.add("one")
    target = kb.root / where
    res = kb.run("init", str(target))
    assert res.exit_code == 2
    entries = (kb.root / "entries").resolve()
    assert res.stderr == (
        f"Error: cannot make a knowledge base at {target}: it is inside {entries}, the records "
        f"folder of the knowledge base at {kb.root.resolve()}, whose lessons.yaml would be read"
        " as a broken record\nhint: make it outside that entries folder\n"
    )
    assert not (target / "lessons.yaml").exists()
    assert kb.run("check").exit_code == 0


def test_init_inside_a_knowledge_base_elsewhere_says_so(kb: KB) -> None:
    kb.config("name: outer\n")
    target = kb.root / "docs" / "team-kb"
    res = kb.run("init", str(target))
    assert res.exit_code == 0
    assert (target / "lessons.yaml").is_file()
    assert res.stderr.splitlines()[-1] == (
        f"note: {target} is inside the knowledge base at {kb.root.resolve()}; commands run in "
        f"{target} now use the new one (--kb chooses)"
    )


# --- dates -------------------------------------------------------------------------


BAD_DATE = """\
id: bad-date
title: A record whose date is no date
kind: mistake
# the month is 13
date: 2024-13-45
summary: s
lesson: l
"""


def test_check_names_an_invalid_date_with_its_line_and_field(kb: KB) -> None:
    kb.write("bad-date.yaml", BAD_DATE)
    res = kb.run("check", "--json")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["errors"] == [
        {
            "path": "entries/bad-date.yaml",
            "line": 5,
            "field": "date",
            "message": "'date' must be a date YYYY-MM-DD, not '2024-13-45'",
        }
    ]
    plain = kb.run("check")
    assert plain.stderr.splitlines()[0] == (
        "entries/bad-date.yaml:5: error [date]: 'date' must be a date YYYY-MM-DD, not '2024-13-45'"
    )


def test_an_impossible_due_date_is_named_too(kb: KB) -> None:
    kb.write(
        "due.yaml",
        BAD_DATE.replace("date: 2024-13-45", "date: 2024-01-01").replace("bad-date", "due")
        + "actions:\n  - {do: Fix it, due: 2024-02-30}\n",
    )
    errors = json.loads(kb.run("check", "--json").stdout)["errors"]
    assert [(e["line"], e["field"], e["message"]) for e in errors] == [
        (9, "actions", "'due' must be a date YYYY-MM-DD, not '2024-02-30'")
    ]


def test_add_with_a_future_date_warns_and_check_names_it(kb: KB) -> None:
    res = kb.run(
        "add", "-t", "Launch that has not happened", "-k", "observation", "-s", "s", "-l", "l",
        "--date", "2999-01-01",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.stderr.startswith("warning: 'date' 2999-01-01 is in the future (today is ")
    assert res.stderr.splitlines()[0].endswith(") [date]")
    rid = res.stdout.split()[0]
    warnings = json.loads(kb.run("check", "--json").stdout)["warnings"]
    assert [(w["path"], w["field"], w["line"]) for w in warnings] == [
        (f"entries/{rid}.yaml", "date", 4)
    ]
    assert warnings[0]["message"].startswith("'date' 2999-01-01 is in the future")
    assert kb.run("check").exit_code == 0


# --- link --rel repeats ------------------------------------------------------------


def _mistakes(kb: KB) -> None:
    kb.add("a", date="2024-01-01")
    kb.add("b", date="2024-02-01")
    kb.add("c", date="2024-03-01")


def test_link_repeats_forward_in_time_warns_at_once(kb: KB) -> None:
    _mistakes(kb)
    res = kb.run("link", "a", "c", "--rel", "repeats")
    assert res.exit_code == 0
    assert res.stderr.splitlines()[1:] == [
        "warning: 'repeats' points forward in time: a (2024-01-01) is older than c "
        "(2024-03-01); the newer record should repeat the older one "
        "(`lessons unlink a c` then `lessons link c a --rel repeats`)"
    ]


def test_link_repeats_the_right_way_warns_nothing(kb: KB) -> None:
    _mistakes(kb)
    res = kb.run("link", "c", "a", "--rel", "repeats")
    assert res.exit_code == 0
    assert res.stderr == "linked c --repeats--> a  (entries/c.yaml)\n"


def test_link_repeats_closing_a_circle_warns_at_once(kb: KB) -> None:
    kb.add("a", date="2024-01-01", links=[{"to": "b", "rel": "repeats"}])
    kb.add("b", date="2024-01-01", links=[{"to": "c", "rel": "repeats"}])
    kb.add("c", date="2024-01-01")
    res = kb.run("link", "c", "a", "--rel", "repeats")
    assert res.exit_code == 0
    assert res.stderr.splitlines()[1:] == [
        "warning: repeats links now go round in a circle: c -> a -> b -> c"
    ]


def test_link_supersedes_closing_a_circle_is_refused(kb: KB) -> None:
    kb.add("a", links=[{"to": "b", "rel": "supersedes"}])
    kb.add("b")
    before = (kb.entries / "b.yaml").read_text()
    res = kb.run("link", "b", "a", "--rel", "supersedes")
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: 'b' cannot supersede 'a': supersedes links would go round in a circle: "
        "b -> a -> b\n"
    )
    assert (kb.entries / "b.yaml").read_text() == before


# --- add --on-similar with a copy ----------------------------------------------------

COPY = [
    "-t", "Hashtags chosen in advance tried to be funny",
    "-k", "mistake",
    "-s", "The hashtags tried humour and the audience did not like it.",
    "-l", "Try hashtags on outsiders first.",
]  # fmt: skip


def test_add_link_never_links_to_a_copy_of_itself(kb: KB) -> None:
    first = kb.run("add", *COPY)
    assert first.exit_code == 0
    rid = first.stdout.split()[0]
    res = kb.run("add", *COPY, "--on-similar", "link")
    assert res.exit_code == 1
    assert res.stderr == (
        f"an identical record exists: {rid} ({COPY[1]}); not linked to a copy\n"
        f"hint: `lessons edit {rid}` adds to it; --on-similar write writes a new one anyway\n"
        "stopped: nothing was written\n"
    )
    assert [p.name for p in kb.entries.glob("*.yaml")] == [f"{rid}.yaml"]


def test_add_copy_without_a_terminal_says_how_to_remove_it(kb: KB) -> None:
    rid = kb.run("add", *COPY).stdout.split()[0]
    res = kb.run("add", *COPY)
    assert res.exit_code == 0
    new = res.stdout.split()[0]
    assert res.stderr.splitlines() == [
        f"warning: identical to {rid} ({COPY[1]}), score 100; written unlinked as {new}",
        f"hint: if it is the same lesson, `lessons rm {new} --yes` removes the copy just "
        "written; --on-similar stop writes nothing next time",
    ]
    assert kb.run("rm", new, "--yes").exit_code == 0
    assert [p.name for p in kb.entries.glob("*.yaml")] == [f"{rid}.yaml"]


def test_add_link_to_a_similar_record_links_the_existing_one(kb: KB) -> None:
    rid = kb.run("add", *COPY, "--date", "2024-01-01").stdout.split()[0]
    again = [*COPY]
    again[1] = "Hashtags chosen in advance tried humour again"
    res = kb.run("add", *again, "--on-similar", "link")
    assert res.exit_code == 0, res.stderr
    new = res.stdout.split()[0]
    assert new != rid
    assert yaml.safe_load((kb.entries / f"{new}.yaml").read_text())["links"] == [
        {"to": rid, "rel": "repeats"}
    ]


# --- tag suggest with word frequency ---------------------------------------------------


def _tagged(kb: KB, *tag_lists: list[str]) -> None:
    for i, tags in enumerate(tag_lists):
        kb.add(f"r{i}", tags=tags)


def test_tag_suggest_merges_a_common_misspelling_into_the_right_spelling(kb: KB) -> None:
    pytest.importorskip("wordfreq")
    # "recieve" is used three times, "receive" once: counts alone would keep the misspelling.
    _tagged(kb, ["recieve"], ["recieve"], ["recieve"], ["receive"])
    res = kb.run("tag", "suggest")
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [
        "receive (1), recieve (3)  [misspelling, 86; 'receive' is the common spelling]",
        "  lessons tag merge recieve --into receive",
    ]
    (group,) = json.loads(kb.run("tag", "suggest", "--json").stdout)
    assert (group["into"], group["merge"], group["why"]) == (
        "receive",
        ["recieve"],
        "common spelling",
    )
    assert group["frequency"]["receive"] - group["frequency"]["recieve"] >= 1.0


def test_tag_suggest_keeps_the_most_used_of_two_real_spellings(kb: KB) -> None:
    pytest.importorskip("wordfreq")
    # humour and humor are both words: the knowledge base's own use decides.
    _tagged(kb, ["humour"], ["humour"], ["humor"])
    (group,) = json.loads(kb.run("tag", "suggest", "--json").stdout)
    assert (group["into"], group["merge"], group["why"]) == ("humour", ["humor"], "most used")


def test_tag_suggest_prefers_the_common_word_over_a_rarer_variant_used_more(kb: KB) -> None:
    pytest.importorskip("wordfreq")
    _tagged(kb, ["deploymnet"], ["deploymnet"], ["deployment"])
    (group,) = json.loads(kb.run("tag", "suggest", "--json").stdout)
    assert (group["into"], group["merge"], group["why"]) == (
        "deployment",
        ["deploymnet"],
        "common spelling",
    )
    # The merge it proposes runs and leaves one tag.
    merged = kb.run("tag", "merge", "deploymnet", "--into", "deployment")
    assert merged.exit_code == 0, merged.stderr
    assert json.loads(kb.run("tag", "list", "--json").stdout) == [{"tag": "deployment", "count": 3}]
