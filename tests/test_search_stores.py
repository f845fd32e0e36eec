"""One search suite, run against both stores: the embedded SQLite index and the shared
PostgreSQL one (issue 16: field weights, phrases, exclusions, prefixes, field:word,
typo correction, --from-kb and literal-first ordering behave the same).

Each PostgreSQL run gets a database of its own (``pg_url``) and is skipped, with the
reason, where no server answers. Nothing is mocked: the CLI runs against real files
and a real index.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import KB


class Searcher:
    """A knowledge base, indexed into one store, searched through the CLI."""

    def __init__(self, kb: KB, db: str | None) -> None:
        self.kb = kb
        self.db = db

    def run(self, *args: str) -> Any:
        return self.kb.run(*(["--db", self.db] if self.db else []), *args)

    def index(self) -> None:
        res = self.run("index")
        assert res.exit_code == 0, res.stderr

    def search(self, query: str, *extra: str, mode: str = "lexical") -> dict[str, Any]:
        """The JSON of a search (no results: an empty list); ``extra``: global options."""
        res = self.run(*extra, "search", query, "--json", "--mode", mode, "--limit", "50")
        assert res.exit_code in (0, 1), res.stderr
        out: dict[str, Any] = json.loads(res.stdout)
        return out

    def ids(self, query: str, *extra: str, mode: str = "lexical") -> list[str]:
        return [r["id"] for r in self.search(query, *extra, mode=mode)["results"]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded index; a fresh PostgreSQL database's URL for the other."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def searcher(kb: KB, store_url: str | None) -> Callable[..., Searcher]:
    """Write records (id -> fields), index them into the store, return a Searcher."""

    def make(records: dict[str, dict[str, Any]], into: KB | None = None) -> Searcher:
        target = into or kb
        for rid, fields in records.items():
            target.add(rid, **fields)
        s = Searcher(target, store_url)
        s.index()
        return s

    return make


def plain(text: str, **more: Any) -> dict[str, Any]:
    """A record whose words are ``text`` in one field and filler elsewhere."""
    fields: dict[str, Any] = {
        "title": "Filler heading here",
        "summary": "Nothing much happened then.",
        "lesson": "Little was learned then.",
    }
    fields.update(more)
    return fields


def test_field_weights_rank_title_lesson_summary_then_other_text(
    searcher: Callable[..., Searcher],
) -> None:
    s = searcher(
        {
            "in-title": plain("", title="Kubernetes upgrade heading"),
            "in-lesson": plain("", lesson="Kubernetes was learned then."),
            "in-summary": plain("", summary="Kubernetes much happened then."),
            "in-why": plain("", why="Kubernetes"),
        }
    )
    assert s.ids("kubernetes") == ["in-title", "in-lesson", "in-summary", "in-why"]


def test_a_phrase_needs_its_words_together_and_in_order(
    searcher: Callable[..., Searcher],
) -> None:
    s = searcher(
        {
            "together": plain("", summary="The disk full alarm fired at night."),
            "apart": plain("", summary="It was full of logs on the disk."),
            "reversed": plain("", summary="A full disk stopped the writes."),
        }
    )
    assert s.ids('"disk full"') == ["together"]
    assert set(s.ids("disk full")) == {"together", "apart", "reversed"}


def test_an_excluded_word_leaves_its_records_out(searcher: Callable[..., Searcher]) -> None:
    s = searcher(
        {
            "plain": plain("", summary="The disk filled up."),
            "raid": plain("", summary="The disk of the RAID array filled up."),
        }
    )
    assert set(s.ids("disk")) == {"plain", "raid"}
    assert s.ids("disk -raid") == ["plain"]


def test_a_prefix_matches_every_word_it_begins(searcher: Callable[..., Searcher]) -> None:
    s = searcher(
        {
            "certificate": plain("", summary="The certificate expired."),
            "certification": plain("", summary="The certification lapsed."),
            "cert": plain("", summary="The cert was renewed."),
        }
    )
    assert set(s.ids("certif*")) == {"certificate", "certification"}
    assert set(s.ids("cert*")) == {"certificate", "certification", "cert"}


def test_field_word_searches_that_field_only(searcher: Callable[..., Searcher]) -> None:
    # Title and tags share one weight: a field still means that field alone.
    s = searcher(
        {
            "titled": plain("", title="Backup restore drill"),
            "tagged": plain("", tags=["backup"]),
            "summarised": plain("", summary="The backup was stale."),
        }
    )
    assert set(s.ids("backup")) == {"titled", "tagged", "summarised"}
    assert s.ids("title:backup") == ["titled"]
    assert s.ids("tags:backup") == ["tagged"]
    assert s.ids("summary:backup") == ["summarised"]
    assert s.ids('title:"restore drill"') == ["titled"]


def test_a_typo_is_corrected_and_a_real_word_is_not(searcher: Callable[..., Searcher]) -> None:
    s = searcher(
        {
            "cert": plain("", summary="The certificate expired on Sunday."),
            "other": plain("", summary="The database was slow."),
        }
    )
    found = s.search("certifcate")
    assert found["corrected"] == {"certifcate": "certificate"}
    assert [r["id"] for r in found["results"]] == ["cert"]
    # A word of the language in no record is not "corrected" into another word.
    assert "corrected" not in s.search("certify")
    assert s.ids("certify") == []


def test_every_typed_word_first_then_synonyms(searcher: Callable[..., Searcher]) -> None:
    # "revert" is a synonym of rollback: the record with it scores more (its words are
    # in the title) but the one holding both words as typed comes first.
    s = searcher(
        {
            "typed": plain("", why="The deploy needed a rollback after an hour."),
            "synonym": plain("", title="Deploy deploy revert"),
            "one-word": plain("", title="Deploy deploy deploy"),
        }
    )
    ranked = s.ids("deploy rollback")
    assert ranked[0] == "typed"
    assert ranked.index("synonym") < ranked.index("one-word")


def test_from_kb_names_the_knowledge_bases_searched(
    searcher: Callable[..., Searcher], make_kb: Callable[[str], KB], store_url: str | None
) -> None:
    s = searcher({"disk-full": plain("", summary="The disk filled up.")})
    assert s.ids("disk", "--from-kb", "kb") == s.ids("disk") == ["disk-full"]
    other = searcher({"disk-slow": plain("", summary="The disk was slow.")}, make_kb("web"))
    if store_url is None:
        # One knowledge base in the embedded index: naming another is an error.
        res = s.run("--from-kb", "web", "search", "disk")
        assert res.exit_code == 2
        assert "the local index holds one knowledge base" in res.stderr
        return
    assert other.ids("disk", "--from-kb", "web") == ["disk-slow"]
    found = s.search("disk", "--from-kb", "web")["results"]
    assert [(r["kb"], r["id"]) for r in found] == [("web", "web:disk-slow")]
    both = s.search("disk", "--from-kb", "web", "--from-kb", "kb")["results"]
    assert sorted(r["kb"] for r in both) == ["kb", "web"]


# --- the two stores side by side: the same ranking, score for score -----------------

QUERIES = [
    "disk",
    "disk full",
    '"disk full"',
    "disk -raid",
    "certif*",
    "title:backup",
    "tags:backup",
    "certifcate expired",
    "deploy rollback",
    "database slow latency",
    "backup restore disk",
]


@pytest.fixture
def both(kb: KB, make_kb: Callable[[str], KB], pg_url: str) -> Iterator[tuple[Searcher, Searcher]]:
    records = {
        "together": plain("", summary="The disk full alarm fired at night.", tags=["disk"]),
        "apart": plain("", summary="It was full of logs on the disk, then slow."),
        "raid": plain("", summary="The disk of the RAID array filled up."),
        "certificate": plain("", summary="The certificate expired.", tags=["tls"]),
        "certification": plain("", lesson="The certification lapsed; the database was slow."),
        "titled": plain("", title="Backup restore drill", why="disk latency"),
        "tagged": plain("", tags=["backup"], summary="Latency of the database rose."),
        "typed": plain("", why="The deploy needed a rollback after an hour."),
        "synonym": plain("", title="Deploy deploy revert"),
    }
    twin = make_kb("kb-pg")
    for target in (kb, twin):
        for rid, fields in records.items():
            target.add(rid, **fields)
    embedded, shared = Searcher(kb, None), Searcher(twin, pg_url)
    embedded.index()
    shared.index()
    yield embedded, shared


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_both_stores_rank_alike_score_for_score(both: tuple[Searcher, Searcher], mode: str) -> None:
    embedded, shared = both
    for query in QUERIES:
        a = embedded.search(query, mode=mode)
        b = shared.search(query, mode=mode)
        assert [(r["id"], r["score"]) for r in a["results"]] == [
            (r["id"], r["score"]) for r in b["results"]
        ], query
        assert a.get("corrected") == b.get("corrected"), query
        assert a["total"] == b["total"], query


TYPOS = ["certifcate", "dask", "latancy", "databse", "rollbak", "depoly", "bakcup", "fulll"]


def test_typos_are_corrected_alike_with_and_without_trigrams(kb: KB, pg_url: str) -> None:
    # pg_trgm's index gives the candidates; without the extension every word of the
    # stretch is read instead. The spelling policy decides the same either way, and as
    # the embedded index does.
    records = {
        "a": plain("", summary="The certificate expired; the disk was full."),
        "b": plain("", summary="Database latency rose after the deploy."),
        "c": plain("", summary="A rollback of the backup, then the desk was cleared."),
        "d": plain("", summary="Dusk fell; the depot and the dash were quiet."),
    }
    for rid, fields in records.items():
        kb.add(rid, **fields)
    embedded, shared = Searcher(kb, None), Searcher(kb, pg_url)
    embedded.index()
    shared.index()

    def corrections(s: Searcher) -> list[Any]:
        return [(s.search(t).get("corrected"), s.ids(t)) for t in TYPOS]

    expected = corrections(embedded)
    assert expected[0][0] == {"certifcate": "certificate"}
    # One letter changed inside a four-letter word: trigram similarity 0.25 at most.
    assert expected[1][0] and expected[1][0]["dask"] in {"disk", "desk", "dusk", "dash"}
    with_trigrams = corrections(shared)
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('lessons.ix_word_trgm') IS NOT NULL").fetchone()
        assert found == (True,)
        conn.execute("DROP EXTENSION pg_trgm CASCADE")
    without = corrections(shared)
    assert with_trigrams == expected
    assert without == expected


def test_search_statistics_follow_every_change(kb: KB, pg_url: str) -> None:
    # BM25 on the shared index reads its counts from statistics each publication
    # keeps (term, kb_total): after adds, edits and removals they must be what a
    # publication afresh makes, or the two stores would rank apart.
    import psycopg

    for rid, fields in {
        "a": plain("", summary="The disk filled up overnight."),
        "b": plain("", summary="The certificate expired."),
        "c": plain("", summary="Latency rose; the disk was slow."),
    }.items():
        kb.add(rid, **fields)
    s = Searcher(kb, pg_url)
    s.index()
    kb.add("b", **plain("", summary="The certificate was renewed late."))
    (kb.entries / "c.yaml").unlink()
    kb.add("d", **plain("", title="Backup restore drill", summary="A disk was swapped."))
    s.index()
    query = (
        "SELECT term, ndoc FROM lessons.term UNION ALL"
        " SELECT '~' || records, tokens FROM lessons.kb_total ORDER BY 1"
    )

    def statistics() -> list[tuple[object, ...]]:
        with psycopg.connect(pg_url) as conn:
            return list(conn.execute(query).fetchall())

    kept = statistics()
    assert ("~3", kept[-1][1]) == kept[-1]
    dropped = s.run("index", "--drop")
    assert dropped.exit_code == 0, dropped.stderr
    assert statistics() == []
    s.index()
    assert statistics() == kept
