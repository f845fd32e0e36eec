"""Shared fixtures: real knowledge bases in temporary folders, and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lessons.cli.app import STATE, State
from lessons.cli.root import load

REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = REPO.parent / "shared" / "eval"

# The application with every command, as the tests drive it in-process.
app = load()


@dataclass
class Result:
    """What one CLI run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str


# A stand-in for $EDITOR used by the recording tests: each run applies the next
# step of steps.json (replacements, or a whole new text, and an exit code) and
# keeps a copy of what it was shown.
EDITOR_SCRIPT = """\
import json, pathlib, sys
target = pathlib.Path(sys.argv[-1])
here = pathlib.Path(__file__).parent
steps = json.loads((here / "steps.json").read_text())
count = here / "count"
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
(here / f"seen-{n}.yaml").write_text(target.read_text())
(here / f"path-{n}").write_text(str(target))
step = steps[min(n, len(steps) - 1)]
text = target.read_text()
for old, new in step.get("replace", []):
    if old not in text:
        sys.exit(f"editor script: {old!r} is not in the file")
    text = text.replace(old, new, 1)
if "write" in step:
    text = step["write"]
target.write_text(text)
sys.exit(step.get("exit", 0))
"""


def cli_env() -> dict[str, str]:
    """The environment of a `lessons` run in its own process: no knowledge base or index
    chosen from outside the test, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("LESSONS_KB", "LESSONS_DB")}
    env["NO_COLOR"] = "1"
    return env


def run_lessons(
    root: Path, *args: str, prefix: tuple[str, ...] = (), timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``lessons --kb ROOT ARGS…`` in a process of its own (``prefix`` runs it under
    another program, such as a user switch), its output captured."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "lessons", "--kb", str(root), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=timeout,
    )


def record_text(rid: str, **fields: object) -> str:
    """The YAML of a minimal valid record, with ``fields`` added or overriding."""
    data: dict[str, object] = {
        "id": rid,
        "title": f"Title of {rid}",
        "kind": "mistake",
        "date": "2024-05-01",
        "summary": f"What happened in {rid}.",
        "lesson": f"What {rid} taught us.",
    }
    data.update(fields)
    import yaml

    return yaml.safe_dump(
        {k: v for k, v in data.items() if v is not None}, sort_keys=False, allow_unicode=True
    )


class KB:
    """A knowledge base in a temporary folder, driven through the real CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = root / "entries"
        self.entries.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, text: str) -> Path:
        """Write an entry file as given (dedented)."""
        path = self.entries / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def add(self, rid: str, **fields: object) -> Path:
        """Write a valid record ``<rid>.yaml``."""
        return self.write(f"{rid}.yaml", record_text(rid, **fields))

    def config(self, text: str) -> None:
        """Write ``lessons.yaml``."""
        (self.root / "lessons.yaml").write_text(textwrap.dedent(text), encoding="utf-8")

    def run(self, *args: str, input: str | None = None) -> Result:
        """Run ``lessons --kb ROOT ARGS…`` in-process and capture its output."""
        STATE.__dict__.update(State().__dict__)
        runner = CliRunner()
        res = runner.invoke(app, ["--kb", str(self.root), *args], input=input)
        if res.exception and not isinstance(res.exception, SystemExit):
            raise res.exception
        return Result(res.exit_code, res.stdout, res.stderr)


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KB:
    """An empty knowledge base (``entries/`` only) in a temporary folder."""
    monkeypatch.delenv("LESSONS_KB", raising=False)
    monkeypatch.delenv("LESSONS_DB", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return KB(tmp_path / "kb")


@pytest.fixture
def make_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], KB]:
    """A factory of further knowledge bases (for import/export round trips)."""
    monkeypatch.delenv("LESSONS_KB", raising=False)
    monkeypatch.delenv("LESSONS_DB", raising=False)

    def make(name: str) -> KB:
        return KB(tmp_path / name)

    return make


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped without a server."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL server answers at 127.0.0.1:5432 ({exc.__class__.__name__})")
    name = f"lessons_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def as_unprivileged() -> list[str]:
    """The prefix that runs a command without the power to ignore permission bits."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("unshare"):
        pytest.skip("running as root and `unshare` is missing: cannot drop write access")
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and user namespaces are unavailable: {probe.stderr!r}")
    # In a new user namespace root's files are checked by their owner bits.
    return ["unshare", "--user"]


# --- PostgreSQL tests: marked, and counted for CI (.ci/run) ------------------------

_pg_outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a PostgreSQL database carries the ``pg`` marker."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count how the PostgreSQL tests ended (a skip at set-up: no server answered)."""
    if "pg" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "skipped" if report.skipped else "failed" if report.failed else "passed"
        _pg_outcomes[outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying how many PostgreSQL tests ran; written to $LESSONS_PG_COUNT_FILE
    too, where CI reads it."""
    ran = _pg_outcomes["passed"] + _pg_outcomes["failed"]
    line = (
        f"PostgreSQL tests: {ran} ran ({_pg_outcomes['passed']} passed,"
        f" {_pg_outcomes['failed']} failed), {_pg_outcomes['skipped']} skipped"
    )
    terminalreporter.write_line(line)
    target = os.environ.get("LESSONS_PG_COUNT_FILE")
    if target:
        Path(target).write_text(f"{ran} {_pg_outcomes['skipped']}\n", encoding="utf-8")
