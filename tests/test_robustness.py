"""Hostile and random input never crashes the loader, and a killed sync heals itself."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KB, REPO, as_unprivileged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.config import load_config
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


def _workers(pid: int) -> bool:
    """True while ``pid`` has forked children (the sync's reader pool), from /proc."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        return any(Path(f"/proc/{pid}/task/{t}/children").read_text().strip() for t in tasks)
    except OSError:
        return False


# (seconds to wait, or None: until the sync's worker processes run; then extra seconds)
KILLS = [(0.3, 0.0), (None, 0.0), (None, 0.3), (None, 0.8)]


@pytest.mark.parametrize("command", [("index", "--rebuild"), ("index",)])
def test_killed_sync_heals_on_the_next_command(tmp_path: Path, command: tuple[str, ...]) -> None:
    root = tmp_path / "kb"
    _generate(root, 1500)
    cmd = [sys.executable, "-m", "lessons", "--kb", str(root)]
    env = {**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": ""}
    midway = 0
    for wait, extra in KILLS:
        if command == ("index",):
            # Start from no index, so the plain sync fills an empty one (the bulk path).
            shutil.rmtree(root / ".lessons", ignore_errors=True)
        proc = subprocess.Popen(
            [*cmd, *command], stderr=subprocess.DEVNULL, env=env, start_new_session=True
        )
        if wait is not None:
            time.sleep(wait)
        else:
            deadline = time.monotonic() + 60
            while proc.poll() is None and not _workers(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(extra)
        # Killed while its readers ran, the sync had not committed (they end before it does).
        midway += _workers(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        healed = subprocess.run([*cmd, "list", "--json"], capture_output=True, text=True, env=env)
        assert healed.returncode == 0, healed.stderr
        assert '"total": 1500' in healed.stdout
        # The words are what a killed sync could break (embedding 1,500 records after
        # each kill would take minutes and tell nothing more).
        again = subprocess.run(
            [*cmd, "index", "--words-only"], capture_output=True, text=True, env=env
        )
        assert again.stderr == "+0 added  ~0 changed  -0 removed\n"
        checked = subprocess.run([*cmd, "check", "--json"], capture_output=True, text=True, env=env)
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["errors"] == []
    assert midway >= 1, "no kill landed while the sync was reading files"


# --- write -> read -> index -> export -> import, for every export format that reads back ----

ROUND_TRIP_CONFIG = """\
fields:
  channels: {type: list}
  evaluation: {type: choice, values: [output, outcome]}
  effort: {type: number}
  reviewed: {type: date}
"""
# Text with the characters that break naive writers: YAML indicators, CSV quoting and
# the ';' list separator, words YAML 1.1 reads as other types, any script, line breaks.
_special = st.sampled_from(
    ["yes", "no", "null", "~", "1e3", "0x1F", "007", "2024-05-01", "a;b", "x\\", "[x]", "#c",
     "- item", "key: value", '"q"', "'s'", "  ", "&a", "*a", "!tag", "%", "@", "`", "|", ">",
     "\u202eltr", "e\u0301", "🙂", "שלום", "\u200b", "\t"]
)  # fmt: skip
_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff")
_piece = st.one_of(_special, st.text(_chars, min_size=1, max_size=20))
_rt_line = st.lists(_piece, min_size=1, max_size=4).map(" ".join).filter(str.strip)
_rt_para = st.lists(_rt_line, min_size=1, max_size=3).map("\n".join)


@st.composite
def knowledge_bases(draw: st.DrawFn) -> list[dict]:  # type: ignore[type-arg]
    """One to four records with every standard key drawn as present or absent."""
    rids = draw(st.lists(slug, min_size=1, max_size=4, unique=True))
    out = []
    for rid in rids:
        others = [r for r in rids if r != rid] + ["not-in-this-kb"]
        raw: dict = {  # type: ignore[type-arg]
            "id": rid,
            "title": draw(_rt_line),
            "kind": draw(st.sampled_from(["mistake", "success", "observation"])),
            "summary": draw(_rt_para),
        }
        optional = {
            "date": date,
            "lesson": _rt_para,
            "recommendations": st.lists(_rt_line, min_size=1, max_size=3),
            "expected": _rt_para,
            "why": _rt_para,
            "response": _rt_para,
            "evidence": _rt_para,
            "impact": st.sampled_from(["low", "medium", "high", "critical"]),
            "campaign": _rt_line,
            "team": _rt_line,
            "authors": st.lists(_rt_line, min_size=1, max_size=2),
            "stage": st.sampled_from(["objectives", "audience", "scoring"]),
            "tags": st.lists(tag, min_size=1, max_size=4, unique=True),
            "links": st.lists(
                st.fixed_dictionaries(
                    {
                        "to": st.sampled_from(others),
                        "rel": st.sampled_from(
                            ["relates-to", "caused-by", "repeats", "applies", "contradicts"]
                        ),
                    },
                    optional={"note": _rt_line},
                ),
                min_size=1,
                max_size=3,
                unique_by=lambda link: (link["to"], link["rel"]),
            ),
            "actions": st.lists(
                st.fixed_dictionaries(
                    {"do": _rt_line, "status": st.sampled_from(["open", "done", "dropped"])},
                    optional={"owner": _rt_line, "due": date},
                ),
                min_size=1,
                max_size=2,
            ),
            "sources": st.lists(_rt_line, min_size=1, max_size=2),
            "visibility": st.sampled_from(["internal", "public"]),
            "status": st.sampled_from(["draft", "final"]),
            "recorded": date,
            "channels": st.lists(_rt_line, min_size=1, max_size=2),
            "evaluation": st.sampled_from(["output", "outcome"]),
            "effort": st.one_of(
                st.integers(-(10**9), 10**9),
                st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
            ),
            "reviewed": date,
        }
        for key in draw(st.sets(st.sampled_from(sorted(optional)))):
            raw[key] = draw(optional[key])
        out.append(raw)
    return out


def _indexed(root: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every record the index of ``root`` holds, by id, as ``show --json`` gives it."""
    from lessons.filters import Filters
    from lessons.kb import KnowledgeBase

    base = KnowledgeBase.open(str(root))
    try:
        base.sync()
        return {r["id"]: r for r in base.store.records(Filters(), sort="id")}
    finally:
        base.close()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raws=knowledge_bases())
def test_any_valid_record_survives_write_read_index_export_import(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    raws: list[dict],  # type: ignore[type-arg]
) -> None:
    monkeypatch.delenv("LESSONS_KB", raising=False)
    monkeypatch.delenv("LESSONS_DB", raising=False)
    folder = tmp_path_factory.mktemp("kbrt")
    src = KB(folder / "src")
    src.config(ROUND_TRIP_CONFIG)
    schema = load_config(src.root).schema
    expected: dict[str, dict] = {}  # type: ignore[type-arg]
    for raw in raws:
        normal, problems = validate(raw, schema, stem=raw["id"])
        assert normal is not None, problems
        # Validation is idempotent: what it gives back validates to itself.
        again, _ = validate(normal, schema, stem=raw["id"])
        assert again == normal
        path = src.entries / f"{raw['id']}.yaml"
        path.write_text(dump_record(normal, schema), encoding="utf-8")
        loaded = load_file(path, path.name, schema)
        assert [p for p in loaded.problems if p.severity == "error"] == []
        assert loaded.record == normal
        expected[raw["id"]] = {**normal, "path": f"entries/{raw['id']}.yaml"}

    res = src.run("index")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == f"+{len(raws)} added  ~0 changed  -0 removed\n"
    assert _indexed(src.root) == expected

    for fmt in ("json", "jsonl", "yaml", "csv"):
        out = folder / f"export.{fmt}"
        res = src.run("export", "--format", fmt, "-o", str(out))
        assert res.exit_code == 0, res.stderr
        dst = KB(folder / f"dst-{fmt}")
        dst.config(ROUND_TRIP_CONFIG)
        res = dst.run("import", str(out))
        assert res.exit_code == 0, (fmt, res.stderr)
        got = _indexed(dst.root)
        assert sorted(got) == sorted(expected), fmt
        for rid, rec in expected.items():
            for key, value in rec.items():
                if key == "path":
                    continue
                assert got[rid][key] == value, (fmt, rid, key)
            # The file import wrote reads back as the same record.
            back = load_file(dst.root / got[rid]["path"], rid, schema)
            assert back.record == {k: v for k, v in rec.items() if k != "path"}, fmt


# --- any bytes as an entry file, through the CLI --------------------------------------------

_bytes_or_yamlish = st.one_of(
    st.binary(max_size=1500),
    YAMLISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.builds(
        lambda good, junk, at: good[:at] + junk + good[at:],
        st.just(b"id: x\ntitle: T\nkind: mistake\nsummary: s\nlesson: l\ndate: 2024-01-02\n"),
        st.binary(min_size=1, max_size=40),
        st.integers(0, 70),
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=_bytes_or_yamlish)
def test_any_bytes_as_an_entry_file_give_exit_0_or_2_through_the_cli(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    monkeypatch.delenv("LESSONS_KB", raising=False)
    monkeypatch.delenv("LESSONS_DB", raising=False)
    kb = KB(tmp_path_factory.mktemp("cli-bytes") / "kb")
    kb.add("good")
    (kb.entries / "x.yaml").write_bytes(data)
    checked = kb.run("check")
    assert checked.exit_code in (0, 2), checked.stderr
    assert "Traceback" not in checked.stderr and "internal error" not in checked.stderr
    # The last line is the count; every other line names the file it is about.
    *findings, summary = checked.stderr.splitlines()
    assert summary.startswith("2 files, ")
    assert all(line.startswith(("entries/x.yaml", "entries/good.yaml")) for line in findings)
    listed = kb.run("list", "--json")
    assert listed.exit_code in (0, 2)
    assert "Traceback" not in listed.stderr and "internal error" not in listed.stderr
    ids = [r["id"] for r in json.loads(listed.stdout)["results"]]
    assert "good" in ids
    # A broken file is skipped and said so (exit 2); a file that holds a record is listed.
    assert (listed.exit_code == 2) == ("x" not in ids)


# --- the search command over hostile queries, in real processes -------------------------------


@pytest.fixture(scope="module")
def searchable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small knowledge base, indexed, for queries run through the real command line."""
    root = tmp_path_factory.mktemp("search") / "kb"
    kb = KB(root)
    kb.add("2024-01-cert", title="TLS certificate expired on the gateway", tags=["tls"])
    kb.add("2024-02-dns", title="DNS change broke name resolution", campaign="Café launch")
    kb.add("2024-03-rtl", title="שלום עולם and emoji 🔥 in a title", summary="e\u0301te\u0301")
    _cli(root, "index")
    return root


def _cli(root: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """``lessons --kb ROOT ARGS`` in a real process; arguments may be raw bytes (argv is)."""
    return subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(root), *args],
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": ""},
        timeout=120,
    )


def _clean(proc: subprocess.CompletedProcess[bytes], codes: tuple[int, ...] = (0, 1, 2)) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode in codes, err
    assert "Traceback" not in err and "internal error" not in err
    return err


HUGE_QUERIES = {
    "100k-one-word": "x" * 100_000,
    "100k-words": "disk " * 20_000,
    "100k-operators": '"( NEAR AND OR NOT ^ * : {title}: ' * 3_000,
    "100k-combining": "e" + "\u0301" * 50_000,
    "100k-emoji": "🔥👩‍👩‍👧" * 5_000,
    "100k-rtl": "\u202eשלום\u202c " * 7_000,
}


@pytest.mark.parametrize("query", list(HUGE_QUERIES.values()), ids=list(HUGE_QUERIES))
def test_a_100_kb_query_through_the_real_cli_exits_cleanly(searchable: Path, query: str) -> None:
    # One argument may hold at most 128 KiB (MAX_ARG_STRLEN), so these stay just under.
    assert 100_000 <= len(query.encode()) < 131_072
    proc = _cli(searchable, "search", "--json", "--", query)
    _clean(proc)
    if proc.returncode in (0, 1):
        doc = json.loads(proc.stdout)
        assert doc["query"] == query
        assert doc["total"] == len(doc["results"]) or doc["total"] > len(doc["results"])


FTS_SOUP = [
    "certificate AND",
    "OR certificate",
    "NOT certificate",
    "certificate NOT dns",
    "NEAR(certificate gateway, 1)",
    "NEAR(",
    "^certificate",
    "certificate^",
    "title:certificate",
    "{title summary}:certificate",
    "{title}: dns",
    "- title : dns",
    "tags:tls*",
    "*certificate",
    "cert*ficate",
    '"unbalanced',
    '""',
    '"',
    "(certificate",
    "certificate)",
    "()",
    "(((((((((",
    "title:(dns OR tls)",
    "rowid:1",
    "record_fts:dns",
    "'; DROP TABLE record; --",
    "dns\\",
    "%_",
    "שלום",
    "\u202edns\u202c",
    "e\u0301te\u0301",
    "\u0301",
    "🔥",
    "dns\u200b",
    "\ufeffdns",
    "d\u00adns",
]


@pytest.mark.parametrize("query", FTS_SOUP)
def test_fts_syntax_and_odd_unicode_are_searched_for_never_an_error(kb: KB, query: str) -> None:
    kb.add("2024-01-cert", title="TLS certificate expired on the gateway", tags=["tls"])
    kb.add("2024-03-rtl", title="שלום עולם and emoji 🔥 in a title", summary="e\u0301te\u0301")
    res = kb.run("search", "--json", "--", query)
    assert res.exit_code in (0, 1, 2), res.stderr
    assert "internal error" not in res.stderr
    if res.exit_code == 2:
        assert res.stderr.startswith("Error: nothing to search for"), res.stderr
    else:
        doc = json.loads(res.stdout)
        assert doc["query"] == query


_soup = st.lists(
    st.sampled_from(
        [*'ab dns "*():^{}-+\\\x00\t\n\u202e\u202c\u0301\u200d🔥שא', "NEAR", "AND", "OR", "NOT"]
    ),
    max_size=40,
).map("".join)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(query=_soup, field=st.sampled_from(["", "title:", "tags:", "summary:", "nofield:"]))
def test_search_command_over_syntax_soup(kb: KB, query: str, field: str) -> None:
    if not kb.entries.joinpath("2024-01-cert.yaml").exists():
        kb.add("2024-01-cert", title="TLS certificate expired on the gateway", tags=["tls"])
    res = kb.run("search", "--json", "--", field + query)
    assert res.exit_code in (0, 1, 2), res.stderr
    assert "internal error" not in res.stderr
    if res.exit_code in (0, 1):
        assert json.loads(res.stdout)["query"] == field + query
    else:
        assert res.stdout == ""


# Bytes that are not UTF-8 reach Python's argv as lone surrogates ('\udcff').
NOT_UTF8 = [
    ("search", b"caf\xe9"),
    ("search", b"dns \xff\xfe"),
    ("show", b"2024-01\xff"),
    ("related", b"2024-01\xff"),
    ("list", "--campaign", b"Caf\xe9 launch"),
    ("search", "dns", "--team", b"\xff"),
    ("link", "2024-01-cert", b"2024-02\xff"),
    ("tag", "add", "2024-01-cert", b"caf\xe9"),
    ("add", "-t", b"Caf\xe9", "-k", "mistake", "-s", "s", "-l", "l", "--on-similar", "write"),
]


@pytest.mark.parametrize("args", NOT_UTF8, ids=[" ".join(map(repr, a))[:40] for a in NOT_UTF8])
def test_arguments_that_are_not_utf8_are_refused_clearly(
    searchable: Path, args: tuple[str | bytes, ...]
) -> None:
    before = sorted(p.read_bytes() for p in (searchable / "entries").rglob("*.yaml"))
    proc = _cli(searchable, *args)
    err = _clean(proc, (2,))
    assert "not UTF-8" in err, err
    after = sorted(p.read_bytes() for p in (searchable / "entries").rglob("*.yaml"))
    assert after == before


def test_a_file_name_that_is_not_utf8_is_still_read(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    KB(root)
    source = os.path.join(os.fsencode(tmp_path), b"caf\xe9.json")
    with open(source, "w", encoding="utf-8") as handle:
        json.dump(
            [{"id": "one", "title": "T", "kind": "success", "summary": "s", "date": "2024-01-02"}],
            handle,
        )
    proc = _cli(root, "import", source)
    err = _clean(proc, (0,))
    assert err.startswith("imported 1 record from "), err
    refused = _cli(root, "show", b"on\xe9")
    assert refused.returncode == 2
    assert refused.stderr == (
        b"Error: the argument 'on\\xe9' is not UTF-8 text\n"
        b"hint: lessons reads and writes UTF-8; check the terminal's locale\n"
    )


def test_a_control_character_is_one_line_naming_its_line(kb: KB) -> None:
    kb.write("x.yaml", "id: x\ntitle: a\x01b\nkind: mistake\n")
    res = kb.run("check")
    assert res.exit_code == 2
    assert res.stderr == (
        "entries/x.yaml:2: error: YAML could not be read: control characters are not allowed"
        " (character #x0001)\n"
        "1 files, 0 records: 1 errors, 0 warnings\n"
    )


# --- a read-only knowledge base ---------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A knowledge base (three records, tags, a link) whose folders and files are read-only."""
    root = tmp_path / "ro"
    kb = KB(root)
    kb.config("name: read-only\n")
    kb.add("one", title="Certificate expired on the gateway", tags=["tls"])
    kb.add("two", title="DNS change broke resolution", kind="observation")
    kb.add("three", title="Backups ran late", tags=["alpha", "gamma"], links=[{"to": "one"}])
    yield root
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    # The index such a knowledge base kept in the temporary folder.
    import hashlib
    import tempfile

    key = hashlib.sha1(str(root).encode()).hexdigest()[:12]
    for folder in Path(tempfile.gettempdir()).glob(f"lessons-index-*-{key}"):
        shutil.rmtree(folder, ignore_errors=True)


def _freeze(root: Path, *, only: str | None = None) -> None:
    top = root / only if only else root
    for path in sorted([top, *top.rglob("*")], reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run_as_user(prefix: list[str], root: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "lessons", "--kb", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": "", **(env or {})},
        timeout=120,
    )


WRITES = [
    ("add", "-t", "A new lesson", "-k", "mistake", "-s", "s", "-l", "l", "--on-similar", "write"),
    ("add", "--edit"),
    ("edit", "one"),
    ("tag", "add", "one", "fresh"),
    ("tag", "remove", "three", "alpha"),
    ("tag", "rename", "alpha", "beta"),
    ("tag", "merge", "alpha", "gamma", "--into", "delta"),
    ("link", "one", "two"),
    ("unlink", "three", "one"),
    ("import", "{csv}"),
]


@pytest.mark.parametrize("indexed", [False, True], ids=["never-indexed", "indexed-before"])
def test_a_read_only_knowledge_base_searches_and_says_why_it_cannot_write(
    read_only: Path, tmp_path: Path, indexed: bool
) -> None:
    prefix = as_unprivileged()
    if indexed:
        assert _run_as_user([], read_only, "index").returncode == 0
    _freeze(read_only)
    before = _snapshot(read_only)

    found = _run_as_user(prefix, read_only, "search", "certificate")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("1\tone\t")
    for args in (("list",), ("show", "three"), ("check",), ("tag", "list"), ("stats",)):
        res = _run_as_user(prefix, read_only, *args)
        assert res.returncode == 0, (args, res.stderr)
    idx = _run_as_user(prefix, read_only, "index", "--rebuild")
    assert idx.returncode == 0, idx.stderr
    assert idx.stderr.startswith("+3 added  ~0 changed  -0 removed\n")
    assert "note: the knowledge base is read-only; the index is kept at sqlite:///" in idx.stderr

    csv = tmp_path / "rows.csv"
    csv.write_text("id,title,kind,summary,date\nfour,Four,mistake,s,2024-01-02\n", encoding="utf-8")
    editor = tmp_path / "editor.sh"
    ran = tmp_path / "editor-ran"
    editor.write_text(f"#!/bin/sh\ntouch {ran}\necho 'why: typed' >> \"$1\"\n")
    editor.chmod(0o755)
    for args in WRITES:
        argv = [a.format(csv=csv) for a in args]
        res = _run_as_user(prefix, read_only, *argv, env={"EDITOR": str(editor)})
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
        first = res.stderr.splitlines()[0]
        assert first.startswith("Error: cannot write to "), (args, res.stderr)
        # It names the folder it could not write to.
        assert str(read_only) in first, (args, first)
    # Nothing was asked of an editor: no one typed an edit that could not be saved.
    assert not ran.exists()
    assert _snapshot(read_only) == before
    assert not (read_only / ".lessons").exists() or indexed


def test_read_only_entries_in_a_writable_root_refuse_each_write_cleanly(
    read_only: Path, tmp_path: Path
) -> None:
    prefix = as_unprivileged()
    assert _run_as_user([], read_only, "index").returncode == 0
    _freeze(read_only, only="entries")
    before = _snapshot(read_only / "entries")
    csv = tmp_path / "rows.csv"
    csv.write_text("id,title,kind,summary,date\nfour,Four,mistake,s,2024-01-02\n", encoding="utf-8")
    for args in WRITES:
        argv = [a.format(csv=csv) for a in args]
        res = _run_as_user(prefix, read_only, *argv, env={"EDITOR": "false"})
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
        assert str(read_only / "entries") in res.stderr, (args, res.stderr)
    assert _snapshot(read_only / "entries") == before
    found = _run_as_user(prefix, read_only, "search", "certificate")
    assert found.returncode == 0, found.stderr
