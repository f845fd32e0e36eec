"""The search library: the query parser, its FTS5 translation, and ranking on real indexes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.errors import NoMatchError, UsageError
from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.search import (
    DEFAULT_TUNING,
    Term,
    light_stem,
    parse_query,
    search,
    spelling_variants,
    to_fts,
)
from tests.conftest import KB

# --- the parser ----------------------------------------------------------------------


def test_parse_query_reads_words_phrases_exclusions_prefixes_and_fields() -> None:
    terms = parse_query('disk -test "no space left" roll* title:Outage tags:"Fail-over"')
    assert terms == [
        Term(("disk",), raw="disk"),
        Term(("test",), negated=True, raw="test"),
        Term(("no", "space", "left"), quoted=True, raw="no space left"),
        Term(("roll",), prefix=True, raw="roll"),
        Term(("outage",), column="title", raw="Outage"),
        Term(("fail", "over"), column="tags_text", quoted=True, raw="Fail-over"),
    ]


def test_parse_query_runs_an_unclosed_quote_to_the_end() -> None:
    assert parse_query('"disk full') == [Term(("disk", "full"), quoted=True, raw="disk full")]


def test_parse_query_splits_punctuation_inside_a_word_into_a_phrase() -> None:
    assert parse_query("load-balancer") == [Term(("load", "balancer"), raw="load-balancer")]
    assert parse_query("a(b)c:d")[0].words == ("a", "b", "c", "d")


def test_parse_query_ignores_what_holds_no_word() -> None:
    assert parse_query('( ) " - * : -- "" 🙂 \x00') == []


def test_parse_query_treats_an_unknown_field_as_words() -> None:
    assert parse_query("http://example.org")[0].words == ("http", "example", "org")
    assert parse_query("author:kim")[0] == Term(("author", "kim"), raw="author:kim")


def test_to_fts_quotes_every_term_and_ands_them() -> None:
    assert to_fts('disk "no space" roll* title:outage') == (
        '"disk" AND "no space" AND "roll" * AND title : "outage"'
    )


def test_to_fts_excludes_with_not() -> None:
    assert to_fts("outage -dns -tag:x") == '(("outage") NOT "dns") NOT "tag x"'


def test_to_fts_turns_operators_and_quotes_into_searched_words() -> None:
    assert to_fts('NEAR(a b) OR "x""y" AND') == (
        '"near a" AND "b" AND "or" AND "x" AND "y" AND "and"'
    )


def test_to_fts_is_empty_when_nothing_is_searched_for() -> None:
    assert to_fts("") == ""
    assert to_fts("-only -exclusions") == ""
    assert to_fts("(*)") == ""


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, tags_text, lesson, recommendations, summary,"
        " campaign, team, body, tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.execute("INSERT INTO t VALUES ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')")
    yield conn
    conn.close()


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_to_fts_output_is_always_valid_fts5(fts: sqlite3.Connection, text: str) -> None:
    expr = to_fts(text)
    if expr:
        fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)).fetchall()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab -"*():\x00\u202e\u0301🙂NOTANDORNEAR'))))
def test_to_fts_survives_syntax_soup(fts: sqlite3.Connection, text: str) -> None:
    expr = to_fts(text)
    if expr:
        fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)).fetchall()


def test_spelling_variants_cover_british_and_american() -> None:
    assert "color" in spelling_variants("colour")
    assert "colour" in spelling_variants("color")
    assert "center" in spelling_variants("centre")
    assert "centres" in spelling_variants("centers")
    assert "organize" in spelling_variants("organise")
    assert "organisation" in spelling_variants("organization")
    assert "catalog" in spelling_variants("catalogue")
    assert "licence" in spelling_variants("license")
    assert "canceled" in spelling_variants("cancelled")
    assert "gray" in spelling_variants("grey")


def test_light_stem_maps_inflections_and_spellings_together() -> None:
    assert light_stem("resolvers") == light_stem("resolver")
    assert light_stem("caches") == light_stem("cache") == light_stem("cached")
    assert light_stem("centres") == light_stem("center")
    assert light_stem("queries") == light_stem("query")
    assert light_stem("status") == "status"


# --- search on a real index ----------------------------------------------------------


def _open(kb: KB) -> KnowledgeBase:
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    return base


def _ids(base: KnowledgeBase, text: str, **kwargs: object) -> list[str]:
    # The lexical ranking (what these tests are about); tests of meaning pass mode.
    kwargs.setdefault("mode", "lexical")
    return [h.id for h in search(base.store, text, **kwargs).hits]  # type: ignore[arg-type]


@pytest.fixture
def ops(kb: KB) -> KnowledgeBase:
    kb.add(
        "2024-01-cert",
        title="TLS certificate expired on the API gateway",
        summary="Clients could not connect for two hours.",
        tags=["certificates"],
    )
    kb.add(
        "2024-02-failover",
        title="Database failover took too long",
        summary="The standby was promoted after twenty minutes.",
    )
    kb.add(
        "2024-03-lb",
        title="Load balancer fail-over left traffic on the dead node",
        summary="Health checks passed although the node was down.",
    )
    kb.add(
        "2024-04-disk",
        title="Logging host filled its disk",
        summary="The disk full condition stopped every write.",
        lesson=None,
        kind="observation",
    )
    kb.add(
        "2024-05-colour",
        title="Status page colors confused users",
        summary="Red and amber looked alike on the dashboard.",
        kind="success",
    )
    kb.add(
        "2024-06-dc",
        title="Fiber cut between data centers",
        summary="A backhoe cut the fiber; traffic moved to the second site.",
    )
    kb.add(
        "2024-07-mfa",
        title="MFA codes were delayed",
        summary="The SMS provider queued multi-factor codes for an hour.",
    )
    kb.add(
        "2024-08-outages",
        title="Two outages in one week",
        summary="Both outages came from the same config push.",
        lesson="Stage config pushes.",
        tags=["config"],
    )
    return _open(kb)


def test_all_words_must_match_first_then_partial_matches_follow(ops: KnowledgeBase) -> None:
    result = search(ops.store, "disk full write")
    assert [h.id for h in result.hits][:1] == ["2024-04-disk"]
    assert result.hits[0].partial is False
    assert result.matched_all == 1
    assert all(h.partial for h in result.hits[1:])


def test_stop_words_are_not_required(ops: KnowledgeBase) -> None:
    result = search(ops.store, "the disk of the host")
    assert result.hits[0].id == "2024-04-disk"
    assert result.hits[0].partial is False


def test_stemming_finds_singular_and_plural(ops: KnowledgeBase) -> None:
    assert _ids(ops, "outage") == ["2024-08-outages"]
    assert _ids(ops, "certificates")[0] == "2024-01-cert"


def test_a_misspelt_word_is_corrected_and_shown(ops: KnowledgeBase) -> None:
    result = search(ops.store, "certficate expird")
    assert result.corrected == {"certficate": "certificate", "expird": "expired"}
    assert result.showing == "certificate expired"
    assert result.hits[0].id == "2024-01-cert"


def test_exact_turns_correction_off_and_the_hint_names_the_closest_words(
    ops: KnowledgeBase,
) -> None:
    with pytest.raises(NoMatchError) as err:
        search(ops.store, "certficate", exact=True)
    assert err.value.hint == "in no record: 'certficate': certificate (drop --exact to use them)"


def test_hyphen_and_space_variants_find_each_other(ops: KnowledgeBase) -> None:
    assert set(_ids(ops, "failover")[:2]) == {"2024-02-failover", "2024-03-lb"}
    assert set(_ids(ops, "fail-over")[:2]) == {"2024-02-failover", "2024-03-lb"}
    assert set(_ids(ops, "fail over")[:2]) == {"2024-02-failover", "2024-03-lb"}


def test_british_spellings_find_american_ones(ops: KnowledgeBase) -> None:
    assert _ids(ops, "colours")[0] == "2024-05-colour"
    result = search(ops.store, "fibre cut between data centres")
    assert result.hits[0].id == "2024-06-dc"
    assert result.hits[0].partial is False
    assert result.corrected == {}


def test_builtin_thesaurus_finds_paraphrases(ops: KnowledgeBase) -> None:
    assert _ids(ops, "2FA")[:1] == ["2024-07-mfa"]
    assert _ids(ops, "ran out of storage")[:1] == ["2024-04-disk"]
    without = replace(DEFAULT_TUNING, thesaurus=False)
    with pytest.raises(NoMatchError):
        search(ops.store, "2FA", exact=True, tuning=without)


def test_configured_synonyms_expand_the_query(kb: KB) -> None:
    kb.add("2024-01-x", title="Quota exhausted on the build farm", summary="Builds queued.")
    base = _open(kb)
    with pytest.raises(NoMatchError):
        search(
            base.store,
            "allowance",
            exact=True,
            tuning=replace(DEFAULT_TUNING, fuzzy=False),
            mode="lexical",
        )
    found = search(base.store, "allowance", synonyms={"quota": ("allowance",)})
    assert [h.id for h in found.hits] == ["2024-01-x"]


def test_exclusion_prefix_and_field_queries(ops: KnowledgeBase) -> None:
    assert "2024-02-failover" not in _ids(ops, "failover -database")
    assert _ids(ops, "certif*") == ["2024-01-cert"]
    assert _ids(ops, "title:disk") == ["2024-04-disk"]
    assert _ids(ops, "summary:disk") == ["2024-04-disk"]
    assert _ids(ops, "tags:config") == ["2024-08-outages"]
    with pytest.raises(NoMatchError):
        search(ops.store, "title:write")  # only in the summary


def test_quoted_phrases_match_in_order(ops: KnowledgeBase) -> None:
    assert _ids(ops, '"disk full"') == ["2024-04-disk"]
    with pytest.raises(NoMatchError):
        search(ops.store, '"full disk"', exact=True)


def test_filters_narrow_the_results_and_explain_an_empty_page(ops: KnowledgeBase) -> None:
    assert _ids(ops, "disk", filters=Filters(kind="observation")) == ["2024-04-disk"]
    with pytest.raises(NoMatchError) as err:
        search(ops.store, "disk", Filters(kind="success"))
    assert err.value.message == "nothing matches 'disk' with --kind success"
    assert err.value.hint == "1 records match without --kind success; loosen the filters"


def test_title_matches_rank_above_body_matches(kb: KB) -> None:
    kb.add("2024-01-body", title="Release notes were late", summary="Nobody read the runbook.")
    kb.add("2024-02-title", title="Runbook was out of date", summary="Steps failed.")
    assert _ids(_open(kb), "runbook") == ["2024-02-title", "2024-01-body"]


def test_snippets_highlight_the_matched_words(ops: KnowledgeBase) -> None:
    hit = search(ops.store, "disk").hits[0]
    assert hit.snippet_text() == "The **disk** full condition stopped every write."
    assert [text for text, hot in hit.snippet if hot] == ["disk"]


def test_one_word_fast_path_ranks_as_the_general_path(
    ops: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = ["disk", "outage", "certficate", "2FA", "fail-over", "colours", '"the"']
    selections = [
        Filters(),
        Filters(kind="mistake"),
        Filters(kind="observation", since="2024-01-01"),
        Filters(tags=("certificates",)),
    ]

    def ranked() -> list[object]:
        out: list[object] = []
        for q in queries:
            for f in selections:
                try:
                    result = search(ops.store, q, f)
                except NoMatchError as exc:
                    out.append(exc.hint)
                    continue
                out.append((result.total, [(h.id, round(h.score, 6)) for h in result.hits]))
        return out

    fast = ranked()
    monkeypatch.setattr(type(ops.store), "fts_top", lambda *args: None)
    general = ranked()
    assert fast == general
    # Every query finds records unfiltered, and the filters narrowed some searches to
    # fewer records without emptying them.
    unfiltered = fast[:: len(selections)]
    assert all(isinstance(r, tuple) and r[1] for r in unfiltered)
    narrowed = [
        (unfiltered[i // len(selections)], r)
        for i, r in enumerate(fast)
        if i % len(selections) and isinstance(r, tuple)
    ]
    assert any(f[0] < a[0] for a, f in narrowed)  # type: ignore[index]


def test_limit_and_total(ops: KnowledgeBase) -> None:
    result = search(ops.store, '"the"', limit=2)
    assert len(result.hits) == 2
    assert result.total == 8


def test_no_match_hint_for_an_unknown_word(ops: KnowledgeBase) -> None:
    with pytest.raises(NoMatchError) as err:
        search(ops.store, "zqxwv")
    assert err.value.hint == "in no record: 'zqxwv': nothing close"


def test_an_empty_knowledge_base_says_so(kb: KB) -> None:
    with pytest.raises(NoMatchError) as err:
        search(_open(kb).store, "anything")
    assert err.value.hint == "the knowledge base is empty; add a record with `lessons add`"


def test_a_query_of_exclusions_only_is_bad_input(ops: KnowledgeBase) -> None:
    with pytest.raises(UsageError) as err:
        search(ops.store, "-disk")
    assert err.value.hint == 'search for words or "a phrase"; -word only excludes'
    with pytest.raises(UsageError) as err:
        search(ops.store, "🙂 ( )")
    assert err.value.hint == (
        'search for words or "a phrase"; symbols and punctuation alone are not searched'
    )


HOSTILE = [
    '"unbalanced',
    'a "b',
    "AND OR NOT",
    "NEAR(disk full, 2)",
    "disk NOT full",
    "title:",
    ":::",
    "tags:-",
    "-",
    "--",
    "*",
    "disk***",
    "^disk",
    "disk\x00full",
    "\u202edisk\u202c",
    "d\u0301isk",
    "🔥 disk 🔥",
    "שלום disk",
    "x" * 10_000,
    "disk " * 2_000,
    "{title summary}: disk",
    "col:disk",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_never_raise_anything_but_our_errors(ops: KnowledgeBase, text: str) -> None:
    with contextlib.suppress(NoMatchError, UsageError):
        search(ops.store, text)


def test_a_very_long_query_is_cut_and_says_so(ops: KnowledgeBase) -> None:
    words = " ".join(f"word{i}" for i in range(100))
    with pytest.raises(NoMatchError):
        search(ops.store, words, exact=True)
    result = search(ops.store, "disk " + " ".join(f"w{i}x" for i in range(40)), exact=True)
    assert result.truncated is True
    assert result.hits[0].id == "2024-04-disk"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_search_survives_any_text(ops: KnowledgeBase, text: str) -> None:
    with contextlib.suppress(NoMatchError, UsageError):
        search(ops.store, text)


# --- PostgreSQL ----------------------------------------------------------------------


def test_postgres_store_searches_with_its_own_full_text_index(kb: KB, pg_url: str) -> None:
    kb.add("2024-01-cert", title="TLS certificate expired", summary="Clients could not connect.")
    kb.add(
        "2024-02-disk",
        title="Logging host filled its disk",
        summary="The disk full condition stopped every write.",
        lesson=None,
        kind="observation",
    )
    kb.add("2024-03-mfa", title="MFA codes were delayed", summary="SMS queued for an hour.")
    base = KnowledgeBase.open(str(kb.root), pg_url)
    base.sync()
    store = base.store
    assert [h.id for h in search(store, "disk").hits] == ["2024-02-disk"]
    assert search(store, "disk").hits[0].snippet_text() == (
        "The **disk** full condition stopped every write"
    )
    typo = search(store, "certficate")
    assert typo.showing == "certificate"
    assert [h.id for h in typo.hits] == ["2024-01-cert"]
    assert [h.id for h in search(store, "2FA").hits][:1] == ["2024-03-mfa"]
    assert [h.id for h in search(store, '"disk full"').hits] == ["2024-02-disk"]
    assert [h.id for h in search(store, "title:disk").hits] == ["2024-02-disk"]
    assert [h.id for h in search(store, "certif*").hits] == ["2024-01-cert"]
    with pytest.raises(NoMatchError):
        search(store, "disk -write")
    with pytest.raises(NoMatchError) as err:
        search(store, "disk", Filters(kind="success"))
    assert err.value.hint == "1 records match without --kind success; loosen the filters"
    for text in HOSTILE:
        with contextlib.suppress(NoMatchError, UsageError):
            search(store, text)
    # A new record reaches the vocabulary (typo correction) after the next sync.
    kb.add("2024-04-quota", title="Quota exhausted", summary="Builds queued.")
    base.sync()
    assert search(store, "qouta").showing == "quota"
    base.close()
    res = kb.run("--db", pg_url, "search", "--json", "disk")
    assert res.exit_code == 0
    assert [r["id"] for r in json.loads(res.stdout)["results"]] == ["2024-02-disk"]
