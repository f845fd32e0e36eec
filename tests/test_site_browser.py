"""The built site in a real browser: Debian's Chromium, driven by Playwright.

The site is built from the repository's own lessons plus two hostile records (a
script in a title, a ``javascript:`` source), served by the preview server under
a sub-path (/sub/path/) on 127.0.0.1, and then searched with a typo, clicked
through, filtered, read without JavaScript, checked with axe-core, looked at on
a 360-pixel screen and at 200% zoom, and printed.

Needs /usr/bin/chromium (Debian's package) and the playwright package; axe-core
comes from npm (.ci/run installs all three). Without them the tests skip and say
which is missing. Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, record_text

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(os.environ.get("AXE_CORE_JS", REPO / ".ci/npm/node_modules/axe-core/axe.min.js"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BASE = "/sub/path/"
HASHTAGS = "2012-09-hashtags-attempted-humour"
XSS_TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> Launch misfire'

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install -e .[dev])"
)
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser: /usr/bin/chromium is missing (apt-get install chromium; .ci/run does)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The repository's lessons and two hostile records, built and served under BASE."""
    from lessons.filters import Filters
    from lessons.kb import KnowledgeBase
    from lessons.site import SiteOptions, build_site, preview_server

    root = tmp_path_factory.mktemp("browser") / "kb"
    shutil.copytree(REPO / "entries", root / "entries")
    shutil.copy(REPO / "lessons.yaml", root / "lessons.yaml")
    (root / "entries/2024-05-hostile-title.yaml").write_text(
        record_text(
            "2024-05-hostile-title",
            title=XSS_TITLE,
            visibility="public",
            tags=["security"],
            sources=["javascript:window.__xss=3", "https://example.org/safe"],
            summary="Filler words that say little. " * 20 + "Then a zebracorn appeared.",
        ),
        encoding="utf-8",
    )
    kb = KnowledgeBase.open(str(root))
    kb.sync()
    out = root / "site"
    report = build_site(kb, SiteOptions(output=out, base_url=BASE))
    records = {r["id"]: r for r in kb.store.records(Filters())}
    kb.close()
    server = preview_server(out, 0, BASE)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield {
            "url": f"http://127.0.0.1:{port}{BASE}",
            "out": out,
            "records": records,
            "report": report,
        }
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("dialog", lambda dialog: (errors.append("dialog: " + dialog.message), dialog.dismiss()))
    tab.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    yield tab
    context.close()
    assert errors == []


def search(page: Any, site: dict[str, Any], query: str) -> list[str]:
    """Type ``query`` into the search page; the titles of the results."""
    page.goto(site["url"] + "search.html")
    page.fill("#q", query)
    page.wait_for_selector("#results li h2 a")
    return page.locator("#results li h2 a").all_inner_texts()


# --- search ------------------------------------------------------------------------


def test_a_search_with_a_typo_finds_the_lesson_and_clicks_through(
    page: Any, site: dict[str, Any]
) -> None:
    titles = search(page, site, "hashtgas")
    assert titles[0] == "Pre-allocated announcement hashtags that attempted humour fell flat"
    assert page.locator("#results li").first.locator("mark").first.inner_text().lower() in (
        "hashtags",
        "hashtag",
    )
    assert "q=hashtgas" in page.url  # the search is a link one can share
    page.locator("#results li h2 a").first.click()
    page.wait_for_url(f"**/lesson/{HASHTAGS}.html")
    assert page.locator("h1").inner_text() == titles[0]


def test_the_home_page_search_box_opens_results(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"])
    page.fill("#home-q", "apologise publicly")
    page.press("#home-q", "Enter")
    page.wait_for_selector("#results li h2 a")
    assert "search.html?q=apologise+publicly" in page.url
    titles = page.locator("#results li h2 a").all_inner_texts()
    assert any("pologis" in t for t in titles)
    assert "found for “apologise publicly”" in page.locator("#search-status").inner_text()


def test_search_prefix_and_ranking_put_the_title_match_first(
    page: Any, site: dict[str, Any]
) -> None:
    titles = search(page, site, "kirkl")
    assert titles[0].startswith("Kirklees case studies")


def test_a_snippet_shows_the_matched_word_even_deep_in_the_text(
    page: Any, site: dict[str, Any]
) -> None:
    search(page, site, "zebracorm")
    snippet = page.locator("#results li .snippet").first
    page.wait_for_function(
        "() => document.querySelector('#results li .snippet mark') !== null"
        " && document.querySelector('#results li .snippet').textContent.includes('zebracorn')"
    )
    assert snippet.locator("mark").first.inner_text() == "zebracorn"
    assert snippet.inner_text().startswith("…")


def test_filters_narrow_the_results(page: Any, site: dict[str, Any]) -> None:
    search(page, site, "twitter")
    everything = page.locator("#results li").count()
    page.select_option("#f-kind", "success")
    page.wait_for_function(
        "n => document.querySelectorAll('#results li').length < n", arg=everything
    )
    metas = page.locator("#results li .meta").all_inner_texts()
    assert metas and all(m.startswith("success · ") for m in metas)
    assert "kind=success" in page.url
    # A filter alone lists every lesson it selects: the tag's own page agrees.
    page.goto(site["url"] + "search.html?tag=twitter")
    page.wait_for_selector("#results li")
    found = page.locator("#results li").count()
    tags = page.locator("#results li .tags-line").all_inner_texts()
    assert all("twitter" in t.split(", ") for t in tags)
    page.goto(site["url"] + "tag/twitter.html")
    assert page.locator(".record-list li").count() == found


def test_a_year_with_no_lessons_finds_nothing(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + "search.html?q=hashtags&year=1999")
    page.wait_for_function("document.getElementById('search-status').textContent.length > 0")
    assert page.locator("#results li").count() == 0
    assert page.locator("#search-status").inner_text().startswith("No lesson found")


def test_the_browser_index_ranks_exactly_as_minisearch_indexing_would(
    page: Any, site: dict[str, Any]
) -> None:
    from lessons.site.searchindex import searched_text

    page.goto(site["url"] + "search.html")
    page.wait_for_function("window.lessonsSearch !== undefined")
    order = page.evaluate("window.lessonsSearch.data.docs.map(d => d[0])")
    docs = [
        {
            "id": i,
            "title": site["records"][rid]["title"],
            "tags": " ".join(site["records"][rid].get("tags") or []),
            "text": searched_text(site["records"][rid], ["channels", "evaluation"]),
        }
        for i, rid in enumerate(order)
    ]
    compared = page.evaluate(
        """([docs, queries]) => {
          const ours = window.lessonsSearch.index;
          const own = new MiniSearch({
            fields: ['title', 'tags', 'text'],
            tokenize: ours._options.tokenize,
            processTerm: ours._options.processTerm,
            searchOptions: ours._options.searchOptions,
          });
          own.addAll(docs);
          const shape = (hits) => hits.map(
            h => [h.id, h.score.toFixed(9), h.terms.slice().sort().join()]);
          return queries.map(q => [q, shape(ours.search(q)), shape(own.search(q))]);
        }""",
        [docs, ["hashtgas", "young people survey", "apolog", "comments", "facebok twiter"]],
    )
    for query, ours, own in compared:
        assert ours == own, query
        assert ours, query


# --- links and pages -----------------------------------------------------------------


def test_following_a_backlink_leads_to_the_record_that_links_here(
    page: Any, site: dict[str, Any]
) -> None:
    page.goto(site["url"] + f"lesson/{HASHTAGS}.html")
    backlink = page.locator("section.backlinks a").first
    title = backlink.inner_text()
    backlink.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    # That record's own links point back.
    back = page.locator("section.links a", has_text="hashtags that attempted humour")
    assert back.count() == 1
    back.click()
    page.wait_for_url(f"**/lesson/{HASHTAGS}.html")


def test_a_tag_link_lists_its_lessons(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + f"lesson/{HASHTAGS}.html")
    page.locator("ul.tags a", has_text="humour").click()
    page.wait_for_url("**/tag/humour.html")
    assert page.locator("h1").inner_text() == "humour"
    titles = page.locator(".record-list a").all_inner_texts()
    assert "Pre-allocated announcement hashtags that attempted humour fell flat" in titles


def test_the_404_page_links_work_under_the_sub_path(browser: Any, site: dict[str, Any]) -> None:
    # A page of its own: the browser logs the 404 as an error, which is the point here.
    context = browser.new_context()
    page = context.new_page()
    try:
        answer = page.goto(site["url"] + "lesson/no-such-lesson.html")
        assert answer.status == 404
        assert page.locator("h1").inner_text() == "Page not found"
        page.locator("main a", has_text="home page").click()
        page.wait_for_url(site["url"] + "index.html")
        assert page.locator("h1").count() == 1
    finally:
        context.close()


def test_every_page_works_without_javascript(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        page.goto(site["url"])
        page.locator(".site-nav a", has_text="Tags").click()
        page.wait_for_url("**/tags.html")
        page.locator(".group-list a", has_text="hashtags").click()
        page.wait_for_url("**/tag/hashtags.html")
        page.locator(".record-list a").first.click()
        page.wait_for_load_state()
        assert page.locator("article.record h1").count() == 1
        for path in ("timeline.html", "retro/index.html", "graph.html", "campaigns.html"):
            page.goto(site["url"] + path)
            assert page.locator("h1").count() == 1, path
        page.locator(".site-nav a", has_text="Graph").click()
        page.locator("svg.graph a.node").first.click()
        page.wait_for_load_state()
        assert "/lesson/" in page.url
        page.goto(site["url"] + "search.html?q=hashtags")
        notice = page.locator("noscript .notice, .notice")
        assert "Searching needs JavaScript" in notice.first.inner_text()
    finally:
        context.close()


# --- safety ----------------------------------------------------------------------------


def test_a_script_in_a_title_never_runs(page: Any, site: dict[str, Any]) -> None:
    titles = search(page, site, "launch misfire")
    assert titles[0] == XSS_TITLE
    page.goto(site["url"] + "lesson/2024-05-hostile-title.html")
    assert page.locator("h1").inner_text() == XSS_TITLE
    assert page.evaluate("window.__xss") is None
    # The javascript: source is text, the https one a link.
    assert page.locator('a[href^="javascript"]').count() == 0
    sources = page.locator("section.sources li")
    assert sources.nth(0).inner_text() == "javascript:window.__xss=3"
    assert sources.nth(0).locator("a").count() == 0
    assert sources.nth(1).locator("a").get_attribute("href") == "https://example.org/safe"


def test_the_pages_ask_for_nothing_from_elsewhere(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context()
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        for path in ("", f"lesson/{HASHTAGS}.html", "search.html?q=hashtags", "graph.html"):
            page.goto(site["url"] + path)
            page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert asked
    assert all(url.startswith(site["url"]) or url.startswith("data:") for url in asked), asked


# --- accessibility, screens, print ----------------------------------------------------


@pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed ({AXE}; .ci/run does)")
@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        f"lesson/{HASHTAGS}.html",
        "tag/hashtags.html",
        "search.html?q=hashtags",
        "retro/index.html",
        "graph.html",
        "timeline.html",
    ],
)
def test_axe_finds_no_wcag_a_or_aa_violations(
    browser: Any, site: dict[str, Any], path: str
) -> None:
    # The pages' policy refuses inline script, axe-core's included: this context lets
    # the test put it in (the pages' own scripts run as they would anyway).
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(site["url"] + path)
    if path.startswith("search"):
        page.wait_for_selector("#results li")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    context.close()
    problems = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]
    assert problems == []
    assert len(result["passes"]) > 10


@pytest.mark.parametrize("width", [360, 640])
def test_pages_fit_a_phone_screen_and_200_percent_zoom(
    browser: Any, site: dict[str, Any], width: int
) -> None:
    # 200% zoom of a 1280-pixel window lays a page out in 640 CSS pixels.
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        for path in (
            "index.html",
            f"lesson/{HASHTAGS}.html",
            "search.html?q=hashtags",
            "tag/hashtags.html",
            "retro/index.html",
            "graph.html",
            "actions.html",
        ):
            page.goto(site["url"] + path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, (path, wide)
    finally:
        context.close()


def test_on_a_phone_the_filters_fold_away_so_the_first_result_shows(
    browser: Any, site: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        page.goto(site["url"] + "search.html?q=hashtags")
        page.wait_for_selector("#results li h2 a")
        assert page.evaluate("document.getElementById('filter-box').open") is False
        top = page.evaluate("document.querySelector('#results li').getBoundingClientRect().top")
        assert top < 740, top
        page.click("#filter-box > summary")  # one tap opens them
        assert page.is_visible("#f-tag")
        page.goto(site["url"] + "search.html?q=hashtags&tag=hashtags")  # a filter in use
        page.wait_for_selector("#results li h2 a")
        assert page.evaluate("document.getElementById('filter-box').open") is True
    finally:
        context.close()


def test_on_a_wide_screen_the_filters_stay_open(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + "search.html?q=hashtags")
    page.wait_for_selector("#results li h2 a")
    assert page.evaluate("document.getElementById('filter-box').open") is True
    assert page.is_visible("#f-kind")


def test_focus_is_visible_and_the_skip_link_comes_first(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + f"lesson/{HASHTAGS}.html")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
                   return [e.textContent, s.outlineStyle, e.getBoundingClientRect().top]; }"""
    )
    assert focused[0] == "Skip to the content"
    assert focused[1] != "none"
    assert focused[2] >= 0


def test_printing_a_record_leaves_out_the_navigation(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + f"lesson/{HASHTAGS}.html")
    page.emulate_media(media="print")
    hidden = page.evaluate(
        """() => ['.site-header', '.site-footer', '.skip'].map(
             s => getComputedStyle(document.querySelector(s)).display)"""
    )
    assert hidden == ["none", "none", "none"]
    after = page.evaluate(
        """() => getComputedStyle(document.querySelector('.sources a'), '::after').content"""
    )
    assert "digital.cabinetoffice.gov.uk" in after
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_screenshots_at_360_and_1280_pixels(browser: Any, site: dict[str, Any]) -> None:
    """Screenshots of the home and search pages; LESSONS_SCREENSHOTS=DIR keeps them
    (docs/img/ holds the ones the README shows)."""
    keep = os.environ.get("LESSONS_SCREENSHOTS")
    folder = Path(keep) if keep else site["out"].parent / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    for width, path, name in (
        (1280, "search.html?q=hashtgas", "site-1280.png"),
        (360, f"lesson/{HASHTAGS}.html", "site-360.png"),
    ):
        context = browser.new_context(viewport={"width": width, "height": 760})
        page = context.new_page()
        try:
            page.goto(site["url"] + path)
            if "search" in path:
                page.wait_for_selector("#results li")
            page.screenshot(path=str(folder / name))
        finally:
            context.close()
        data = (folder / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">I", data[16:20])[0] == width


def test_the_feed_and_data_are_served(page: Any, site: dict[str, Any]) -> None:
    answer = page.request.get(site["url"] + "lessons.json")
    assert answer.ok
    assert {r["id"] for r in json.loads(answer.body())} == set(site["records"])
    feed = page.request.get(site["url"] + "feed.xml")
    assert feed.ok and b"<feed" in feed.body()
