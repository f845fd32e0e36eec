"""Import and export as a library: reading sources, mapping columns, dates, ids, plans."""

from __future__ import annotations

import json

import pytest
from conftest import KB
from hypothesis import given
from hypothesis import strategies as st

from lessons import interop
from lessons.errors import LessonsError, UsageError
from lessons.kb import KnowledgeBase
from lessons.model import Schema


def read(text: str | bytes, fmt: str = "csv", name: str = "in.csv") -> interop.Source:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return interop.read_source(data, name, fmt)


def plan(kb: KB, text: str, fmt: str = "csv", **options: object) -> interop.ImportPlan:
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    schema = base.config.schema
    opts = interop.ImportOptions(
        maps=interop.parse_maps(options.pop("maps", []), schema),  # type: ignore[arg-type]
        defaults=interop.parse_defaults(options.pop("defaults", []), schema),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return interop.plan_import(base, read(text, fmt, f"in.{fmt}"), opts)


# --- list cells ---------------------------------------------------------------------


def test_split_list_trims_items_and_drops_empty_ones() -> None:
    assert interop.split_list(" a ; b;;c ;") == ["a", "b", "c"]


def test_split_list_unescapes_semicolons_and_backslashes_and_keeps_other_backslashes() -> None:
    assert interop.split_list(r"a\;b;C:\temp;x\\;y") == ["a;b", r"C:\temp", "x\\", "y"]


@given(st.lists(st.text(min_size=1).map(str.strip).filter(bool), max_size=6))
def test_join_list_reads_back_as_the_same_items(items: list[str]) -> None:
    assert interop.split_list(interop.join_list(items)) == items


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("2024-05-01", None, ("2024-05-01", "exact")),
        ("2024-5-1", None, ("2024-05-01", "exact")),
        ("2024/05/01", None, ("2024-05-01", "exact")),
        ("2024.05.01", None, ("2024-05-01", "exact")),
        ("2024-05-01T10:30:00Z", None, ("2024-05-01", "exact")),
        ("2024-05-01 10:30", None, ("2024-05-01", "exact")),
        ("2024", None, ("2024-01-01", "completed")),
        ("2024-05", None, ("2024-05-01", "completed")),
        ("05/2024", None, ("2024-05-01", "completed")),
        ("May 2024", None, ("2024-05-01", "completed")),
        ("13/05/2024", None, ("2024-05-13", "exact")),
        ("05/13/2024", None, ("2024-05-13", "exact")),
        ("03/04/2024", None, (None, "ambiguous")),
        ("03/04/2024", True, ("2024-04-03", "ordered")),
        ("03/04/2024", False, ("2024-03-04", "ordered")),
        ("04/04/24", None, ("2024-04-04", "exact")),
        ("01.05.99", True, ("1999-05-01", "ordered")),
        ("1 May 2024", None, ("2024-05-01", "exact")),
        ("1st Sept 2024", None, ("2024-09-01", "exact")),
        ("01-May-24", None, ("2024-05-01", "exact")),
        ("May 1, 2024", None, ("2024-05-01", "exact")),
        ("45413", None, ("2024-05-01", "serial")),
        ("2018-02-29", None, ("2018-02-28", "clamped")),
        ("2024-02-30", None, ("2024-02-29", "clamped")),
        ("2024-13-01", None, (None, "unknown")),
        ("2024-05-32", None, (None, "unknown")),
        ("next tuesday", None, (None, "unknown")),
        ("Smarch 2024", None, (None, "unknown")),
    ],
)
def test_parse_loose_date(text: str, dayfirst: bool | None, expected: tuple[str, str]) -> None:
    assert interop.parse_loose_date(text, dayfirst) == expected


def test_day_month_order_finds_evidence_each_way() -> None:
    assert interop.day_month_order(["01/02/2024", "13/02/2024"]) == (True, False)
    assert interop.day_month_order(["01/02/2024", "02/13/2024"]) == (False, True)
    assert interop.day_month_order(["01/02/2024", "2024-05-01"]) == (False, False)


# --- titles and names ------------------------------------------------------------------


def test_shorten_cuts_at_a_word_boundary_within_the_limit() -> None:
    title = "word " * 40
    short = interop.shorten(title.strip())
    assert len(short) <= 120
    assert short.endswith("word…")
    assert interop.shorten("short") == "short"


def test_first_sentence_of_a_summary() -> None:
    assert interop.first_sentence("The disk filled up. Then it broke.") == "The disk filled up."
    assert interop.first_sentence("One line\nand another") == "One line"


def test_column_names_match_whatever_their_case_and_spacing() -> None:
    assert interop.norm_name("  Lesson Learned ") == "lesson_learned"
    assert interop.norm_name("lesson-learned") == "lesson_learned"
    assert interop.norm_name("TITLE") == "title"


# --- reading sources -----------------------------------------------------------------


def test_csv_with_bom_semicolons_and_trailing_header_spaces() -> None:
    source = read(b"\xef\xbb\xbf Title ;Kind\r\nA;mistake\r\n;\r\nB;success\r\n")
    assert source.columns == ["Title", "Kind"]
    assert [(r.where, r.data) for r in source.rows] == [
        ("in.csv, line 2", {"Title": "A", "Kind": "mistake"}),
        ("in.csv, line 4", {"Title": "B", "Kind": "success"}),
    ]
    assert source.blank == 1


def test_csv_line_numbers_count_lines_inside_quoted_cells() -> None:
    source = read('title,summary\nA,"two\nlines"\nB,x\n')
    assert [r.where for r in source.rows] == ["in.csv, line 2", "in.csv, line 4"]


def test_csv_excel_sep_line_names_the_delimiter() -> None:
    source = read("sep=;\ntitle;tags\nA;x,y\n")
    assert source.rows[0].data == {"title": "A", "tags": "x,y"}
    assert source.rows[0].where == "in.csv, line 3"


def test_csv_row_with_more_cells_than_the_header_is_unreadable() -> None:
    source = read("title,kind\nA,mistake,extra\nB,mistake,\n")
    assert [(p.where, p.message) for p in source.unreadable] == [
        ("in.csv, line 2", "3 cells but the header names 2 columns")
    ]
    assert [r.data["title"] for r in source.rows] == ["B"]


def test_csv_that_is_not_utf8_is_refused_with_a_hint() -> None:
    with pytest.raises(LessonsError, match=r"not UTF-8 text \(byte 9\)") as exc:
        read("title\nCaf\xe9\n".encode("latin-1"))
    assert exc.value.line == 2
    assert "CSV UTF-8" in (exc.value.hint or "")


def test_json_list_single_object_and_json_lines_in_a_json_file() -> None:
    assert [r.where for r in read('[{"title": "A"}, {"title": "B"}]', "json").rows] == [
        "in.csv, item 1",
        "in.csv, item 2",
    ]
    assert len(read('{"title": "A"}', "json").rows) == 1
    assert read('{"title": "A"}\n{"title": "B"}\n', "json").fmt == "jsonl"


def test_json_syntax_error_names_the_line() -> None:
    with pytest.raises(LessonsError) as exc:
        read('[\n{"title": }\n]', "json", "x.json")
    assert (exc.value.path, exc.value.line) == ("x.json", 2)


def test_jsonl_bad_line_is_reported_and_the_others_read() -> None:
    source = read('{"title": "A"}\n\nnot json\n[1]\n{"title": "B"}\n', "jsonl", "x.jsonl")
    assert [r.where for r in source.rows] == ["x.jsonl, line 1", "x.jsonl, line 5"]
    assert [(p.where, p.message) for p in source.unreadable] == [
        ("x.jsonl, line 3", "not valid JSON: Expecting value"),
        ("x.jsonl, line 4", "a record must be an object, not a list"),
    ]
    assert source.blank == 1


def test_yaml_list_or_one_record_with_item_lines() -> None:
    source = read("- title: A\n- title: B\n  kind: mistake\n", "yaml", "x.yaml")
    assert [r.where for r in source.rows] == ["x.yaml, item 1 (line 1)", "x.yaml, item 2 (line 2)"]
    assert read("title: A\n", "yaml").rows[0].data == {"title": "A"}


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(LessonsError, match="aliases"):
        read("- &a {title: A}\n- *a\n", "yaml")


def test_format_from_extension_or_flag() -> None:
    assert interop.format_of("x.CSV", None, interop.FORMATS_IN) == "csv"
    assert interop.format_of("x.ndjson", None, interop.FORMATS_IN) == "jsonl"
    assert interop.format_of("-", "YAML", interop.FORMATS_IN) == "yaml"
    with pytest.raises(UsageError, match="needs --format"):
        interop.format_of("-", None, interop.FORMATS_IN)
    with pytest.raises(UsageError, match="cannot tell the format"):
        interop.format_of("notes.txt", None, interop.FORMATS_IN)


# --- options ----------------------------------------------------------------------------


def test_parse_maps_and_defaults() -> None:
    schema = Schema()
    assert interop.parse_maps(["Lesson Learned=lesson", "Notes=", "org=Team"], schema) == {
        "lesson_learned": "lesson",
        "notes": None,
        "org": "team",
    }
    assert interop.parse_defaults(["kind=mistake", "tags=a;b"], schema) == {
        "kind": "mistake",
        "tags": "a;b",
    }
    with pytest.raises(UsageError, match="'sumary' is not a record key \\(did you mean 'summary'"):
        interop.parse_maps(["x=sumary"], schema)
    with pytest.raises(UsageError, match="--map takes SRC=DEST"):
        interop.parse_maps(["x"], schema)
    with pytest.raises(UsageError, match="--default takes KEY=VALUE"):
        interop.parse_defaults(["kind="], schema)


def test_unknown_column_with_values_stops_the_import_with_a_suggestion() -> None:
    source = read("Title,Sumary,Notes,Empty\nA,x,y,\n")
    with pytest.raises(UsageError) as exc:
        interop.map_columns(source, Schema(), {})
    assert exc.value.message == (
        "2 columns of in.csv are not a record key: 'Sumary' (did you mean 'summary'? "
        "--map 'Sumary=summary'); 'Notes'; nothing was written"
    )


def test_empty_unknown_column_is_only_noted_and_map_can_drop_or_rename() -> None:
    source = read("Title,Sumary,Notes,Empty\nA,x,y,\n")
    colmap, notes = interop.map_columns(source, Schema(), {"sumary": "summary", "notes": None})
    assert colmap == {"Title": "title", "Sumary": "summary"}
    assert notes == ["column 'Empty' is empty and not a record key; ignored"]


def test_two_columns_giving_the_same_key_are_refused() -> None:
    with pytest.raises(UsageError, match="columns 'Title' and 'title' both give 'title'"):
        interop.map_columns(read("Title,title \nA,B\n"), Schema(), {})


# --- plans ----------------------------------------------------------------------------


CSV_HEAD = "title,kind,date,summary\n"


def test_missing_ids_are_made_unique_in_file_order(kb: KB) -> None:
    text = (
        CSV_HEAD
        + "Same,mistake,2024-05-01,a\nSame,mistake,2024-05-02,b\nSame,mistake,2024-05-03,c\n"
    )
    ids = [p.record["id"] for p in plan(kb, text).new]
    assert ids == ["2024-05-same", "2024-05-same-2", "2024-05-same-3"]


def test_made_ids_do_not_take_an_id_the_file_gives(kb: KB) -> None:
    text = "id,title,kind,summary\n,Same,mistake,a\nsame,Other,mistake,b\n"
    assert [p.record["id"] for p in plan(kb, text).new] == ["same-2", "same"]


def test_made_ids_are_stable_so_a_reimport_finds_its_duplicates(kb: KB) -> None:
    kb.add("2024-05-same", title="Same")
    text = CSV_HEAD + "Same,mistake,2024-05-01,a\nSame,mistake,2024-05-02,b\n"
    result = plan(kb, text, on_duplicate="skip")
    assert [p.record["id"] for p in result.skipped] == ["2024-05-same"]
    assert [p.record["id"] for p in result.new] == ["2024-05-same-2"]


def test_foreign_ids_are_converted_by_the_one_rule_and_noted_once(kb: KB) -> None:
    rows = [
        {
            "id": "google-GAE-#15023",
            "title": "A",
            "kind": "mistake",
            "summary": "x",
            "date": "2024-01-02",
        },
        {
            "id": "Wiki 2020 Outage",
            "title": "B",
            "kind": "mistake",
            "summary": "y",
            "date": "2024-01-02",
        },
    ]
    result = plan(kb, json.dumps(rows), "json")
    assert [p.record["id"] for p in result.new] == ["google-gae-15023", "wiki-2020-outage"]
    assert result.notes == [
        "2 ids were not valid record ids and were converted (lower case, every run of other "
        "characters one hyphen): google-GAE-#15023 -> google-gae-15023, "
        "Wiki 2020 Outage -> wiki-2020-outage"
    ]


def test_an_id_repeated_in_the_file_makes_the_later_row_invalid(kb: KB) -> None:
    text = "id,title,kind,summary\nx,A,mistake,a\nX,B,mistake,b\n"
    result = plan(kb, text)
    assert [p.record["id"] for p in result.new] == ["x"]
    assert [(p.where, p.message) for p in result.invalid] == [
        ("in.csv, line 3", "id 'x' is already used by in.csv, line 2")
    ]


def test_values_are_normalised_before_validation(kb: KB) -> None:
    text = (
        "Title,Kind,Date,Summary,Tags,Impact,Links,Actions,Sources\n"
        "A,Mistake,2024,x,Config Errors; #Humour,HIGH,caused-by:b;c,Fix it;Tell them,"
        "http://a\n"
    )
    rec = plan(kb, text).new[0].record
    assert rec["kind"] == "mistake"
    assert rec["date"] == "2024-01-01"
    assert rec["tags"] == ["config-errors", "humour"]
    assert rec["impact"] == "high"
    assert rec["links"] == [{"to": "b", "rel": "caused-by"}, {"to": "c", "rel": "relates-to"}]
    assert rec["actions"] == [
        {"do": "Fix it", "status": "open"},
        {"do": "Tell them", "status": "open"},
    ]
    assert rec["sources"] == ["http://a"]


def test_json_strings_for_list_fields_become_one_item_lists(kb: KB) -> None:
    rows = [{"title": "A", "kind": "mistake", "summary": "x", "sources": "http://a;b"}]
    assert plan(kb, json.dumps(rows), "json").new[0].record["sources"] == ["http://a;b"]


def test_long_title_is_cut_and_missing_title_comes_from_the_summary(kb: KB) -> None:
    long = "word " * 30
    text = CSV_HEAD + f"{long},mistake,2024-05-01,x\n,mistake,2024-05-01,It broke. Badly.\n"
    result = plan(kb, text)
    titles = [p.record["title"] for p in result.new]
    assert len(titles[0]) <= 120 and titles[0].endswith("…")
    assert titles[1] == "It broke."
    assert result.notes == [
        "1 title longer than 120 characters was cut at a word boundary (ending in …): "
        "in.csv, line 2",
        "1 row had no title and took the first sentence of the summary: in.csv, line 3",
    ]


def test_completed_dates_are_noted_with_their_rows(kb: KB) -> None:
    text = CSV_HEAD + "".join(f"T{i},mistake,2020,x\n" for i in range(4)) + "U,mistake,2020-05,x\n"
    result = plan(kb, text)
    assert result.notes == [
        "5 dates gave only a year or a month and were completed to the first day "
        "(YYYY -> YYYY-01-01, YYYY-MM -> YYYY-MM-01): in.csv, lines 2-6"
    ]


def test_ambiguous_dates_default_to_day_first_with_a_note(kb: KB) -> None:
    result = plan(kb, CSV_HEAD + "A,mistake,03/04/2024,x\n")
    assert result.new[0].record["date"] == "2024-04-03"
    assert "read as day/month/year (no date in the file tells the order" in result.notes[0]


def test_the_file_decides_the_day_month_order(kb: KB) -> None:
    result = plan(kb, CSV_HEAD + "A,mistake,03/04/2024,x\nB,mistake,04/25/2024,x\n")
    assert [p.record["date"] for p in result.new] == ["2024-03-04", "2024-04-25"]
    flagged = plan(kb, CSV_HEAD + "A,mistake,03/04/2024,x\n", dayfirst=False)
    assert flagged.new[0].record["date"] == "2024-03-04"
    assert flagged.notes == []


def test_a_file_with_both_orders_makes_its_ambiguous_dates_invalid(kb: KB) -> None:
    text = CSV_HEAD + "A,mistake,13/04/2024,x\nB,mistake,04/25/2024,x\nC,mistake,03/04/2024,x\n"
    result = plan(kb, text)
    assert len(result.new) == 2
    assert [(p.where, p.message) for p in result.invalid] == [
        (
            "in.csv, line 4",
            "'date' 03/04/2024 could be day/month or month/day, and the file shows no order; "
            "pass --dayfirst or --monthfirst",
        )
    ]


def test_invalid_rows_carry_every_reason_and_valid_rows_go_on(kb: KB) -> None:
    text = CSV_HEAD + "A,oops,someday,x\nB,mistake,2024-05-01,\nC,success,2024-05-01,fine\n"
    result = plan(kb, text)
    assert [p.record["title"] for p in result.new] == ["C"]
    assert [(p.where, p.message) for p in result.invalid] == [
        (
            "in.csv, line 2",
            "'kind' must be one of mistake, success, observation, not 'oops'; "
            "'date' must be a date YYYY-MM-DD, not 'someday'",
        ),
        ("in.csv, line 3", "missing required key 'summary'"),
    ]


def test_defaults_fill_only_what_the_row_lacks(kb: KB) -> None:
    text = "title,kind,summary\nA,,x\nB,success,y\n"
    result = plan(kb, text, defaults=["kind=mistake", "tags=imported;2024"])
    assert [(p.record["kind"], p.record["tags"]) for p in result.new] == [
        ("mistake", ["imported", "2024"]),
        ("success", ["imported", "2024"]),
    ]


def test_on_duplicate_decides_what_existing_ids_do(kb: KB) -> None:
    kb.add("a", title="Old")
    kb.add("b", title="Same")
    text = (
        "id,title,kind,summary\n"
        "a,New,mistake,x\nb,Same,mistake,What happened in b.\nc,C,mistake,z\n"
    )
    fail = plan(kb, text)
    assert [p.record["id"] for p in fail.conflicts] == ["a", "b"]
    skip = plan(kb, text, on_duplicate="skip")
    assert [p.record["id"] for p in skip.skipped] == ["a", "b"]
    update = plan(kb, text, on_duplicate="update")
    assert [(p.record["id"], p.changes) for p in update.updates] == [
        ("a", {"title": "New", "summary": "x"})
    ]
    assert [p.record["id"] for p in update.unchanged] == ["b"]
    assert [p.record["id"] for p in update.new] == ["c"]


def test_a_broken_file_at_the_new_path_makes_the_row_invalid(kb: KB) -> None:
    kb.write("x.yaml", "id: x\ntitle: [\n")
    result = plan(kb, "id,title,kind,summary\nx,A,mistake,x\n")
    assert result.new == []
    assert result.invalid[0].message.startswith("entries/x.yaml already exists but is not a valid")


# --- export -----------------------------------------------------------------------


RECORD = {
    "id": "a",
    "title": "A; title",
    "kind": "mistake",
    "date": "2024-05-01",
    "summary": "Line one\nline two",
    "tags": ["x", "y"],
    "links": [{"to": "b", "rel": "caused-by", "note": "see: b; c"}],
    "actions": [{"do": "Fix", "status": "open"}],
    "sources": ["http://a;b", "C:\\dir"],
    "visibility": "public",
    "status": "final",
    "path": "entries/a.yaml",
}


def test_csv_export_escapes_list_items_and_encodes_links_and_actions() -> None:
    text = interop.export_text([RECORD], "csv", Schema())
    assert text == (
        "id,title,kind,date,summary,tags,links,actions,sources,visibility\n"
        'a,A; title,mistake,2024-05-01,"Line one\nline two",x;y,caused-by:b:see: b\\; c,'
        '"[{""do"": ""Fix"", ""status"": ""open""}]",http://a\\;b;C:\\\\dir,public\n'
    )


def test_json_jsonl_and_yaml_exports_hold_the_documents_without_path() -> None:
    doc = {k: v for k, v in RECORD.items() if k not in ("path", "status")}
    assert json.loads(interop.export_text([RECORD], "json", Schema())) == [doc]
    assert json.loads(interop.export_text([RECORD], "jsonl", Schema())) == doc
    import yaml

    loaded = yaml.safe_load(interop.export_text([RECORD], "yaml", Schema()))
    assert json.loads(json.dumps(loaded, default=str)) == [doc]
    assert interop.export_text([], "yaml", Schema()) == "[]\n"
    assert interop.export_text([], "json", Schema()) == "[]\n"


def test_markdown_export_is_for_people() -> None:
    text = interop.export_text([RECORD], "md", Schema(), "Team lessons")
    assert text.startswith("# Team lessons\n\n## A; title\n\n`a` · mistake · 2024-05-01\n")
    assert "- caused-by `b` — see: b; c" in text
    assert "- [ ] Fix" in text


def test_public_only_keeps_public_records() -> None:
    assert interop.public_only([RECORD, {**RECORD, "visibility": "internal"}]) == [RECORD]


# --- applying ----------------------------------------------------------------------


@pytest.mark.parametrize("rows", [3, interop.PARALLEL_FROM + 50])
def test_apply_writes_every_new_record_and_syncs_once(kb: KB, rows: int) -> None:
    text = CSV_HEAD + "".join(
        f"Row {i},mistake,2024-05-01,What happened {i}.\n" for i in range(rows)
    )
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    result = interop.apply_import(base, plan(kb, text))
    assert (result.written, result.updated, result.failed) == (rows, 0, [])
    assert result.report is not None and result.report.added == rows
    assert base.store.count() == rows
    assert (kb.entries / f"2024-05-row-{rows - 1}.yaml").is_file()
    assert not [p for p in kb.entries.iterdir() if p.name.startswith(".")]


def test_apply_refuses_a_plan_with_conflicts(kb: KB) -> None:
    kb.add("a")
    with pytest.raises(LessonsError, match="already exists"):
        interop.apply_import(
            KnowledgeBase.open(str(kb.root)), plan(kb, "id,title,kind,summary\na,A,mistake,x\n")
        )
