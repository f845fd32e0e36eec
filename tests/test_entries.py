"""Record files: safe loading with limits and line numbers, writing, round-trip edits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lessons.entries import (
    MAX_BYTES,
    atomic_write,
    digest_of,
    dump_record,
    edit_file,
    load_file,
    parse_yaml,
)
from lessons.errors import ConflictError, RecordError
from lessons.model import Schema

SCHEMA = Schema()

GOOD = """\
# A comment the tool must keep.
id: good
title: A good record
kind: mistake
date: 2024-05-01
summary: >
  Something happened.
lesson: We learned.
tags: [one, two]   # flow style, kept
"""

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def load(tmp_path: Path, text: str | bytes, name: str = "good.yaml"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return load_file(path, name, SCHEMA)


def test_good_file_loads(tmp_path: Path) -> None:
    loaded = load(tmp_path, GOOD)
    assert loaded.problems == []
    assert loaded.record is not None and loaded.record["tags"] == ["one", "two"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    loaded = load(tmp_path, "id: good\ntitle: [unclosed\nkind: mistake\n")
    assert loaded.record is None
    (p,) = loaded.problems
    assert p.message.startswith("YAML syntax error")
    assert p.line == 3 and p.path == "good.yaml"


def test_problems_carry_the_line_of_their_key(tmp_path: Path) -> None:
    text = GOOD.replace("kind: mistake", "kind: blunder")
    (p,) = [p for p in load(tmp_path, text).problems if p.severity == "error"]
    assert (p.field, p.line) == ("kind", 4)


def test_link_problem_points_at_the_link_line(tmp_path: Path) -> None:
    text = GOOD + "links:\n  - {to: other, rel: relates-to}\n  - {to: good, rel: repeats}\n"
    (p,) = load(tmp_path, text).problems
    assert (p.field, p.line, p.message) == ("links", 12, "link 2 points at the record itself")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("- a\n- b\n", "a record must be a mapping of keys to values, not a list"),
        ("id: a\n---\nid: b\n", "file holds more than one YAML document"),
        ("id: x\x00\n", "file holds a NUL byte: not a text file"),
    ],
)
def test_not_a_record(tmp_path: Path, text: str, message: str) -> None:
    loaded = load(tmp_path, text)
    assert loaded.record is None
    assert loaded.problems[0].message == message
    assert loaded.problems[0].line == 1


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    loaded = load(tmp_path, b"id: caf\xe9\n")
    assert loaded.problems[0].message.startswith("not UTF-8 text")


def test_python_tags_are_not_executed(tmp_path: Path) -> None:
    loaded = load(tmp_path, "id: !!python/object/apply:os.system ['echo hi']\n")
    assert loaded.record is None
    assert "YAML syntax error" in loaded.problems[0].message


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: reading it would show up as time
    start = time.perf_counter()
    loaded = load_file(path, "big.yaml", SCHEMA)
    elapsed = time.perf_counter() - start
    assert loaded.problems[0].message == "file is larger than 1024 KiB; refused"
    assert elapsed < 0.5


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    loaded = load(tmp_path, BOMB)
    elapsed = time.perf_counter() - start
    assert loaded.record is None
    assert loaded.problems[0].message == "aliases expand to more than 100000 values; refused"
    assert elapsed < 1.0


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    for text in (
        "x: " + "[" * 60 + "]" * 60 + "\n",
        "x:\n" + "".join(" " * i + "- \n" for i in range(60)),
    ):
        loaded = load(tmp_path, text)
        assert loaded.record is None
        assert loaded.problems[0].message == "nesting deeper than 50 levels; refused"


def test_ordinary_aliases_are_allowed(tmp_path: Path) -> None:
    data, problems = parse_yaml(b"a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert problems == [] and data == {"a": [1, 2], "b": [1, 2]}


def test_dump_record_round_trips(tmp_path: Path) -> None:
    rec = load(tmp_path, GOOD).record
    assert rec is not None
    rec["summary"] = "Line one.\nLine two."
    rec["recommendations"] = ["Do: this", "'quoted' #not a comment"]
    text = dump_record(rec)
    assert text.startswith("id: good\ntitle: A good record\nkind: mistake\n")
    again = load(tmp_path, text, "good.yaml").record
    assert again == rec


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.yaml"
    atomic_write(target, "a: 1\n")
    atomic_write(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.yaml"]


def test_edit_keeps_comments_order_and_flow_style(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")

    def add_tag(doc: dict) -> None:  # type: ignore[type-arg]
        doc["tags"].append("three")

    rec = edit_file(path, tmp_path, SCHEMA, add_tag)
    assert rec["tags"] == ["one", "two", "three"]
    before, after = GOOD.splitlines(), path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    # Only the tags line differs, and it keeps its comment.
    assert [b.split("#")[0].rstrip() for _, b in changed] == ["tags: [one, two, three]"]
    assert changed[0][1].endswith("# flow style, kept")


def test_edit_refuses_when_the_file_changed_since_read(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    stale = digest_of(path.read_bytes())
    path.write_text(GOOD.replace("We learned.", "We learned more."), encoding="utf-8")
    with pytest.raises(ConflictError):
        edit_file(path, tmp_path, SCHEMA, lambda doc: None, expected_digest=stale)
    assert "We learned more." in path.read_text()


def test_edit_that_would_invalidate_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")

    def break_it(doc: dict) -> None:  # type: ignore[type-arg]
        doc["kind"] = "nonsense"

    with pytest.raises(RecordError) as err:
        edit_file(path, tmp_path, SCHEMA, break_it)
    assert err.value.field == "kind"
    assert path.read_text() == GOOD


def test_a_key_written_twice_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    loaded = load(tmp_path, GOOD + "lesson: A second lesson.\n")
    assert loaded.record is None
    (p,) = loaded.problems
    assert (p.field, p.line) == ("lesson", 10)
    assert (
        p.message == "key 'lesson' appears twice (lines 8 and 10); YAML would keep only the second"
    )


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    loaded = load(tmp_path, "a: &a [*a]\n")
    assert loaded.problems[0].message == "alias '*a' refers to itself; refused"


def test_atomic_write_keeps_the_mode_of_the_file_or_follows_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    fresh = tmp_path / "new.yaml"
    old = os.umask(0o022)
    try:
        atomic_write(fresh, "a: 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    fresh.chmod(0o640)
    atomic_write(fresh, "a: 2\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
