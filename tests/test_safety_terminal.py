"""Terminal safety (issue 12 item 7, issue 14): control characters and escape sequences
from records, files and file names reach the terminal only as visible text, in every
command, piped or on a terminal, with colour or without; JSON stays exact and files
written with -o keep the record's text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KB
from ttyrun import on_terminal

from lessons.cli.terminal import safe, safe_json

# What a hostile record carries: an OSC window title, clear screen, a 256-colour and a
# blink sequence (never colours of ours), an OSC 8 hyperlink, the C1 CSI, bell,
# backspace, a bare CR, and bidirectional overrides and isolates.
OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
COLOUR = "\x1b[38;5;196m"
BLINK = "\x1b[5m"
LINK = "\x1b]8;;http://evil.example\x1b\\"
C1 = "\x9b1;31m"
HOSTILE = [OSC_TITLE, CLEAR, COLOUR, BLINK, LINK, C1, "\x07", "\x08", "\r", "\u202e", "\u2066"]
# Raw characters that must never be written: C0 controls but tab and line feed (ESC is
# checked apart, as our own colour codes use it), DEL, C1, bidirectional controls.
RAW = re.compile(
    "[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Our own colour codes: SGR with the parameters render.paint uses, and nothing else.
OURS = re.compile(r"\x1b\[(?:[0-9]{1,2};)*[0-9]{1,2}m")
# Bold, dim, italic, underline, their resets, and the 16 colours (rich's too); never
# blink (5), 256 colours or true colour (38, 48).
OUR_PARAMS = {str(n) for n in [0, 1, 2, 3, 4, 22, 23, 24, 39, 49, *range(30, 38), *range(90, 98)]}


def hostile_text(label: str) -> str:
    """A line of text with every hostile sequence in it, ``label`` first."""
    return (
        f"{label} {OSC_TITLE}{CLEAR}{COLOUR}r {BLINK}b {LINK}l {C1} \x07 \x08\x08 cr\rOVER"
        " \u202egnp.exe\u202c \u2066i\u2069"
    )


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (escapes for every control character)."""
    return json.dumps(text, ensure_ascii=True)


def assert_safe(output: str, *, colour: bool = False) -> None:
    """No raw control character, no escape sequence but our own colour codes."""
    found = RAW.findall(output)
    assert not found, f"raw control characters reached the terminal: {found!r}"
    rest = output
    if colour:
        for code in OURS.findall(output):
            params = code[2:-1].split(";")
            assert set(params) <= OUR_PARAMS, f"an escape sequence not of ours: {code!r}"
        rest = OURS.sub("", output)
    assert "\x1b" not in rest, (
        f"an escape sequence reached the terminal: {rest[rest.index(chr(27)) - 20 :][:60]!r}"
    )


def assert_visible(output: str) -> None:
    """The hostile sequences are shown, escaped."""
    assert "\\x1b]0;pwned\\x07" in output
    assert "\\x9b1;31m" in output
    assert "<U+202E>gnp.exe" in output


@pytest.fixture
def hostile(kb: KB) -> KB:
    """A knowledge base holding a record whose every text field is hostile, a record
    linked to it, and an invalid file whose key and values are hostile too."""
    kb.config("name: hostile\n")
    kb.write(
        "evil.yaml",
        f"""\
        id: evil
        title: {yaml_quoted(hostile_text("Evil title"))}
        kind: mistake
        date: 2024-05-01
        summary: {yaml_quoted(hostile_text("Summary"))}
        lesson: {yaml_quoted(hostile_text("Lesson"))}
        recommendations: [{yaml_quoted(hostile_text("Rec"))}]
        why: {yaml_quoted(hostile_text("Why"))}
        campaign: {yaml_quoted(hostile_text("Camp"))}
        team: {yaml_quoted(hostile_text("Team"))}
        authors: [{yaml_quoted(hostile_text("Author"))}]
        impact: high
        tags: [evil, payments]
        actions:
          - do: {yaml_quoted(hostile_text("Do"))}
            owner: {yaml_quoted(hostile_text("Owner"))}
            due: 2030-01-01
        sources: [{yaml_quoted("http://x/" + CLEAR + C1)}]
        """,
    )
    kb.write(
        "good.yaml",
        f"""\
        id: good
        title: Evil title payments outage was repeated
        kind: mistake
        date: 2024-06-01
        summary: Evil title payments outage happened again.
        lesson: Learned nothing.
        tags: [evil, payments]
        links:
          - {{to: evil, rel: repeats, note: {yaml_quoted(hostile_text("Note"))}}}
        """,
    )
    return kb


def _run(kb: KB, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(kb.root), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


COMMANDS = [
    ("list",),
    ("show", "evil"),
    ("show", "good"),
    ("search", "evil", "title"),
    ("related", "good"),
    ("actions",),
    ("retro",),
    ("brief", "evil title payments"),
    ("stats",),
    ("tag", "list"),
    ("check",),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_hostile_record_piped_plain(hostile: KB, args: tuple[str, ...]) -> None:
    res = _run(hostile, *args)
    assert res.returncode in (0, 1), res.stderr
    assert_safe(res.stdout)
    assert_safe(res.stderr)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_hostile_record_piped_in_colour(hostile: KB, args: tuple[str, ...]) -> None:
    res = _run(hostile, "--color", "always", *args)
    assert res.returncode in (0, 1), res.stderr
    assert_safe(res.stdout, colour=True)
    assert_safe(res.stderr, colour=True)


@pytest.mark.parametrize("colour", ["always", "never"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_hostile_record_on_a_terminal(hostile: KB, args: tuple[str, ...], colour: str) -> None:
    res = on_terminal("--kb", str(hostile.root), "--color", colour, *args, columns=100)
    assert res.exit_code in (0, 1), res.output
    assert_safe(res.output, colour=colour == "always")


def test_the_hostile_sequences_are_shown_escaped(hostile: KB) -> None:
    shown = _run(hostile, "show", "evil").stdout
    assert_visible(shown)
    on_tty = on_terminal("--kb", str(hostile.root), "show", "evil", columns=200).output
    assert_visible(on_tty)
    listed = _run(hostile, "list").stdout
    assert "\\x1b]0;pwned\\x07" in listed


def test_retro_and_brief_markdown_to_stdout_are_safe(hostile: KB) -> None:
    for args in (
        ("retro", "--format", "md"),
        ("retro", "--format", "html"),
        ("brief", "evil", "--format", "md"),
    ):
        res = _run(hostile, *args)
        assert res.returncode == 0, res.stderr
        assert_safe(res.stdout)


def test_json_stays_exact_and_escapes_what_a_terminal_would_act_on(hostile: KB) -> None:
    for args in (
        ("show", "evil", "--json"),
        ("list", "--json"),
        ("retro", "--json"),
        ("search", "evil", "--json"),
    ):
        res = _run(hostile, *args)
        assert res.returncode == 0, res.stderr
        assert not RAW.search(res.stdout) and "\x1b" not in res.stdout, args
    record = json.loads(_run(hostile, "show", "evil", "--json").stdout)
    assert record["title"] == hostile_text("Evil title")
    assert record["actions"][0]["owner"] == hostile_text("Owner")
    listed = json.loads(_run(hostile, "list", "--json").stdout)
    assert hostile_text("Evil title") in [r["title"] for r in listed["results"]]


def test_files_written_with_o_keep_the_records_text(hostile: KB, tmp_path: Path) -> None:
    out = tmp_path / "retro.json"
    assert _run(hostile, "retro", "-o", str(out)).returncode == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    titles = [i["title"] for i in data["went_wrong"]["items"]]
    assert hostile_text("Evil title") in titles
    graph = tmp_path / "graph.json"
    assert _run(hostile, "graph", "-o", str(graph)).returncode == 0
    nodes = json.loads(graph.read_text(encoding="utf-8"))["nodes"]
    assert hostile_text("Evil title") in [n["title"] for n in nodes]
    assert "\x9b" in graph.read_text(encoding="utf-8")  # as it is: a file, not a terminal


def test_check_and_sync_messages_about_hostile_files_are_safe(hostile: KB) -> None:
    hostile.write(
        "broken.yaml",
        f"""\
        id: broken
        title: Broken
        kind: {yaml_quoted("mis" + OSC_TITLE + "take")}
        summary: S.
        {yaml_quoted("sum" + CLEAR + "mary")}: x
        """,
    )
    name = "bad" + CLEAR + OSC_TITLE + "\u202e.yaml"
    (hostile.entries / name).write_text("id: [\n", encoding="utf-8")
    res = _run(hostile, "check")
    assert res.returncode == 2
    assert_safe(res.stderr)
    assert "\\x1b]0;pwned\\x07" in res.stderr  # the bad kind, quoted visibly
    assert "bad\\x1b[2J" in res.stderr  # the file name, escaped
    listed = _run(hostile, "list")  # every command names the skipped files
    assert listed.returncode == 2
    assert_safe(listed.stderr)
    assert "bad\\x1b[2J" in listed.stderr
    res = on_terminal("--kb", str(hostile.root), "check", columns=100)
    assert_safe(res.output)


def test_error_messages_and_hints_are_safe(hostile: KB, tmp_path: Path) -> None:
    cases = [
        ("show", "evil" + OSC_TITLE),  # an unknown id: the message and the closest ids
        ("show", "nope" + CLEAR),
        ("import", str(tmp_path / ("missing" + CLEAR + C1 + ".csv"))),  # a file name
        ("brief", "--from", str(tmp_path / ("plan" + OSC_TITLE + ".md"))),
        ("retro", "--template", str(tmp_path / ("t" + CLEAR + ".md.j2")), "--format", "md"),
        ("list", "--kind", "mis" + OSC_TITLE),  # a bad choice is quoted back
        ("nosuchcommand" + OSC_TITLE,),  # the framework's own usage errors
        ("list", "--nosuchoption" + CLEAR),
    ]
    for args in cases:
        res = _run(hostile, *args)
        assert res.returncode == 2, (args, res.stderr)
        assert_safe(res.stderr)
        assert_safe(res.stdout)
        assert "\\x1b" in res.stderr, (args, res.stderr)


def test_import_messages_about_hostile_rows_are_safe(hostile: KB, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"title": "Fine", "kind": "mistake", "summary": "S."})
        + "\n"
        + json.dumps({"title": hostile_text("T"), "kind": "mis" + OSC_TITLE, "summary": "S."})
        + "\n"
        + json.dumps({"id": "x" + CLEAR, "title": "T2", "kind": "success", "summary": "S."})
        + "\n",
        encoding="utf-8",
    )
    res = _run(hostile, "import", str(rows))
    assert res.returncode == 2  # the invalid row
    assert_safe(res.stderr)
    assert "\\x1b]0;pwned\\x07" in res.stderr
    dry = _run(hostile, "import", str(rows), "--dry-run")
    assert_safe(dry.stdout)
    assert_safe(dry.stderr)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m", "\\x1b[31m"),
        ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
        ("\x9b2J", "\\x9b2J"),
        ("a\rb", "a\\rb"),
        ("a\bb", "a\\x08b"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("\u202eabc\u202c", "<U+202E>abc<U+202C>"),
        (
            "\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
            "<U+2066><U+2067><U+2068><U+2069><U+200E><U+200F><U+061C>",
        ),
        ("line\u2028sep", "line<U+2028>sep"),
        ("bad\udcff", "bad\\xff"),
        ("tab\tand\nnewline, café, 日本語", "tab\tand\nnewline, café, 日本語"),
    ],
)
def test_safe_shows_every_control_visibly(raw: str, shown: str) -> None:
    assert safe(raw) == shown


def test_safe_json_keeps_the_document_equal() -> None:
    data = {"t": hostile_text("x")}
    text = safe_json(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data
    assert not RAW.search(text) and "\x1b" not in text


def test_every_character_safe_escapes_is_one_isprintable_refuses() -> None:
    # safe() returns printable text untouched without looking further: sound only if
    # nothing it escapes counts as printable.
    from lessons.cli.terminal import _UNSAFE

    leaks = [hex(c) for c in range(0x110000) if _UNSAFE.match(chr(c)) and chr(c).isprintable()]
    assert leaks == []


def test_export_piped_is_exact_and_on_a_terminal_is_safe(hostile: KB) -> None:
    piped = _run(hostile, "export", "--format", "jsonl")
    assert piped.returncode == 0
    titles = [json.loads(line)["title"] for line in piped.stdout.splitlines()]
    assert hostile_text("Evil title") in titles
    yaml_out = _run(hostile, "export", "--format", "yaml").stdout
    assert "\u202e" in yaml_out  # a data format piped into a file keeps the text
    res = on_terminal("--kb", str(hostile.root), "export", "--format", "yaml", columns=100)
    assert res.exit_code == 0
    assert_safe(res.output)
