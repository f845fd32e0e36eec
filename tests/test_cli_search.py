"""`lessons search` through the real CLI: output, JSON, exit codes, filters, hostile input."""

from __future__ import annotations

import json

import pytest

from lessons.cli.search import render
from lessons.kb import KnowledgeBase
from lessons.search import search
from tests.conftest import KB


@pytest.fixture
def three(kb: KB) -> KB:
    kb.add(
        "2024-01-cert",
        title="TLS certificate expired on the API gateway",
        summary="Clients could not connect for two hours.",
        tags=["certificates", "tls"],
        lesson=None,
    )
    kb.add(
        "2024-02-dns",
        title="DNS change broke name resolution",
        summary="A certificate check failed too.",
        tags=["dns"],
        kind="observation",
        lesson=None,
    )
    kb.add(
        "2024-03-humour",
        title="Hashtags that attempted humour",
        summary="The humour fell flat.",
        tags=["hashtags"],
        lesson=None,
        date="2023-03-01",
    )
    return kb


CERT_LINE = (
    "1\t2024-01-cert\tmistake\t2024-05-01\tTLS certificate expired on the API gateway"
    "\tClients could not connect for two hours.\tcertificates,tls\tall\n"
)


def test_piped_output_is_one_tab_separated_line_per_result(three: KB) -> None:
    res = three.run("search", "certificate")
    assert res.exit_code == 0
    assert res.stdout == CERT_LINE + (
        "2\t2024-02-dns\tobservation\t2024-05-01\tDNS change broke name resolution"
        "\tA **certificate** check failed too.\tdns\tall\n"
    )
    assert res.stderr == ""


def test_partial_matches_fill_the_page_and_are_marked(three: KB) -> None:
    res = three.run("search", "certificate", "gateway")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines] == ["2024-01-cert", "2024-02-dns"]
    assert [line.split("\t")[-1] for line in lines] == ["all", "some"]
    assert res.stderr == "2 of 2 shown; 1 match every word; 1 shown match only some of them\n"


def test_json_has_the_spec_shape_best_first(three: KB) -> None:
    res = three.run("search", "--json", "certificate", "tls")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["query"] == "certificate tls"
    assert doc["total"] == 2
    assert doc["matched_all"] == 1
    first = doc["results"][0]
    assert set(first) == {
        "id",
        "title",
        "kind",
        "date",
        "score",
        "snippet",
        "tags",
        "path",
        "partial",
        "match",
    }
    assert first["id"] == "2024-01-cert"
    assert first["path"] == "entries/2024-01-cert.yaml"
    assert first["tags"] == ["certificates", "tls"]
    assert first["partial"] is False
    assert doc["results"][1]["snippet"] == "A **certificate** check failed too."
    assert doc["results"][1]["partial"] is True


def test_a_typo_is_corrected_and_said_on_stderr(three: KB) -> None:
    res = three.run("search", "certficate", "gateway")
    assert res.exit_code == 0
    # Found through the correction: every word, but not as typed ("similar").
    assert res.stdout.startswith(CERT_LINE.replace("\tall\n", "\tsimilar\n"))
    assert res.stderr.splitlines()[0] == (
        "showing results for: certificate gateway  (certficate: in no record, searched as"
        " typed too; --exact: only as typed)"
    )
    assert res.stderr.splitlines()[1] == (
        "2 of 2 shown; 0 match every word; 1 shown match only some of them"
    )
    doc = json.loads(three.run("search", "--json", "certficate").stdout)
    assert doc["corrected"] == {"certficate": "certificate"}
    assert doc["showing"] == "certificate"


def test_exact_does_not_correct_and_exits_1_with_the_closest_words(three: KB) -> None:
    res = three.run("search", "--exact", "certficate")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr == (
        "Error: nothing matches 'certficate'\n"
        "hint: in no record: 'certficate': certificate (drop --exact to use them)\n"
    )


def test_no_match_exits_1_and_json_still_prints_one_document(three: KB) -> None:
    res = three.run("search", "--json", "zqxwv")
    assert res.exit_code == 1
    assert json.loads(res.stdout) == {"query": "zqxwv", "total": 0, "matched_all": 0, "results": []}
    assert (
        res.stderr == "Error: nothing matches 'zqxwv'\nhint: in no record: 'zqxwv': nothing close\n"
    )


def test_dash_words_are_exclusions_not_options(three: KB) -> None:
    for args in (["certificate", "-dns"], ["certificate", "-humour"], ["certificate", "-nfs"]):
        res = three.run("search", *args)
        assert res.exit_code == 0, res.stderr
        assert [line.split("\t")[1] for line in res.stdout.splitlines()] == (
            ["2024-01-cert"] if "-dns" in args else ["2024-01-cert", "2024-02-dns"]
        )


def test_limit_and_short_n(three: KB) -> None:
    assert three.run("search", "certificate", "--limit", "1").stdout == CERT_LINE
    res = three.run("search", "certificate", "-n", "1")
    assert res.stdout == CERT_LINE
    assert res.stderr == "1 of 2 shown; 2 match every word\n"


def test_unknown_long_option_is_a_usage_error(three: KB) -> None:
    res = three.run("search", "--limt", "3", "dns")
    assert res.exit_code == 2
    assert "No such option: --limt" in res.stderr


def test_filters_apply_and_an_empty_page_names_them(three: KB) -> None:
    res = three.run("search", "certificate", "--kind", "observation")
    assert [line.split("\t")[1] for line in res.stdout.splitlines()] == ["2024-02-dns"]
    assert three.run("search", "humour", "--since", "2024").exit_code == 1
    res = three.run("search", "dns", "--kind", "mistake")
    assert res.exit_code == 1
    assert res.stderr == (
        "Error: nothing matches 'dns' with --kind mistake\n"
        "hint: 1 records match without --kind mistake; loosen the filters\n"
    )
    tagged = three.run("search", "certificate", "--tag", "tls")
    assert [line.split("\t")[1] for line in tagged.stdout.splitlines()] == ["2024-01-cert"]


def test_linked_to_and_orphans_filters(three: KB) -> None:
    three.add(
        "2024-04-again",
        title="Certificate expired again",
        summary="Same as before.",
        links=[{"to": "2024-01-cert", "rel": "repeats"}],
    )
    linked = three.run("search", "certificate", "--linked-to", "2024-01")
    assert [line.split("\t")[1] for line in linked.stdout.splitlines()] == ["2024-04-again"]
    alone = three.run("search", "certificate", "--orphans")
    assert [line.split("\t")[1] for line in alone.stdout.splitlines()] == ["2024-02-dns"]


def test_configured_synonyms_apply(three: KB) -> None:
    three.config("synonyms:\n  hashtags: [campaign tag]\n")
    res = three.run("search", "--exact", "campaign", "tag")
    assert res.exit_code == 0
    assert res.stdout.split("\t")[1] == "2024-03-humour"


def test_terminal_rendering_shows_rank_id_kind_date_title_snippet_tags(three: KB) -> None:
    base = KnowledgeBase.open(str(three.root))
    base.sync()
    doc = render(search(base.store, "certificate gateway"))
    lines = ["".join(text for text, _ in segs) for segs in doc.lines]
    assert lines == [
        " 1  2024-01-cert  mistake  2024-05-01",
        "    TLS certificate expired on the API gateway",
        "    Clients could not connect for two hours.",
        "    tags: certificates, tls",
        "",
        " 2~ 2024-02-dns  observation  2024-05-01",
        "    DNS change broke name resolution",
        "    A certificate check failed too.",
        "    tags: dns",
    ]
    styles = [style for segs in doc.lines for text, style in segs if text == "certificate"]
    assert styles == ["bold yellow"]


HOSTILE = [
    '"unbalanced',
    "AND OR NOT NEAR",
    "title:",
    "(",
    ":",
    "*",
    "-",
    "🔥",
    "\u202edns\u202c",
    "x" * 10_000,
    "dns\x00",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_exit_cleanly(three: KB, text: str) -> None:
    res = three.run("search", "--", text)
    assert res.exit_code in (0, 1, 2)
    assert "internal error" not in res.stderr
    assert "Traceback" not in res.stderr


def test_search_has_help_with_an_example(three: KB) -> None:
    res = three.run("search", "--help")
    assert res.exit_code == 0
    assert "Example: lessons search" in res.stdout
