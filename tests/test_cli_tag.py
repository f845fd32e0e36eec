"""``lessons tag …`` through the real CLI, including concurrent writers as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

HAND_HEAD = textwrap.dedent(
    """\
    # Reviewed on 2024-05-03 -- keep this header.
    id: hand
    title: "Hand-written: quoted title"
    kind: mistake
    date: 2024-05-01
    summary: >
      A folded summary
      over two lines.
    # tags agreed in the review
    tags: [hashtags, humour]
    """
)
# A line longer than any wrapping width: it must come back as it was.
HAND = HAND_HEAD + "links:\n  - {to: other, rel: relates-to, note: " + "a long note " * 10 + "}\n"


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) of each line that differs; the files must have the same number of lines."""
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_tag_add_normalises_and_changes_only_the_tags_line(kb) -> None:
    kb.add("other")
    path = kb.write("hand.yaml", HAND)
    res = kb.run("tag", "add", "hand", "Social Media", "humour")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        "hand: added social-media",
        "hand: already tagged humour",
        "tags: hashtags, humour, social-media",
    ]
    assert diff_lines(HAND, path.read_text()) == [
        ("tags: [hashtags, humour]", "tags: [hashtags, humour, social-media]")
    ]


def test_tag_add_applies_configured_aliases(kb) -> None:
    kb.config("tag_aliases: {tweet: twitter}\n")
    path = kb.add("one", tags=["a"])
    assert kb.run("tag", "add", "one", "Tweet").exit_code == 0
    assert yaml.safe_load(path.read_text())["tags"] == ["a", "twitter"]


def test_tag_add_unknown_id_exits_2(kb) -> None:
    kb.add("one")
    res = kb.run("tag", "add", "nope", "x")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == "Error: no record with id 'nope'"


def test_tag_remove_and_removing_a_missing_tag(kb) -> None:
    kb.add("other")
    path = kb.write("hand.yaml", HAND)
    res = kb.run("tag", "remove", "hand", "humour")
    assert res.exit_code == 0
    assert res.stderr.splitlines() == ["hand: removed humour", "tags: hashtags"]
    assert diff_lines(HAND, path.read_text()) == [("tags: [hashtags, humour]", "tags: [hashtags]")]
    res = kb.run("tag", "remove", "hand", "humour")
    assert res.exit_code == 2
    assert res.stderr.splitlines() == ["Error: hand has no tag humour", "hint: its tags: hashtags"]


def test_tag_list_plain_and_json_most_used_first(kb) -> None:
    kb.add("a", tags=["twitter", "humour"])
    kb.add("b", tags=["twitter"])
    kb.add("c", tags=["apology", "twitter", "humour"], kind="success")
    res = kb.run("tag", "list")
    assert (res.exit_code, res.stdout) == (0, "3\ttwitter\n2\thumour\n1\tapology\n")
    res = kb.run("tag", "list", "--json")
    assert json.loads(res.stdout) == [
        {"tag": "twitter", "count": 3},
        {"tag": "humour", "count": 2},
        {"tag": "apology", "count": 1},
    ]
    res = kb.run("tag", "list", "--kind", "success", "--json")
    assert [t["tag"] for t in json.loads(res.stdout)] == ["apology", "humour", "twitter"]


def test_tag_list_with_no_tags_exits_1(kb) -> None:
    kb.add("a")
    res = kb.run("tag", "list")
    assert (res.exit_code, res.stdout) == (1, "")
    assert res.stderr.startswith("Error: no tags")


def test_tag_rename_lists_exactly_the_changed_files(kb) -> None:
    kb.add("other")
    hand = kb.write("hand.yaml", HAND)
    kb.add("b", tags=["hashtags", "x"])
    kb.add("c", tags=["x"])
    res = kb.run("tag", "rename", "hashtags", "hash-tags")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "entries/b.yaml\nentries/hand.yaml\n"
    assert res.stderr == "renamed hashtags to hash-tags: 2 files changed\n"
    assert diff_lines(HAND, hand.read_text()) == [
        ("tags: [hashtags, humour]", "tags: [hash-tags, humour]")
    ]
    assert kb.run("check").exit_code == 0


def test_tag_merge_into_one(kb) -> None:
    kb.add("a", tags=["hashtag-x", "hashtags"])
    kb.add("b", tags=["hash-tags"])
    kb.add("c", tags=["other"])
    res = kb.run("tag", "merge", "hashtag-x", "hash-tags", "--into", "hashtags")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "entries/a.yaml\nentries/b.yaml\n"
    assert res.stderr == "merged hashtag-x, hash-tags into hashtags: 2 files changed\n"
    listed = json.loads(kb.run("tag", "list", "--json").stdout)
    assert listed == [{"tag": "hashtags", "count": 2}, {"tag": "other", "count": 1}]


def test_tag_merge_of_an_unknown_tag_changes_nothing(kb) -> None:
    path = kb.add("a", tags=["hashtags"])
    before = path.read_text()
    res = kb.run("tag", "merge", "hashtgs", "--into", "x")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == (
        "Error: no record has the tag 'hashtgs' (did you mean 'hashtags'?)"
    )
    assert res.stdout == "" and path.read_text() == before


def test_tag_rename_failing_half_way_says_which_files_remain(kb) -> None:
    from lessons.entries import MAX_BYTES

    kb.add("a", tags=["old"])
    # b is valid but so close to the size limit that a longer tag makes it too large:
    # its edit is refused, half way through the rename.
    head = "id: b\ntitle: B\nkind: mistake\ntags: [old]\nsummary: "
    kb.write("b.yaml", head + "x" * (MAX_BYTES - len(head) - 4) + "\n")
    kb.add("c", tags=["old"])
    res = kb.run("tag", "rename", "old", "a-much-longer-name")
    assert res.exit_code == 2
    assert res.stdout == "entries/a.yaml\n"
    lines = res.stderr.splitlines()
    assert lines[:3] == [
        "changed 1 file(s) (listed above); not yet changed:",
        "  entries/b.yaml",
        "  entries/c.yaml",
    ]
    assert lines[3].startswith("Error: stopped at entries/b.yaml: the change would make the record")
    assert lines[4] == (
        "hint: the changed files are complete; fix the problem and run the command again to finish"
    )
    assert yaml.safe_load((kb.entries / "a.yaml").read_text())["tags"] == ["a-much-longer-name"]
    assert yaml.safe_load((kb.entries / "b.yaml").read_text())["tags"] == ["old"]
    assert yaml.safe_load((kb.entries / "c.yaml").read_text())["tags"] == ["old"]


def test_tag_suggest_plain_and_json(kb) -> None:
    kb.add("a", tags=["hashtags", "humour"])
    kb.add("b", tags=["hashtags", "humour"])
    kb.add("c", tags=["hash-tags", "humor"])
    res = kb.run("tag", "suggest")
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [
        "hashtags (2), hash-tags (1)  [same word, 100]",
        "  lessons tag merge hash-tags --into hashtags",
        "humour (2), humor (1)  [similar spelling, 91]",
        "  lessons tag merge humor --into humour",
    ]
    data = json.loads(kb.run("tag", "suggest", "--json").stdout)
    assert [(g["into"], g["merge"], g["reason"]) for g in data] == [
        ("hashtags", ["hash-tags"], "same word"),
        ("humour", ["humor"], "similar spelling"),
    ]


def test_tag_suggest_with_nothing_to_merge(kb) -> None:
    kb.add("a", tags=["twitter"])
    res = kb.run("tag", "suggest")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "no near-duplicate tags\n")
    assert json.loads(kb.run("tag", "suggest", "--json").stdout) == []


def test_check_warns_about_near_duplicate_and_unnormalised_tags(kb) -> None:
    kb.add("a", tags=["hashtags"])
    kb.add("b", tags=["hash-tags"])
    kb.write(
        "c.yaml", "id: c\ntitle: T\nkind: mistake\nsummary: S.\nlesson: L.\ntags: [Hash_Tags]\n"
    )
    res = kb.run("check", "--json")
    assert res.exit_code == 0
    warnings = [(w["path"], w["message"]) for w in json.loads(res.stdout)["warnings"]]
    assert ("entries/c.yaml", "tag 'Hash_Tags' is not normalised: write it as 'hash-tags'") in (
        warnings
    )
    assert (
        "entries/a.yaml",
        "tag 'hashtags' is another spelling of 'hash-tags' (2 records): "
        "`lessons tag merge hashtags --into hash-tags`",
    ) in warnings


def test_tag_without_a_subcommand_shows_help(kb) -> None:
    res = kb.run("tag")
    shown = res.stdout + res.stderr
    assert "Usage: lessons tag" in shown and "suggest" in shown


def test_two_processes_tagging_one_record_lose_nothing(kb) -> None:
    path = kb.write("hand.yaml", HAND_HEAD)
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LESSONS_KB", None)
    base = [sys.executable, "-m", "lessons", "--kb", str(kb.root), "tag", "add", "hand"]
    # Index once, so both writers start from the same state.
    assert kb.run("index").exit_code == 0
    for round_ in range(5):
        a, b = f"first-{round_}", f"second-{round_}"
        procs = [
            subprocess.Popen([*base, tag], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for tag in (a, b)
        ]
        outcomes = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
        tags = yaml.safe_load(path.read_text())["tags"]
        for (code, err), tag in zip(outcomes, (a, b), strict=True):
            if code == 0:
                assert tag in tags, err
            else:
                # The only acceptable failure: told to retry, and nothing half-written.
                assert code == 2 and "again" in err, err
                assert tag not in tags
    assert yaml.safe_load(path.read_text())["tags"][:2] == ["hashtags", "humour"]
    assert kb.run("check").exit_code == 0


def test_rename_across_the_repo_entries_changes_only_their_tags_lines(make_kb) -> None:
    import shutil

    repo = Path(__file__).resolve().parent.parent
    kb = make_kb("repo-copy")
    for src in (repo / "entries").glob("*.yaml"):
        shutil.copy(src, kb.entries / src.name)
    shutil.copy(repo / "lessons.yaml", kb.root / "lessons.yaml")
    before = {p.name: p.read_text() for p in kb.entries.glob("*.yaml")}
    res = kb.run("tag", "rename", "twitter", "twitter-x")
    assert res.exit_code == 0, res.stderr
    changed = res.stdout.split()
    assert changed
    for name, text in before.items():
        after = (kb.entries / name).read_text()
        if f"entries/{name}" not in changed:
            assert after == text
            continue
        [(old, new)] = diff_lines(text, after)
        assert old.startswith("tags: [") and new == old.replace("twitter", "twitter-x")
