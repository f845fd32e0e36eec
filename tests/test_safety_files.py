"""Issue 12, items 3, 6, 12, 13 and 14: record files from strangers, and writes that
never lose a word.

Real files in a temporary folder, real processes where concurrency or a terminal
matters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import KB

EDITOR = """\
import pathlib, sys, time
target = pathlib.Path(sys.argv[-1])
here = pathlib.Path(__file__).parent
me = sys.argv[1]
text = target.read_text()
target.write_text(text.replace("What one taught us.", f"Typed by {me} and a word not to lose."))
(here / f"ready-{me}").touch()
deadline = time.time() + 60
while len(list(here.glob("ready-*"))) < int(sys.argv[2]) and time.time() < deadline:
    time.sleep(0.01)
# Everyone saves at the start of the same second.
time.sleep(1 - time.time() % 1)
"""


def lessons(root: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": "", **(env or {})},
        timeout=120,
    )


# --- item 3: recovered edits ------------------------------------------------------------


def test_concurrent_conflicting_edits_in_one_second_keep_every_text(kb: KB, tmp_path: Path) -> None:
    kb.add("one")
    assert lessons(kb.root, "index").returncode == 0
    folder = tmp_path / "editor"
    folder.mkdir()
    (folder / "editor.py").write_text(EDITOR)
    writers = 8
    procs = []
    for n in range(writers):
        env = {**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": ""}
        env["EDITOR"] = f"{sys.executable} {folder / 'editor.py'} w{n} {writers}"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "lessons", "--kb", str(kb.root), "edit", "one"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    outcomes = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    saved = [o for o in outcomes if o[2] == 0]
    conflicts = [o for o in outcomes if o[2] != 0]
    assert len(saved) == 1, outcomes
    assert all(o[2] == 2 and "your edit is kept in" in o[1] for o in conflicts), outcomes
    kept = sorted((kb.root / ".lessons" / "recovered").iterdir())
    assert len(kept) == writers - 1
    # Every person's text is somewhere: in the record, or in the file they were told of.
    texts = [p.read_text() for p in kept] + [(kb.entries / "one.yaml").read_text()]
    for n in range(writers):
        assert sum(f"Typed by w{n} " in t for t in texts) == 1, n
    for _out, err, _code in conflicts:
        told = err.split("your edit is kept in ", 1)[1].split(";", 1)[0]
        assert Path(told).is_file()
