"""Shell completion (issue 14): installed and driven in a real bash on a pseudo-terminal;
the zsh and fish protocols through the real program; ids read from the index without
a sync."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KB
from ttyrun import terminal_env

BIN = Path(sys.executable).parent  # where the `lessons` console script is installed


@pytest.fixture
def ckb(kb: KB) -> KB:
    """An indexed knowledge base with ids, tags, campaigns (one with spaces) and teams."""
    kb.config("name: completion\n")
    kb.add(
        "2024-05-hashtags-fell-flat", tags=["hashtags", "twitter"], campaign="Civil Service Reform"
    )
    kb.add("2024-05-hashtag-apology", tags=["hashtags"], campaign="civil service  reform")
    kb.add("2024-06-survey", tags=["surveys"], campaign="Growing Up", team="Digital Engagement")
    kb.add("2024-06-reform", campaign="Civil Service Reform")
    assert kb.run("index").exit_code == 0
    return kb


def complete(words: list[str], cword: int | None = None, kb: KB | None = None) -> list[str]:
    """What the program answers bash for ``lessons WORDS`` (the last one being typed)."""
    env = terminal_env(
        {
            "_LESSONS_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(["lessons", *words]),
            "COMP_CWORD": str(cword if cword is not None else len(words)),
        }
    )
    if kb is not None:
        env["LESSONS_KB"] = str(kb.root)
    res = subprocess.run(
        [str(BIN / "lessons")], capture_output=True, text=True, env=env, timeout=60
    )
    assert res.returncode == 0, res.stderr
    return [line for line in res.stdout.splitlines() if line]


def test_commands_options_and_fixed_choices(ckb: KB) -> None:
    assert complete(["li"]) == ["link", "list"]
    assert "--kind" in complete(["list", "--k"], kb=ckb)
    assert complete(["list", "--kind", ""], kb=ckb) == ["mistake", "success", "observation"]
    assert complete(["list", "--impact", "h"], kb=ckb) == ["high"]
    assert complete(["link", "a", "b", "--rel", "re"], kb=ckb) == ["relates-to", "repeats"]
    assert complete(["retro", "--format", ""], kb=ckb) == ["terminal", "md", "html", "json"]
    assert complete(["graph", "--format", "m"], kb=ckb) == ["mermaid"]
    assert complete(["list", "--sort", ""], kb=ckb) == ["date", "title", "impact", "id"]
    assert complete(["--color", ""]) == ["auto", "always", "never"]
    assert complete(["list", "--stage", "im"], kb=ckb) == ["implementation"]


def test_ids_tags_campaigns_and_teams_from_the_index(ckb: KB) -> None:
    assert complete(["show", "2024-05-h"], kb=ckb) == [
        "2024-05-hashtag-apology",
        "2024-05-hashtags-fell-flat",
    ]
    assert complete(["tag", "add", "2024-06-s"], kb=ckb) == ["2024-06-survey"]
    assert complete(["link", "2024-06-survey", "2024-05-hashtags"], kb=ckb) == [
        "2024-05-hashtags-fell-flat"
    ]
    assert complete(["list", "--tag", "hash"], kb=ckb) == ["hashtags"]
    assert complete(["tag", "rename", ""], kb=ckb) == ["hashtags", "surveys", "twitter"]
    # One campaign in its two spellings is offered once, in its usual spelling, its
    # spaces escaped for bash; what was typed is kept (values match in any case).
    assert complete(["list", "--campaign", "Civ"], kb=ckb) == ["Civil\\ Service\\ Reform"]
    assert complete(["list", "--campaign", "civ"], kb=ckb) == ["civil\\ Service\\ Reform"]
    assert complete(["retro", "--team", "D"], kb=ckb) == ["Digital\\ Engagement"]
    # The knowledge base may be named after the command too.
    assert complete(["show", "--kb", str(ckb.root), "2024-06-s"]) == ["2024-06-survey"]


def test_id_completion_reads_the_index_without_syncing_it(ckb: KB) -> None:
    db = ckb.root / ".lessons" / "index.db"
    before = db.stat().st_mtime_ns
    ckb.add("2024-07-new-one")
    assert complete(["show", "2024-07"], kb=ckb) == []  # not indexed yet: no sync on Tab
    assert db.stat().st_mtime_ns == before
    assert ckb.run("index").exit_code == 0
    assert complete(["show", "2024-07"], kb=ckb) == ["2024-07-new-one"]


def test_ids_come_from_the_files_when_there_is_no_index_yet(kb: KB) -> None:
    kb.add("2024-05-not-indexed")
    assert complete(["show", "2024-05"], kb=kb) == ["2024-05-not-indexed"]
    assert not (kb.root / ".lessons" / "index.db").exists()


def test_a_path_is_left_to_the_shell(ckb: KB) -> None:
    assert complete(["show", "entries/"], kb=ckb) == []


def test_hostile_values_are_offered_safely(kb: KB) -> None:
    kb.add("evil", campaign="Camp \x1b]0;pwned\x07")
    assert kb.run("index").exit_code == 0
    answer = complete(["list", "--campaign", "Camp"], kb=kb)
    assert answer and "\x1b" not in "".join(answer) and "\\x1b" in answer[0]


def test_zsh_and_fish_scripts_and_protocols(ckb: KB) -> None:
    zsh = subprocess.run(
        [str(BIN / "lessons"), "--show-completion", "zsh"], capture_output=True, text=True
    ).stdout
    assert "#compdef lessons" in zsh and "_LESSONS_COMPLETE=complete_zsh" in zsh
    fish = subprocess.run(
        [str(BIN / "lessons"), "--show-completion", "fish"], capture_output=True, text=True
    ).stdout
    assert "complete --command lessons" in fish
    env = terminal_env(
        {
            "_LESSONS_COMPLETE": "complete_zsh",
            "_TYPER_COMPLETE_ARGS": "lessons show 2024-06",
            "LESSONS_KB": str(ckb.root),
        }
    )
    out = subprocess.run([str(BIN / "lessons")], capture_output=True, text=True, env=env).stdout
    assert '"2024-06-reform"' in out and '"2024-06-survey"' in out
    env.update(
        {
            "_LESSONS_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "lessons list --campaign civ",
        }
    )
    out = subprocess.run([str(BIN / "lessons")], capture_output=True, text=True, env=env).stdout
    assert out.splitlines() == ["civil Service Reform"]  # fish escapes it itself


def test_unknown_shell_is_refused() -> None:
    res = subprocess.run(
        [str(BIN / "lessons"), "--show-completion", "tcsh"], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "must be one of bash, zsh, fish" in res.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_install_completion_then_tab_in_a_real_bash(ckb: KB, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives a real terminal")
    home = tmp_path / "home"
    home.mkdir()
    env = terminal_env({"HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"})
    env["PS1"] = "$ "
    res = subprocess.run(
        [str(BIN / "lessons"), "--install-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "bash completion installed in" in res.stderr
    assert "lessons.sh" in (home / ".bashrc").read_text()
    bash = pexpect.spawn(
        "bash",
        ["--rcfile", str(home / ".bashrc"), "-i"],
        env=env,
        cwd=str(ckb.root),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    bash.sendline("PS1='$ '")
    bash.expect_exact("$ ")
    bash.send("lessons sh\t")  # a unique command completes in place
    bash.expect_exact("lessons show ")
    bash.send("2024-06-s\t")  # an id from the index
    bash.expect_exact("2024-06-survey")
    bash.send("\x15")  # clear the line
    bash.send("lessons list --campaign Gro\t")  # a value with a space, quoted
    bash.expect_exact("Growing\\ Up")
    bash.send("\x15")
    bash.send("lessons show 2024-05-h\t")  # two candidates: their common start
    bash.expect_exact("ashtag")  # (after a bell: more than one candidate)
    bash.send("\t\t")  # and Tab Tab lists them
    bash.expect("2024-05-hashtag-apology\\s+2024-05-hashtags-fell-flat")
    bash.send("\x15")
    bash.sendline("exit")
    bash.expect(pexpect.EOF)
