"""`lessons site`: what the built files hold, what a rebuild changes, and what is refused.

The browser's view of the same site (search, clicks, no JavaScript, axe-core) is in
test_site_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from lessons.site.searchindex import build_index, tokens
from tests.conftest import KB

BASE_CONFIG = "name: Test lessons\nfields:\n  channels: {type: list}\n"
SCRIPT_TITLE = "<script>alert('title')</script> Launch went wrong"


def site_kb(kb: KB) -> KB:
    """Three public records linked together, one internal one linking to them."""
    (kb.root / "lessons.yaml").write_text(BASE_CONFIG)
    kb.add(
        "2024-01-hashtag-humour",
        title="Announcement hashtags that attempted humour",
        tags=["hashtags", "humour"],
        campaign="Spring launch",
        team="Digital",
        stage="implementation",
        impact="medium",
        visibility="public",
        sources=["https://example.org/report", "javascript:alert(1)", "the team's notes"],
        actions=[{"do": "Test hashtags first", "owner": "Comms", "due": "2020-01-01"}],
        channels=["twitter"],
    )
    kb.add(
        "2024-02-apology",
        title="Apologising quickly in public",
        kind="success",
        date="2024-02-01",
        tags=["apology", "hashtags"],
        campaign="spring launch",
        visibility="public",
        links=[{"to": "2024-01-hashtag-humour", "rel": "caused-by", "note": "the reply"}],
    )
    kb.add(
        "2023-05-hashtag-again",
        title="A hashtag joke misfired once before",
        date="2023-05-01",
        tags=["hashtags"],
        visibility="public",
        links=[{"to": "2024-01-hashtag-humour", "rel": "relates-to"}],
    )
    kb.add(
        "2024-03-secret-budget",
        title="Confidential budget overrun at Zanzibar office",
        tags=["budget", "hashtags"],
        campaign="Spring launch",
        links=[{"to": "2024-01-hashtag-humour", "rel": "repeats"}],
    )
    return kb


def settings(kb: KB, text: str) -> None:
    """Set lessons.yaml to the test configuration plus ``text`` (site settings)."""
    (kb.root / "lessons.yaml").write_text(BASE_CONFIG + text)


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def html_pages(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.html"))
    }


@pytest.fixture
def built(kb: KB) -> tuple[KB, Path]:
    site_kb(kb)
    out = kb.root / "site"
    res = kb.run("site")
    assert res.exit_code == 0, res.stderr
    return kb, out


# --- what goes out -------------------------------------------------------------------


def test_site_has_a_page_per_public_record_and_the_fixed_pages(built: tuple[KB, Path]) -> None:
    _, out = built
    for path in (
        "index.html",
        "search.html",
        "tags.html",
        "campaigns.html",
        "teams.html",
        "stages.html",
        "timeline.html",
        "timeline/2024.html",
        "actions.html",
        "retro/index.html",
        "retro/2024.html",
        "graph.html",
        "404.html",
        "feed.xml",
        "lessons.json",
        "search/index.json",
        "assets/lessons.css",
        "assets/search.js",
        "assets/vendor/minisearch.js",
        "assets/vendor/minisearch.LICENSE.txt",
        "lesson/2024-01-hashtag-humour.html",
        "lesson/2024-02-apology.html",
        "lesson/2023-05-hashtag-again.html",
        "tag/hashtags.html",
        "campaign/spring-launch.html",
        "team/digital.html",
        "stage/implementation.html",
        "kind/mistake.html",
    ):
        assert (out / path).is_file(), path
    assert not (out / "lesson/2024-03-secret-budget.html").exists()


def test_an_internal_record_leaves_no_trace_on_a_public_site(built: tuple[KB, Path]) -> None:
    _, out = built
    for path, data in files(out).items():
        text = data.decode("utf-8", "replace")
        assert "Zanzibar" not in text, path
        assert "secret-budget" not in text, path
        assert "budget" not in text.lower() or path.startswith("assets/"), path


def test_internal_flag_publishes_internal_records_and_marks_every_page(kb: KB) -> None:
    site_kb(kb)
    res = kb.run("site", "--internal")
    assert res.exit_code == 0, res.stderr
    assert "internal included" in res.stderr
    out = kb.root / "site"
    assert (out / "lesson/2024-03-secret-budget.html").is_file()
    for path, text in html_pages(out).items():
        assert "This site includes records that are not public" in text, path
        assert '<meta name="robots" content="noindex, nofollow">' in text, path
    page = (out / "lesson/2024-03-secret-budget.html").read_text()
    assert '<span class="badge internal">internal</span>' in page


def test_lessons_yaml_can_forbid_publishing_internal_records(kb: KB) -> None:
    site_kb(kb)
    settings(kb, "site:\n  internal: false\n")
    res = kb.run("site", "--internal")
    assert res.exit_code == 2
    assert "does not allow internal records" in res.stderr
    assert not (kb.root / "site").exists()


def test_record_page_shows_every_field_links_backlinks_and_actions(
    built: tuple[KB, Path],
) -> None:
    _, out = built
    page = (out / "lesson/2024-01-hashtag-humour.html").read_text()
    assert page.count("<h1>") == 1
    assert "<h1>Announcement hashtags that attempted humour</h1>" in page
    for text in (
        "What happened in 2024-01-hashtag-humour.",
        "What 2024-01-hashtag-humour taught us.",
        "Test hashtags first",
        "Comms",
        "<strong>overdue</strong>",
        "twitter",  # a custom field
    ):
        assert text in page, text
    assert '<a href="../campaign/spring-launch.html">Spring launch</a>' in page
    assert '<a href="../tag/hashtags.html">hashtags</a>' in page
    # Backlinks carry the inverse name and the other record's title, as links.
    backlinks = page.split('id="backlinks-h"')[1]
    assert (
        '<span class="rel">caused</span> <a href="../lesson/2024-02-apology.html">'
        "Apologising quickly in public</a>"
    ) in backlinks
    assert "the reply" in backlinks
    assert "A hashtag joke misfired once before" in backlinks
    other = (out / "lesson/2024-02-apology.html").read_text()
    assert (
        '<span class="rel">caused by</span> <a href="../lesson/2024-01-hashtag-humour.html">'
    ) in other


def test_sources_become_links_only_when_http(built: tuple[KB, Path]) -> None:
    _, out = built
    page = (out / "lesson/2024-01-hashtag-humour.html").read_text()
    sources = page.split("<h2>Sources</h2>")[1].split("</section>")[0]
    assert '<a href="https://example.org/report" rel="nofollow noopener noreferrer">' in sources
    assert "<li>javascript:alert(1)</li>" in sources
    assert "<li>the team&#39;s notes</li>" in sources
    assert 'href="javascript' not in page.lower()


def test_a_script_in_a_title_is_text_everywhere(kb: KB) -> None:
    kb.add(
        "2024-04-script",
        title=SCRIPT_TITLE,
        visibility="public",
        tags=["<b>bold</b>"[3:7]],
        sources=[
            "JaVaScRiPt:alert(2)",
            " javascript:alert(3)",
            "data:text/html,<script>x</script>",
        ],
        summary="Body with <img src=x onerror=alert(4)> in it.",
    )
    res = kb.run("site")
    assert res.exit_code == 0, res.stderr
    out = kb.root / "site"
    for path, text in html_pages(out).items():
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
        assert 'href="javascript' not in text.lower(), path
        assert '<a href="data:' not in text.lower(), path
    page = (out / "lesson/2024-04-script.html").read_text()
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Launch went wrong" in page
    assert "&lt;img src=x onerror=alert(4)&gt;" in page
    feed = ET.parse(out / "feed.xml").getroot()
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert SCRIPT_TITLE in titles


def test_every_page_has_a_policy_that_forbids_inline_script(built: tuple[KB, Path]) -> None:
    _, out = built
    for path, text in html_pages(out).items():
        policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', text)
        assert policy, path
        rules = dict(
            (part.split()[0], part.split()[1:])
            for part in policy.group(1).replace("&#39;", "'").split(";")
        )
        assert rules["script-src"] == ["'self'"], path
        assert rules["default-src"] == ["'self'"], path
        assert rules["object-src"] == ["'none'"], path
        # The policy comes before anything that could run.
        assert text.index("Content-Security-Policy") < text.find("<script") or (
            "<script" not in text
        )
        # Every script is a file of the site; no inline script, no handler attributes.
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert re.search(r'src="(\.\./)*assets/', tag), (path, tag)
        assert not re.search(r"\son[a-z]+=", text), path
        # No inline style either: the policy would drop it.
        assert not re.search(r"\sstyle=", text), path
        # Nothing is loaded from elsewhere.
        for attr in re.findall(r'\s(?:src|href)="([^"]*)"', text):
            if attr.startswith(("http://", "https://")):
                assert attr == "https://example.org/report", (path, attr)


def test_external_origins_can_be_allowed_in_lessons_yaml(kb: KB) -> None:
    site_kb(kb)
    settings(kb, "site:\n  external: [https://fonts.example.org]\n")
    assert kb.run("site").exit_code == 0
    page = (kb.root / "site/index.html").read_text()
    assert "style-src 'self' https://fonts.example.org" in page.replace("&#39;", "'")


def test_site_settings_are_checked(kb: KB) -> None:
    site_kb(kb)
    for setting, message in (
        ("site:\n  templete: x\n", "unknown site setting 'templete' (did you mean 'templates'?)"),
        ("site:\n  templates: ../elsewhere\n", "'site.templates' must be a path inside"),
        ("site:\n  templates: /etc\n", "'site.templates' must be a path inside"),
        ("site:\n  internal: maybe\n", "'site.internal' must be true or false"),
        ("site:\n  external: [javascript:x]\n", "'site.external' must be a list of origins"),
        ("site: yes\n", "'site' must be a mapping"),
    ):
        settings(kb, setting)
        res = kb.run("site")
        assert res.exit_code == 2, setting
        assert message in res.stderr, (setting, res.stderr)
        assert "lessons.yaml" in res.stderr


# --- search index, feed, data ----------------------------------------------------------


def decode(index: dict) -> dict[str, dict[int, dict[int, int]]]:
    """The index as term -> field -> doc -> tf (the inverse of searchindex._encode)."""
    out: dict[str, dict[int, dict[int, int]]] = {}
    for term, posting in zip(index["terms"], index["postings"], strict=True):
        fields: dict[int, dict[int, int]] = {}
        for k in range(0, len(posting), 2):
            docs: dict[int, int] = {}
            doc = -1
            coded = posting[k + 1]
            i = 0
            while i < len(coded):
                doc += coded[i]
                tf = 1
                if i + 1 < len(coded) and coded[i + 1] < 0:
                    tf = -coded[i + 1]
                    i += 1
                docs[doc] = tf
                i += 1
            fields[posting[k]] = docs
        out[term] = fields
    return out


def test_search_index_counts_terms_as_minisearch_would() -> None:
    records = [
        {"id": "a", "title": "Hashtags, hashtags!", "kind": "mistake", "summary": "The the cat"},
        {
            "id": "b",
            "title": "Café outage",
            "kind": "success",
            "summary": "x",
            "lesson": "Outage outage outage of the DNS",
            "tags": ["dns", "outage"],
            "date": "2024-05-01",
            "campaign": "Spring",
        },
    ]
    index = build_index(records, ["a", "b"])
    terms = decode(index)
    assert terms["hashtags"] == {0: {0: 2}}
    assert terms["outage"] == {0: {1: 1}, 1: {1: 1}, 2: {1: 3}}
    assert terms["café"] == {0: {1: 1}}
    assert "the" not in terms  # a stop word
    assert "x" not in terms  # one letter
    # Field lengths are distinct tokens before stop words go, as MiniSearch counts them.
    assert index["lengths"][0:3] == [1, 0, 2]
    assert index["docs"][1][:7] == ["b", "Café outage", 1, "2024-05-01", [0, 1], 0, -1]
    assert index["tags"] == ["dns", "outage"]
    assert tokens("Ünïcode NFC—split_here") == ["ünïcode", "nfc", "split", "here"]


def test_feed_is_atom_with_the_newest_lessons(built: tuple[KB, Path]) -> None:
    _, out = built
    root = ET.parse(out / "feed.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}base") == "/"
    entries = root.findall(f"{atom}entry")
    # Newest first: by date here (the records carry no `recorded` day).
    assert [e.findtext(f"{atom}title") for e in entries] == [
        "Announcement hashtags that attempted humour",
        "Apologising quickly in public",
        "A hashtag joke misfired once before",
    ]
    first = entries[1]
    assert first.find(f"{atom}link").get("href") == "lesson/2024-02-apology.html"
    assert first.findtext(f"{atom}id").startswith("urn:uuid:")
    assert first.findtext(f"{atom}updated") == "2024-02-01T00:00:00Z"


def test_lessons_json_is_the_export_format_and_imports_back(
    built: tuple[KB, Path], make_kb
) -> None:
    kb, out = built
    data = json.loads((out / "lessons.json").read_text())
    assert sorted(r["id"] for r in data) == [
        "2023-05-hashtag-again",
        "2024-01-hashtag-humour",
        "2024-02-apology",
    ]
    exported = kb.run("export", "--format", "json", "--public")
    assert json.loads(exported.stdout) == data
    other = make_kb("copy")
    (other.root / "lessons.yaml").write_text("fields:\n  channels: {type: list}\n")
    res = other.run("import", str(out / "lessons.json"))
    assert res.exit_code == 0, res.stderr
    assert len(list(other.entries.glob("*.yaml"))) == 3


def test_links_to_unpublished_records_are_dropped_from_the_data(kb: KB) -> None:
    kb.add(
        "2024-01-public", visibility="public", links=[{"to": "2024-01-private", "rel": "repeats"}]
    )
    kb.add("2024-01-private", title="Private matter")
    assert kb.run("site").exit_code == 0
    data = json.loads((kb.root / "site/lessons.json").read_text())
    assert "links" not in data[0]
    assert "2024-01-private" not in (kb.root / "site/lesson/2024-01-public.html").read_text()


# --- rebuilds ------------------------------------------------------------------------


def test_a_rebuild_writes_only_what_changed_and_removes_pages_of_gone_records(
    built: tuple[KB, Path],
) -> None:
    from lessons.kb import KnowledgeBase
    from lessons.site import SiteOptions, build_site

    kb, out = built
    again = kb.run("site")
    assert again.exit_code == 0
    assert " 0 files written," in again.stderr
    assert " 0 removed" in again.stderr

    unrelated = out / "lesson/2023-05-hashtag-again.html"
    before = unrelated.stat().st_mtime_ns
    path = kb.entries / "2024-02-apology.yaml"
    path.write_text(path.read_text().replace("Apologising quickly", "Apologising fast"))
    kbo = KnowledgeBase.open(str(kb.root))
    kbo.sync()
    report = build_site(kbo, SiteOptions(output=out))
    written = set(report.written_paths)
    assert "lesson/2024-02-apology.html" in written
    # The pages that show its title: the record it links to (backlink), its lists.
    assert "lesson/2024-01-hashtag-humour.html" in written
    assert "tag/apology.html" in written
    assert "search/index.json" in written
    assert "feed.xml" in written and "lessons.json" in written
    assert "lesson/2023-05-hashtag-again.html" not in written
    assert "tag/humour.html" not in written
    assert report.unchanged > report.written
    assert report.removed == 0
    assert unrelated.stat().st_mtime_ns == before
    kbo.close()

    (kb.entries / "2024-02-apology.yaml").unlink()
    res = kb.run("site")
    assert res.exit_code == 0
    assert not (out / "lesson/2024-02-apology.html").exists()
    assert not (out / "tag/apology.html").exists()
    assert not (out / "kind/success.html").exists()
    assert re.search(r" [1-9]\d* removed", res.stderr)
    manifest = json.loads((out / ".lessons-site.json").read_text())
    assert "lesson/2024-02-apology.html" not in manifest["files"]


def test_a_folder_that_is_not_a_site_is_never_written(kb: KB, tmp_path: Path) -> None:
    site_kb(kb)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my own page")
    res = kb.run("site", "-o", str(mine))
    assert res.exit_code == 2
    assert "did not write" in res.stderr
    assert (mine / "index.html").read_text() == "my own page"
    assert sorted(p.name for p in mine.iterdir()) == ["index.html"]


def test_files_the_site_did_not_write_survive_a_rebuild(built: tuple[KB, Path]) -> None:
    kb, out = built
    (out / "CNAME").write_text("lessons.example.org\n")
    assert kb.run("site").exit_code == 0
    assert (out / "CNAME").read_text() == "lessons.example.org\n"


def test_the_site_cannot_overwrite_the_knowledge_base(kb: KB) -> None:
    site_kb(kb)
    for target in (kb.root, kb.entries / "site", kb.root.parent):
        res = kb.run("site", "-o", str(target))
        assert res.exit_code == 2, target
        assert "cannot" in res.stderr


def test_a_symlinked_output_folder_is_refused(kb: KB, tmp_path: Path) -> None:
    site_kb(kb)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (kb.root / "site").symlink_to(elsewhere)
    res = kb.run("site")
    assert res.exit_code == 2
    assert "symlink" in res.stderr
    assert list(elsewhere.iterdir()) == []


def test_filters_choose_what_goes_in(kb: KB) -> None:
    site_kb(kb)
    res = kb.run("site", "--tag", "apology")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in (kb.root / "site/lesson").iterdir()) == ["2024-02-apology.html"]
    nothing = kb.run("site", "--tag", "no-such-tag", "-o", str(kb.root / "elsewhere"))
    assert nothing.exit_code == 1
    assert "nothing to publish" in nothing.stderr
    assert not (kb.root / "elsewhere").exists()


def test_no_public_record_builds_an_empty_site_and_says_why(kb: KB) -> None:
    kb.add("2024-01-private")
    res = kb.run("site")
    assert res.exit_code == 0
    assert "no record is public yet" in res.stderr
    assert "No lessons published yet." in (kb.root / "site/index.html").read_text()


def test_summary_line_names_counts_size_and_where_to_open(built: tuple[KB, Path]) -> None:
    kb, _ = built
    res = kb.run("site")
    lines = res.stderr.splitlines()
    assert re.fullmatch(
        r"3 lessons: 0 files written, \d+ unchanged, 0 removed; [\d.]+ KB in .*site", lines[0]
    ), lines[0]
    assert lines[1].startswith("open ") and lines[1].endswith(
        "index.html, or preview it with `lessons site --serve`"
    )
    assert res.stdout == ""


# --- base URL, templates, logo -------------------------------------------------------


def test_base_url_goes_into_the_404_page_and_the_feed(kb: KB) -> None:
    site_kb(kb)
    res = kb.run("site", "--base-url", "/sub/path")
    assert res.exit_code == 0, res.stderr
    out = kb.root / "site"
    page = (out / "404.html").read_text()
    assert 'href="/sub/path/assets/lessons.css"' in page
    assert 'href="/sub/path/search.html"' in page
    assert 'xml:base="/sub/path/"' in (out / "feed.xml").read_text()
    # Other pages link relatively: they work under any path.
    assert 'href="../assets/lessons.css"' in (out / "tag/hashtags.html").read_text()
    bad = kb.run("site", "--base-url", "javascript:alert(1)")
    assert bad.exit_code == 2
    assert "not a base URL" in bad.stderr


def test_a_knowledge_base_can_bring_its_templates_css_name_and_logo(kb: KB) -> None:
    site_kb(kb)
    theme = kb.root / "theme"
    theme.mkdir()
    (theme / "record.html.j2").write_text(
        '{% extends "builtin/record.html.j2" %}\n'
        "{% block main %}<p class=mine>{{ record.title }} by {{ site.organisation }}</p>"
        "{{ super() }}{% endblock %}\n"
    )
    (theme / "style.css").write_text(":root { --accent: #004400; }\n")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    (kb.root / "logo.png").write_bytes(png)
    settings(kb, "site:\n  templates: theme\n  organisation: Cabinet <Office>\n  logo: logo.png\n")
    res = kb.run("site")
    assert res.exit_code == 0, res.stderr
    out = kb.root / "site"
    page = (out / "lesson/2024-02-apology.html").read_text()
    assert "<p class=mine>Apologising quickly in public by Cabinet &lt;Office&gt;</p>" in page
    assert "<h1>Apologising quickly in public</h1>" in page
    assert '<link rel="stylesheet" href="../assets/style.css">' in page
    assert '<img src="../assets/logo.png" alt="" height="40">' in page
    assert (out / "assets/style.css").read_text() == ":root { --accent: #004400; }\n"
    assert (out / "assets/logo.png").read_bytes() == png


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "the sandbox forbids"),
        ("{{ site.name.__class__.__subclasses__() }}", "the sandbox forbids"),
        ("{{ 'x' * 100000000 }}", "the sandbox forbids"),
        ("{% set d = {} %}{{ d.update({'a': 1}) }}", "the sandbox forbids"),
        ('{% include "../lessons.yaml" %}', "no such template"),
        ('{% include "/etc/passwd" %}', "no such template"),
        ("{% for x in %}", "syntax error"),
        ("{{ no_such_variable }}", "does not have"),
    ],
)
def test_knowledge_base_templates_cannot_reach_beyond_their_variables(
    kb: KB, template: str, message: str
) -> None:
    site_kb(kb)
    theme = kb.root / "theme"
    theme.mkdir()
    (theme / "home.html.j2").write_text(template)
    settings(kb, "site:\n  templates: theme\n")
    res = kb.run("site")
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr
    assert "root:" not in res.stderr


def test_template_symlinks_and_templates_folders_outside_are_refused(
    kb: KB, tmp_path: Path
) -> None:
    site_kb(kb)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    theme = kb.root / "theme"
    theme.mkdir()
    (theme / "home.html.j2").symlink_to(secret)
    settings(kb, "site:\n  templates: theme\n")
    res = kb.run("site")
    assert res.exit_code == 2
    assert "symlink" in res.stderr
    (theme / "home.html.j2").unlink()
    (kb.root / "outside").symlink_to(tmp_path)
    settings(kb, "site:\n  templates: outside\n")
    res = kb.run("site")
    assert res.exit_code == 2
    assert "symlink" in res.stderr
    assert not any("TOP SECRET" in t for t in html_pages(kb.root / "site").values())


def test_a_template_that_drops_the_policy_gets_it_back(kb: KB) -> None:
    site_kb(kb)
    theme = kb.root / "theme"
    theme.mkdir()
    (theme / "home.html.j2").write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>{{ site.name }}</body></html>"
    )
    settings(kb, "site:\n  templates: theme\n")
    assert kb.run("site").exit_code == 0
    page = (kb.root / "site/index.html").read_text()
    assert page.startswith('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"')
    (theme / "home.html.j2").write_text("<html><script>alert(1)</script><head></head></html>")
    res = kb.run("site")
    assert res.exit_code == 2
    assert "script before the Content-Security-Policy" in res.stderr


def test_svg_and_non_image_logos_are_refused(kb: KB) -> None:
    site_kb(kb)
    (kb.root / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    settings(kb, "site:\n  logo: logo.svg\n")
    res = kb.run("site")
    assert res.exit_code == 2
    assert "PNG, JPEG, GIF or WebP" in res.stderr


# --- pages about groups, graph, timeline --------------------------------------------


def test_campaign_names_that_slug_alike_get_their_own_pages(kb: KB) -> None:
    kb.add("2024-01-a", visibility="public", campaign="Q1 launch")
    kb.add("2024-01-b", visibility="public", campaign="q1-launch")
    kb.add("2024-01-c", visibility="public", campaign="Q1 LAUNCH")
    kb.add("2024-01-d", visibility="public", campaign="q1  Launch ")
    assert kb.run("site").exit_code == 0
    pages = sorted(p.name for p in (kb.root / "site/campaign").iterdir())
    # "Q1 launch", "Q1 LAUNCH" and "q1  Launch" are one campaign (case and spacing aside),
    # q1-launch another, as the filters and `stats` count them.
    assert len(pages) == 2
    assert all(p.startswith("q1-launch-") for p in pages)


def test_graph_page_draws_each_linked_record_as_a_link(built: tuple[KB, Path]) -> None:
    _, out = built
    page = (out / "graph.html").read_text()
    nodes = re.findall(r'<a href="(lesson/[^"]+)" class="node kind-\w+">', page)
    assert sorted(nodes) == [
        "lesson/2023-05-hashtag-again.html",
        "lesson/2024-01-hashtag-humour.html",
        "lesson/2024-02-apology.html",
    ]
    assert page.count('<line class="edge') == 2
    assert "<title>Apologising quickly in public (success, 1 link)</title>" in page


def test_graph_layout_places_every_node_apart() -> None:
    from lessons.site.graph import MAX_NODES, layout

    nodes = [{"id": f"n{i}"} for i in range(300)]
    edges = [{"from": f"n{i}", "to": f"n{(i + 1) % 300}", "rel": "repeats"} for i in range(300)]
    drawn = layout(nodes, edges)
    assert drawn["shown"] == MAX_NODES
    assert drawn["total"] == 300
    spots = {(n["x"], n["y"]) for n in drawn["nodes"]}
    assert len(spots) == drawn["shown"]
    assert all(0 < n["x"] < drawn["width"] and 0 < n["y"] < drawn["height"] for n in drawn["nodes"])


def test_retrospective_page_has_the_retro_chart_and_links(built: tuple[KB, Path]) -> None:
    _, out = built
    page = (out / "retro/index.html").read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "Records per month by kind" in page
    assert '<a href="../lesson/2024-01-hashtag-humour.html">' in page
    assert page.count("<h1>") == 1


# --- preview server --------------------------------------------------------------------


def test_preview_serves_the_site_under_its_base_path(built: tuple[KB, Path]) -> None:
    from lessons.site import preview_server

    _, out = built
    server = preview_server(out, 0, "/sub/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sub/index.html") as answer:
            assert b"<h1>Test lessons</h1>" in answer.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/sub/lesson/nope.html")
        assert missing.value.code == 404
        assert b"Page not found" in missing.value.read()
        with pytest.raises(urllib.error.HTTPError) as outside:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html")
        assert outside.value.code == 404
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/sub/../../etc/passwd")
    finally:
        server.shutdown()
        server.server_close()


def test_init_ignores_the_default_site_folder(tmp_path: Path) -> None:
    from lessons.kb import init_kb

    init_kb(tmp_path / "new")
    assert "/site/" in (tmp_path / "new/.gitignore").read_text().splitlines()
    os.makedirs(tmp_path / "new/site", exist_ok=True)
