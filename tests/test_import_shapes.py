"""`lessons import` of the shapes teams keep lessons in (issue 15): spreadsheets,
Markdown folders, retro boards, nested JSON; value and column mapping, lists, zones,
a mapping file, and counts that add up. Real .xlsx/.ods files are written here with
openpyxl and odfpy (dev extra); Markdown and JSON are written as text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import KB

openpyxl = pytest.importorskip("openpyxl")


def entry(kb: KB, rid: str) -> dict[str, object]:
    return yaml.safe_load((kb.entries / f"{rid}.yaml").read_text(encoding="utf-8"))


def ids(kb: KB) -> list[str]:
    return sorted(p.stem for p in kb.entries.rglob("*.yaml"))


SUMMARY = re.compile(
    r"\((?:written|write) (\d+), (?:updated|update) (\d+), (?:skipped|skip) (\d+), "
    r"invalid (\d+)(?:, unchanged (\d+))?(?:, blank rows (\d+))?; (\d+) (?:rows?|files?) read"
)


def counts_add_up(stderr: str) -> tuple[int, ...]:
    """The summary's counts, checked to add up to the rows read."""
    found = SUMMARY.search(stderr)
    assert found, stderr
    nums = tuple(int(g or 0) for g in found.groups())
    assert sum(nums[:6]) == nums[6], stderr
    return nums


# --- a Portuguese register in Excel ----------------------------------------------------


def portuguese_register(path: Path) -> Path:
    """A register as teams keep them: a title row, a blank row, then the header; merged
    phase cells, dates as Excel dates and as serial numbers, a formula, rich text."""
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Registo"
    ws.append(["Registo de Lições Aprendidas — Obra Norte 2023"])
    ws.merge_cells("A1:G1")
    ws.append([])
    ws.append(["Título", "Tipo", "Data", "Descrição", "Fase", "Categorias", "Impacto"])
    ws.append(
        [
            "Atraso do fornecedor de betão",
            "Lição Aprendida",
            dt.datetime(2023, 5, 4),
            "O fornecedor atrasou três entregas.",
            "Execução",
            "fornecedores, prazos",
            "major",
        ]
    )
    ws.append(
        [
            "Reunião diária com o empreiteiro",
            "Boas Práticas",
            dt.date(2023, 6, 1),
            CellRichText(["Reduziu ", TextBlock(InlineFont(b=True), "retrabalho"), " em obra."]),
            None,
            "comunicação",
            "minor",
        ]
    )
    ws.merge_cells("E4:E5")
    ws.append(
        [
            "Sensor mal calibrado",
            "Alerta Técnico",
            45000,
            "Leituras erradas durante uma semana.",
            "Ensaios",
            "qualidade; sensores",
            "major",
        ]
    )
    ws.append([None] * 7)
    ws.append(["Tarefa sem dono", "Lição Aprendida", "2023-07-01", "", "Ensaios", "", "minor"])
    other = wb.create_sheet("Listas")
    other.append(["Tipos"])
    other.append(["Lição Aprendida"])
    wb.save(path)
    return path


PT_FLAGS = [
    "--map", "Título=title",
    "--map", "Tipo=kind",
    "--map", "Data=date",
    "--map", "Descrição=summary",
    "--map", "Fase=stage",
    "--map", "Categorias=tags",
    "--map", "Impacto=impact",
    "--map-value", "kind:Lição Aprendida=mistake",
    "--map-value", "kind:boas praticas=success",
    "--map-value", "kind:Alerta Técnico=observation",
    "--map-value", "impact:major=high",
    "--map-value", "impact:minor=low",
    "--map-value", "stage:Execução=implementation",
    "--map-value", "stage:Ensaios=scoring",
]  # fmt: skip


def test_xlsx_register_with_title_rows_merged_cells_and_portuguese_values(
    kb: KB, tmp_path: Path
) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), *PT_FLAGS)
    assert res.exit_code == 2, res.stderr
    written, _, _, invalid, _, blank, read = counts_add_up(res.stderr)
    assert (written, invalid, blank, read) == (3, 1, 1, 5)
    # The header was found under the title row, and the row of the invalid record is
    # its spreadsheet row number (row 8: title row, blank row, header, 4 rows, a blank).
    assert "the header is row 3 of" in res.stderr
    assert "rows 1" not in res.stderr or "row 1 above it" in res.stderr
    assert f"{f}, sheet 'Registo', row 8: missing required key 'summary'" in res.stderr
    assert "other sheet holds values too: 'Listas'" in res.stderr
    first = entry(kb, "2023-05-atraso-do-fornecedor-de-betao")
    assert first == {
        "id": "2023-05-atraso-do-fornecedor-de-betao",
        "title": "Atraso do fornecedor de betão",
        "kind": "mistake",
        "date": dt.date(2023, 5, 4),
        "summary": "O fornecedor atrasou três entregas.",
        "impact": "high",
        "stage": "implementation",
        "tags": ["fornecedores", "prazos"],
    }
    # Merged "Fase" cell (E4:E5) belongs to both rows; rich text is its plain text.
    second = entry(kb, "2023-06-reuniao-diaria-com-o-empreiteiro")
    assert second["stage"] == "implementation"
    assert second["summary"] == "Reduziu retrabalho em obra."
    assert second["kind"] == "success" and second["tags"] == ["comunicação"]
    # A date stored as a serial number (45000 = 2023-03-15), tags split on ';' there.
    third = entry(kb, "2023-03-sensor-mal-calibrado")
    assert third["date"] == dt.date(2023, 3, 15)
    assert third["tags"] == ["qualidade", "sensores"]
    assert "column 'Categorias' (tags) holds lists split on any of ; , #hashtags" in res.stderr


def test_unmapped_values_name_the_option_and_list_the_values_with_counts(
    kb: KB, tmp_path: Path
) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    pairs = list(zip(PT_FLAGS[::2], PT_FLAGS[1::2], strict=True))
    flags = [a for pair in pairs if not pair[1].startswith("kind:") for a in pair]
    res = kb.run("import", str(f), *flags, "--dry-run")
    assert res.exit_code == 2
    assert (
        f"the values of 'kind' in {f}: 'Lição Aprendida' (2), 'Boas Práticas' (1), "
        "'Alerta Técnico' (1)"
    ) in res.stderr
    assert "--map-value 'kind:Lição Aprendida=" in res.stderr
    assert "--map-value 'kind:Boas Práticas=success'" in res.stderr
    counts_add_up(res.stderr)


def test_map_value_naming_a_value_that_never_occurs_is_an_error_with_did_you_mean(
    kb: KB, tmp_path: Path
) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), *PT_FLAGS, "--map-value", "kind:Liçao Aprendia=mistake")
    assert res.exit_code == 2
    assert "no row of" in res.stderr and "has 'Liçao Aprendia'" in res.stderr
    assert "(did you mean 'Lição Aprendida'?)" in res.stderr
    assert ids(kb) == []


def test_map_naming_a_column_that_never_occurs_is_an_error_with_did_you_mean(
    kb: KB, tmp_path: Path
) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), *PT_FLAGS, "--map", "Descriçao curta=lesson")
    assert res.exit_code == 2
    assert "has no column 'descriçao_curta' (did you mean 'Descrição'?)" in res.stderr
    assert ids(kb) == []


def test_sheet_and_header_row_choose_what_is_read(kb: KB, tmp_path: Path) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), "--sheet", "2", "--dry-run", "--ignore-unmapped")
    assert "1 column not imported (--ignore-unmapped): 'Tipos'" in res.stderr
    bad = kb.run("import", str(f), "--sheet", "Lista")
    assert bad.exit_code == 2
    assert "has no such sheet (did you mean 'Listas'?)" in bad.stderr
    assert "1. 'Registo', 2. 'Listas'" in bad.stderr
    empty = kb.run("import", str(f), "--header-row", "2")
    assert empty.exit_code == 2 and "--header-row 2: that row of" in empty.stderr


def test_csv_of_a_spreadsheet_is_refused_clearly(kb: KB, tmp_path: Path) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), "--format", "csv")
    assert res.exit_code == 2
    assert "is a zip archive (a spreadsheet?), not CSV text" in res.stderr


# --- a Ukrainian register in LibreOffice --------------------------------------------------


def ukrainian_register(path: Path) -> Path:
    """An .ods with a title row, a merged kind cell, a formula with its value, and a
    timestamp; written by odfpy."""
    odf = pytest.importorskip("odf.opendocument")
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = odf.OpenDocumentSpreadsheet()
    table = Table(name="Реєстр")

    def row(*cells: object) -> None:
        tr = TableRow()
        for c in cells:
            tr.addElement(c)
        table.addElement(tr)

    def s(value: str, **kw: object) -> object:
        cell = TableCell(valuetype="string", **kw)
        cell.addElement(P(text=value))
        return cell

    def d(value: str) -> object:
        cell = TableCell(valuetype="date", datevalue=value)
        cell.addElement(P(text=value))
        return cell

    def f(formula: str, value: int) -> object:
        cell = TableCell(valuetype="float", value=value, formula=formula)
        cell.addElement(P(text=str(value)))
        return cell

    row(s("Реєстр уроків проєкту"))
    row(s("Назва"), s("Тип"), s("Дата"), s("Опис"), s("Теги"), s("Бали"))
    row(
        s("Підрядник запізнився"),
        s("Помилка", numberrowsspanned=2),
        d("2023-02-01"),
        s("Матеріали прибули на тиждень пізніше."),
        s("#підрядники #терміни"),
        f("of:=1+1", 2),
    )
    row(
        s("Графік не оновили"),
        CoveredTableCell(),
        d("2023-02-08T23:30:00"),
        s("Ніхто не оновив графік після затримки."),
        s("#терміни"),
        f("of:=2+2", 4),
    )
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def test_ods_register_in_ukrainian_keeps_cyrillic_tags_and_fills_merged_cells(
    kb: KB, tmp_path: Path
) -> None:
    kb.config("fields:\n  score: {type: number}\n")
    f = ukrainian_register(tmp_path / "реєстр.ods")
    res = kb.run(
        "import", str(f),
        "--map", "Назва=title", "--map", "Тип=kind", "--map", "Дата=date",
        "--map", "Опис=summary", "--map", "Теги=tags", "--map", "Бали=score",
        "--map-value", "kind:помилка=mistake",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert counts_add_up(res.stderr)[:4] == (2, 0, 0, 0)
    first = entry(kb, "2023-02-pidryadnik-zapiznivsya")
    assert first["tags"] == ["підрядники", "терміни"]
    assert first["kind"] == "mistake" and first["score"] == 2
    second = entry(kb, "2023-02-grafik-ne-onovili")
    # The merged kind (rows 3-4) belongs to both rows; the formula's value is read.
    assert second["kind"] == "mistake" and second["score"] == 4
    assert second["date"] == dt.date(2023, 2, 8)
    assert "holds lists split on #hashtags" in res.stderr
    tags = kb.run("tag", "list")
    assert "підрядники" in tags.stdout


# --- Markdown post-mortems ---------------------------------------------------------------


POSTMORTEM_NO_FRONT = """\
# Certificate expiry took down sign-in

## Summary

The signing certificate expired and nobody could sign in for 84 minutes.

## Timeline

| Time | Event |
| --- | --- |
| 12:06 | Certificates expire |

## Lessons Learned

- We were not monitoring certificate expiry.

## Action Items

- [ ] Alert 30 days before a certificate expires
- [x] Renew the certificate
"""

POSTMORTEM_FRONT = """\
---
title: Queue workers crashed on a poison message
date: 2022-11-18T23:40:00Z
kind: mistake
tags: [queues, crash]
---

A bad event in the queue crashed every worker that read it, again and again.
"""


def test_markdown_folder_with_and_without_front_matter(kb: KB, tmp_path: Path) -> None:
    folder = tmp_path / "postmortems"
    (folder / "2021").mkdir(parents=True)
    (folder / "2021" / "adfs.md").write_text(POSTMORTEM_NO_FRONT, encoding="utf-8")
    (folder / "queue.md").write_text(POSTMORTEM_FRONT, encoding="utf-8")
    (folder / "status.png").write_bytes(b"\x89PNG")
    kb.config("timezone: Europe/Kyiv\n")
    res = kb.run("import", str(folder), "--default", "kind=mistake")
    assert res.exit_code == 2, res.stderr
    # Timeline has no usual key: the error names it, the files it is in, the options.
    assert "'section:Timeline' in 1 file" in res.stderr
    assert "--ignore-unmapped" in res.stderr and ids(kb) == []
    res = kb.run(
        "import", str(folder), "--default", "kind=mistake", "--map", "section:Timeline=evidence"
    )
    assert res.exit_code == 0, res.stderr
    assert "1 other file in" in res.stderr and "status.png" in res.stderr
    assert counts_add_up(res.stderr)[:4] == (2, 0, 0, 0)
    adfs = entry(kb, "certificate-expiry-took-down-sign-in")
    assert adfs["summary"] == (
        "The signing certificate expired and nobody could sign in for 84 minutes."
    )
    assert adfs["lesson"] == "- We were not monitoring certificate expiry."
    assert adfs["actions"] == [
        {"do": "Alert 30 days before a certificate expires", "status": "open"},
        {"do": "Renew the certificate", "status": "done"},
    ]
    assert "| 12:06 | Certificates expire |" in str(adfs["evidence"])
    # Front matter maps like any source; a body without sections is the summary; the
    # timestamp is 2022-11-19 in Kyiv (UTC+2).
    queue = entry(kb, "2022-11-queue-workers-crashed-on-a-poison-message")
    assert queue["date"] == dt.date(2022, 11, 19)
    assert queue["tags"] == ["queues", "crash"]
    assert queue["summary"] == (
        "A bad event in the queue crashed every worker that read it, again and again."
    )
    assert "fell on another day than written there" in res.stderr


def test_markdown_section_map_and_a_body_without_sections(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "retro.md"
    f.write_text(
        "# Launch retro\n\n## What went wrong\n\nThe email went out twice.\n\n"
        "## Lessons learned\n\nCancel a scheduled send before sending by hand.\n",
        encoding="utf-8",
    )
    res = kb.run(
        "import", str(f), "--map", "section:What went wrong=summary", "--default", "kind=mistake"
    )
    assert res.exit_code == 0, res.stderr
    rec = entry(kb, "launch-retro")
    assert rec["summary"] == "The email went out twice."
    assert rec["lesson"] == "Cancel a scheduled send before sending by hand."


def test_a_folder_without_kinds_or_dates_gets_one_hint_per_missing_key(
    kb: KB, tmp_path: Path
) -> None:
    # The shape of a real post-mortem folder: a heading, sections, no front matter.
    folder = tmp_path / "pms"
    folder.mkdir()
    for name in ("PM-001 - DNS.md", "PM-002 - Certs.md", "PM-003 - Disk.md"):
        (folder / name).write_text(
            f"# {name[9:-3]} outage\n\n## Summary\n\nIt broke.\n\n"
            "## Action Items\n\n- Add an alert\n",
            encoding="utf-8",
        )
    res = kb.run("import", str(folder))
    assert res.exit_code == 2
    hint = "hint: 3 files had no 'kind': map a column to it (--map 'COLUMN=kind') or"
    assert hint in res.stderr and "(--default kind=mistake)" in res.stderr
    assert res.stderr.count("hint: 3 files had no") == 1
    assert not list(kb.entries.glob("*.yaml"))
    res = kb.run("import", str(folder), "--default", "kind=mistake")
    assert res.exit_code == 0, res.stderr
    assert "all 3 records will have no date" in res.stderr
    assert "--default date=YYYY-MM-DD" in res.stderr
    (folder / "PM-004 - Dated.md").write_text(
        "---\ndate: 2024-03-01\n---\n# Dated outage\n\nIt broke.\n", encoding="utf-8"
    )
    for path in kb.entries.glob("*.yaml"):
        path.unlink()
    res = kb.run("import", str(folder), "--default", "kind=mistake")
    assert res.exit_code == 0, res.stderr
    assert "3 records will have no date" in res.stderr and "all 3" not in res.stderr
    assert "PM-001 - DNS.md" in res.stderr and "PM-004" not in res.stderr


def test_a_file_named_by_a_uuid_is_titled_by_its_summary_not_its_name(
    kb: KB, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    body = "---\nsummary: All downloads failed for 13 minutes. A bad deploy.\n---\n"
    (folder / "04f5afd8-09fc-4314-9c60-7f942faca125.md").write_text(body, encoding="utf-8")
    (folder / "cdaefaac-7057-4389-989d-4ef123aa5e20.md").write_text(body, encoding="utf-8")
    (folder / "disk-full-again.md").write_text(body, encoding="utf-8")
    # No summary to take a title from: the name, whatever it is, rather than nothing.
    (folder / "0042.md").write_text("---\nlesson: Watch the disk.\n---\n", encoding="utf-8")
    res = kb.run(
        "import",
        str(folder),
        "--default",
        "kind=mistake",
        "--default",
        "date=2023-07-20",
        "--default",
        "summary=Not written down.",
    )
    assert res.exit_code == 0, res.stderr
    titles = sorted(str(entry(kb, rid)["title"]) for rid in ids(kb))
    assert titles == [
        "0042",
        "All downloads failed for 13 minutes.",
        "All downloads failed for 13 minutes.",
        "disk full again",
    ]


def test_a_column_of_timestamps_is_not_suggested_as_a_text_key(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text(
        "title,kind,summary,source_fetched_at,source\n"
        "A,mistake,x,2026-05-04T19:51:05Z,https://example.org/a\n"
        "B,mistake,y,2026-05-05T10:00:00Z,https://example.org/b\n",
        encoding="utf-8",
    )
    res = kb.run("import", str(f))
    assert res.exit_code == 2
    assert "'source_fetched_at'" in res.stderr
    assert "--map 'source_fetched_at=sources'" not in res.stderr
    assert "--map 'source=sources'" in res.stderr
    res = kb.run("import", str(f), "--dry-run", "--write-mapping", str(tmp_path / "m.yaml"))
    assert res.exit_code == 0, res.stderr
    text = (tmp_path / "m.yaml").read_text()
    assert "source_fetched_at: ''" in text and "source: sources" in text


def test_notes_name_at_most_five_files_and_count_the_rest(kb: KB, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        (folder / f"outage-{i}.md").write_text(f"# Outage {i}\n\nIt broke.\n", encoding="utf-8")
    dated = "---\ndate: 2024-01-02\n---\n# Dated\n\nIt broke.\n"
    (folder / "dated.md").write_text(dated, encoding="utf-8")
    res = kb.run("import", str(folder), "--default", "kind=mistake")
    assert res.exit_code == 0, res.stderr
    note = next(line for line in res.stderr.splitlines() if "will have no date" in line)
    assert note.count("outage-") == 5 and "… (3 more)" in note


# --- a retro board ------------------------------------------------------------------------

BOARD = """\
Went well,To improve,Action items,Votes
"Pairing on the release, everyone joined",Flaky tests blocked the release,Quarantine flaky tests,3
Clear sprint goal,,,1
,Standups ran long,Timebox standups to 15 minutes,2
,,,
"""


def test_retro_board_unpivots_into_one_record_per_card(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "board.csv"
    f.write_text(BOARD, encoding="utf-8")
    res = kb.run(
        "import", str(f),
        "--unpivot", "Went well,To improve,Action items",
        "--map-value", "kind:Went well=success",
        "--map-value", "kind:To improve=mistake",
        "--map-value", "kind:Action items=observation",
        "--map", "Votes=",
        "--default", "campaign=Sprint 14",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    # 4 rows: 3 with cards (6 of them), 1 blank; every card counted.
    assert (
        "(written 6, updated 0, skipped 0, invalid 0, blank rows 1; 4 rows read, holding 6 cards)"
        in res.stderr
    )
    rec = entry(kb, "pairing-on-the-release-everyone-joined")
    assert rec["kind"] == "success" and rec["campaign"] == "Sprint 14"
    assert rec["summary"] == "Pairing on the release, everyone joined"
    assert entry(kb, "flaky-tests-blocked-the-release")["kind"] == "mistake"
    bad = kb.run("import", str(f), "--unpivot", "Went wel,To improve")
    assert bad.exit_code == 2 and "no column 'Went wel' (did you mean 'Went well'?)" in bad.stderr


# --- nested JSON --------------------------------------------------------------------------

EVENT = {
    "name": "Collision of a train with a working platform",
    "date": "2016-02-22T23:00:00.000Z",
    "desc": "A passenger train hit a platform on a level crossing.",
    "organisations": [{"name": "Safety region"}],
    "lessons": [
        {"name": "Coordination worked for railway incidents", "effectiveness": "good"},
        {"name": "Assess level-crossing risks", "effectiveness": "poor", "why": "No survey."},
    ],
}


def test_nested_json_records_with_parent_fields_and_zone(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "event.json"
    f.write_text(json.dumps(EVENT), encoding="utf-8")
    kb.config("timezone: Europe/Amsterdam\n")
    res = kb.run(
        "import", str(f), "--records", "lessons",
        "--map", "name=title", "--map", "effectiveness=kind",
        "--map-value", "kind:good=success", "--map-value", "kind:poor=mistake",
        "--map", "parent.desc=summary", "--map", "parent.date=date",
        "--map", "parent.name=campaign",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "fields of the parent record not imported: parent.organisations" not in res.stderr
    rec = entry(kb, "2016-02-assess-level-crossing-risks")
    # Local midnight on the 23rd in Amsterdam, not the 22nd.
    assert rec["date"] == dt.date(2016, 2, 23)
    assert rec["campaign"] == EVENT["name"] and rec["why"] == "No survey."
    assert rec["kind"] == "mistake"
    bad = kb.run("import", str(f), "--records", "lesons")
    assert bad.exit_code == 2
    assert "--records lesons: no list of records there" in bad.stderr
    assert "the top-level keys are: name, date, desc, organisations, lessons" in bad.stderr


def test_invalid_records_in_nested_json_are_named_by_their_path(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "events.json"
    events = [
        {"lessons": [{"title": "ok", "summary": "s", "kind": "mistake"}]},
        {"lessons": [{"title": "no kind", "summary": "s"}]},
    ]
    f.write_text(json.dumps(events), encoding="utf-8")
    res = kb.run("import", str(f), "--records", "lessons")
    assert res.exit_code == 2
    assert f"{f}, [1].lessons[0]: missing required key 'kind'" in res.stderr


# --- columns and lists --------------------------------------------------------------------


def test_fallback_columns_merged_lists_and_kept_columns(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    f.write_text(
        textwrap.dedent(
            """\
            Title,Kind,Short,Long,Categories,Keywords,Owner team,Internal ref
            A,mistake,,The long text.,risks; contractors,#delay,Ops,R-1
            B,success,Short one.,Ignored long.,people,#morale #team,Ops,R-2
            """
        ),
        encoding="utf-8",
    )
    res = kb.run(
        "import", str(f), "--map", "Short|Long=summary",
        "--map", "Categories=tags", "--map", "Keywords=tags", "--keep-unmapped",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    a, b = entry(kb, "a"), entry(kb, "b")
    assert a["summary"] == "The long text." and b["summary"] == "Short one."
    assert a["tags"] == ["risks", "contractors", "delay"]
    assert b["tags"] == ["people", "morale", "team"]
    assert a["extra"] == {"Owner team": "Ops", "Internal ref": "R-1"}
    shown = kb.run("show", "a", "--json")
    assert json.loads(shown.stdout)["extra"] == {"Owner team": "Ops", "Internal ref": "R-1"}
    assert kb.run("search", "R-2").exit_code == 0
    again = kb.run(
        "import",
        str(f),
        "--map",
        "Short|Long=summary",
        "--ignore-unmapped",
        "--map",
        "Categories=tags",
        "--map",
        "Keywords=tags",
        "--on-duplicate",
        "skip",
    )
    assert "2 columns not imported (--ignore-unmapped): 'Owner team', 'Internal ref'" in (
        again.stderr
    )


def test_two_columns_for_one_text_key_are_refused_with_the_fallback_to_type(
    kb: KB, tmp_path: Path
) -> None:
    f = tmp_path / "two.csv"
    f.write_text("Title,Kind,Summary,Description\nA,mistake,x,y\n", encoding="utf-8")
    res = kb.run("import", str(f), "--map", "Description=summary")
    assert res.exit_code == 2
    assert "columns 'Description' and 'Summary' both give 'summary'" in res.stderr
    assert "--map 'Description|Summary=summary'" in res.stderr


def test_split_forces_the_separator(kb: KB, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text('title,kind,summary,tags\nA,mistake,x,"a, b"\n', encoding="utf-8")
    assert kb.run("import", str(f), "--split", ";").exit_code == 0
    assert entry(kb, "a")["tags"] == ["a-b"]


# --- a mapping file -----------------------------------------------------------------------


def test_write_mapping_then_import_with_it_then_reimport_updates(kb: KB, tmp_path: Path) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    mapping = tmp_path / "registo.yaml"
    res = kb.run("import", str(f), "--dry-run", "--write-mapping", str(mapping))
    assert res.exit_code == 0, res.stderr
    text = mapping.read_text(encoding="utf-8")
    assert "columns:" in text and "Tipo: kind  # suggested" in text
    assert "Descrição: summary  # suggested: check it (3 of 4 rows have a value)" in text
    assert "Lição Aprendida: ''  # 2 rows; choose one" in text
    assert "Boas Práticas: success  # 1 row; suggested" in text
    assert "major: high  # 2 rows; suggested" in text
    assert "Execução: ''  # 2 rows; choose one" in text
    # Importing before choosing is refused, naming the line to edit.
    early = kb.run("import", str(f), "--mapping", str(mapping))
    assert early.exit_code == 2
    assert "values: kind: 'Lição Aprendida' maps to nothing yet" in early.stderr
    text = (
        text.replace("Lição Aprendida: ''", "Lição Aprendida: mistake")
        .replace("Execução: ''", "Execução: implementation")
        .replace("Ensaios: ''", "Ensaios: scoring")
    )
    mapping.write_text(text, encoding="utf-8")
    res = kb.run("import", str(f), "--mapping", str(mapping))
    assert counts_add_up(res.stderr)[0] == 3, res.stderr
    rid = "2023-05-atraso-do-fornecedor-de-betao"
    before = entry(kb, rid)
    assert before["kind"] == "mistake" and before["impact"] == "high"
    mapping.write_text(text.replace("major: high", "major: critical"), encoding="utf-8")
    res = kb.run("import", str(f), "--mapping", str(mapping))
    written, updated, *_ = counts_add_up(res.stderr)
    assert (written, updated) == (0, 2)
    assert entry(kb, rid)["impact"] == "critical"
    assert len(ids(kb)) == 3


def test_write_mapping_needs_dry_run(kb: KB, tmp_path: Path) -> None:
    f = portuguese_register(tmp_path / "registo.xlsx")
    res = kb.run("import", str(f), "--write-mapping", str(tmp_path / "m.yaml"))
    assert res.exit_code == 2 and "add --dry-run" in res.stderr


# --- progress -----------------------------------------------------------------------------


def test_progress_bar_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    pexpect = pytest.importorskip("pexpect")
    root = tmp_path / "kb"
    (root / "entries").mkdir(parents=True)
    f = tmp_path / "many.csv"
    rows = "".join(f"Title {i},mistake,Summary {i}.\n" for i in range(600))
    f.write_text("title,kind,summary\n" + rows, encoding="utf-8")
    env = {**os.environ, "LESSONS_KB": str(root), "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    piped = subprocess.run(
        [sys.executable, "-m", "lessons", "import", str(f), "--dry-run"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert "Reading" not in piped.stderr and "\x1b" not in piped.stderr
    child = pexpect.spawn(
        sys.executable, ["-m", "lessons", "import", str(f)], env=env, encoding="utf-8",
        timeout=120, dimensions=(24, 100),
    )  # fmt: skip
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert re.search(r"(Reading|Writing|Indexing).*read [\d,]+ · written [\d,]+ · invalid 0", out)
    assert "imported 600 records" in out


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "yaml"])
def test_kept_columns_survive_export_and_import(
    kb: KB, make_kb: object, tmp_path: Path, fmt: str
) -> None:
    kb.add("x", extra={"Owner team": "Ops", "Ref": "=R-1", "Notes": "a; b, c"})
    out = tmp_path / f"out.{fmt}"
    assert kb.run("export", "-o", str(out)).exit_code == 0
    other = KB(tmp_path / f"other-{fmt}")
    res = other.run("import", str(out))
    assert res.exit_code == 0, res.stderr
    assert entry(other, "x")["extra"] == {"Owner team": "Ops", "Ref": "=R-1", "Notes": "a; b, c"}
