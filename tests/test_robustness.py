"""Hostile and random input never crashes the loader, and a killed sync heals itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import KB, REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.entries import dump_record, load_file
from lessons.model import ID_RE, Schema, validate

SCHEMA = Schema()

# Text that YAML can hold: no surrogates, no control characters other than tab/newline.
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=60,
).map(str.strip)
line = text.map(lambda s: " ".join(s.split()))
slug = st.from_regex(ID_RE, fullmatch=True)
tag = st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True)
date = st.dates(min_value=__import__("datetime").date(1900, 1, 1)).map(lambda d: d.isoformat())


@st.composite
def records(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    rid = draw(slug)
    rec = {
        "id": rid,
        "title": draw(line.filter(bool)),
        "kind": draw(st.sampled_from(["mistake", "success", "observation"])),
        "date": draw(st.none() | date),
        "summary": draw(text.filter(bool)),
        "lesson": draw(st.none() | text.filter(bool)),
        "recommendations": draw(st.lists(line.filter(bool), max_size=3)),
        "why": draw(st.none() | text.filter(bool)),
        "impact": draw(st.none() | st.sampled_from(["low", "medium", "high", "critical"])),
        "campaign": draw(st.none() | line.filter(bool)),
        "authors": draw(st.lists(line.filter(bool), max_size=2)),
        "tags": draw(st.lists(tag, max_size=4, unique=True)),
        "links": [
            {"to": to, "rel": rel}
            for to, rel in draw(
                st.lists(
                    st.tuples(
                        slug.filter(lambda s: s != rid),
                        st.sampled_from(["relates-to", "repeats", "applies"]),
                    ),
                    max_size=2,
                    unique=True,
                )
            )
        ],
        "actions": [
            {"do": do, "status": status}
            for do, status in draw(
                st.lists(
                    st.tuples(line.filter(bool), st.sampled_from(["open", "done"])), max_size=2
                )
            )
        ],
        "visibility": draw(st.sampled_from(["internal", "public"])),
        "status": draw(st.sampled_from(["draft", "final"])),
    }
    return rec


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_valid_record_survives_write_and_read(tmp_path_factory, rec: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    normal, problems = validate(rec, SCHEMA, stem=rec["id"])
    assert normal is not None, problems
    folder = tmp_path_factory.mktemp("rt")
    path = folder / f"{rec['id']}.yaml"
    path.write_text(dump_record(normal), encoding="utf-8")
    loaded = load_file(path, path.name, SCHEMA)
    assert [p for p in loaded.problems if p.severity == "error"] == []
    assert loaded.record == normal


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_record_or_a_clean_problem(tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("fuzz") / "x.yaml"
    path.write_bytes(data)
    loaded = load_file(path, "x.yaml", SCHEMA)
    assert loaded.record is not None or loaded.problems
    for p in loaded.problems:
        assert p.message and p.path == "x.yaml"


YAMLISH = st.lists(
    st.sampled_from(
        [
            "id: x\n",
            "title: t\n",
            "kind: mistake\n",
            "summary: s\n",
            "- a\n",
            "  - b\n",
            "[",
            "]",
            "{",
            "}",
            "&a ",
            "*a ",
            "!!python/object:os.system ",
            "? ",
            ": ",
            "|\n",
            ">\n",
            "---\n",
            "...\n",
            "'",
            '"',
            "\t",
            "#c\n",
            "\x00",
            "\ufeff",
            "é",
            "\u202e",
            "links: [{to: x}]\n",
            "tags: [A B]\n",
            "date: 2024-02-30\n",
            "%YAML 1.1\n",
            "<<: *a\n",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH)
def test_adversarial_yaml_never_raises(tmp_path_factory, doc: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("adv") / "x.yaml"
    path.write_text(doc, encoding="utf-8", errors="surrogatepass")
    loaded = load_file(path, "x.yaml", SCHEMA)
    assert loaded.record is not None or loaded.problems


def test_garbage_files_through_the_cli_exit_2_never_3(kb: KB) -> None:
    kb.add("good")
    samples = [
        b"\xff\xfe\x00garbage",
        b"{{{{{{{{{{",
        b"id: [" * 200,
        b"- " * 5000,
        b"a: &a [*a]\n",
        b"id: x\n" * 10,
        os.urandom(4096),
        ("x: " + "\u202e\u0301" * 1000 + "\n").encode(),
    ]
    for i, data in enumerate(samples):
        (kb.entries / f"bad-{i}.yaml").write_bytes(data)
    out = kb.run("check")
    assert out.exit_code == 2
    assert "Traceback" not in out.stderr
    listed = kb.run("list")
    assert listed.exit_code == 2
    assert listed.stdout.startswith("good\t")


def _generate(dest: Path, n: int) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "generate.py"), str(dest), "--records", str(n)],
        check=True,
        capture_output=True,
    )


def test_killed_sync_heals_on_the_next_command(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    _generate(root, 1500)
    cmd = [sys.executable, "-m", "lessons", "--kb", str(root)]
    for delay in (0.3, 0.8, 1.5):
        proc = subprocess.Popen([*cmd, "index", "--rebuild"], stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        healed = subprocess.run([*cmd, "list", "--json"], capture_output=True, text=True)
        assert healed.returncode == 0, healed.stderr
        assert '"total": 1500' in healed.stdout
        again = subprocess.run([*cmd, "index"], capture_output=True, text=True)
        assert again.stderr == "+0 added  ~0 changed  -0 removed\n"
