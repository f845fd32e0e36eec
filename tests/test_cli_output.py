"""Output that fits the terminal, the pager, colour, and the options every command shares
(issue 14): tables rendered on real pseudo-terminals of 80, 100 and 200 columns."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KB
from ttyrun import on_terminal, terminal_env

from lessons.cli.terminal import cells

LONG_ID = "2024-06-a-very-long-identifier-that-people-copy-from-their-terminal"
TITLE = (
    "The rollback of the payments release took four hours because the runbook"
    " pointed at a decommissioned host"
)
TAGS = ["payments", "rollback", "runbook", "on-call", "release", "documentation"]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def lessons(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line, its output piped."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lessons", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def busy(kb: KB) -> KB:
    """Records with short and very long ids, long titles, many tags, actions and links."""
    for n in range(1, 6):
        kb.add(
            f"2024-05-outage-{n}",
            title=f"{TITLE} (case {n})",
            tags=TAGS,
            campaign="Payments Platform",
            team="Site Reliability",
            actions=[
                {
                    "do": f"Rewrite the rollback runbook section {n} and test it on a staging host",
                    "owner": "Site Reliability Engineering",
                    "due": "2024-07-01",
                }
            ],
        )
    kb.add(
        LONG_ID,
        title=f"{TITLE} (the long one)",
        tags=TAGS,
        links=[{"to": "2024-05-outage-1", "rel": "relates-to"}],
    )
    return kb


def _lines_fit(lines: list[str], width: int) -> None:
    for line in lines:
        assert cells(line) <= width, f"wider than {width}: {line!r}"


def _title_line(lines: list[str], marker: str) -> str:
    found = [line for line in lines if TITLE[:20] in line and marker in line]
    if not found:  # the marker was cut off: the title line of that record by position
        found = [line for line in lines if TITLE[:20] in line]
    return found[0]


@pytest.mark.parametrize("width", [80, 100])
def test_list_fits_the_terminal_ids_whole_titles_shortened_not_wrapped(
    busy: KB, width: int
) -> None:
    res = on_terminal("--kb", str(busy.root), "list", "--color", "never", columns=width)
    assert res.exit_code == 0
    _lines_fit(res.lines, width)
    words = {w for line in res.lines for w in line.split()}
    ids = [f"2024-05-outage-{n}" for n in range(1, 6)] + [LONG_ID]
    assert set(ids) <= words  # every id whole, never cut
    title_lines = [line for line in res.lines if TITLE[:20] in line]
    assert len(title_lines) == 6  # one line per title: shortened, not wrapped
    for line in title_lines:
        assert "…" in line
        shown = line[line.index(TITLE[:20]) :].split("…")[0]
        assert TITLE.startswith(shown)
    # Title words past the cut never appear on a line of their own.
    assert not any(line.strip().startswith("pointed at") for line in res.lines)


@pytest.mark.parametrize("width", [80, 100])
def test_list_shortens_tags_before_titles(busy: KB, width: int) -> None:
    res = on_terminal("--kb", str(busy.root), "list", "--color", "never", columns=width)
    for line in res.lines:
        if TITLE[:20] not in line:
            continue
        tags_part = line.split("…", 1)[1] if "…" in line else ""
        # The title was cut, so the tags were cut first: a tag or two and a count.
        assert re.search(r"\+\d+\s*$", line), line
        assert "documentation" not in tags_part


def test_list_at_200_columns_shows_titles_and_tags_whole(busy: KB) -> None:
    res = on_terminal("--kb", str(busy.root), "list", "--color", "never", columns=200)
    _lines_fit(res.lines, 200)
    assert res.lines[0].split() == ["id", "kind", "date", "title", "tags"]
    row = next(line for line in res.lines if line.startswith("2024-05-outage-3 "))
    # The one long id is on a line of its own, so that titles need not be cut.
    assert f"{TITLE} (case 3)" in row
    assert "payments, rollback, runbook" in row


def test_a_few_long_ids_get_a_line_of_their_own_and_the_table_stays(busy: KB) -> None:
    for n in range(6, 20):
        busy.add(f"2024-07-short-{n}", title=TITLE, tags=["payments"])
    res = on_terminal("--kb", str(busy.root), "list", "--color", "never", columns=100)
    _lines_fit(res.lines, 100)
    assert res.lines[0].split()[:3] == ["id", "kind", "date"]
    at = res.lines.index(LONG_ID)  # alone on its line, whole
    assert res.lines[at + 1].lstrip().startswith("mistake")


def test_list_piped_is_tab_separated_and_never_shortened(busy: KB) -> None:
    res = lessons("--kb", str(busy.root), "list", env={"COLUMNS": "40"})
    assert res.returncode == 0
    row = next(line for line in res.stdout.splitlines() if line.startswith(LONG_ID))
    assert row.split("\t") == [
        LONG_ID,
        "mistake",
        "2024-05-01",
        f"{TITLE} (the long one)",
        ", ".join(TAGS),
    ]


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize(
    ("command", "ids"),
    [
        (("search", "rollback", "runbook"), ["2024-05-outage-2", LONG_ID]),
        (("actions",), ["2024-05-outage-1", "2024-05-outage-5"]),
        (("related", "2024-05-outage-2"), ["2024-05-outage-3"]),
        (("tag", "list"), ["documentation", "on-call"]),
        (("stats",), ["Payments Platform", "Site Reliability"]),
    ],
)
def test_every_table_fits_and_keeps_ids_whole(
    busy: KB, width: int, command: tuple[str, ...], ids: list[str]
) -> None:
    res = on_terminal("--kb", str(busy.root), *command, "--color", "never", columns=width)
    assert res.exit_code == 0, res.output
    _lines_fit(res.lines, width)
    text = "\n".join(res.lines)
    for rid in ids:
        assert re.search(rf"(^|\s){re.escape(rid)}(\s|$)", text, re.M), (rid, text)


def test_actions_shortens_owner_before_the_action(busy: KB) -> None:
    res = on_terminal("--kb", str(busy.root), "actions", "--color", "never", columns=80)
    action_lines = [line for line in res.lines if "Rewrite the rollback" in line]
    assert len(action_lines) == 5
    for line in action_lines:
        assert "Rewrite the rollback runbook section" in line


def test_show_wraps_paragraphs_at_the_width_and_hangs_list_items(kb: KB) -> None:
    kb.add(
        "wrap",
        summary=" ".join(["word"] * 60),
        recommendations=[" ".join(["step"] * 40)],
        sources=["https://example.org/" + "x" * 120],
    )
    res = on_terminal("--kb", str(kb.root), "show", "wrap", "--color", "never", columns=80)
    summary = [line for line in res.lines if "word" in line]
    assert len(summary) > 1 and all(line.startswith("  word") for line in summary)
    steps = [line for line in res.lines if "step" in line]
    assert steps[0].startswith("  - step") and all(s.startswith("    step") for s in steps[1:])
    # A URL is never broken by a line break: it can still be copied whole.
    assert "https://example.org/" + "x" * 120 in res.output.replace("\n", "")
    assert any(line.startswith("https://example.org/" + "x" * 50) for line in res.lines)


# --- colour ------------------------------------------------------------------------


def test_color_never_on_a_terminal_writes_no_escape_code_at_all(busy: KB) -> None:
    for args in (
        ("--color", "never", "list"),
        ("--no-color", "show", "2024-05-outage-1"),
        ("list", "--no-color"),
        ("--color=never", "retro"),
        ("--color", "never", "search", "rollback"),
        ("--color", "never", "index", "--rebuild"),
    ):
        res = on_terminal("--kb", str(busy.root), *args, columns=100)
        assert res.exit_code == 0, (args, res.output)
        assert "\x1b" not in res.output, args


def test_no_color_env_turns_colour_off_and_the_flag_turns_it_back_on(busy: KB) -> None:
    off = on_terminal("--kb", str(busy.root), "list", env={"NO_COLOR": "1"}, columns=100)
    assert "\x1b" not in off.output
    auto = on_terminal("--kb", str(busy.root), "list", columns=100)
    assert SGR.search(auto.output)
    forced = on_terminal(
        "--kb", str(busy.root), "list", "--color", "always", env={"NO_COLOR": "1"}, columns=100
    )
    assert SGR.search(forced.output)


def test_force_color_and_color_always_colour_piped_output(busy: KB) -> None:
    plain = lessons("--kb", str(busy.root), "list")
    assert "\x1b" not in plain.stdout
    for env, args in (({"FORCE_COLOR": "1"}, ()), ({}, ("--color", "always"))):
        res = lessons("--kb", str(busy.root), *args, "list", env=env)
        assert SGR.search(res.stdout), (env, args)
        # Piped, the layout stays one tab-separated line per record.
        assert all(SGR.sub("", line).count("\t") == 4 for line in res.stdout.splitlines())
    both = lessons("--kb", str(busy.root), "list", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b" not in both.stdout


def test_color_takes_a_unique_prefix_and_refuses_nonsense(busy: KB) -> None:
    assert SGR.search(lessons("--kb", str(busy.root), "--color", "al", "list").stdout)
    res = lessons("--kb", str(busy.root), "--color", "sometimes", "list")
    assert res.returncode == 2
    assert "--color must be one of auto, always, never, not 'sometimes'" in res.stderr


def test_dumb_terminal_gets_no_colour(busy: KB) -> None:
    res = on_terminal("--kb", str(busy.root), "list", env={"TERM": "dumb"}, columns=100)
    assert "\x1b" not in res.output


# --- the pager -----------------------------------------------------------------------


@pytest.fixture
def fake_pager(tmp_path: Path) -> tuple[str, Path]:
    """A pager that keeps what it is given in a file (and its environment's LESS)."""
    seen = tmp_path / "paged.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f'#!/bin/sh\necho "LESS=$LESS" > "{seen}"\ncat >> "{seen}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), seen


def test_long_output_on_a_terminal_goes_through_lessons_pager(busy: KB, fake_pager) -> None:
    pager, seen = fake_pager
    res = on_terminal("--kb", str(busy.root), "list", env={"LESSONS_PAGER": pager})
    assert res.exit_code == 0
    paged = seen.read_text()
    assert paged.startswith("LESS=FRX\n")  # as git sets it for less
    assert "2024-05-outage-4" in paged
    assert "2024-05-outage-4" not in res.output  # the terminal saw the pager, not the list


def test_pager_falls_back_to_pager_then_less(busy: KB, fake_pager) -> None:
    pager, seen = fake_pager
    env = terminal_env({"PAGER": pager})
    env.pop("LESSONS_PAGER")
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lessons", "--kb", str(busy.root), "stats"],
        env=env,
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert "Payments Platform" in seen.read_text()


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_default_pager_is_less_and_quitting_it_ends_the_command(busy: KB) -> None:
    for n in range(80):
        busy.add(f"2024-08-many-{n:03}", title=f"Record {n}")
    pexpect = pytest.importorskip("pexpect")
    env = terminal_env()
    env.pop("LESSONS_PAGER")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lessons", "--kb", str(busy.root), "--color", "never", "list"],
        env=env,
        dimensions=(20, 100),
        encoding="utf-8",
        timeout=60,
    )
    child.expect("2024-08-many")
    child.expect(":")  # less waits for a key at its prompt
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_no_pager_piping_and_an_empty_pager_turn_it_off(busy: KB, fake_pager) -> None:
    pager, seen = fake_pager
    for args in (("--no-pager", "list"), ("list", "--no-pager")):
        res = on_terminal("--kb", str(busy.root), *args, env={"LESSONS_PAGER": pager})
        assert "2024-05-outage-4" in res.output
        assert not seen.exists()
    piped = lessons("--kb", str(busy.root), "list", env={"LESSONS_PAGER": pager})
    assert "2024-05-outage-4" in piped.stdout and not seen.exists()
    res = on_terminal("--kb", str(busy.root), "list", env={"PAGER": pager, "LESSONS_PAGER": ""})
    assert "2024-05-outage-4" in res.output and not seen.exists()


def test_errors_before_any_output_start_no_pager(busy: KB, fake_pager) -> None:
    pager, seen = fake_pager
    res = on_terminal("--kb", str(busy.root), "show", "nope", env={"LESSONS_PAGER": pager})
    assert res.exit_code == 2
    assert "no record with id 'nope'" in res.output
    assert not seen.exists()


# --- global options after the command -------------------------------------------------


def test_global_options_work_after_the_command(busy: KB, tmp_path: Path) -> None:
    res = lessons("list", "--kb", str(busy.root), "--limit", "1", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.count("\n") == 1
    res = lessons("tag", "list", "--kb", str(busy.root), "--json", cwd=tmp_path)
    assert json.loads(res.stdout)[0] == {"tag": "documentation", "count": 6}
    res = lessons("list", "--kb", str(busy.root), "--color", "always", cwd=tmp_path)
    assert SGR.search(res.stdout)
    res = lessons("show", "nope", "--kb", str(busy.root), "--debug", cwd=tmp_path)
    assert "Traceback" in res.stderr


# --- choices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("search", "rollback"),
        ("actions",),
        ("retro",),
        ("export",),
        ("graph",),
        ("tag", "list"),
        ("related", "2024-05-outage-1"),
    ],
)
def test_unknown_stage_is_an_error_with_a_suggestion_in_every_command(
    busy: KB, args: tuple[str, ...]
) -> None:
    res = busy.run(*args, "--stage", "implementaton")
    assert res.exit_code == 2
    assert "--stage must be one of objectives, audience, strategy, implementation, scoring," in (
        res.stderr
    )
    assert "(did you mean 'implementation'?)" in res.stderr


def test_choices_take_any_case_and_a_unique_prefix(busy: KB) -> None:
    busy.add("staged", kind="success", stage="implementation", impact="high", status="draft")
    for args in (
        ("--kind", "SUCC"),
        ("--stage", "Impl"),
        ("--impact", "h"),
        ("--status", "Dr"),
    ):
        res = busy.run("list", "--json", *args)
        assert res.exit_code == 0, (args, res.stderr)
        assert [r["id"] for r in json.loads(res.stdout)["results"]] == ["staged"]
    res = busy.run("list", "--sort", "T", "--limit", "1")
    assert res.exit_code == 0
    ambiguous = busy.run("list", "--impact", "x")
    assert ambiguous.exit_code == 2 and "--impact must be one of" in ambiguous.stderr
    res = busy.run("retro", "--format", "JS")
    assert res.exit_code == 0 and json.loads(res.stdout)["headline"]["records"] == 7


def test_add_reads_choices_as_every_other_command(kb: KB) -> None:
    res = kb.run(
        "add", "-t", "T", "-k", "MIS", "-s", "S.", "-l", "L.", "--impact", "H", "--stage", "Impl"
    )
    assert res.exit_code == 0, res.stderr
    text = next(kb.entries.glob("*.yaml")).read_text()
    assert "kind: mistake" in text and "impact: high" in text
    assert "stage: implementation" in text


def test_a_prefix_of_two_choices_says_which(busy: KB) -> None:
    res = busy.run("list", "--status", "")
    assert res.exit_code == 2
    res = busy.run("link", "2024-05-outage-1", "2024-05-outage-2", "--rel", "re")
    assert res.exit_code == 2
    res = busy.run("link", "2024-05-outage-1", "2024-05-outage-2", "--rel", "CAUSED")
    assert res.exit_code == 0 and "--caused-by-->" in res.stderr


# --- campaign and team spellings ---------------------------------------------------------


@pytest.fixture
def spellings(kb: KB) -> KB:
    kb.add("a", campaign="Civil Service Reform", team="Digital Engagement")
    kb.add("b", campaign="Civil Service Reform", team="digital engagement")
    kb.add("c", campaign="civil  service reform ", team="Digital Engagement")
    kb.add("d", campaign="Other", team="Other team")
    return kb


def test_stats_counts_case_and_spacing_variants_as_one_value(spellings: KB) -> None:
    data = json.loads(spellings.run("stats", "--json").stdout)
    assert data["campaign"] == {"Civil Service Reform": 3, "Other": 1}
    assert data["team"] == {"Digital Engagement": 3, "Other team": 1}
    text = spellings.run("stats").stdout
    assert "civil  service" not in text and "digital engagement" not in text


def test_filters_match_every_spelling_and_retro_counts_one_campaign(spellings: KB) -> None:
    res = spellings.run("list", "--campaign", "CIVIL service   reform", "--json")
    assert sorted(r["id"] for r in json.loads(res.stdout)["results"]) == ["a", "b", "c"]
    res = spellings.run("list", "--team", "digital ENGAGEMENT", "--ids")
    assert sorted(res.stdout.split()) == ["a", "b", "c"]
    retro = json.loads(spellings.run("retro", "--json").stdout)
    assert retro["headline"]["campaigns"] == 2 and retro["headline"]["teams"] == 2
    retro = json.loads(
        spellings.run("retro", "--json", "--campaign", "civil service reform").stdout
    )
    assert retro["headline"]["records"] == 3
    assert "Civil Service Reform" in retro["title"]


def test_related_and_brief_see_one_campaign_whatever_its_spelling(kb: KB) -> None:
    text = "The venue cancelled the booking two days before the launch event."
    kb.add("a", campaign="Civil Service Reform", summary=text)
    kb.add("b", campaign="civil  service REFORM ", summary=text)
    for i in range(3):  # other records, so that the shared words are rare ones
        kb.add(f"other-{i}", campaign="Other", summary=f"Press release {i} went out on time.")
    data = json.loads(kb.run("related", "a", "--json").stdout)
    hit = next(r for r in data["results"] if r["id"] == "b")
    assert hit["same_campaign"] is True
    assert any(r.startswith("same campaign") for r in hit["reasons"])
    res = kb.run("brief", "venue booking", "--campaign", "CIVIL service reform", "--json")
    results = {r["id"]: r for r in json.loads(res.stdout)["results"]}
    for rid in ("a", "b"):
        assert any(w.startswith("same campaign") for w in results[rid]["why"]), results[rid]


# --- ids as paths ------------------------------------------------------------------------


def test_a_records_file_is_accepted_wherever_an_id_is(busy: KB) -> None:
    busy.config("name: paths\n")
    path = "entries/2024-05-outage-2.yaml"
    res = lessons("show", path, "--json", cwd=busy.root)
    assert res.returncode == 0 and json.loads(res.stdout)["id"] == "2024-05-outage-2"
    res = lessons("show", "./2024-05-outage-2.yaml", "--json", cwd=busy.entries)
    assert json.loads(res.stdout)["id"] == "2024-05-outage-2"
    res = busy.run("show", str(busy.entries / "2024-05-outage-2.yaml"), "--json")
    assert json.loads(res.stdout)["id"] == "2024-05-outage-2"
    res = busy.run("show", path, "--json")  # relative to the root, from anywhere
    assert json.loads(res.stdout)["id"] == "2024-05-outage-2"
    res = busy.run("tag", "add", path, "verified")
    assert res.exit_code == 0
    assert "verified" in (busy.entries / "2024-05-outage-2.yaml").read_text()
    res = busy.run("link", path, "entries/2024-05-outage-3.yaml", "--rel", "repeats")
    assert res.exit_code == 0
    res = busy.run("related", path, "--json")
    assert json.loads(res.stdout)["id"] == "2024-05-outage-2"


def test_a_path_outside_or_to_an_invalid_file_is_a_clear_error(busy: KB, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("id: x\n")
    res = busy.run("show", str(outside))
    assert res.exit_code == 2
    assert "is not an entry file of the knowledge base" in res.stderr
    busy.write("broken.yaml", "id: broken\ntitle: [\n")
    res = busy.run("show", "entries/broken.yaml")
    assert res.exit_code == 2
    assert "entries/broken.yaml holds no valid record" in res.stderr
    res = busy.run("show", "entries/missing.yaml")
    assert res.exit_code == 2 and "no such file" in res.stderr


# --- --json and --ids --------------------------------------------------------------------


def test_ids_prints_one_id_per_line(busy: KB) -> None:
    res = busy.run("list", "--ids", "--sort", "id")
    assert res.stdout.splitlines() == [*[f"2024-05-outage-{n}" for n in range(1, 6)], LONG_ID]
    res = busy.run("search", "rollback", "--ids", "--limit", "3")
    assert len(res.stdout.splitlines()) == 3
    assert all(line in res.stdout for line in res.stdout.splitlines())
    assert set(res.stdout.split()) <= {LONG_ID, *[f"2024-05-outage-{n}" for n in range(1, 6)]}


def test_json_on_index_brief_and_retro(busy: KB) -> None:
    data = json.loads(busy.run("index", "--json").stdout)
    assert data["records"] == 6 and data["added"] == 6 and data["skipped"] == []
    busy.write("bad.yaml", "id: bad\n")
    res = busy.run("index", "--json")
    data = json.loads(res.stdout)
    assert data["skipped"][0]["path"] == "entries/bad.yaml"
    assert res.exit_code == 2  # skipped files, as every other command
    (busy.entries / "bad.yaml").unlink()
    brief = json.loads(busy.run("brief", "rollback runbook", "--json").stdout)
    assert brief["results"] and {"id", "title", "score"} <= set(brief["results"][0])
    retro = json.loads(busy.run("retro", "--json").stdout)
    assert retro["headline"]["records"] == 6


# --- graph -o -------------------------------------------------------------------------


def test_graph_output_format_follows_the_suffix(busy: KB, tmp_path: Path) -> None:
    for name, check in (
        ("g.mmd", lambda t: t.startswith("graph") or t.startswith("flowchart")),
        ("g.json", lambda t: "nodes" in json.loads(t)),
        ("g.dot", lambda t: t.startswith("digraph")),
    ):
        out = tmp_path / name
        res = busy.run("graph", "-o", str(out))
        assert res.exit_code == 0, res.stderr
        assert check(out.read_text()), name
    res = busy.run("graph", "-o", str(tmp_path / "g.txt"))
    assert res.exit_code == 2 and "cannot tell the format" in res.stderr
    res = busy.run("graph", "--format", "json", "-o", str(tmp_path / "g.mmd"))
    assert res.exit_code == 2


def test_graph_image_without_graphviz_is_a_clear_error(busy: KB, tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    res = lessons("--kb", str(busy.root), "graph", "-o", str(out), env={"PATH": "/nonexistent"})
    assert res.returncode == 2
    assert "needs Graphviz's `dot` program, which is not installed" in res.stderr
    assert not out.exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_image_through_graphviz(busy: KB, tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    res = busy.run("graph", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    assert "<svg" in out.read_text()
    png = tmp_path / "g.png"
    assert busy.run("graph", "-o", str(png)).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")


# --- start-up ---------------------------------------------------------------------------


def test_ordinary_commands_load_no_rich_when_piped(busy: KB) -> None:
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lessons", "--kb", str(busy.root), "list"],
        capture_output=True,
        text=True,
        env={**terminal_env(), "LESSONS_PAGER": "cat"},
        timeout=60,
    )
    assert res.returncode == 0
    loaded = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    assert not {m for m in loaded if m.split(".")[0] == "rich"}
