"""Running the real command line on a real (pseudo-)terminal of a given size."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class TtyResult:
    """What the terminal showed (standard output and error together) and the exit code."""

    exit_code: int
    output: str

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


def terminal_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user's terminal: no colour or pager settings inherited from
    the test run, the size from the terminal itself (no COLUMNS)."""
    full = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "NO_COLOR",
            "FORCE_COLOR",
            "COLUMNS",
            "LINES",
            "PAGER",
            "LESSONS_PAGER",
            "LESS",
            "LESSONS_KB",
            "LESSONS_DB",
        )
    }
    full["TERM"] = "xterm-256color"
    full["LESSONS_PAGER"] = ""  # no pager unless a test asks for one
    full.update(env or {})
    return full


def on_terminal(
    *args: str,
    columns: int = 80,
    rows: int = 50,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: int = 60,
) -> TtyResult:
    """Run ``lessons ARGS`` on a pseudo-terminal ``columns`` wide; wait for its end."""
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives a real terminal")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lessons", *args],
        env=terminal_env(env),
        cwd=str(cwd) if cwd else None,
        dimensions=(rows, columns),
        encoding="utf-8",
        codec_errors="replace",
        timeout=timeout,
    )
    child.expect(pexpect.EOF)
    child.close()
    output = (child.before or "").replace("\r\n", "\n")
    return TtyResult(child.exitstatus if child.exitstatus is not None else -1, output)
