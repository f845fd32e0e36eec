"""`lessons import` and `lessons export` through the real command line (SPEC §8)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import KB, REPO, SHARED_EVAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.model import ID_RE, RELATIONS, validate

# A spreadsheet no one tidied: BOM, semicolons, CRLF, spaces around headers, blank
# rows, a header that needs --map, an empty unknown column, odd dates, a repeated
# title, a misspelt kind and an empty required cell.
MESSY = (
    "\ufeffTitle ; Kind ;Date;Summary; Tags ;Lesson Learned;Owner\r\n"
    'Hashtags fell flat;Mistake;10/09/2012;The audience disliked them.;"twitter;Humour";'
    "Try them first.;\r\n"
    ";;;;;;\r\n"
    "Hashtags fell flat;mistake;2012;Again.;;;\r\n"
    "   ;  ;;;;;\r\n"
    "Nobody came;observation;Sept 2013;Few people came.;events;;\r\n"
    "Broken row;mistke;2013-02-28;x;;;\r\n"
    "Missing summary;success;2014-01-01;;;;\r\n"
    "Leap;success;2013-02-29;Short month.;;;\r\n"
)

MESSY_WARNINGS = (
    "warning: column 'Owner' is empty and not a record key; ignored\n"
    "warning: 2 dates gave only a year or a month and were completed to the first day "
    "(YYYY -> YYYY-01-01, YYYY-MM -> YYYY-MM-01): {f}, lines 4, 6\n"
    "warning: 1 date named a day the month does not have (like 2018-02-29) and was moved "
    "to the month's last day: {f}, line 9\n"
    "warning: 1 date like 03/04/2024 was read as day/month/year (no date in the file tells "
    "the order; pass --monthfirst if they are month first): {f}, line 2\n"
    "error: 2 rows not imported:\n"
    "  {f}, line 7: 'kind' must be one of mistake, success, observation, not 'mistke' "
    "(did you mean 'mistake'?)\n"
    "  {f}, line 8: missing required key 'summary'\n"
    "the values of 'kind' in {f}: 'Mistake' (2), 'success' (2), 'observation' (1), "
    "'mistke' (1)\n"
    "hint: map each value that is not ours: --map-value 'kind:mistke=mistake'; or write them "
    "all into a file with --dry-run --write-mapping FILE, edit it, and import with "
    "--mapping FILE\n"
)

MESSY_IDS = [
    "2012-01-hashtags-fell-flat",
    "2012-09-hashtags-fell-flat",
    "2013-02-leap",
    "2013-09-nobody-came",
]


def source(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def ids(kb: KB) -> list[str]:
    return sorted(p.stem for p in kb.entries.rglob("*.yaml"))


def records(root: Path) -> list[dict[str, Any]]:
    """Every record of a knowledge base as the index holds it, without its path."""
    base = KnowledgeBase.open(str(root))
    try:
        base.sync()
        return [
            {k: v for k, v in r.items() if k != "path"}
            for r in base.store.records(Filters(), sort="id")
        ]
    finally:
        base.close()


# --- import ----------------------------------------------------------------------------


def test_unknown_column_stops_the_import_and_names_the_map_to_use(kb: KB, tmp_path: Path) -> None:
    f = source(tmp_path, "messy.csv", MESSY)
    res = kb.run("import", f)
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: 1 column of {f} is not a record key: 'Lesson Learned' (did you mean 'lesson'? "
        "--map 'Lesson Learned=lesson'); nothing was written\n"
        "hint: map a column with --map 'SRC=KEY', or leave it out with --map 'SRC='; "
        "--ignore-unmapped leaves out all such columns, --keep-unmapped keeps them under "
        "extra:; --dry-run --write-mapping FILE writes all of this into a file to edit\n"
    )
    assert ids(kb) == []


def test_messy_spreadsheet_dry_run_writes_nothing_and_says_what_would_happen(
    kb: KB, tmp_path: Path
) -> None:
    f = source(tmp_path, "messy.csv", MESSY)
    res = kb.run("import", f, "--map", "Lesson Learned=lesson", "--dry-run")
    assert res.exit_code == 2
    assert res.stdout == (
        f"would write  2012-09-hashtags-fell-flat  ({f}, line 2)\n"
        f"would write  2012-01-hashtags-fell-flat  ({f}, line 4)\n"
        f"would write  2013-09-nobody-came  ({f}, line 6)\n"
        f"would write  2013-02-leap  ({f}, line 9)\n"
        "\n"
        f"--- entries/2012-09-hashtags-fell-flat.yaml ({f}, line 2)\n"
        "id: 2012-09-hashtags-fell-flat\ntitle: Hashtags fell flat\nkind: mistake\n"
        "date: 2012-09-10\nsummary: The audience disliked them.\nlesson: Try them first.\n"
        "tags:\n- twitter\n- humour\n"
        f"--- entries/2012-01-hashtags-fell-flat.yaml ({f}, line 4)\n"
        "id: 2012-01-hashtags-fell-flat\ntitle: Hashtags fell flat\nkind: mistake\n"
        "date: 2012-01-01\nsummary: Again.\n"
        f"--- entries/2013-09-nobody-came.yaml ({f}, line 6)\n"
        "id: 2013-09-nobody-came\ntitle: Nobody came\nkind: observation\ndate: 2013-09-01\n"
        "summary: Few people came.\ntags:\n- events\n"
        "… and 1 more\n"
    )
    assert res.stderr == MESSY_WARNINGS.format(f=f) + (
        f"would import 4 records from {f} (write 4, update 0, skip 0, invalid 2, blank rows 2; "
        "8 rows read); nothing was written (--dry-run)\n"
    )
    assert ids(kb) == []


def test_messy_spreadsheet_imports_its_valid_rows_and_names_the_invalid_ones(
    kb: KB, tmp_path: Path
) -> None:
    f = source(tmp_path, "messy.csv", MESSY)
    res = kb.run("import", f, "--map", "Lesson Learned=lesson")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == MESSY_WARNINGS.format(f=f) + (
        f"imported 4 records from {f} (written 4, updated 0, skipped 0, invalid 2, blank rows 2; "
        "8 rows read)\n"
    )
    assert ids(kb) == MESSY_IDS
    assert (kb.entries / "2012-09-hashtags-fell-flat.yaml").read_text() == textwrap.dedent(
        """\
        id: 2012-09-hashtags-fell-flat
        title: Hashtags fell flat
        kind: mistake
        date: 2012-09-10
        summary: The audience disliked them.
        lesson: Try them first.
        tags:
        - twitter
        - humour
        """
    )
    assert kb.run("show", "2013-02-leap", "--json").stdout.count('"date": "2013-02-28"') == 1
    listed = kb.run("list", "--json")
    assert json.loads(listed.stdout)["total"] == 4


def test_reimport_of_the_same_file_finds_the_same_ids(kb: KB, tmp_path: Path) -> None:
    f = source(tmp_path, "messy.csv", MESSY)
    kb.run("import", f, "--map", "Lesson Learned=lesson")
    again = kb.run("import", f, "--map", "Lesson Learned=lesson")
    assert again.exit_code == 2
    assert again.stderr.splitlines()[-2:] == [
        f"Error: 4 records of {f} already exist in the knowledge base: "
        "2012-09-hashtags-fell-flat, 2012-01-hashtags-fell-flat, 2013-09-nobody-came, "
        "2013-02-leap; nothing was written",
        "hint: --on-duplicate skip leaves them as they are; --on-duplicate update changes them",
    ]
    skip = kb.run("import", f, "--map", "Lesson Learned=lesson", "--on-duplicate", "skip")
    assert skip.stderr.splitlines()[-1] == (
        f"imported 0 records from {f} (written 0, updated 0, skipped 4, invalid 2, blank rows 2; "
        "8 rows read)"
    )
    assert ids(kb) == MESSY_IDS


def test_on_duplicate_fail_writes_nothing_at_all_not_even_new_rows(kb: KB, tmp_path: Path) -> None:
    kb.add("a")
    f = source(tmp_path, "in.csv", "id,title,kind,summary\na,A,mistake,x\nb,B,mistake,y\n")
    res = kb.run("import", f)
    assert res.exit_code == 2
    assert "Error: 1 record of" in res.stderr and "already exists" in res.stderr
    assert ids(kb) == ["a"]


def test_on_duplicate_update_keeps_comments_and_untouched_keys(kb: KB, tmp_path: Path) -> None:
    path = kb.write(
        "a.yaml",
        """\
        # Written by hand; keep this comment.
        id: a
        title: Old title
        kind: mistake
        date: 2024-05-01
        summary: What happened.
        lesson: What we learned.  # and this one
        tags: [one, two]
        """,
    )
    rows = [
        {"id": "a", "title": "New title", "kind": "mistake", "summary": "What happened."},
        {"id": "a2", "title": "Other", "kind": "success", "summary": "Fine.", "tags": "x"}
        | {"date": "2024-06-01"},
    ]
    f = source(tmp_path, "in.json", json.dumps(rows))
    res = kb.run("import", f, "--on-duplicate", "update", "--default", "tags=three;four")
    assert res.exit_code == 0, res.stderr
    assert (
        res.stderr == f"imported 2 records from {f} (written 1, updated 1, skipped 0, invalid 0; "
        "2 rows read)\n"
    )
    assert path.read_text() == textwrap.dedent(
        """\
        # Written by hand; keep this comment.
        id: a
        title: New title
        kind: mistake
        date: 2024-05-01
        summary: What happened.
        lesson: What we learned.  # and this one
        tags: [three, four]
        """
    )
    again = kb.run("import", f, "--on-duplicate", "update", "--default", "tags=three;four")
    assert again.stderr == (
        f"imported 0 records from {f} (written 0, updated 0, skipped 0, invalid 0, unchanged 2; "
        "2 rows read)\n"
    )


def test_dry_run_names_updates_with_their_changed_keys_and_conflicts(
    kb: KB, tmp_path: Path
) -> None:
    kb.add("a", title="Old")
    f = source(tmp_path, "in.csv", "id,title,kind,summary\na,New,mistake,What happened in a.\n")
    update = kb.run("import", f, "--on-duplicate", "update", "--dry-run")
    assert update.exit_code == 0
    assert update.stdout == f"would update a  ({f}, line 2)  [title]\n"
    assert update.stderr == (
        f"would import 1 record from {f} (write 0, update 1, skip 0, invalid 0; 1 row read); "
        "nothing was written (--dry-run)\n"
    )
    fail = kb.run("import", f, "--dry-run")
    assert fail.exit_code == 2
    assert fail.stdout == ""
    assert fail.stderr.startswith(
        f"Error: 1 record of {f} already exists in the knowledge base: a; "
        "nothing would be written\n"
    )
    assert "title: Old\n" in (kb.entries / "a.yaml").read_text()


def test_import_from_stdin_needs_a_format(kb: KB) -> None:
    line = json.dumps(
        {"title": "From a pipe", "kind": "observation", "summary": "x", "date": "2024-06-01"}
    )
    res = kb.run("import", "-", "--format", "jsonl", input=line + "\n")
    assert res.exit_code == 0
    assert (
        res.stderr == "imported 1 record from <stdin> (written 1, updated 0, skipped 0, invalid 0; "
        "1 row read)\n"
    )
    assert ids(kb) == ["2024-06-from-a-pipe"]
    res = kb.run("import", "-", input=line)
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: reading standard input needs --format\n")


def test_jsonl_invalid_lines_are_named_by_line_number(kb: KB, tmp_path: Path) -> None:
    lines = [
        {"id": "ok", "title": "Fine", "kind": "mistake", "summary": "x", "date": "2024-06-01"},
        {"id": "bad", "title": "Bad", "kind": "mistake", "summary": "x", "date": "soon"},
    ]
    text = json.dumps(lines[0]) + "\n{oops\n" + json.dumps(lines[1]) + "\n"
    f = source(tmp_path, "in.jsonl", text)
    res = kb.run("import", f)
    assert res.exit_code == 2
    assert res.stderr == (
        "error: 2 rows not imported:\n"
        f"  {f}, line 2: not valid JSON: Expecting property name enclosed in double quotes\n"
        f"  {f}, line 3: 'date' must be a date YYYY-MM-DD, not 'soon'\n"
        f"imported 1 record from {f} (written 1, updated 0, skipped 0, invalid 2; 3 rows read)\n"
    )
    assert ids(kb) == ["ok"]


def test_yaml_list_imports_with_default_kind(kb: KB, tmp_path: Path) -> None:
    f = source(tmp_path, "in.yaml", "- title: One\n  summary: x\n- title: Two\n  summary: y\n")
    res = kb.run("import", f, "--default", "kind=mistake")
    assert res.exit_code == 0
    assert ids(kb) == ["one", "two"]


def test_import_errors_in_the_command_line_are_usage_errors(kb: KB, tmp_path: Path) -> None:
    assert kb.run("import", str(tmp_path / "nope.csv")).stderr.startswith("Error: no such file")
    md = kb.run("import", source(tmp_path, "x.md", "# hi"))
    assert md.exit_code == 2
    assert f"  {tmp_path / 'x.md'}: missing required key 'kind'" in md.stderr
    f = source(tmp_path, "in.csv", "title\nx\n")
    bad = kb.run("import", f, "--on-duplicate", "merge")
    assert bad.exit_code == 2
    assert "--on-duplicate must be one of fail, skip, update, not 'merge'" in bad.stderr
    assert kb.run("import", f, "--map", "title=titel").exit_code == 2


# --- export -----------------------------------------------------------------------


def two_records(kb: KB) -> None:
    kb.add("a", title="Public one", tags=["x"], visibility="public")
    kb.add("b", title="Internal one", kind="success", tags=["y"])


def test_export_json_to_stdout_with_filters(kb: KB) -> None:
    two_records(kb)
    res = kb.run("export", "--kind", "success")
    assert res.exit_code == 0
    assert [r["id"] for r in json.loads(res.stdout)] == ["b"]
    assert res.stderr == "exported 1 record\n"


def test_export_public_keeps_only_public_records(kb: KB) -> None:
    two_records(kb)
    res = kb.run("export", "--public", "--format", "jsonl")
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == ["a"]


def test_export_to_a_file_takes_the_format_from_its_extension(kb: KB, tmp_path: Path) -> None:
    two_records(kb)
    out = tmp_path / "out.csv"
    res = kb.run("export", "-o", str(out))
    assert res.exit_code == 0
    assert res.stdout == ""
    assert res.stderr == f"exported 2 records to {out}\n"
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["id"], r["tags"], r["visibility"]) for r in rows] == [
        ("a", "x", "public"),
        ("b", "y", ""),
    ]


def test_export_markdown_is_for_reading(kb: KB) -> None:
    two_records(kb)
    res = kb.run("export", "--format", "md", "--tag", "x")
    assert res.stdout.startswith("# lessons\n\n## Public one\n\n`a` · mistake · 2024-05-01\n")


def test_export_that_matches_nothing_exits_1(kb: KB) -> None:
    two_records(kb)
    res = kb.run("export", "--tag", "nope")
    assert res.exit_code == 1
    assert res.stdout == "[]\n"
    assert "Error: no records with --tag nope" in res.stderr


def test_export_bad_format_is_a_usage_error(kb: KB) -> None:
    res = kb.run("export", "--format", "xml")
    assert res.exit_code == 2
    assert "--format must be one of json, jsonl, csv, md, yaml, not 'xml'" in res.stderr


# --- round trips ---------------------------------------------------------------------

ROUND_TRIP_FORMATS = ("json", "jsonl", "yaml", "csv")


def round_trip(src: KB, dst: KB, fmt: str, folder: Path) -> None:
    out = folder / f"export.{fmt}"
    res = src.run("export", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    res = dst.run("import", str(out))
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
def test_repo_entries_survive_export_then_import(
    fmt: str, make_kb: Callable[[str], KB], tmp_path: Path
) -> None:
    src, dst = make_kb("src"), make_kb("dst")
    shutil.rmtree(src.entries)
    shutil.copytree(REPO / "entries", src.entries)
    for kb in (src, dst):
        shutil.copy(REPO / "lessons.yaml", kb.root / "lessons.yaml")
    round_trip(src, dst, fmt, tmp_path)
    before = records(src.root)
    assert len(before) == len(list((REPO / "entries").rglob("*.yaml")))
    assert records(dst.root) == before


CUSTOM_CONFIG = """\
fields:
  channels: {type: list}
  evaluation: {type: choice, values: [output, Outcome]}
  effort: {type: number}
  reviewed: {type: date}
  follow-up: {type: text}
"""

# Text a record can hold: printable, any script, the CSV and list specials included.
_chars = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    st.sampled_from(";\\:,\"' =[]{}#-|>&*!%@`"),
)
_tricky = st.sampled_from(["yes", "null", "~", "1.0", "007", "2024-05-01", "a;b", "x\\", "[x]"])
_line = st.one_of(_tricky, st.text(_chars, min_size=1, max_size=30).map(str.strip).filter(bool))
_para = st.lists(_line, min_size=1, max_size=3).map("\n".join)
_ids = st.from_regex(ID_RE, fullmatch=True).filter(lambda s: len(s) <= 20)
_dates = st.dates().map(lambda d: d.isoformat())
_tags = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)


@st.composite
def record_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few valid records (normalised by validation) that may link to each other."""
    rids = draw(st.lists(_ids, min_size=1, max_size=4, unique=True))
    out = []
    for rid in rids:
        others = [o for o in rids if o != rid] + ["elsewhere"]
        raw: dict[str, Any] = {
            "id": rid,
            "title": draw(_line),
            "kind": draw(st.sampled_from(["mistake", "success", "observation"])),
            "summary": draw(_para),
        }
        optional: dict[str, Any] = {
            "date": _dates,
            "lesson": _para,
            "recommendations": st.lists(_line, min_size=1, max_size=3),
            "why": _para,
            "impact": st.sampled_from(["low", "medium", "high", "critical"]),
            "campaign": _line,
            "team": _line,
            "authors": st.lists(_line, min_size=1, max_size=2),
            "stage": st.sampled_from(["objectives", "scoring"]),
            "tags": st.lists(_tags, min_size=1, max_size=3),
            "links": st.lists(
                st.fixed_dictionaries(
                    {"to": st.sampled_from(others), "rel": st.sampled_from(list(RELATIONS))},
                    optional={"note": _line},
                ),
                min_size=1,
                max_size=2,
                unique_by=lambda link: (link["to"], link["rel"]),
            ),
            "actions": st.lists(
                st.fixed_dictionaries(
                    {"do": _line, "status": st.sampled_from(["open", "done", "dropped"])},
                    optional={"owner": _line, "due": _dates},
                ),
                min_size=1,
                max_size=2,
            ),
            "sources": st.lists(_line, min_size=1, max_size=2),
            "visibility": st.sampled_from(["internal", "public"]),
            "status": st.sampled_from(["draft", "final"]),
            "recorded": _dates,
            "channels": st.lists(_line, min_size=1, max_size=2),
            "evaluation": st.sampled_from(["output", "Outcome"]),
            "effort": st.one_of(
                st.integers(-(10**6), 10**6),
                st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
            ),
            "reviewed": _dates,
            "follow-up": _para,
        }
        for key in draw(st.sets(st.sampled_from(sorted(optional)))):
            raw[key] = draw(optional[key])
        out.append(raw)
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raws=record_sets(), fmt=st.sampled_from(ROUND_TRIP_FORMATS))
def test_any_valid_records_survive_export_then_import(
    raws: list[dict[str, Any]], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LESSONS_KB", raising=False)
    monkeypatch.delenv("LESSONS_DB", raising=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src, dst = KB(folder / "src"), KB(folder / "dst")
        for kb in (src, dst):
            kb.config(CUSTOM_CONFIG)
        schema = KnowledgeBase.open(str(src.root)).config.schema
        from lessons.entries import dump_record

        for raw in raws:
            rec, problems = validate(raw, schema)
            assert rec is not None, problems
            (src.entries / f"{rec['id']}.yaml").write_text(dump_record(rec, schema))
        round_trip(src, dst, fmt, folder)
        before = records(src.root)
        assert len(before) == len(raws)
        assert records(dst.root) == before


# --- the real corpora -------------------------------------------------------------------

CORPORA = sorted(p for p in SHARED_EVAL.glob("*.jsonl") if "queries" not in p.name)
CORPUS_MAP = ("--map", "org=team", "--map", "source_url=sources", "--map", "corpus=campaign")


@pytest.mark.skipif(not CORPORA, reason=f"eval corpora not found in {SHARED_EVAL}")
@pytest.mark.parametrize("corpus", CORPORA, ids=[p.stem for p in CORPORA])
def test_every_eval_corpus_imports_cleanly_with_the_documented_mapping(
    corpus: Path, kb: KB
) -> None:
    lines = sum(1 for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip())
    res = kb.run("import", str(corpus), *CORPUS_MAP)
    assert res.exit_code == 0, res.stderr
    assert f"imported {lines:,} records" in res.stderr
    assert "invalid 0" in res.stderr
    listed = json.loads(kb.run("list", "--json").stdout)
    assert listed["total"] == lines
    first = json.loads(corpus.read_text(encoding="utf-8").splitlines()[0])
    rec = json.loads(kb.run("show", listed["results"][-1]["id"], "--json").stdout)
    assert rec["campaign"] == first["corpus"]


@pytest.mark.skipif(not CORPORA, reason=f"eval corpora not found in {SHARED_EVAL}")
def test_corpus_fields_map_as_documented(kb: KB) -> None:
    corpus = SHARED_EVAL / "danluu-postmortems.jsonl"
    if not corpus.exists():
        pytest.skip("danluu-postmortems.jsonl not found")
    first = json.loads(corpus.read_text(encoding="utf-8").splitlines()[0])
    kb.run("import", str(corpus), *CORPUS_MAP)
    rec = json.loads(kb.run("show", first["id"], "--json").stdout)
    assert rec["team"] == first["org"]
    assert rec["sources"] == [first["source_url"]]
    assert rec["date"] is None
    assert rec["campaign"] == "danluu-postmortems"
    assert all(ID_RE.fullmatch(t) for t in rec["tags"])
