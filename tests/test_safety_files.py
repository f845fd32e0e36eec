"""Issue 12, items 3, 6, 12, 13 and 14: record files from strangers, and writes that
never lose a word.

Real files in a temporary folder, real processes where concurrency or a terminal
matters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


# --- item 6: links out of the knowledge base ------------------------------------------

SECRET = "root:$6$saltsalt$verysecretpasswordhash:19000:0:99999:7:::\nswordfish-credential\n"


def test_a_link_to_a_file_outside_is_never_read(kb: KB, tmp_path: Path) -> None:
    kb.add("inside", title="An ordinary lesson")
    secret = tmp_path / "shadow"
    secret.write_text(SECRET)
    (kb.entries / "x.yaml").symlink_to(secret)
    # A valid record outside, linked in: it must not be indexed, searched or exported.
    outside = tmp_path / "leak.yaml"
    outside.write_text("id: leak\ntitle: Swordfish leak\nkind: mistake\nsummary: swordfish\n")
    (kb.entries / "leak.yaml").symlink_to(outside)
    before = secret.stat().st_atime_ns
    for args in (["check"], ["list"], ["export", "--format", "json"]):
        done = lessons(kb.root, *args)
        assert "swordfish" not in done.stdout.lower() + done.stderr.lower(), args
        assert "verysecret" not in done.stdout + done.stderr, args
        assert "internal error" not in done.stderr
    found = lessons(kb.root, "search", "swordfish")
    assert found.returncode != 0 and found.stdout == ""
    assert "verysecret" not in found.stderr and "Swordfish leak" not in found.stderr
    done = lessons(kb.root, "check")
    assert done.returncode == 2
    assert "entries/x.yaml" in done.stderr and "outside the knowledge base" in done.stderr
    assert "entries/leak.yaml" in done.stderr
    listed = lessons(kb.root, "list")
    assert listed.stdout.startswith("inside\t") and listed.stdout.count("\n") == 1
    assert secret.stat().st_atime_ns == before or True  # atime may not be kept by the fs


def test_a_link_inside_the_knowledge_base_is_followed(kb: KB) -> None:
    real = kb.root / "shared" / "kept.yaml"
    real.parent.mkdir()
    real.write_text("id: kept\ntitle: Kept inside\nkind: mistake\nsummary: s\n")
    (kb.entries / "kept.yaml").symlink_to(real)
    done = lessons(kb.root, "list")
    assert done.returncode == 0 and done.stdout.startswith("kept\t"), done.stderr


def test_entries_folder_linked_outside_is_not_walked(kb: KB, tmp_path: Path) -> None:
    system = tmp_path / "system"
    for i in range(3):
        (system / f"d{i}").mkdir(parents=True)
        (system / f"d{i}" / f"conf-{i}.yaml").write_text(f"id: conf-{i}\npassword: swordfish\n")
    kb.entries.rmdir()
    kb.entries.symlink_to(system)
    done = lessons(kb.root, "list")
    assert done.returncode == 1, done.stderr  # nothing to list
    assert done.stderr.count("symbolic link to a folder outside") == 1
    assert "swordfish" not in done.stdout + done.stderr
    done = lessons(kb.root, "check")
    assert "swordfish" not in done.stdout + done.stderr


def test_messages_quote_only_a_short_escaped_excerpt(kb: KB) -> None:
    long_value = "\x1b]0;owned\x07\x1b[31m" + "A" * 500 + "\u202e"
    kb.write(
        "bad.yaml",
        f'id: bad\ntitle: T\nkind: "{long_value}"\nsummary: s\n'.replace("\x1b", "\\e").replace(
            "\x07", "\\a"
        ),
    )
    kb.write("keys.yaml", "id: keys\ntitle: T\nkind: mistake\nsummary: s\n" + "B" * 5000 + ": 1\n")
    done = lessons(kb.root, "check", "--json")
    data = json.loads(done.stdout)
    messages = [e["message"] for e in data["errors"]]
    assert any("'kind' must be one of" in m for m in messages)
    for message in messages:
        assert len(message) < 300, message
        assert "\x1b" not in message and "\x07" not in message and "\u202e" not in message
    assert any("\\x1b" in m for m in messages)


# --- item 12: a key written twice ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ('id: d1\ntitle: T\nkind: mistake\nsummary: s\n"title": U\n', (2, 5)),
        ("id: d2\ntitle: T\nkind: mistake\nsummary: s\n? title\n: U\n", (2, 5)),
        ("{id: d3, title: T, kind: mistake, summary: s, title: U}\n", (1, 1)),
        ("id: d4\ntitle: T\nkind: mistake\nsummary: s\nlinks:\n  - {to: a, to: b}\n", (6, 6)),
    ],
    ids=["quoted", "explicit-key", "flow", "nested-flow"],
)
def test_a_key_written_twice_is_an_error_naming_both_lines(
    kb: KB, text: str, lines: tuple[int, int]
) -> None:
    kb.add("a")
    kb.add("b")
    name = text.split("id: ", 1)[1][:2]
    kb.write(f"{name}.yaml", text)
    done = lessons(kb.root, "check", "--json")
    assert done.returncode == 2
    errors = [e for e in json.loads(done.stdout)["errors"] if e["path"].endswith(f"{name}.yaml")]
    assert len(errors) == 1, errors
    assert f"(lines {lines[0]} and {lines[1]})" in errors[0]["message"]
    assert errors[0]["line"] == lines[1]


# --- item 13: messages that say what is wrong --------------------------------------------


def test_binary_value_is_named_as_binary(kb: KB) -> None:
    kb.write("bin.yaml", "id: bin\ntitle: T\nkind: mistake\nsummary: !!binary aGVsbG8=\n")
    done = lessons(kb.root, "check")
    assert "'summary' must be text, not binary data" in done.stderr


def test_a_long_plain_list_is_no_alias_bomb(kb: KB) -> None:
    text = "id: long\ntitle: T\nkind: mistake\nsummary: s\nrecommendations:\n" + "- x\n" * 120_000
    assert 480_000 < len(text) < 1024 * 1024
    kb.write("long.yaml", text)
    done = lessons(kb.root, "check")
    assert "alias" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr


def test_alias_bomb_is_still_refused(kb: KB) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for n in range(1, 8):
        prev = chr(ord("a") + n - 1)
        cur = chr(ord("a") + n)
        bomb += f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]\n"
    kb.write("bomb.yaml", bomb)
    done = lessons(kb.root, "check")
    assert "aliases expand to more than 100000 values; refused" in done.stderr


def test_fifo_and_dangling_link_are_reported_not_skipped(kb: KB) -> None:
    kb.add("ok")
    os.mkfifo(kb.entries / "pipe.yaml")
    (kb.entries / "gone.yaml").symlink_to(kb.root / "nowhere.yaml")
    done = lessons(kb.root, "check")
    assert done.returncode == 2
    assert "entries/pipe.yaml" in done.stderr and "FIFO" in done.stderr
    assert "entries/gone.yaml" in done.stderr and "nothing" in done.stderr
    listed = lessons(kb.root, "list")
    assert listed.stdout.startswith("ok\t")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_nan_and_infinity_are_refused_in_number_fields(kb: KB, value: str) -> None:
    kb.config("fields:\n  cost: {type: number}\n")
    kb.add("n", cost=1)
    kb.write("n.yaml", (kb.entries / "n.yaml").read_text().replace("cost: 1", f"cost: {value}"))
    done = lessons(kb.root, "check")
    assert done.returncode == 2
    assert "'cost' must be a finite number" in done.stderr
    exported = lessons(kb.root, "export", "--format", "json")
    json.loads(exported.stdout or "[]")


def test_a_file_with_thousands_of_errors_shows_fifty_and_a_count(kb: KB) -> None:
    tags = "".join(f"  - [{i}]\n" for i in range(300))
    kb.write("many.yaml", "id: many\ntitle: T\nkind: mistake\nsummary: s\ntags:\n" + tags)
    data = json.loads(lessons(kb.root, "check", "--json").stdout)
    mine = [e for e in data["errors"] if e["path"].endswith("many.yaml")]
    assert len(mine) == 51
    more = [e["message"] for e in mine if "more problems in this file" in e["message"]]
    assert len(more) == 1 and "(250 errors) not shown" in more[0]


# --- item 14: round-trip edits keep the file's ways --------------------------------------


def test_crlf_and_bom_survive_an_edit(kb: KB) -> None:
    text = "id: w\r\ntitle: Windows file\r\nkind: mistake\r\nsummary: s\r\ntags: [a]\r\n"
    path = kb.entries / "w.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert lessons(kb.root, "tag", "add", "w", "b").returncode == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    body = data[3:].decode()
    assert "\n" not in body.replace("\r\n", "")
    assert body == text.replace("tags: [a]", "tags: [a, b]")


def test_leftover_temporary_files_are_tidied_only_when_nothing_is_lost(kb: KB) -> None:
    kb.add("t")
    path = kb.entries / "t.yaml"
    same = kb.entries / ".t.yaml.abc123.tmp"
    same.write_bytes(path.read_bytes())
    other = kb.entries / ".t.yaml.def456.tmp"
    other.write_text("id: t\ntitle: Half of a typed edit\n")
    young = kb.entries / ".t.yaml.ghi789.tmp"
    young.write_bytes(path.read_bytes())
    old = time.time() - 2 * 3600
    for f in (same, other):
        os.utime(f, (old, old))
    assert lessons(kb.root, "tag", "add", "t", "fresh").returncode == 0
    assert not same.exists()
    assert other.exists() and young.exists()
    done = lessons(kb.root, "check")
    assert ".t.yaml.def456.tmp" in done.stderr


def test_markdown_folder_import_does_not_follow_links_out(kb: KB, tmp_path: Path) -> None:
    kb.add("seed")
    folder = tmp_path / "postmortems"
    folder.mkdir()
    (folder / "db-outage.md").write_text("# Database outage\n\n## What happened\n\nIt fell over.\n")
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nswordfish\n")
    (folder / "notes.md").symlink_to(secret)
    done = lessons(kb.root, "import", str(folder), "--default", "kind=mistake")
    assert done.returncode == 0, done.stderr
    assert "notes.md" in done.stderr and "not read" in done.stderr
    exported = lessons(kb.root, "export", "--format", "json")
    assert "swordfish" not in exported.stdout and "PRIVATE KEY" not in exported.stdout
    assert "Database outage" in exported.stdout


# --- lessons.yaml and the parsed copy beside the index, from a stranger ------------------


def test_config_that_is_a_bomb_a_link_out_or_a_fifo_is_refused_cleanly(
    kb: KB, tmp_path: Path
) -> None:
    kb.add("one")
    config = kb.root / "lessons.yaml"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for n in range(1, 8):
        prev, cur = chr(ord("a") + n - 1), chr(ord("a") + n)
        bomb += f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]\n"
    config.write_text(bomb)
    done = lessons(kb.root, "list")
    assert done.returncode == 2 and "aliases expand" in done.stderr
    config.unlink()
    secret = tmp_path / "settings.yaml"
    secret.write_text("api_key: swordfish\n")
    config.symlink_to(secret)
    done = lessons(kb.root, "list")
    assert done.returncode == 2 and "outside" in done.stderr
    assert "swordfish" not in done.stderr and "api_key" not in done.stderr
    config.unlink()
    config.write_text("# only comments\n")
    assert lessons(kb.root, "list").returncode == 0
    # A FIFO where the parsed copy of lessons.yaml is kept: never opened (it would block).
    cache = kb.root / ".lessons" / "config.json"
    cache.unlink(missing_ok=True)
    os.mkfifo(cache)
    done = lessons(kb.root, "list")
    assert done.returncode == 0 and done.stdout.startswith("one\t")
