"""Issue 13: honest corrections, literal first, meaning (vectors), other languages."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lessons.errors import NoMatchError, UsageError
from lessons.kb import KnowledgeBase
from lessons.search import search
from lessons.search.language import get_language, ukrainian_stem
from tests.conftest import KB, cli_env


def _open(kb: KB) -> KnowledgeBase:
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    from lessons.search.semantic import update_vectors

    update_vectors(base.store)
    return base


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield


@pytest.fixture
def incidents(kb: KB) -> KnowledgeBase:
    kb.add(
        "dns-1",
        title="DNS change broke name resolution",
        summary="A bad record in the DNS zone sent every client to the wrong address.",
    )
    kb.add(
        "dns-2",
        title="Resolver cache kept a stale DNS answer",
        summary="Clients resolved the old address for an hour after the DNS change.",
    )
    kb.add(
        "resolve-only",
        title="Lookups failed when the resolvers were overloaded",
        summary="Name lookups timed out; clients could not resolve hostnames.",
    )
    kb.add(
        "cooling",
        title="Cooling failure in the data centre",
        summary="The chillers stopped during a heat wave and servers shut down to protect"
        " themselves from overheating.",
    )
    kb.add(
        "patch",
        title="Faulty vendor patch took laptops offline",
        summary="An automatic update from the endpoint vendor crashed every laptop at boot.",
    )
    kb.add(
        "escalation",
        title="Unclear escalation path during the night",
        summary="Nobody knew who was on call, so the page went unanswered for an hour.",
    )
    for i in range(12):
        kb.add(
            f"filler-{i}",
            title=f"Quarterly budget review number {i}",
            summary="The finance team reviewed the spending plan and agreed next steps.",
        )
    return _open(kb)


# --- spelling ---------------------------------------------------------------------


def test_a_word_of_the_language_is_never_corrected_into_another_word(
    incidents: KnowledgeBase,
) -> None:
    # "quarrel" is in no record but is English: not turned into "quarterly".
    with pytest.raises(NoMatchError) as err:
        search(incidents.store, "quarrel", mode="lexical")
    assert "quarrel" in (err.value.hint or "")
    result = search(incidents.store, "quarrel budget", mode="lexical")
    assert result.corrected == {}
    assert result.unknown == ["quarrel"]
    assert result.showing is None


def test_a_typo_is_searched_beside_its_correction_and_the_message_says_both(
    incidents: KnowledgeBase,
) -> None:
    result = search(incidents.store, "reslover cache", mode="lexical")
    assert result.corrected == {"reslover": "resolver"}
    assert result.showing == "resolver cache"
    assert result.hits[0].id == "dns-2"
    # The record holds the correction, not the word as typed.
    assert result.hits[0].match == "similar"
    assert result.matched_all == 0


# --- literal first ----------------------------------------------------------------


def test_a_specific_word_alone_puts_the_records_holding_it_first(
    incidents: KnowledgeBase,
) -> None:
    result = search(incidents.store, "dns", limit=5)
    ids = [h.id for h in result.hits]
    assert ids[:2] == ["dns-1", "dns-2"] or ids[:2] == ["dns-2", "dns-1"]
    assert [h.match for h in result.hits[:2]] == ["all", "all"]
    # Records found otherwise (the thesaurus's "resolve", or meaning) come after, and
    # are not counted as matching every word.
    assert result.matched_all == 2
    assert all(h.match != "all" for h in result.hits[2:])


def test_highlights_of_a_literal_hit_mark_only_the_words_typed(
    incidents: KnowledgeBase,
) -> None:
    hit = search(incidents.store, "dns", limit=1).hits[0]
    hot = {text.lower() for text, on in hit.snippet if on}
    assert hot == {"dns"}


def test_a_query_of_stop_words_only_gets_a_hint_not_every_record(
    incidents: KnowledgeBase,
) -> None:
    with pytest.raises(UsageError) as err:
        search(incidents.store, "the and of")
    assert "only common words" in str(err.value)
    assert '"the and of"' in (err.value.hint or "")


# --- meaning ----------------------------------------------------------------------


def test_meaning_finds_records_that_share_no_word_with_the_query(
    incidents: KnowledgeBase, no_network: None
) -> None:
    result = search(incidents.store, "overheating heatwave", mode="semantic", limit=3)
    assert result.hits[0].id == "cooling"
    lexical = search(incidents.store, "chillers heat", mode="lexical")
    assert [h.id for h in lexical.hits] == ["cooling"]
    hybrid = search(incidents.store, "laptops crashed after an update", limit=3)
    assert hybrid.hits[0].id == "patch"


def test_modes_differ_and_explain_shows_both_contributions(incidents: KnowledgeBase) -> None:
    hybrid = search(incidents.store, "who was on call at night", explain=True, limit=3)
    top = hybrid.hits[0]
    assert top.id == "escalation"
    assert top.explain is not None
    assert top.explain["lexical_rank"] is not None
    assert top.explain["semantic_rank"] is not None
    assert top.explain["cosine"] > 0
    assert hybrid.mode == "hybrid"
    lexical = search(incidents.store, "who was on call at night", mode="lexical", explain=True)
    assert lexical.mode == "lexical"
    assert all(h.explain and h.explain["semantic_rank"] is None for h in lexical.hits)


def test_a_short_query_whose_words_fill_the_page_needs_no_meaning(kb: KB) -> None:
    # Twelve records hold both words: a page of ten is those, in BM25 order, and the
    # model is not started (a shared index at scale pays 0.3-0.5 s for it).
    for i in range(12):
        summary = "The team missed the renewal."
        kb.add(f"c{i:02d}", title=f"Certificate {i} expired", summary=summary)
    kb.add("other", title="Expired passwords", summary="Nobody rotated them.")
    from lessons.search.semantic import update_vectors

    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    update_vectors(base.store)
    full = search(base.store, "certificate expired", limit=10)
    assert full.mode == "lexical"
    assert all(h.match == "all" for h in full.hits)
    assert [h.id for h in full.hits] == [
        h.id for h in search(base.store, "certificate expired", mode="lexical").hits
    ]
    # A longer page than the records holding both words: meaning orders the rest.
    assert search(base.store, "certificate expired", limit=13).mode == "hybrid"
    # Five words or more are not tiered: meaning is consulted however many match.
    assert search(base.store, "certificate expired team missed renewal", limit=3).mode == ("hybrid")


def test_one_corrected_word_whose_records_fill_the_page_needs_no_meaning(
    incidents: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "reslover" is corrected to "resolver", which two records hold: a page of one is
    # filled by them (the words alone, no model); a page of ten is not (meaning fills it).
    import lessons.search as engine

    started: list[int] = []
    real = engine.warm_up_in_background
    monkeypatch.setattr(engine, "warm_up_in_background", lambda: started.append(1) or real())
    one = search(incidents.store, "reslover", limit=1)
    assert one.corrected == {"reslover": "resolver"}
    assert one.mode == "lexical" and one.hits[0].match == "similar"
    assert [h.id for h in one.hits] == [
        h.id for h in search(incidents.store, "reslover", limit=1, mode="lexical").hits
    ]
    ten = search(incidents.store, "reslover", limit=10)
    assert ten.mode == "hybrid"
    # Not certain to need the model before the words are ranked: no warm-up either way.
    assert started == []
    # Two words, one corrected: meaning is consulted (it tells the correction's sense).
    assert search(incidents.store, "reslover cache", limit=1).mode == "hybrid"


def test_the_model_is_warmed_up_beside_the_words_only_when_meaning_is_certain(
    incidents: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A search that will embed its query whatever its words find starts the model in a
    # thread while the words are ranked; one that may not need it never starts it.
    import lessons.search as engine

    started: list[str] = []
    real = engine.warm_up_in_background

    def spy() -> object:
        started.append("x")
        return real()

    monkeypatch.setattr(engine, "warm_up_in_background", spy)
    cases = {
        # a correction: nothing holds the word as typed, so meaning is consulted
        "reslover cache": True,
        # five words are not tiered: meaning is consulted however many match
        "overloaded resolvers timed lookups clients hostnames": True,
        # one word held by records: maybe answered by the words alone
        "dns": False,
        # phrases ask for the words themselves
        '"dns change"': False,
    }
    for query, certain in cases.items():
        started.clear()
        result = search(incidents.store, query)
        assert bool(started) == certain, query
        if certain:
            assert result.mode == "hybrid", query
        assert search(incidents.store, query, mode="lexical").hits  # and lexical never warms
        assert len(started) == (1 if certain else 0), query


def test_a_warm_up_under_way_and_an_embedding_share_one_session() -> None:
    import threading

    from lessons.search.encoder import Encoder

    fresh = Encoder().embed(["the certificate expired"])
    shared = Encoder()
    thread = threading.Thread(target=shared.warm_up)
    thread.start()
    got = shared.embed(["the certificate expired"])
    thread.join()
    assert got.shape == fresh.shape
    assert float((got * fresh).sum()) > 0.9999
    assert "_quick_session" in vars(shared) and "_session" not in vars(shared)
    # A process whose encoder has run starts no more threads for it.
    from lessons.search import warm_up_in_background
    from lessons.search.encoder import load_encoder

    load_encoder().embed(["anything"])
    assert warm_up_in_background() is None


def test_gibberish_finds_nothing_by_meaning(incidents: KnowledgeBase) -> None:
    with pytest.raises(NoMatchError):
        search(incidents.store, "zqxwv", exact=True)


def test_an_unknown_mode_is_bad_input(incidents: KnowledgeBase) -> None:
    with pytest.raises(UsageError):
        search(incidents.store, "dns", mode="fuzzy")


# --- vectors in the index ----------------------------------------------------------


def _vector_rows(base: KnowledgeBase) -> int:
    return int(base.store.one("SELECT count(*) FROM vector")[0])


def test_index_embeds_only_new_or_changed_records(kb: KB) -> None:
    from lessons.search.semantic import update_vectors

    for i in range(5):
        kb.add(f"r{i}", title=f"Record {i} about backups", summary=f"Backup number {i} failed.")
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    first = update_vectors(base.store)
    assert (first.embedded, first.reused) == (5, 0)
    again = update_vectors(base.store)
    assert (again.embedded, again.reused) == (0, 0)
    kb.add("r2", title="Record 2 about restores", summary="Restore number 2 failed.")
    base.sync()
    one = update_vectors(base.store)
    assert (one.embedded, one.reused) == (1, 0)
    assert one.pruned == 1  # the old text's vector
    assert base.store.vector_counts() == (5, 5)
    assert _vector_rows(base) == 5


def test_an_interrupted_embedding_keeps_what_it_did_and_search_says_so(kb: KB) -> None:
    from lessons.search import INLINE_EMBED
    from lessons.search.semantic import BATCH, update_vectors

    n = INLINE_EMBED + BATCH + 10
    for i in range(n):
        kb.add(f"r{i:04d}", title=f"Backup job {i} failed overnight", summary="Disk was full.")
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    done = update_vectors(base.store, limit=BATCH)  # as if stopped after one batch
    assert done.embedded == BATCH
    assert base.store.vector_counts() == (BATCH, n)
    # (Not a query whose words as typed fill the page: that one needs no meaning.)
    result = search(base.store, "backup overnight restore", limit=3)
    assert result.mode == "hybrid"
    assert result.vectors_missing == n - BATCH
    assert result.as_json()["without_vectors"] == n - BATCH
    rest = update_vectors(base.store)
    assert rest.embedded + rest.reused == n - BATCH
    assert base.store.vector_counts() == (n, n)


def test_index_command_embeds_after_the_words_and_search_uses_the_vectors(kb: KB) -> None:
    kb.add("cooling", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    for i in range(6):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    res = kb.run("index")
    assert res.exit_code == 0
    res = kb.run("search", "--mode", "semantic", "--json", "overheating", "-n", "1")
    assert res.exit_code == 0
    assert '"id": "cooling"' in res.stdout
    assert '"mode": "semantic"' in res.stdout
    with sqlite3.connect(kb.root / ".lessons" / "index.db") as conn:
        assert conn.execute("SELECT count(*) FROM record_vector").fetchone()[0] == 7


def test_index_words_only_leaves_the_vectors_for_the_next_run(kb: KB) -> None:
    kb.add("cooling", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    kb.add("cert", title="Certificate expired", summary="The TLS certificate lapsed.")
    res = kb.run("index", "--words-only", "--json")
    assert res.exit_code == 0
    assert '"embedded": 0' in res.stdout
    with sqlite3.connect(kb.root / ".lessons" / "index.db") as conn:
        assert conn.execute("SELECT count(*) FROM record").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM record_vector").fetchone()[0] == 0
    res = kb.run("index", "--json")
    assert '"embedded": 2' in res.stdout


def test_search_explain_prints_both_contributions(kb: KB) -> None:
    kb.add("cooling", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    for i in range(6):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    kb.run("index")
    res = kb.run("search", "--explain", "cooling", "chillers")
    assert res.exit_code == 0
    first = res.stdout.splitlines()[0]
    assert "lexical #1" in first and "semantic #1" in first


def test_search_limit_minus_one_is_the_clean_message_of_list(kb: KB) -> None:
    kb.add("a")
    res = kb.run("search", "title", "--limit", "-1")
    assert res.exit_code == 2
    assert "-1 is not in the range x>=1" in res.stderr
    assert "\x1f" not in res.stderr
    assert kb.run("list", "--limit", "-1").stderr.splitlines()[-1] == res.stderr.splitlines()[-1]


def test_lexical_commands_do_not_import_numpy(kb: KB) -> None:
    kb.add("a", title="DNS outage", summary="A DNS outage.")
    env_root = str(kb.root)
    code = (
        "import sys; from lessons.cli.main import main\n"
        "sys.argv = ['lessons', '--kb', sys.argv[1], 'search', '--mode', 'lexical', 'dns']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, env_root], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False False"
    version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from lessons.cli.main import main\n"
            "sys.argv=['lessons','--version']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip().splitlines()[-1] == "False"


# --- other languages ---------------------------------------------------------------


def test_portuguese_records_are_found_by_their_inflected_forms(kb: KB) -> None:
    kb.config("language: portuguese\n")
    kb.add(
        "pt-1",
        title="Os servidores falharam durante a atualização",
        summary="A atualização do sistema derrubou todos os servidores de produção.",
    )
    kb.add(
        "pt-2",
        title="Cópia de segurança incompleta",
        summary="A cópia de segurança da base de dados não terminou.",
    )
    for i in range(6):
        kb.add(f"pt-f{i}", title=f"Reunião de orçamento {i}", summary="A equipa reviu as contas.")
    base = _open(kb)
    assert base.config.language == "portuguese"
    found = search(base.store, "servidor falhou", mode="lexical", language="portuguese")
    assert found.hits[0].id == "pt-1"
    assert found.hits[0].match == "all"
    copies = search(base.store, "cópias", mode="lexical", language="portuguese")
    assert [h.id for h in copies.hits] == ["pt-2"]
    # "de" is a Portuguese stop word: not required, not counted as a match.
    result = search(base.store, "de servidores", mode="lexical", language="portuguese")
    assert result.matched_all == 1
    assert [h.id for h in result.hits] == ["pt-1"]


def test_ukrainian_records_are_found_by_their_inflected_forms(kb: KB) -> None:
    kb.config("language: ukrainian\n")
    kb.add(
        "uk-1",
        title="Сервери впали після оновлення",
        summary="Оновлення системи зупинило всі сервери та мережу.",
    )
    kb.add(
        "uk-2",
        title="Резервна копія не завершилась",
        summary="Резервної копії бази даних немає за минулий тиждень.",
    )
    for i in range(6):
        kb.add(f"uk-f{i}", title=f"Нарада щодо бюджету {i}", summary="Команда переглянула витрати.")
    base = _open(kb)
    found = search(base.store, "сервер оновленням", mode="lexical", language="ukrainian")
    assert found.hits[0].id == "uk-1"
    assert found.hits[0].match == "all"
    copies = search(base.store, "резервною копією", mode="lexical", language="ukrainian")
    assert copies.hits[0].id == "uk-2"
    # "та" (and) is a stop word: the query is only "мережа", held by uk-1 as "мережу".
    only = search(base.store, "та мережа", mode="lexical", language="ukrainian")
    assert [h.id for h in only.hits] == ["uk-1"]
    assert only.matched_all == 1


def test_language_stemmers_and_stop_words() -> None:
    pt = get_language("pt")
    assert pt.name == "portuguese"
    assert pt.stem("servidores") == pt.stem("servidor")
    assert "de" in pt.stopwords
    uk = get_language("ukrainian")
    assert "та" in uk.stopwords
    assert ukrainian_stem("мережею") == ukrainian_stem("мережа") == ukrainian_stem("мережі")
    assert ukrainian_stem("серверів") == ukrainian_stem("сервер")
    assert get_language().is_word("quarrel")
    assert not get_language().is_word("certficate")
    assert uk.is_word("будь-що")  # no word list: nothing is corrected


@pytest.mark.parametrize("name", ["english", "portuguese"])
def test_the_word_list_agrees_with_pyspellchecker(name: str) -> None:
    # is_word looks words up in the list's text instead of building pyspellchecker's
    # dictionary (0.6 s and more); both must say the same of words and of non-words.
    from spellchecker import SpellChecker

    language = get_language(name)
    known = sorted(SpellChecker(language=language.code, distance=1).word_frequency.keys())
    sample = known[::1500]
    assert sample and all(language.is_word(w) for w in sample)
    assert all(language.is_word(w.upper()) for w in sample[:20])  # any case, as typed
    near = {w + "q" for w in sample} | {w[:-1] for w in sample if len(w) > 2}
    near |= {"x" + w for w in sample}
    words = set(known)
    assert [w for w in sorted(near) if language.is_word(w) != (w in words)] == []


def test_a_word_list_with_capitals_is_read_in_lower_case() -> None:
    # The shipped lists are lower case and are searched as they are; a list that is not
    # (an ASCII or a non-ASCII capital) is lowered first, as SpellChecker lowers its keys.
    from lessons.search.language import _WordList

    for raw in (
        '{"Quarrel": 5, "zebra": 1}',
        '{"quarrel": 5, "Été": 1}',
        '{"été": 1, "quarrel": 2}',
    ):
        words = _WordList(raw.encode("utf-8"))
        assert words.has("quarrel") and words.has("zebra") == ("zebra" in raw)
        assert words.has("été") == ("été" in raw.lower())
        assert not words.has("quarre") and not words.has("uarrel")


def test_an_unknown_language_in_lessons_yaml_names_the_line(kb: KB) -> None:
    kb.config("name: x\nlanguage: klingon\n")
    kb.add("a")
    res = kb.run("list")
    assert res.exit_code == 2
    assert "unknown language 'klingon'" in res.stderr
    assert "lessons.yaml:2" in res.stderr


def test_postgres_store_keeps_vectors_and_searches_by_meaning(kb: KB, pg_url: str) -> None:
    kb.add("cooling", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    for i in range(6):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    assert kb.run("--db", pg_url, "index").exit_code == 0
    res = kb.run("--db", pg_url, "search", "--json", "--explain", "chillers", "overheating")
    assert res.exit_code == 0
    import json

    doc = json.loads(res.stdout)
    assert doc["mode"] == "hybrid"
    assert doc["results"][0]["id"] == "cooling"
    assert doc["results"][0]["explain"]["semantic_rank"] == 1


def test_the_shared_index_is_searched_by_meaning_from_outside_any_knowledge_base(
    make_kb: Callable[[str], KB], pg_url: str, tmp_path: Path
) -> None:
    # The person who never cloned a team's repository searches from any folder: meaning
    # counts the vectors of every knowledge base searched, not of a home there is not.
    import json

    alpha, beta = make_kb("alpha"), make_kb("beta")
    alpha.add("cooling", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    for i in range(6):
        alpha.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    for i in range(3):
        beta.add(f"b{i}", title=f"Printer jam {i}", summary="The office printer jammed.")
    assert alpha.run("--db", pg_url, "index").exit_code == 0
    assert beta.run("--db", pg_url, "index", "--words-only").exit_code == 0
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def found(*args: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "lessons", "--db", pg_url, *args],
            cwd=outside,
            capture_output=True,
            text=True,
            env=cli_env(),
        )
        assert proc.returncode == 0, proc.stderr
        doc: dict[str, Any] = json.loads(proc.stdout)
        return doc

    doc = found("search", "--json", "chillers", "overheating")
    assert doc["mode"] == "hybrid"
    assert doc["results"][0]["id"] == "alpha:cooling"
    # beta's three records have no vector yet, and the search says so: theirs to embed.
    assert doc["without_vectors"] == 3
    plain = subprocess.run(
        [sys.executable, "-m", "lessons", "--db", pg_url, "search", "chillers", "overheating"],
        cwd=outside,
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert (
        "meaning was matched in 7 of 10 records; `lessons index` in their knowledge bases"
        in " ".join(plain.stderr.split())
    )
    # beta alone has no vectors: words only, and nothing to report missing.
    only_beta = found(
        "--from-kb", "beta", "search", "--json", "printer", "jammed", "office", "paper", "tray"
    )
    assert only_beta["mode"] == "lexical"
    assert "without_vectors" not in only_beta
    # From inside alpha the scope is the same: every knowledge base.
    res = alpha.run("--db", pg_url, "search", "--json", "chillers", "overheating")
    inside = json.loads(res.stdout)
    assert inside["mode"] == "hybrid" and inside["without_vectors"] == 3


def test_related_finds_a_record_close_in_meaning_that_shares_no_word(kb: KB) -> None:
    from lessons.links import related

    kb.add("heat", title="Chillers failed in a heat wave", summary="The servers overheated.")
    kb.add("cool", title="Air conditioning broke down", summary="Machines got too hot.")
    for i in range(10):
        kb.add(f"b{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    base = _open(kb)
    found = related(base, "heat", limit=3)
    assert found[0].id == "cool"
    assert found[0].shared_words == []
    assert "similar meaning" in found[0].reasons
    assert found[0].semantic_similarity is not None
    assert found[0].as_dict()["semantic_similarity"] == found[0].semantic_similarity


def test_close_to_record_past_the_bound_compares_the_candidates_only(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lessons.search import semantic

    kb.add("heat", title="Chillers failed in a heat wave", summary="The servers overheated.")
    kb.add("cool", title="Air conditioning broke down", summary="Machines got too hot.")
    for i in range(6):
        kb.add(f"b{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    base = _open(kb)
    store = base.store
    every = semantic.close_to_record(store, "heat", 10)
    assert every is not None and len(every.ranked) == 7  # every other record
    pks = store.pks_of(["cool", "b1"])
    monkeypatch.setattr(semantic, "EVERY_VECTOR_UP_TO", 3)  # as if the index were huge
    bounded = semantic.close_to_record(store, "heat", 10, among=["cool", "b1"])
    assert bounded is not None
    assert {pk for pk, _ in bounded.ranked} == set(pks.values())
    assert dict(bounded.ranked)[pks["cool"]] == pytest.approx(dict(every.ranked)[pks["cool"]])
    # Without candidates it still compares every record (nothing else to go on).
    assert len(semantic.close_to_record(store, "heat", 10).ranked) == 7


# --- fusion: the words' say is the share of the query they found ---------------------


@pytest.fixture
def machine_room(kb: KB) -> KnowledgeBase:
    kb.add(
        "cooling",
        title="Cooling failure in the data centre",
        summary="The chillers stopped during a heat wave and the servers shut down to"
        " protect themselves from overheating.",
    )
    kb.add(
        "meeting-room",
        title="Meeting room booked twice",
        summary="Everything in the room was moved around the day before the board met.",
    )
    kb.add(
        "badge",
        title="Office badges switched off",
        summary="Badges stopped working at the front door; staff were locked out.",
    )
    for i in range(10):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    return _open(kb)


def _coverage(base: KnowledgeBase, text: str) -> float:
    from lessons.filters import Filters
    from lessons.search.lexical import coverage, rank
    from lessons.search.plan import DEFAULT_TUNING, plan_query

    plan = plan_query(
        base.store,
        text,
        exact=False,
        synonyms=None,
        tuning=DEFAULT_TUNING,
        language=get_language("english"),
    )
    ranking = rank(base.store, plan, Filters(), DEFAULT_TUNING, 10)
    return coverage(ranking, base.store.count())


def test_coverage_is_the_idf_weighted_share_of_the_query_the_words_found(
    machine_room: KnowledgeBase,
) -> None:
    # A record holds every word, or the query is one word: the words found it all.
    assert _coverage(machine_room, "chillers heat wave") == 1.0
    assert _coverage(machine_room, "chillers") == 1.0
    # No record holds both: the best holds the rare word ("room", in one record), not
    # the common one ("budget", in ten), so most of the query's weight.
    assert 0.8 < _coverage(machine_room, "room budget") < 1.0
    # A situation told in other words: the records hold only its commonest words.
    described = "the machine room got far too hot and everything switched itself off"
    assert _coverage(machine_room, described) < 0.5


def test_a_paraphrase_leans_on_meaning_where_the_words_found_little(
    machine_room: KnowledgeBase,
) -> None:
    from dataclasses import replace

    from lessons.search.plan import DEFAULT_TUNING

    described = "the machine room got far too hot and everything switched itself off"
    hits = search(machine_room.store, described, limit=3).hits
    assert hits[0].id == "cooling"
    # Words and meaning given an equal say, the record that shares the most words
    # with the description (and nothing of its meaning) comes first.
    equal = replace(DEFAULT_TUNING, coverage=False)
    assert search(machine_room.store, described, limit=3, tuning=equal).hits[0].id == (
        "meeting-room"
    )
