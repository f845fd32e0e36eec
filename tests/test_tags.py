"""The tag library: normalising, editing one record without losing a word, rename/merge
across records (and stopping cleanly half way), near-duplicate groups."""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

import pytest

from lessons.errors import NotFoundError, UsageError
from lessons.kb import KnowledgeBase
from lessons.tags import (
    PartialMergeError,
    add_tags,
    closest_tags,
    complete_tag,
    group_tags,
    merge_tags,
    normalise_tags,
    remove_tags,
    rename_tag,
    suggest,
    word_key,
)

REPO = Path(__file__).resolve().parent.parent

COMMENTED = """\
# Written by hand after the launch review.
id: hand-written
title: "Quoted: the title stays quoted"
kind: 'mistake'
date: 2024-05-01   # the day of the launch
summary: >
  Folded text that
  spans two lines.
lesson: |
  Literal text.
  Two lines.
# the tags, as agreed in the review
tags: [twitter, launch]   # keep these short
# links below
links:
  - {to: other, rel: relates-to, note: a note long enough to go past the width of the dumper}
status: final
"""


def open_kb(kb) -> KnowledgeBase:
    k = KnowledgeBase.open(str(kb.root))
    k.sync()
    return k


def changed_lines(before: str, after: str) -> list[str]:
    """The -/+ lines of a diff."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# --- normalising ---------------------------------------------------------------------


def test_normalise_tags_lower_cases_hyphenates_and_applies_aliases() -> None:
    aliases = {"hashtag": "hashtags"}
    assert normalise_tags(["Hash_Tags", "Social Media", "hashtag", "#Twitter"], aliases) == [
        "hash-tags",
        "social-media",
        "hashtags",
        "twitter",
    ]


def test_normalise_tags_splits_commas_and_drops_repeats() -> None:
    assert normalise_tags(["a, b", "B", "a"]) == ["a", "b"]


def test_normalise_tags_keeps_cyrillic_japanese_and_accented_tags() -> None:
    assert normalise_tags(["Підрядник, Ризики", "日本語", "Ação", "acao"]) == [
        "підрядник",
        "ризики",
        "日本語",
        "ação",
        "acao",
    ]


def test_word_key_of_a_cyrillic_tag_keeps_its_letters() -> None:
    # The key used to drop every non-ASCII letter, so all Cyrillic tags were "the same word".
    assert word_key("Підрядники") == "підрядники"
    assert word_key("підрядник") != word_key("ризик")


def test_normalise_tags_refuses_a_tag_without_letters() -> None:
    with pytest.raises(UsageError, match="tag '###' has no letters or digits"):
        normalise_tags(["###"])


def test_word_key_joins_spellings_of_one_word() -> None:
    keys = {word_key(t) for t in ("hashtag", "hashtags", "hash-tags", "Hash_Tags", "HashTag")}
    assert keys == {"hashtag"}
    assert word_key("case-studies") == word_key("case-study") == "casestudy"
    assert word_key("press") == "press"
    assert word_key("boxes") == "box"


# --- one record ------------------------------------------------------------------------


def test_add_tags_changes_only_the_tags_line_of_a_hand_commented_file(kb) -> None:
    kb.add("other")
    path = kb.write("hand-written.yaml", COMMENTED)
    done = add_tags(open_kb(kb), "hand", ["New Tag"])
    after = path.read_text()
    assert changed_lines(COMMENTED, after) == [
        "-tags: [twitter, launch]   # keep these short",
        "+tags: [twitter, launch, new-tag] # keep these short",
    ]
    assert done.changed == ["new-tag"]
    assert done.tags == ["twitter", "launch", "new-tag"]


def test_add_tags_keeps_a_block_list_and_the_comments_around_it(kb) -> None:
    text = textwrap.dedent(
        """\
        id: block
        title: Block list
        kind: success
        summary: S.
        tags:
          # the first one matters
          - twitter   # why twitter
          - launch
        # after the tags
        status: final
        """
    )
    path = kb.write("block.yaml", text)
    add_tags(open_kb(kb), "block", ["press"])
    assert changed_lines(text, path.read_text()) == ["+  - press"]
    assert path.read_text().splitlines()[5:10] == [
        "  # the first one matters",
        "  - twitter   # why twitter",
        "  - launch",
        "  - press",
        "# after the tags",
    ]


def test_add_tags_to_a_record_without_tags_inserts_a_flow_list_in_key_order(kb) -> None:
    text = textwrap.dedent(
        """\
        id: no-tags
        title: No tags yet
        kind: observation
        summary: S.
        stage: audience   # stage comment
        # a comment that belongs above status
        status: draft
        """
    )
    path = kb.write("no-tags.yaml", text)
    add_tags(open_kb(kb), "no-tags", ["b", "a"])
    assert changed_lines(text, path.read_text()) == ["+tags: [b, a]"]
    assert path.read_text().splitlines()[4:7] == [
        "stage: audience   # stage comment",
        "tags: [b, a]",
        "# a comment that belongs above status",
    ]


def test_add_tags_keeps_a_document_start_and_the_comments_above_it(kb) -> None:
    text = "# header comment\n---\nid: doc\ntitle: T\nkind: mistake\nsummary: S.\ntags: [a]\n"
    path = kb.write("doc.yaml", text)
    add_tags(open_kb(kb), "doc", ["b"])
    assert changed_lines(text, path.read_text()) == ["-tags: [a]", "+tags: [a, b]"]


def test_add_tags_already_present_writes_nothing(kb) -> None:
    path = kb.add("one", tags=["twitter"])
    before = path.stat().st_mtime_ns, path.read_bytes()
    done = add_tags(open_kb(kb), "one", ["Twitter"])
    assert done.changed == [] and done.unchanged == ["twitter"]
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_add_tags_on_every_repo_entry_changes_only_its_tags_line(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(REPO / "entries", tmp_path / "entries")
    shutil.copy(REPO / "lessons.yaml", tmp_path / "lessons.yaml")
    k = KnowledgeBase.open(str(tmp_path))
    k.sync()
    files = sorted((tmp_path / "entries").glob("*.yaml"))
    assert files
    for path in files:
        before = path.read_text()
        rid = path.stem
        add_tags(k, rid, ["zz-test"])
        diff = changed_lines(before, path.read_text())
        assert len(diff) == 2 and diff[0].startswith("-tags: [") and diff[1].startswith("+tags: [")
        assert diff[1] == diff[0][:-1].replace("-tags:", "+tags:", 1) + ", zz-test]"


def test_remove_tags_from_a_flow_list(kb) -> None:
    kb.add("other")
    path = kb.write("hand-written.yaml", COMMENTED)
    done = remove_tags(open_kb(kb), "hand-written", ["launch"])
    assert done.changed == ["launch"] and done.tags == ["twitter"]
    assert changed_lines(COMMENTED, path.read_text()) == [
        "-tags: [twitter, launch]   # keep these short",
        "+tags: [twitter]           # keep these short",
    ]


def test_remove_the_last_item_of_a_block_list_keeps_the_comment_below(kb) -> None:
    text = "id: b\ntitle: T\nkind: mistake\nsummary: S.\ntags:\n  - a\n  - b  # bee\n# below\nteam: X\n"  # noqa: E501
    path = kb.write("b.yaml", text)
    remove_tags(open_kb(kb), "b", ["b"])
    assert path.read_text() == (
        "id: b\ntitle: T\nkind: mistake\nsummary: S.\ntags:\n  - a\n# below\nteam: X\n"
    )


def test_remove_every_tag_removes_the_key_and_keeps_the_comments(kb) -> None:
    # Issue 12 item 14: no `tags: []` left behind where the record had tags.
    text = "id: e\ntitle: T\nkind: mistake\nsummary: S.\ntags:\n  - a\n# below\nteam: X\n"
    path = kb.write("e.yaml", text)
    done = remove_tags(open_kb(kb), "e", ["a"])
    assert done.tags == []
    assert path.read_text() == "id: e\ntitle: T\nkind: mistake\nsummary: S.\n# below\nteam: X\n"


def test_remove_every_tag_of_a_flow_list_with_a_comment_keeps_an_empty_list(kb) -> None:
    text = "id: f\ntitle: T\nkind: mistake\nsummary: S.\ntags: [a]  # why\nteam: X\n"
    path = kb.write("f.yaml", text)
    remove_tags(open_kb(kb), "f", ["a"])
    # The comment stays in its column.
    expected = "id: f\ntitle: T\nkind: mistake\nsummary: S.\ntags: []   # why\nteam: X\n"
    assert path.read_text() == expected


def test_remove_a_tag_the_record_does_not_have_is_an_error(kb) -> None:
    kb.add("one", tags=["a", "b"])
    with pytest.raises(NotFoundError, match="one has no tag zz") as info:
        remove_tags(open_kb(kb), "one", ["zz"])
    assert info.value.hint == "its tags: a, b"


# --- across records ----------------------------------------------------------------


def test_rename_changes_exactly_the_files_with_the_tag(kb) -> None:
    a = kb.add("a", tags=["hash-tags", "x"])
    kb.add("b", tags=["other"])
    c = kb.write(
        "c.yaml",
        "id: c\ntitle: T\nkind: mistake\nsummary: S.\ntags: [Hash_Tags, y]  # raw spelling\n",
    )
    result = rename_tag(open_kb(kb), "hash-tags", "hashtags")
    assert result.changed == ["entries/a.yaml", "entries/c.yaml"]
    assert "hashtags" in a.read_text()
    assert c.read_text().splitlines()[-1] == "tags: [hashtags, y]   # raw spelling"


def test_merge_keeps_one_tag_where_a_record_has_several(kb) -> None:
    path = kb.write(
        "m.yaml", "id: m\ntitle: T\nkind: mistake\nsummary: S.\ntags: [a, hashtag-x, b, hashtags]\n"
    )
    result = merge_tags(open_kb(kb), ["hashtag-x", "a"], "hashtags")
    assert result.changed == ["entries/m.yaml"]
    assert path.read_text().splitlines()[-1] == "tags: [b, hashtags]"


def test_merge_replaces_in_place_when_the_target_is_new(kb) -> None:
    path = kb.add("m", tags=["x", "hashtag-x", "y"])
    merge_tags(open_kb(kb), ["hashtag-x"], "hashtags")
    k = open_kb(kb)
    assert k.get("m")["tags"] == ["x", "hashtags", "y"]
    assert path.exists()


def test_merge_of_an_unknown_tag_suggests_the_closest(kb) -> None:
    kb.add("a", tags=["hashtags"])
    with pytest.raises(NotFoundError, match="no record has the tag 'hashtgs' \\(did you mean"):
        merge_tags(open_kb(kb), ["hashtgs"], "x")


def test_merge_into_itself_is_refused(kb) -> None:
    kb.add("a", tags=["x"])
    with pytest.raises(UsageError, match="nothing to do"):
        rename_tag(open_kb(kb), "X", "x")


def test_merge_stopping_half_way_says_what_changed_and_what_remains(kb) -> None:
    for name in ("a", "b", "c"):
        kb.add(name, tags=["old"])
    k = open_kb(kb)

    def break_b(path: str) -> None:
        # A real change on disk between two edits: b now holds a key twice, which
        # the round-trip parser refuses.
        if path == "entries/a.yaml":
            b = kb.entries / "b.yaml"
            b.write_text(b.read_text() + "team: X\nteam: Y\n")

    with pytest.raises(PartialMergeError) as info:
        rename_tag(k, "old", "new", on_file=break_b)
    exc = info.value
    assert exc.changed == ["entries/a.yaml"]
    assert exc.remaining == ["entries/b.yaml", "entries/c.yaml"]
    assert "stopped at entries/b.yaml" in exc.message
    # The changed file is complete and valid; the others are untouched.
    k2 = open_kb(kb)
    assert k2.get("a")["tags"] == ["new"]
    assert "tags:\n- old" in (kb.entries / "c.yaml").read_text()


# --- near-duplicates -------------------------------------------------------------------


def test_group_tags_puts_same_word_groups_first_most_used_tag_kept() -> None:
    groups = group_tags(
        [
            ("hashtags", 5),
            ("humour", 3),
            ("hashtag", 2),
            ("hash-tags", 1),
            ("humor", 1),
            ("twitter", 9),
        ]
    )
    assert [(g.into, g.others, g.reason) for g in groups] == [
        ("hashtags", ["hashtag", "hash-tags"], "same word"),
        ("humour", ["humor"], "similar spelling"),
    ]
    assert groups[0].command() == "lessons tag merge hashtag hash-tags --into hashtags"
    assert groups[1].score == pytest.approx(90.9, abs=0.1)


def test_group_tags_leaves_short_and_distinct_tags_alone() -> None:
    assert group_tags([("ux", 1), ("ui", 1), ("press", 2), ("price", 1), ("twitter", 3)]) == []


def test_suggest_reads_the_index(kb) -> None:
    kb.add("a", tags=["hashtags"])
    kb.add("b", tags=["hashtags", "twitter"])
    kb.add("c", tags=["hash-tags"])
    groups = suggest(open_kb(kb))
    assert [g.as_dict() for g in groups] == [
        {
            "into": "hashtags",
            "merge": ["hash-tags"],
            "tags": [{"tag": "hashtags", "count": 2}, {"tag": "hash-tags", "count": 1}],
            "score": 100.0,
            "reason": "same word",
            # Both are real spellings (wordfreq's Zipf scale): the most used stays.
            "why": "most used",
            "frequency": {"hashtags": 3.15, "hash-tags": 3.41},
            "command": "lessons tag merge hash-tags --into hashtags",
        }
    ]


def test_closest_and_completion_offer_existing_tags() -> None:
    existing = ["hashtags", "twitter", "live-chat", "humour"]
    assert closest_tags("hashtag", existing)[0] == "hashtags"
    assert closest_tags("twitter", existing) == []
    assert complete_tag("tw", existing) == ["twitter"]
    assert complete_tag("hashtgs", existing)[0] == "hashtags"


def test_check_warns_about_a_near_duplicate_tag(kb) -> None:
    from lessons.check import check

    kb.add("a", tags=["hashtags"])
    kb.add("b", tags=["hashtags"])
    kb.add("c", tags=["hash-tags"])
    result = check(KnowledgeBase.open(str(kb.root)))
    found = [w for w in result.warnings if w.field == "tags"]
    assert [(w.path, w.message) for w in found] == [
        (
            "entries/c.yaml",
            "tag 'hash-tags' is another spelling of 'hashtags' (2 records): "
            "`lessons tag merge hash-tags --into hashtags`",
        )
    ]
    assert found[0].line == 7  # the line of 'tags:'
    assert result.errors == []


def test_tag_edit_leaves_untouched_keys_byte_for_byte(kb) -> None:
    # Spacing inside flow collections and trailing blanks that the round trip would
    # tidy up: every key but tags must come back exactly as written.
    kb.add("y")
    kb.add("z")
    text = (
        "id: spaced\n"
        "title: Spaced out   \n"
        "kind: mistake\n"
        "summary: S.\n"
        "authors: [ 'Ann',  \"Bo\" ]\n"
        "tags: [ a, b ]\n"
        "links:\n"
        "  - { to: y, rel: relates-to }\n"
        "  - {to: z,  rel: applies}\n"
        "sources:\n"
        "- https://example.org/x   \n"
    )
    path = kb.write("spaced.yaml", text)
    add_tags(open_kb(kb), "spaced", ["c"])
    assert changed_lines(text, path.read_text()) == ["-tags: [ a, b ]", "+tags: [a, b, c]"]
