"""``lessons browse`` driven on a real terminal: a tmux pane of 80 columns and 24 lines,
keys sent as a person types them, the screen read back as tmux renders it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import KB

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")

EVIL = {
    "title": "Evil \x1b[31mred\x1b[0m title",
    "summary": "bell \x07 and \x1b]0;pwned\x07 here, \u202egnirts desrever",
}


class Pane:
    """One tmux session running one command."""

    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{shown}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def title(self) -> str:
        return subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.name, "#{pane_title}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()


@pytest.fixture
def browsing(kb: KB, tmp_path: Path) -> Iterator[tuple[KB, Path]]:
    kb.add(
        "2024-01-dns-ttl",
        title="DNS change broke name resolution",
        summary="A TTL of a day kept the old address.",
        tags=["dns"],
    )
    kb.add(
        "2024-02-dns-again",
        title="DNS again: the resolver cache",
        summary="The resolver kept the old DNS answer.",
        date="2024-02-01",
    )
    kb.add("2024-03-hashtags", title="Hashtags that tried to be funny", kind="mistake")
    kb.add("2024-04-evil", **EVIL)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "why: edited in browse\\n" >> "$1"\n')
    editor.chmod(0o755)
    yield kb, editor


def start(kb: KB, editor: Path, *args: str) -> Pane:
    name = f"lessons-{uuid.uuid4().hex[:8]}"
    env = {
        "NO_COLOR": "1",
        "EDITOR": str(editor),
        "TERM": "xterm-256color",
        "LESSONS_KB": "",
        "LESSONS_DB": "",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = " ".join(
        shlex.quote(a) for a in (sys.executable, "-m", "lessons", "--kb", str(kb.root), *args)
    )
    script = f"env {exports} {command}; echo EXIT=$?; sleep 60"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", script],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "TMUX"},
    )
    return Pane(name)


@pytest.fixture
def panes() -> Iterator[list[Pane]]:
    made: list[Pane] = []
    yield made
    for pane in made:
        subprocess.run(["tmux", "kill-session", "-t", pane.name], capture_output=True)


def test_browse_searches_as_search_ranks_and_previews_beside_the_list(
    browsing: tuple[KB, Path], panes: list[Pane]
) -> None:
    kb, editor = browsing
    pane = start(kb, editor, "browse")
    panes.append(pane)
    pane.wait_for("type to search")
    pane.type("dns")
    shown = pane.wait_for("search: dns")
    ranked = json.loads(kb.run("search", "dns", "--json").stdout)["results"]
    lines = shown.splitlines()
    # The list holds the search's results in its order; the first is previewed.
    rows = [line.split("│")[0].rstrip() for line in lines[2 : 2 + len(ranked)]]
    for row, hit in zip(rows, ranked, strict=True):
        # "M 2024-01-01 Title…": kind, date, then the title, cut to the list's width.
        assert row[:13] == f"{hit['kind'][0].upper()} {hit['date']} "
        assert hit["title"].startswith(row[13:].rstrip("…").rstrip())
    assert lines[2].split("│")[1].strip() == ranked[0]["id"]
    assert "Hashtags" not in shown
    # It fits the 80 columns: list and preview side by side, the help line whole.
    assert all(len(line) <= 80 for line in lines)
    assert "│" in lines[2] and lines[2].index("│") < 40
    assert lines[-1].strip().startswith("type to search")
    # Down moves the highlight: the preview follows.
    pane.keys("Down")
    pane.wait_for(ranked[1]["id"])
    assert pane.screen().splitlines()[2].split("│")[1].strip() == ranked[1]["id"]


def test_browse_enter_shows_the_record_and_leaves(
    browsing: tuple[KB, Path], panes: list[Pane]
) -> None:
    kb, editor = browsing
    pane = start(kb, editor, "browse", "hashtags")
    panes.append(pane)
    pane.wait_for("search: hashtags")
    pane.keys("Enter")
    shown = pane.wait_for("EXIT=0")
    assert "Hashtags that tried to be funny" in shown
    assert "file: entries/2024-03-hashtags.yaml" in shown


def test_browse_e_edits_in_the_editor_and_comes_back(
    browsing: tuple[KB, Path], panes: list[Pane]
) -> None:
    kb, editor = browsing
    pane = start(kb, editor, "browse", "resolver")
    panes.append(pane)
    pane.wait_for("2024-02-dns-again")
    pane.keys("Down", "Up")  # into the list (where e edits), back on the first
    pane.type("e")
    path = kb.entries / "2024-02-dns-again.yaml"
    deadline = time.monotonic() + 20
    while "why:" not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert yaml.safe_load(path.read_text())["why"] == "edited in browse"
    pane.wait_for("Why")  # back in the picker, whose preview shows the edited record
    assert "search: resolver" in pane.screen()
    pane.type("q")
    pane.wait_for("EXIT=0")


def test_browse_q_leaves_quietly(browsing: tuple[KB, Path], panes: list[Pane]) -> None:
    kb, editor = browsing
    pane = start(kb, editor, "browse")
    panes.append(pane)
    pane.wait_for("type to search")
    pane.keys("Down")
    pane.type("q")
    shown = pane.wait_for("EXIT=0")
    assert shown.strip().splitlines()[0] == "EXIT=0"


def test_browse_shows_control_characters_escaped_never_sent(
    browsing: tuple[KB, Path], panes: list[Pane]
) -> None:
    kb, editor = browsing
    pane = start(kb, editor, "browse", "evil")
    panes.append(pane)
    shown = pane.wait_for("2024-04-evil")
    assert "Evil \\x1b[31mred\\x1b[0m title" in shown
    # (The preview wraps the summary at its width: the parts are checked one by one.)
    assert "bell \\x07 and \\x1b]0;pwned\\x07 here," in shown
    assert "<U+202E>" in shown and "gnirts desrever" in shown
    # The OSC sequence in the summary did not reach the terminal: the title is unchanged.
    assert "pwned" not in pane.title()


def test_browse_off_a_terminal_exits_2(kb: KB) -> None:
    kb.add("one")
    res = kb.run("browse")
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: browse needs a terminal\n"
        "hint: `lessons search QUERY` and `lessons show ID` work in scripts and pipes\n"
    )


def test_browse_loads_prompt_toolkit_only_when_it_runs(kb: KB) -> None:
    kb.add("one")
    code = (
        "import sys\n"
        "from lessons.cli.main import main\n"
        f"sys.argv = ['lessons', '--kb', {str(kb.root)!r}, 'list']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('prompt_toolkit' in sys.modules, 'wordfreq' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}
    )
    assert out.stdout.splitlines()[-1] == "False False"
