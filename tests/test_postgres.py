"""One organisation-wide index (issue 16): many knowledge bases publish into one
PostgreSQL database and everyone searches it. Real server, real roles; each test has
a database of its own (the ``pg_url`` fixture) and is skipped where none answers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lessons.cli.app import STATE, State
from tests.conftest import KB, PG_ADMIN, Result, app

# Every test here that uses a database carries the `pg` marker (conftest adds it to
# every user of the pg_url fixture), and only those: CI counts them.


def run_here(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    """``lessons ARGS…`` run from ``cwd`` without --kb (no knowledge base there)."""
    monkeypatch.chdir(cwd)
    STATE.__dict__.update(State().__dict__)
    res = CliRunner().invoke(app, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, res.stderr)


def _psql(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


@pytest.fixture
def two(make_kb: Callable[[str], KB], pg_url: str) -> tuple[KB, KB]:
    """Knowledge bases 'ops' and 'web', both with a record 'disk-full', published."""
    ops, web = make_kb("ops-folder"), make_kb("web-folder")
    ops.config("name: Ops\n")
    web.config("name: web\n")
    ops.add("disk-full", title="Ops disk filled up", tags=["disk"], summary="The log disk.")
    ops.add("cert-expired", title="Certificate expired", links=[{"to": "disk-full"}])
    web.add("disk-full", title="Web disk filled up", tags=["disk"], summary="The upload disk.")
    web.add("slow-page", title="Slow landing page", kind="observation")
    for kb in (ops, web):
        res = kb.run("--db", pg_url, "index")
        assert res.exit_code == 0, res.stderr
        assert res.stderr == "+2 added  ~0 changed  -0 removed\n"
    return ops, web


def _count(url: str, kb: str) -> int:
    return int(_psql(url, "SELECT count(*) FROM lessons.record WHERE kb = %s", (kb,))[0][0])


def test_two_knowledge_bases_with_the_same_ids_keep_their_own_rows(
    two: tuple[KB, KB], pg_url: str
) -> None:
    ops, web = two
    assert (_count(pg_url, "ops"), _count(pg_url, "web")) == (2, 2)
    # A sync of one knowledge base adds, changes and removes its own rows only.
    (ops.entries / "disk-full.yaml").unlink()
    ops.add("new-one", title="A new ops record")
    assert ops.run("--db", pg_url, "index").stderr == "+1 added  ~0 changed  -1 removed\n"
    assert _count(pg_url, "web") == 2
    web_disk = _psql(
        pg_url, "SELECT title FROM lessons.record WHERE kb = 'web' AND id = 'disk-full'"
    )
    assert web_disk == [("Web disk filled up",)]
    # Nothing changed in web: its publication is a no-op, not a re-insert.
    assert web.run("--db", pg_url, "index").stderr == "+0 added  ~0 changed  -0 removed\n"


def test_search_and_list_across_every_knowledge_base_or_those_named(
    two: tuple[KB, KB], pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops, web = two
    # From a folder with no knowledge base: every record is KB:ID.
    listed = run_here(
        tmp_path, "--db", pg_url, "list", "--json", "--sort", "id", monkeypatch=monkeypatch
    )
    assert listed.exit_code == 0, listed.stderr
    results = json.loads(listed.stdout)["results"]
    assert [(r["id"], r["kb"]) for r in results] == [
        ("ops:cert-expired", "ops"),
        ("ops:disk-full", "ops"),
        ("web:disk-full", "web"),
        ("web:slow-page", "web"),
    ]
    only_web = run_here(
        tmp_path, "--db", pg_url, "--from-kb", "web", "list", "--json", monkeypatch=monkeypatch
    )
    assert {r["kb"] for r in json.loads(only_web.stdout)["results"]} == {"web"}
    found = run_here(tmp_path, "--db", pg_url, "search", "disk", "--json", monkeypatch=monkeypatch)
    assert found.exit_code == 0, found.stderr
    hits = json.loads(found.stdout)["results"]
    assert sorted((h["id"], h["kb"]) for h in hits) == [
        ("ops:disk-full", "ops"),
        ("web:disk-full", "web"),
    ]
    table = run_here(tmp_path, "--db", pg_url, "list", "--tag", "disk", monkeypatch=monkeypatch)
    assert "ops:disk-full" in table.stdout and "web:disk-full" in table.stdout
    unknown = run_here(
        tmp_path, "--db", pg_url, "--from-kb", "nope", "list", monkeypatch=monkeypatch
    )
    assert unknown.exit_code == 2
    assert "no knowledge base 'nope' in the index" in unknown.stderr
    assert "it holds: ops, web" in unknown.stderr
    # Inside ops: its own records keep their plain ids, web's are named web:ID.
    inside = ops.run("--db", pg_url, "list", "--json", "--tag", "disk", "--sort", "id")
    assert [r["id"] for r in json.loads(inside.stdout)["results"]] == ["disk-full", "web:disk-full"]
    # A command about the knowledge base itself (tag list) sees only its own rows.
    tags = json.loads(web.run("--db", pg_url, "tag", "list", "--json").stdout)
    assert tags == [{"tag": "disk", "count": 1}]


def test_show_reads_another_teams_record_from_the_index_alone(
    two: tuple[KB, KB], pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops, web = two
    import shutil

    # ops's files are gone from this machine: the index holds what show needs.
    shutil.rmtree(ops.root)
    shown = run_here(
        tmp_path, "--db", pg_url, "show", "ops:cert-expired", "--json", monkeypatch=monkeypatch
    )
    assert shown.exit_code == 0, shown.stderr
    rec = json.loads(shown.stdout)
    assert (rec["id"], rec["kb"], rec["title"]) == (
        "ops:cert-expired",
        "ops",
        "Certificate expired",
    )
    # Its link points into its own knowledge base: named as such from outside.
    assert rec["links"] == [{"to": "ops:disk-full", "rel": "relates-to"}]
    back = json.loads(
        run_here(
            tmp_path, "--db", pg_url, "show", "ops:disk-full", "--json", monkeypatch=monkeypatch
        ).stdout
    )
    assert back["backlinks"] == [
        {
            "from": "ops:cert-expired",
            "rel": "relates-to",
            "as": "relates-to",
            "title": "Certificate expired",
        }
    ]
    text = run_here(tmp_path, "--db", pg_url, "show", "ops:cert", monkeypatch=monkeypatch)
    assert text.exit_code == 0 and "Certificate expired" in text.stdout
    # A plain id two knowledge bases hold is ambiguous without a home.
    both = run_here(tmp_path, "--db", pg_url, "show", "disk-full", monkeypatch=monkeypatch)
    assert both.exit_code == 2
    assert "ops:disk-full" in both.stderr and "web:disk-full" in both.stderr
    # Inside web, the plain id is web's own.
    assert json.loads(web.run("--db", pg_url, "show", "disk-full", "--json").stdout)["title"] == (
        "Web disk filled up"
    )


def test_links_into_another_knowledge_base_are_checked_against_the_shared_index(
    two: tuple[KB, KB], pg_url: str
) -> None:
    ops, web = two
    web.add("again", title="Disk full again", links=[{"to": "ops:disk-full", "rel": "repeats"}])
    web.add("dangling", title="Points nowhere", links=[{"to": "ops:no-such-record"}])
    res = web.run("--db", pg_url, "check", "--json")
    errors = json.loads(res.stdout)["errors"]
    assert [(e["path"], e["message"]) for e in errors] == [
        (
            "entries/dangling.yaml",
            "link to 'ops:no-such-record', which is in no knowledge base of the index",
        )
    ]
    # The local index cannot tell, and does not complain.
    local = json.loads(web.run("check", "--json").stdout)
    assert local["errors"] == []
    # The other side shows the backlink, named from where it is read.
    shown = json.loads(ops.run("--db", pg_url, "show", "disk-full", "--json").stdout)
    assert {
        "from": "web:again",
        "rel": "repeats",
        "as": "repeated-by",
        "title": "Disk full again",
    } in (shown["backlinks"])
    edges = json.loads(ops.run("--db", pg_url, "graph", "-f", "json").stdout)["edges"]
    assert {"from": "web:again", "to": "disk-full", "rel": "repeats"} in edges


def test_drop_removes_this_knowledge_base_and_nothing_else(two: tuple[KB, KB], pg_url: str) -> None:
    ops, _web = two
    res = ops.run("--db", pg_url, "index", "--drop")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "-2 removed: 'ops' is no longer in the shared index\n"
    for table in ("record", "file", "tag", "link", "action", "word", "meta"):
        assert _psql(pg_url, f"SELECT count(*) FROM lessons.{table} WHERE kb = 'ops'") == [(0,)]
    assert _count(pg_url, "web") == 2
    assert _psql(pg_url, "SELECT count(*) FROM lessons.word WHERE kb = 'web'")[0][0] > 0
    # Not for a local index.
    local = ops.run("index", "--drop")
    assert local.exit_code == 2 and "shared index" in local.stderr


def test_public_only_publishes_public_records_and_remembers_it(kb: KB, pg_url: str) -> None:
    kb.config("name: mixed\n")
    kb.add("open-one", title="Public lesson", visibility="public")
    kb.add("secret-plan", title="Internal plan for the acquisition")
    res = kb.run("--db", pg_url, "index", "--public-only")
    assert res.exit_code == 0, res.stderr
    assert res.stderr.startswith("+1 added  ~0 changed  -0 removed\n")
    dump = "\n".join(
        str(row)
        for table in ("record", "file", "tag", "link", "action", "word", "meta")
        for row in _psql(pg_url, f"SELECT * FROM lessons.{table}")
    )
    assert "open-one" in dump
    # Nothing of the internal record is in the index, not even its file's name.
    assert "secret" not in dump and "acquisition" not in dump
    # A later command in the folder (it syncs first) keeps it public-only.
    kb.add("another-secret", title="Another internal one")
    listed = json.loads(kb.run("--db", pg_url, "list", "--json").stdout)
    assert [r["id"] for r in listed["results"]] == ["open-one"]
    # Until a publication says otherwise.
    again = kb.run("--db", pg_url, "index", "--no-public-only")
    assert again.exit_code == 0, again.stderr
    assert _count(pg_url, "mixed") == 3
    # lessons.yaml can make it the default.
    kb.config("name: mixed\npublish: {public_only: true}\n")
    kb.run("--db", pg_url, "index")
    assert _count(pg_url, "mixed") == 1
    # Not for a local index.
    assert kb.run("index", "--public-only").exit_code == 2


def test_a_changed_configuration_republishes_only_that_knowledge_base(
    two: tuple[KB, KB], pg_url: str
) -> None:
    ops, _web = two
    before = _psql(pg_url, "SELECT pk FROM lessons.record WHERE kb = 'web' ORDER BY pk")
    ops.config("name: Ops\ntag_aliases: {disk: disks}\n")
    res = ops.run("--db", pg_url, "index")
    assert res.exit_code == 0, res.stderr
    assert _psql(pg_url, "SELECT tag FROM lessons.tag WHERE kb = 'ops'") == [("disks",)]
    assert _psql(pg_url, "SELECT pk FROM lessons.record WHERE kb = 'web' ORDER BY pk") == before


def test_an_index_of_a_newer_lessons_is_refused_and_left_alone(
    two: tuple[KB, KB], pg_url: str
) -> None:
    ops, _web = two
    _psql(pg_url, "UPDATE lessons.meta SET value = '99' WHERE key = 'schema' AND kb = ''")
    ops.add("late", title="Not published")
    res = ops.run("--db", pg_url, "index")
    assert res.exit_code == 2
    assert "has schema version 99, newer than this lessons knows" in res.stderr
    assert "upgrade lessons" in res.stderr
    assert _count(pg_url, "ops") == 2


def test_tables_of_another_application_in_schema_lessons_are_left_alone(
    kb: KB, pg_url: str
) -> None:
    _psql(pg_url, "CREATE SCHEMA lessons")
    _psql(pg_url, "CREATE TABLE lessons.record (name text)")
    _psql(pg_url, "INSERT INTO lessons.record VALUES ('theirs')")
    kb.add("one")
    res = kb.run("--db", pg_url, "index")
    assert res.exit_code == 2
    assert "has a schema 'lessons' that is not a lessons index" in res.stderr
    assert _psql(pg_url, "SELECT name FROM lessons.record") == [("theirs",)]
    # And an application's own tables in public are never touched either.
    _psql(pg_url, "DROP SCHEMA lessons CASCADE")
    _psql(pg_url, "CREATE TABLE public.record (name text)")
    _psql(pg_url, "INSERT INTO public.record VALUES ('theirs')")
    assert kb.run("--db", pg_url, "index").exit_code == 0
    assert _psql(pg_url, "SELECT name FROM public.record") == [("theirs",)]


@pytest.fixture
def reader(pg_url: str) -> Iterator[str]:
    """The URL of a role that may only read the index (SELECT)."""
    role = f"lessons_reader_{uuid.uuid4().hex[:8]}"
    db = pg_url.rsplit("/", 1)[1]
    _psql(PG_ADMIN, f'CREATE ROLE "{role}" LOGIN')
    try:
        yield f"postgresql://{role}@127.0.0.1:5432/{db}"
    finally:
        _psql(pg_url, f'DROP OWNED BY "{role}"')
        _psql(PG_ADMIN, f'DROP ROLE IF EXISTS "{role}"')


def _grant_read(pg_url: str, reader_url: str) -> None:
    role = reader_url.split("//", 1)[1].split("@", 1)[0]
    _psql(pg_url, f'GRANT USAGE ON SCHEMA lessons TO "{role}"')
    _psql(pg_url, f'GRANT SELECT ON ALL TABLES IN SCHEMA lessons TO "{role}"')


def test_a_read_only_role_searches_and_is_told_it_cannot_publish(
    two: tuple[KB, KB],
    pg_url: str,
    reader: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ops, _web = two
    _grant_read(pg_url, reader)
    listed = run_here(tmp_path, "--db", reader, "list", "--json", monkeypatch=monkeypatch)
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout)["total"] == 4
    searched = run_here(tmp_path, "--db", reader, "search", "disk", monkeypatch=monkeypatch)
    assert searched.exit_code == 0, searched.stderr
    # Inside a knowledge base, reading does not try to publish it.
    ops.add("unpublished", title="Only on disk")
    inside = ops.run("--db", reader, "list", "--json")
    assert inside.exit_code == 0, inside.stderr
    assert "unpublished" not in inside.stdout
    role = reader.split("//", 1)[1].split("@", 1)[0]
    res = ops.run("--db", reader, "index")
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"Error: the role '{role}' may only read the index at 127.0.0.1/"
    ), res.stderr
    assert "nothing was published" in res.stderr
    assert _count(pg_url, "ops") == 2
    assert ops.run("--db", reader, "index", "--drop").exit_code == 2
    assert _count(pg_url, "ops") == 2


def test_a_role_that_may_not_create_the_index_is_told_so(
    kb: KB, reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.add("one")
    res = kb.run("--db", reader, "index")
    assert res.exit_code == 2
    assert "may not create it" in res.stderr
    empty = run_here(tmp_path, "--db", reader, "list", monkeypatch=monkeypatch)
    assert empty.exit_code == 2
    assert "nothing has been published to the index at 127.0.0.1/" in empty.stderr


def test_passwords_never_appear_in_messages_or_debug_traces(
    kb: KB, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.add("one")
    secret = "s3cr3t-Pa55"
    # The server trusts local connections, so a password in the URL still connects.
    with_password = pg_url.replace("postgres@", f"postgres:{secret}@")
    assert kb.run("--db", with_password, "index").exit_code == 0
    _psql(pg_url, "UPDATE lessons.meta SET value = '99' WHERE key = 'schema' AND kb = ''")
    masked = with_password.replace(secret, "***")
    for args in (("list",), ("--debug", "list")):
        try:
            res = kb.run("--db", with_password, *args)
            text = res.stdout + res.stderr
        except Exception as exc:  # --debug lets the error through, as a traceback would show
            import traceback

            text = "".join(traceback.format_exception(exc))
        assert secret not in text
        assert masked in text
    unreachable = f"postgresql://someone:{secret}@127.0.0.1:1/nothing?password={secret}"
    monkeypatch.setenv("PGPASSWORD", secret)
    res = kb.run("--db", unreachable, "list")
    assert res.exit_code == 2
    assert secret not in res.stdout + res.stderr
    assert "postgresql://someone:***@127.0.0.1:1/nothing?password=***" in res.stderr


def test_eight_knowledge_bases_publish_at_once_while_searches_run(
    make_kb: Callable[[str], KB], pg_url: str
) -> None:
    import os
    import subprocess
    import sys
    import threading

    from lessons.filters import Filters
    from lessons.kb import KnowledgeBase

    names = [f"team{n}" for n in range(8)]
    kbs = [make_kb(name) for name in names]
    for name, kb in zip(names, kbs, strict=True):
        kb.config(f"name: {name}\n")
        for i in range(60):
            # The same ids in every knowledge base; titles say whose they are.
            kb.add(f"rec-{i}", title=f"{name} record {i} about outages", tags=["outage"])
    env = {k: v for k, v in os.environ.items() if k not in ("LESSONS_KB", "LESSONS_DB")}

    def publish_all() -> list[subprocess.CompletedProcess[str]]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "lessons", "--kb", str(kb.root), "--db", pg_url, "index"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for kb in kbs
        ]
        out = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=600)
            out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        return out

    # First publications, all at once, into an empty database.
    first = publish_all()
    assert [(r.returncode, r.stderr) for r in first] == [
        (0, "+60 added  ~0 changed  -0 removed\n")
    ] * 8
    for kb in kbs:
        for i in range(60, 90):
            kb.add(f"rec-{i}", title=f"{kb.root.name} record {i} about outages", tags=["outage"])
        for i in range(10):
            (kb.entries / f"rec-{i}.yaml").unlink()
        kb.add("rec-20", title=f"{kb.root.name} record 20 rewritten", tags=["outage"])
    seen: dict[str, set[int]] = {name: set() for name in names}
    stop = threading.Event()
    failures: list[str] = []

    def watch() -> None:
        reader = KnowledgeBase.open(None, pg_url, cwd=Path("/"), across=True)
        try:
            reader.sync()
            while not stop.is_set():
                for kb_name, n in reader.store.counts("kb", Filters()):
                    seen[kb_name].add(n)
                reader.store.conn.rollback()  # the next look, a new snapshot
        except Exception as exc:  # reported below: the assertion says what went wrong
            failures.append(repr(exc))
        finally:
            reader.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        searches = [
            subprocess.Popen(
                [sys.executable, "-m", "lessons", "--db", pg_url, "search", "outages", "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd="/",
            )
            for _ in range(3)
        ]
        second = publish_all()
        searched = [proc.communicate(timeout=600) for proc in searches]
    finally:
        stop.set()
        watcher.join()
    assert failures == []
    assert [(r.returncode, r.stderr) for r in second] == [
        (0, "+30 added  ~1 changed  -10 removed\n")
    ] * 8
    assert all(json.loads(out)["total"] > 0 for out, _ in searched)
    # Every look saw each knowledge base whole: before its publication or after it.
    for name in names:
        assert seen[name] <= {60, 80}, (name, seen[name])
    # And no publication touched another's rows.
    for name in names:
        titles = _psql(pg_url, "SELECT title FROM lessons.record WHERE kb = %s", (name,))
        assert len(titles) == 80
        assert all(str(t[0]).startswith(f"{name} record") for t in titles)


def test_word_counts_follow_every_change_of_a_knowledge_base(
    two: tuple[KB, KB], pg_url: str
) -> None:
    ops, _web = two

    def words() -> list[tuple[object, ...]]:
        return _psql(pg_url, "SELECT word, ndoc FROM lessons.word WHERE kb = 'ops' ORDER BY word")

    ops.add("extra", title="Zebra crossing outage", summary="Zebra zebra.")
    ops.run("--db", pg_url, "index")
    ops.add("cert-expired", title="Certificate renewed late", summary="Renewal.")
    (ops.entries / "disk-full.yaml").unlink()
    ops.run("--db", pg_url, "index")
    incremental = words()
    assert ("zebra", 1) in incremental and ("renewal", 1) in incremental
    assert not any(w == "log" for w, _ in incremental)  # only the removed record had it
    assert ops.run("--db", pg_url, "index", "--rebuild").exit_code == 0
    assert words() == incremental


def test_one_word_ranked_inside_the_server_as_the_general_path(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lessons.errors import NoMatchError
    from lessons.filters import Filters
    from lessons.kb import KnowledgeBase
    from lessons.search import search

    ops, _web = two
    ops.add("disk-again", title="Disk filled again", kind="observation", tags=["disk"])
    base = KnowledgeBase.open(str(ops.root), pg_url, across=True)
    base.sync()
    store = base.store
    selections = [Filters(), Filters(kind="mistake"), Filters(tags=("disk",))]

    def ranked() -> list[object]:
        out: list[object] = []
        for q in ("disk", "filled", "certficate", "page"):
            for f in selections:
                try:
                    result = search(store, q, f)
                except NoMatchError as exc:
                    out.append(exc.hint)
                    continue
                out.append((result.total, [(h.id, round(h.score, 6)) for h in result.hits]))
        return out

    fast = ranked()
    total, hits = fast[0]  # type: ignore[misc]
    assert total == 3
    assert {h for h, _ in hits} == {"disk-full", "disk-again", "web:disk-full"}
    assert fast[1][0] == 2  # type: ignore[index]
    monkeypatch.setattr(type(store), "fts_top", lambda *args: None)
    assert ranked() == fast
    base.close()


# The record's document as schema versions 1 to 3 had it: generated by the server.
_V1_TSV = (
    "setweight(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(tags_text, '')), 'A')"
    " || setweight(to_tsvector('english', coalesce(lesson, '') || ' '"
    " || coalesce(recommendations, '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(summary, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(campaign, '') || ' ' || coalesce(team, '')"
    " || ' ' || coalesce(body, '')), 'D')"
)


def test_an_older_index_is_upgraded_in_place_without_publishing_again(
    two: tuple[KB, KB], pg_url: str, reader: str
) -> None:
    from lessons.store import migrations

    ops, web = two
    assert migrations.CURRENT == 5
    rows = "SELECT kb, id, pk FROM lessons.record ORDER BY kb, id"
    documents = "SELECT kb, id, tsv::text, ntok, starts FROM lessons.record ORDER BY kb, id"
    made = _psql(pg_url, documents)
    statistics = (
        "SELECT kb, term, ndoc FROM lessons.term UNION ALL"
        " SELECT kb, 'records and tokens', records * 100000 + tokens FROM lessons.kb_total"
        " ORDER BY 1, 2"
    )
    kept = _psql(pg_url, statistics)
    lists = "SELECT kb, term, pks, scores FROM lessons.champion ORDER BY kb, term"
    listed = _psql(pg_url, lists)
    assert listed
    # Schema version 1 is version 5 without the ranked (RUM) index (version 2), the
    # vector tables (version 3), with the server's own document in place of the one
    # lessons makes and without the search statistics (version 4), and without the
    # champion lists (version 5).
    _psql(pg_url, "DROP TABLE lessons.champion")
    _psql(pg_url, "DROP INDEX IF EXISTS lessons.ix_record_rum")
    _psql(pg_url, "DROP TABLE lessons.record_vector, lessons.vector")
    _psql(pg_url, "DROP TABLE lessons.term, lessons.kb_total")
    _psql(
        pg_url, "ALTER TABLE lessons.record DROP COLUMN tsv, DROP COLUMN ntok, DROP COLUMN starts"
    )
    _psql(
        pg_url,
        "ALTER TABLE lessons.record ADD COLUMN tsv tsvector"
        f" GENERATED ALWAYS AS ({_V1_TSV}) STORED",
    )
    _psql(pg_url, "CREATE INDEX ix_record_tsv ON lessons.record USING gin (tsv)")
    _psql(pg_url, "UPDATE lessons.meta SET value = '1' WHERE key = 'schema' AND kb = ''")
    before = _psql(pg_url, rows)
    # A role that may only read cannot upgrade it, and says so.
    _grant_read(pg_url, reader)
    refused = web.run("--db", reader, "list")
    assert refused.exit_code == 2
    assert "needs upgrading from schema version 1 to 5" in refused.stderr
    # The next command of a publishing role upgrades it, and publishes nothing again.
    res = ops.run("--db", pg_url, "index")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "+0 added  ~0 changed  -0 removed\n"
    assert _psql(pg_url, "SELECT value FROM lessons.meta WHERE key = 'schema'") == [("5",)]
    tables = (
        "SELECT to_regclass('lessons.vector') IS NOT NULL,"
        " to_regclass('lessons.record_vector') IS NOT NULL"
    )
    assert _psql(pg_url, tables) == [(True, True)]
    assert _psql(pg_url, rows) == before
    # Every record's document remade from the text the index holds, as a publication
    # would have made it.
    assert _psql(pg_url, documents) == made
    assert _psql(pg_url, statistics) == kept
    # The champion lists made from them, as the publications had kept them.
    assert _psql(pg_url, lists) == listed
    found = ops.run("--db", pg_url, "search", "disk", "--ids")
    assert found.exit_code == 0 and found.stdout.strip(), found.stderr
    has_rum = _psql(pg_url, "SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
    index = _psql(pg_url, "SELECT to_regclass('lessons.ix_record_rum') IS NOT NULL")
    assert index == [(bool(has_rum),)]
    assert web.run("--db", reader, "list").exit_code == 0


def test_related_in_a_shared_index_compares_the_record_itself_when_ids_repeat(
    make_kb: Callable[[str], KB], pg_url: str
) -> None:
    # The same id in two knowledge bases, about different things: meaning must be
    # the asked record's own, and neighbours in the other knowledge base named KB:ID.
    certs, fire = make_kb("certs"), make_kb("fire")
    certs.config("name: certs\n")
    fire.config("name: fire\n")
    certs.add("dup", title="Certificate expired on the load balancer", summary="TLS lapsed.")
    certs.add("renew", title="Renew TLS certificates automatically", summary="They lapse.")
    fire.add("dup", title="Kitchen fire during the gala", summary="A fryer caught fire.")
    fire.add("smoke", title="Smoke alarm ignored at the venue", summary="The fryer burned.")
    for kb in (certs, fire):
        for i, topic in enumerate(("Budget review", "Hiring plan", "Press release", "Survey")):
            kb.add(f"other-{i}", title=f"{topic} ran late", summary=f"The {topic.lower()} slipped.")
    for kb in (certs, fire):  # certs first: its 'dup' has the lower key
        assert kb.run("index").exit_code == 0  # the embedded index, for comparison
        assert kb.run("--db", pg_url, "index").exit_code == 0

    def meaning(kb: KB, *db: str) -> dict[str, float]:
        res = kb.run(*db, "related", "dup", "--json", "--limit", "10")
        assert res.exit_code == 0, res.stderr
        return {r["id"]: r["semantic_similarity"] for r in json.loads(res.stdout)["results"]}

    alone = meaning(fire)
    shared = meaning(fire, "--db", pg_url)
    assert alone["smoke"] is not None
    assert shared["smoke"] == alone["smoke"]  # fire's own 'dup', not certs'
    assert meaning(certs, "--db", pg_url)["renew"] == meaning(certs)["renew"]
    # Another knowledge base's record found by meaning keeps its knowledge base.
    assert all(":" in ref for ref in shared if ref != "smoke")


def test_related_on_the_shared_index_counts_terms_from_its_statistics(kb: KB, pg_url: str) -> None:
    # It read and tokenised every record of the index to count terms (ten minutes and
    # 14 GB at 1,000,000 records); the statistics publications keep answer instead,
    # and the answer is the embedded index's.
    kb.config("name: solo\n")
    texts = [
        ("disk-full", "Disk filled up on the log server", "Logs grew until the disk was full."),
        ("disk-again", "Log disk full again", "The log volume filled overnight."),
        ("cert", "Certificate expired", "The TLS certificate expired on the gateway."),
        ("cert-2", "Gateway certificate lapsed", "Nobody renewed the gateway certificate."),
        ("press", "Press release went out late", "The release waited for legal review."),
        ("budget", "Budget overrun on printing", "Printing costs doubled the budget."),
    ]
    for rid, title, summary in texts:
        kb.add(rid, title=title, summary=summary, tags=["ops"] if "disk" in rid else [])
    assert kb.run("index").exit_code == 0
    assert kb.run("--db", pg_url, "index").exit_code == 0
    from lessons.kb import KnowledgeBase
    from lessons.links.similarity import _Weights

    shared = KnowledgeBase.open(str(kb.root), pg_url)
    assert _Weights(shared).fts  # term counts from the index, not from every record
    assert shared.store.term_doc_counts(["disk", "certif", "zzz"]) == {"disk": 2, "certif": 2}
    embedded = KnowledgeBase.open(str(kb.root))
    for words in (["disk", "log"], ["certificate", "gateway", "budget"]):
        assert shared.store.match_any(words, 10) == embedded.store.match_any(words, 10)
    assert shared.store.match_any(["disk", "log"], 10)[:2] == ["disk-again", "disk-full"]
    embedded.close()
    shared.close()
    for rid in ("disk-full", "cert"):
        alone = json.loads(kb.run("related", rid, "--json").stdout)["results"]
        there = json.loads(kb.run("--db", pg_url, "related", rid, "--json").stdout)["results"]
        assert [(r["id"], r["score"]) for r in there] == [(r["id"], r["score"]) for r in alone]


def test_a_brief_on_the_shared_index_reads_the_links_and_actions_it_needs(
    two: tuple[KB, KB], pg_url: str
) -> None:
    _ops, web = two
    web.add(
        "again",
        title="Disk full again",
        tags=["disk"],
        links=[{"to": "ops:disk-full", "rel": "repeats"}],
        actions=[{"do": "Rotate logs"}],
    )
    assert web.run("--db", pg_url, "index").exit_code == 0
    from lessons.kb import KnowledgeBase

    base = KnowledgeBase.open(str(web.root), pg_url, across=True)
    base.sync()
    store = base.store
    assert store.repeats_sharing(["disk"]) == [("again", "ops:disk-full")]
    assert store.repeats_sharing(["venue"]) == []
    assert store.all_links("repeats") == [("again", "ops:disk-full", "repeats", None, 0)]
    assert [a["id"] for a in store.actions({"again", "ops:disk-full"})] == ["again"]
    assert store.actions({"disk-full"}) == []
    base.close()


def test_the_reading_commands_work_across_knowledge_bases_from_anywhere(
    two: tuple[KB, KB], pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ops, web = two
    web.add("again", title="Disk full again", links=[{"to": "ops:disk-full", "rel": "repeats"}])
    web.add("late", title="Late fix", actions=[{"do": "Rotate logs", "due": "2020-01-01"}])
    assert web.run("--db", pg_url, "index").exit_code == 0

    def run(*args: str) -> Result:
        res = run_here(tmp_path, "--db", pg_url, *args, monkeypatch=monkeypatch)
        assert res.exit_code == 0, (args, res.stderr)
        return res

    related = json.loads(run("related", "ops:disk-full", "--json").stdout)
    assert "web:disk-full" in [r["id"] for r in related["results"]]
    brief = run("brief", "the disk filled up", "--format", "md").stdout
    assert "ops:disk-full" in brief and "web:disk-full" in brief
    retro = run("retro", "--format", "md").stdout
    assert "web:again" in retro and "ops:disk-full" in retro
    actions = run("actions", "--json").stdout
    assert "web:late" in actions
    edges = json.loads(run("graph", "-f", "json").stdout)["edges"]
    assert {"from": "web:again", "to": "ops:disk-full", "rel": "repeats"} in edges
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["total"] == 6
    only_ops = json.loads(run("--from-kb", "ops", "stats", "--json").stdout)
    assert only_ops["total"] == 2


def test_a_knowledge_base_is_named_by_its_name_or_its_folder(tmp_path: Path) -> None:
    from lessons.config import load_config
    from lessons.errors import LessonsError

    plain = tmp_path / "Team Ops"
    plain.mkdir()
    assert load_config(plain).key == "team-ops"
    named = tmp_path / "folder"
    named.mkdir()
    (named / "lessons.yaml").write_text("name: Digital Engagement lessons\n", encoding="utf-8")
    assert load_config(named).key == "digital-engagement-lessons"
    (named / "lessons.yaml").write_text("publish: {public_only: yes please}\n", encoding="utf-8")
    with pytest.raises(LessonsError) as err:
        load_config(named)
    assert err.value.message == "publish setting 'public_only' must be true or false"
    assert (err.value.line, err.value.field) == (1, "publish")
    (named / "lessons.yaml").write_text("publish: {public: true}\n", encoding="utf-8")
    with pytest.raises(LessonsError) as err:
        load_config(named)
    assert "unknown publish setting 'public'" in err.value.message


def test_link_points_a_record_at_another_knowledge_base(two: tuple[KB, KB], pg_url: str) -> None:
    ops, web = two
    res = web.run("--db", pg_url, "link", "slow", "ops:disk", "--rel", "relates-to")
    assert res.exit_code == 0, res.stderr
    assert "to: ops:disk-full" in (web.entries / "slow-page.yaml").read_text(encoding="utf-8")
    checked = json.loads(web.run("--db", pg_url, "check", "--json").stdout)
    assert checked["errors"] == []
    shown = json.loads(ops.run("--db", pg_url, "show", "disk-full", "--json").stdout)
    assert {"from": "web:slow-page", "rel": "relates-to", "as": "relates-to",
            "title": "Slow landing page"} in shown["backlinks"]  # fmt: skip
    # The record edited must be this knowledge base's own.
    other = web.run("--db", pg_url, "link", "ops:cert-expired", "slow-page")
    assert other.exit_code == 2
    assert "belongs to knowledge base 'ops'" in other.stderr


def test_a_pool_is_scored_as_every_match_is(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_UP_TO matches a query is scored over a pool of records (the ranked
    index's best, the records found already) whose documents are read as text: given a
    pool holding every match, the ranking is the one of every match scored exactly."""
    import lessons.store.postgres.search as pg_search
    from lessons.kb import KnowledgeBase
    from lessons.search import DEFAULT_TUNING, search
    from lessons.store import fts5

    ops, _web = two
    ops.add("disk-again", title="Disk filled again", summary="The disk filled; log rotation.")
    ops.add("log-disk", title="Log rotation", summary="Rotate the logs before the disk fills.")
    ops.add("quote", title="It's the disk's fault", summary="Disks' logs, logged and logging.")
    base = KnowledgeBase.open(str(ops.root), pg_url, across=True)
    base.sync()
    store = base.store
    # Feedback compares a record's score with the best of every match: a pool's best
    # may differ, by design; without it the two paths must agree to the last digit.
    tuning = replace(DEFAULT_TUNING, feedback_weight=0.0)
    queries = ["disk filled", "log disk", "disk -web", '"disk filled" log*', "rotation disk"]

    def ranked() -> list[object]:
        out: list[object] = []
        for q in queries:
            result = search(store, q, mode="lexical", tuning=tuning)
            out.append([(h.id, round(h.score, 9), h.match) for h in result.hits])
        return out

    exact = ranked()
    for expr in ['"disk" OR "log" *', 'NEAR("disk" "filled", 6)', 'title : "log" OR "rotat" *']:
        items = fts5.parse(expr)
        everywhere = store._positions(items)
        # Half of the pool read before, the rest now: the cache is full meanwhile.
        monkeypatch.setattr(pg_search, "KEPT_DOCUMENTS", 1)
        store._forget_reads()
        store._positions(items, list(everywhere)[::2])
        pooled = store._positions(items, list(everywhere))
        monkeypatch.undo()
        for pk, (length, where) in everywhere.items():
            assert pooled[pk][0] == length
            assert fts5.hits(items, pooled[pk][1]) == fts5.hits(items, where)
    monkeypatch.setattr(pg_search, "EXACT_UP_TO", 0)
    monkeypatch.setattr(pg_search, "POOL", 1000)
    store._forget_reads()
    # Scored through the pool (where the server has the ranked index to draw it from).
    assert store.candidates(['"disk"', '"filled"']) is not None or not store.ranked
    assert ranked() == exact
    # What a long session keeps is bounded; dropping it changes no answer.
    monkeypatch.setattr(pg_search, "KEPT_DOCUMENTS", 1)
    monkeypatch.setattr(pg_search, "KEPT_SCORES", 1)
    store._forget_reads()
    assert ranked() == exact
    base.close()


def _lists(url: str, kb: str) -> list[tuple[object, ...]]:
    rows = _psql(
        url, "SELECT term, pks, scores FROM lessons.champion WHERE kb = %s ORDER BY term", (kb,)
    )
    for _term, pks, scores in rows:
        # Best first, ties by pk.
        pairs = list(zip(scores, pks, strict=True))  # type: ignore[call-overload]
        assert pairs == sorted(pairs, key=lambda p: (-p[0], p[1]))
    return rows


def _lists_afresh(url: str, kb: str) -> list[tuple[object, ...]]:
    """The lists of ``kb`` made from nothing (in a transaction rolled back)."""
    from lessons.store.base import sql_text
    from lessons.store.postgres import champions, open_postgres

    store = open_postgres(url)
    try:
        store.execute("SET search_path = lessons")
        champions.build_kb(store, sql_text(kb))
        rows = store.all("SELECT term, pks, scores FROM champion WHERE kb = ? ORDER BY term", (kb,))
    finally:
        store.conn.rollback()
        store.close()
    return [tuple(r) for r in rows]


def test_champion_lists_follow_every_change_of_a_knowledge_base(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each publication rewrites the champion lists of the terms its records hold, of
    its own knowledge base only: after additions, edits and removals they are the
    lists made afresh, full lists that lost a record included."""
    from lessons.store.postgres import champions

    monkeypatch.setattr(champions, "CHAMPIONS", 2)
    ops, _web = two
    theirs = _lists(pg_url, "web")
    assert theirs and _lists(pg_url, "ops") == _lists_afresh(pg_url, "ops")
    for n in range(4):
        ops.add(f"disk-{n}", title="Disk " * (n + 1) + "filled", summary="The disk again.")
    assert ops.run("--db", pg_url, "index").exit_code == 0
    lists = dict((t, (p, s)) for t, p, s in _lists(pg_url, "ops"))
    assert len(lists["disk"][0]) == 2  # type: ignore[arg-type]
    assert lists == dict((t, (p, s)) for t, p, s in _lists_afresh(pg_url, "ops"))
    # The best of a full list is edited (it is published anew: a new pk), another
    # record removed, one added; then the best removed outright.
    best = _psql(pg_url, "SELECT id FROM lessons.record WHERE pk = %s", (lists["disk"][0][0],))  # type: ignore[index]
    ops.add(str(best[0][0]), title="Filled", summary="Not the word any more.")
    (ops.entries / "disk-0.yaml").unlink()
    ops.add("disk-new", title="Disk disk disk disk disk", summary="Disk.")
    assert ops.run("--db", pg_url, "index").exit_code == 0
    assert _lists(pg_url, "ops") == _lists_afresh(pg_url, "ops")
    top = _lists(pg_url, "ops")
    first = next(p for t, p, _ in top if t == "disk")[0]  # type: ignore[index]
    rid = _psql(pg_url, "SELECT id FROM lessons.record WHERE pk = %s", (first,))[0][0]
    (ops.entries / f"{rid}.yaml").unlink()
    assert ops.run("--db", pg_url, "index").exit_code == 0
    assert _lists(pg_url, "ops") == _lists_afresh(pg_url, "ops")
    # Another knowledge base's lists were never touched; --rebuild and --drop keep to
    # their own.
    assert _lists(pg_url, "web") == theirs
    assert ops.run("--db", pg_url, "index", "--rebuild").exit_code == 0
    assert _lists(pg_url, "ops") == _lists_afresh(pg_url, "ops")
    assert ops.run("--db", pg_url, "index", "--drop").exit_code == 0
    assert _lists(pg_url, "ops") == [] and _lists(pg_url, "web") == theirs


def test_counts_of_a_pooled_search_are_shown_as_lower_bounds(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_UP_TO matches a search of several words scores a pool of candidates:
    its counts are of the pool, and say so ("500+"), never passed off as every match."""
    import lessons.store.postgres.search as pg_search
    from lessons.kb import KnowledgeBase
    from lessons.search import search

    ops, _web = two
    for n in range(8):
        ops.add(f"disk-{n}", title=f"Disk log {n}", summary="The log disk filled up.")
    assert ops.run("--db", pg_url, "index").exit_code == 0
    base = KnowledgeBase.open(str(ops.root), pg_url, across=True)
    base.sync()
    exact = search(base.store, "disk log", mode="lexical")
    assert (exact.matched_all, exact.at_least) == (9, False)  # with ops:disk-full
    assert "at_least" not in exact.as_json()
    monkeypatch.setattr(pg_search, "EXACT_UP_TO", 0)
    monkeypatch.setattr(pg_search, "POOL", 3)
    base.store._forget_reads()
    pooled = search(base.store, "disk log", mode="lexical")
    assert (pooled.matched_all, pooled.at_least) == (3, True)
    assert pooled.as_json()["at_least"] is True
    base.close()
    res = ops.run("--db", pg_url, "search", "--mode", "lexical", "disk", "log", "-n", "2")
    assert res.exit_code == 0
    assert "2 of 3+ shown; 3+ match every word" in res.stderr


def test_champion_lists_give_the_pool_only_past_the_threshold(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to EXACT_UP_TO matches every match is scored, lists or not (the rankings do
    not change at small scale); past it, a word's pool is the best of its champion
    lists, and the ranked (RUM) index is not scanned."""
    import lessons.store.postgres.search as pg_search
    from lessons.kb import KnowledgeBase
    from lessons.search import DEFAULT_TUNING, search

    ops, _web = two
    for n in range(6):
        ops.add(f"disk-{n}", title="Disk " * (6 - n), summary=f"Log {'log ' * n}rotation.")
    base = KnowledgeBase.open(str(ops.root), pg_url, across=True)
    base.sync()
    store = base.store
    assert store.champions
    tuning = replace(DEFAULT_TUNING, feedback_weight=0.0)
    queries = ["disk", "log", "disk log", "disk rotation", "web disk"]

    def ranked() -> list[object]:
        out: list[object] = []
        for q in queries:
            result = search(store, q, mode="lexical", tuning=tuning)
            out.append((result.total, [(h.id, round(h.score, 9)) for h in result.hits]))
        return out

    exact = ranked()
    monkeypatch.setattr(store, "champions", False)
    store._forget_reads()
    assert ranked() == exact
    monkeypatch.setattr(store, "champions", True)

    def no_scan(query: str) -> list[int]:
        raise AssertionError(f"the ranked index was scanned for {query}")

    monkeypatch.setattr(store, "_ranked_pool", no_scan)
    # Past the threshold, with a pool holding every list: the same ranking.
    monkeypatch.setattr(pg_search, "EXACT_UP_TO", 0)
    monkeypatch.setattr(pg_search, "POOL", 1000)
    store._forget_reads()
    assert [hits for _, hits in ranked()] == [hits for _, hits in exact]  # type: ignore[misc]
    # A pool of two: the records of the word's champion list with the most weight.
    monkeypatch.setattr(pg_search, "POOL", 2)
    store._forget_reads()
    top = _psql(
        pg_url,
        "SELECT r.id FROM lessons.champion c, unnest(c.pks) WITH ORDINALITY p(pk, i),"
        " lessons.record r WHERE r.pk = p.pk AND c.term = 'disk' AND c.kb = 'ops'"
        " ORDER BY p.i LIMIT 2",
    )
    assert [h.id for h in search(store, "disk", mode="lexical", tuning=tuning).hits] == [
        str(r[0]) for r in top
    ]
    base.close()


def test_filters_narrow_a_pool_before_it_is_drawn(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_UP_TO matches, a filtered search draws its pool from the records the
    filters select: the best of every match, filtered afterwards, could hold none of
    them. Few records passing: each is scored, as below the threshold; many: the best
    of the champion lists among them. Same hits, scores and counts either way."""
    import lessons.store.postgres.search as pg_search
    from lessons.filters import Filters
    from lessons.kb import KnowledgeBase
    from lessons.search import DEFAULT_TUNING, search

    ops, _web = two
    # The strongest "disk" records carry no tag; three weak ones carry "rare".
    for n in range(8):
        ops.add(f"strong-{n}", title="Disk disk disk " * (n + 1), summary="Disk log.")
    for n in range(3):
        text = "Notes on the week and a disk log. " * (n + 2)
        ops.add(f"weak-{n}", title=f"Week {n}", tags=["rare"], summary=text)
    assert ops.run("--db", pg_url, "index").exit_code == 0
    base = KnowledgeBase.open(str(ops.root), pg_url, across=True)
    base.sync()
    store = base.store
    tuning = replace(DEFAULT_TUNING, feedback_weight=0.0)
    rare = Filters(tags=("rare",))
    queries = ["disk", "disk log", "disk -upload"]

    def ranked(filters: Filters) -> list[object]:
        out: list[object] = []
        for q in queries:
            r = search(store, q, mode="lexical", tuning=tuning, filters=filters, limit=10)
            out.append((r.total, r.matched_all, [(h.id, round(h.score, 9)) for h in r.hits]))
        return out

    exact = ranked(rare)
    assert [len(hits) for _, _, hits in exact] == [3, 3, 3]  # type: ignore[misc]
    assert all(total == 3 for total, _, _ in exact)  # type: ignore[misc]
    # Every "disk" record is a match past the threshold; a pool of two, drawn from
    # every match, would hold two "strong" records and no "rare" one.
    monkeypatch.setattr(pg_search, "POOL", 2)
    for threshold in (4, 0):  # 3 pass the filter: under it, then over it
        monkeypatch.setattr(pg_search, "EXACT_UP_TO", threshold)
        store._forget_reads()
        got = ranked(rare)
        if threshold:
            assert got == exact
            continue
        # A pool of two "rare" records (the best of the lists among them), each scored
        # as every match is; the counts are of the records passing the filters.
        for (total, _, hits), (_, _, want) in zip(got, exact, strict=True):  # type: ignore[misc]
            assert len(hits) == 2 and set(hits) <= set(want) and total >= 2
    base.close()


def test_a_champion_pool_of_several_words_sums_each_records_entries(
    two: tuple[KB, KB], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool of several expressions puts first the records that the most expressions
    list, then those with the most weight (each term's IDF times the record's weight
    in its list), across every knowledge base searched and only those: the order the
    lists themselves give, computed here from the table."""
    import lessons.store.postgres.search as pg_search
    from lessons.kb import KnowledgeBase
    from lessons.store import fts5

    ops, web = two
    # Records holding both words, "disk" weakly; one holding "disk" alone, strongly;
    # "log" in many records (a low IDF): the strong record outweighs the others, and
    # still comes after every record listed for both words.
    for n in range(5):
        text = "Notes on the week. " * (n + 2)
        ops.add(f"o-{n}", title=f"Log {n}", summary=f"{text}A disk rotation.")
        web.add(f"w-{n}", title="Log " * (n + 1), summary=f"{text}Disk rotation " * (n % 3 + 1))
    ops.add("o-strong", title="Disk disk disk", summary="Disk.")
    for n in range(20):  # the log in many records; every IDF above FTS5's floor
        web.add(f"page-{n}", title=f"Slow page {n}", summary="Images too large for the log.")
    for kb in (ops, web):
        assert kb.run("--db", pg_url, "index").exit_code == 0
    rows = _psql(pg_url, "SELECT term, kb, pks, scores FROM lessons.champion")
    lists: dict[tuple[str, str], dict[int, float]] = {
        (str(t), str(kb)): dict(zip(pks, scores, strict=True))  # type: ignore[call-overload]
        for t, kb, pks, scores in rows
    }

    def expected(groups: list[list[str]], kbs: set[str], held: dict[str, int], n: int) -> list[int]:
        weight: dict[int, float] = {}
        listed: dict[int, set[int]] = {}
        for g, terms in enumerate(groups):
            for term in terms:
                idf = fts5.idf(n, held.get(term, 0))
                for (t, kb), entries in lists.items():
                    if t == term and kb in kbs:
                        for pk, s in entries.items():
                            weight[pk] = weight.get(pk, 0.0) + idf * s
                            listed.setdefault(pk, set()).add(g)
        return sorted(weight, key=lambda pk: (-len(listed[pk]), -weight[pk], pk))

    monkeypatch.setattr(pg_search, "POOL", 4)
    for across, kbs in ((True, {"ops", "web"}), (False, {"web"})):
        base = KnowledgeBase.open(str(web.root), pg_url, across=across)
        base.sync()
        store = base.store
        n, _ = store._scope_totals()
        for groups in (
            [["disk"], ["log"]],
            [["disk"], ["log"], ["rotat"]],
            [["disk", "log"], ["rotat"]],  # an expression of two terms (a word's forms)
        ):
            exprs = [fts5.parse(" OR ".join(f'"{t}"' for t in g)) for g in groups]
            held = store.term_doc_counts([t for g in groups for t in g])
            pool = store._champion_pool(exprs, held)
            want = expected(groups, kbs, held, n)
            assert pool == want[:4], (groups, kbs)
        base.close()
