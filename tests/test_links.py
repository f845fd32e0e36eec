"""Cross-links as a library: editing links, related, recurrence, the graph and its renderers."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lessons.errors import ConflictError, NotFoundError, UsageError
from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.links import (
    Graph,
    add_link,
    graph,
    mermaid_id,
    near_duplicates,
    recurrence,
    related,
    remove_links,
    to_dot,
    to_mermaid,
)
from tests.conftest import KB, REPO, SHARED_EVAL


def opened(kb: KB) -> KnowledgeBase:
    """The knowledge base of the fixture, synced."""
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    return base


def text_of(kb: KB, rid: str) -> str:
    return (kb.entries / f"{rid}.yaml").read_text(encoding="utf-8")


def write(kb: KB, rid: str, text: str) -> None:
    kb.write(f"{rid}.yaml", textwrap.dedent(text).lstrip("\n"))


# --- adding links ------------------------------------------------------------------


def test_add_link_inserts_links_key_after_tags_and_keeps_comments(kb: KB) -> None:
    write(
        kb,
        "a",
        """
        # About A
        id: a
        title: Record A
        kind: mistake
        date: 2024-05-01
        summary: What happened.
        lesson: What we learned.
        tags: [x, y]  # two tags
        # the follow-ups
        actions:
          - do: Something
            status: open
        """,
    )
    kb.add("b")
    edit = add_link(opened(kb), "a", "b", "caused-by")
    assert edit.path == "entries/a.yaml"
    assert text_of(kb, "a") == textwrap.dedent(
        """\
        # About A
        id: a
        title: Record A
        kind: mistake
        date: 2024-05-01
        summary: What happened.
        lesson: What we learned.
        tags: [x, y]  # two tags
        links:
          - {to: b, rel: caused-by}
        # the follow-ups
        actions:
          - do: Something
            status: open
        """
    )


def test_add_link_appends_in_the_style_of_block_mapping_links(kb: KB) -> None:
    kb.add("a")
    kb.add("c")
    write(
        kb,
        "b",
        """
        id: b
        title: Record B
        kind: mistake
        date: 2024-06-01
        summary: >
          Folded
          text.
        links:
        - to: a
          rel: relates-to   # why
          note: block style
        # above sources
        sources:
        - http://example.org
        """,
    )
    add_link(opened(kb), "b", "c", "applies", note='it\'s "quoted": yes')
    assert text_of(kb, "b") == textwrap.dedent(
        """\
        id: b
        title: Record B
        kind: mistake
        date: 2024-06-01
        summary: >
          Folded
          text.
        links:
        - to: a
          rel: relates-to   # why
          note: block style
        - to: c
          rel: applies
          note: "it's \\"quoted\\": yes"
        # above sources
        sources:
        - http://example.org
        """
    )


def test_add_link_keeps_a_flow_list_flow(kb: KB) -> None:
    kb.add("a")
    kb.add("b")
    kb.add("c", links=[{"to": "a", "rel": "applies"}])
    (kb.entries / "c.yaml").write_text(
        text_of(kb, "c").replace(
            "links:\n- to: a\n  rel: applies\n", "links: [{to: a, rel: applies}]\n"
        )
    )
    add_link(opened(kb), "c", "b", "relates-to")
    assert "links: [{to: a, rel: applies}, {to: b, rel: relates-to}]\n" in text_of(kb, "c")


def test_add_link_accepts_unique_prefixes_and_updates_the_index(kb: KB) -> None:
    kb.add("2024-05-first-mistake")
    kb.add("2024-06-second-mistake", date="2024-06-01")
    base = opened(kb)
    edit = add_link(base, "2024-06", "2024-05-f", "repeats")
    assert (edit.src, edit.dst) == ("2024-06-second-mistake", "2024-05-first-mistake")
    assert base.store.backlinks("2024-05-first-mistake") == [
        {
            "from": "2024-06-second-mistake",
            "rel": "repeats",
            "note": None,
            "title": "Title of 2024-06-second-mistake",
        }
    ]


def test_add_link_refuses_an_unknown_relation_with_a_suggestion(kb: KB) -> None:
    kb.add("a")
    kb.add("b")
    with pytest.raises(UsageError) as err:
        add_link(opened(kb), "a", "b", "causes")
    assert err.value.message == "unknown relation 'causes' (did you mean 'caused-by'?)"
    assert err.value.hint == (
        "relations are relates-to, caused-by, repeats, applies, supersedes, contradicts"
    )


def test_add_link_refuses_a_missing_target_and_suggests_close_ids(kb: KB) -> None:
    kb.add("hashtags-humour")
    kb.add("apologise-quickly")
    before = text_of(kb, "hashtags-humour")
    with pytest.raises(NotFoundError) as err:
        add_link(opened(kb), "hashtags-humour", "apologise-quikcly", "relates-to")
    assert err.value.message == "no record with id 'apologise-quikcly'"
    assert err.value.hint is not None
    assert err.value.hint.startswith("closest: apologise-quickly  (Title of apologise-quickly)")
    assert text_of(kb, "hashtags-humour") == before


def test_add_link_refuses_duplicates_self_links_and_ambiguous_prefixes(kb: KB) -> None:
    kb.add("a-one", links=[{"to": "b", "rel": "caused-by"}])
    kb.add("a-two")
    kb.add("b", links=[{"to": "a-two", "rel": "relates-to"}])
    base = opened(kb)
    with pytest.raises(UsageError, match="'a-one' already links to 'b' as caused-by"):
        add_link(base, "a-one", "b", "caused-by")
    with pytest.raises(UsageError, match=r"a record cannot link to itself \('b'\)"):
        add_link(base, "b", "b", "relates-to")
    with pytest.raises(UsageError, match="'a' is the start of more than one id"):
        add_link(base, "a", "b", "relates-to")
    # relates-to reads the same both ways: b -> a-two already says it.
    with pytest.raises(UsageError, match="'b' already links to 'a-two' as relates-to"):
        add_link(base, "a-two", "b", "relates-to")
    # A different relation to the same record is fine.
    add_link(base, "a-one", "b", "applies")


def test_add_link_refuses_when_the_file_changed_since_it_was_indexed(kb: KB) -> None:
    kb.add("a")
    kb.add("b")
    base = opened(kb)
    path = kb.entries / "a.yaml"
    changed = path.read_text(encoding="utf-8").replace("Title of a", "Edited elsewhere")
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(ConflictError, match="the file changed on disk since it was read"):
        add_link(base, "a", "b", "relates-to")
    assert path.read_text(encoding="utf-8") == changed


# --- removing links ---------------------------------------------------------------


def test_remove_links_of_one_relation_keeps_the_others(kb: KB) -> None:
    kb.add("a")
    kb.add(
        "b",
        links=[{"to": "a", "rel": "caused-by"}, {"to": "a", "rel": "applies", "note": "n"}],
    )
    edit = remove_links(opened(kb), "b", "a", "caused-by")
    assert edit.links == [{"to": "a", "rel": "caused-by"}]
    assert "links:\n- to: a\n  rel: applies\n  note: n\n" in text_of(kb, "b")


def test_remove_the_last_link_drops_the_key_but_keeps_the_comment_below(kb: KB) -> None:
    kb.add("b")
    write(
        kb,
        "a",
        """
        id: a
        title: Record A
        kind: mistake
        date: 2024-05-01
        summary: What happened.
        lesson: What we learned.
        links:
          - {to: b, rel: relates-to}  # said in the meeting
        # the follow-ups
        actions:
          - do: Something
        """,
    )
    remove_links(opened(kb), "a", "b")
    assert text_of(kb, "a").endswith("links: []\n# the follow-ups\nactions:\n  - do: Something\n")
    kb.add("c", links=[{"to": "b", "rel": "relates-to"}])
    remove_links(opened(kb), "c", "b")
    assert "links" not in text_of(kb, "c")


def test_remove_links_removes_a_link_to_a_record_that_is_gone(kb: KB) -> None:
    kb.add("a", links=[{"to": "deleted-record", "rel": "relates-to"}])
    edit = remove_links(opened(kb), "a", "deleted")
    assert edit.dst == "deleted-record"
    assert "links" not in text_of(kb, "a")


def test_remove_links_says_when_the_link_goes_the_other_way(kb: KB) -> None:
    kb.add("a")
    kb.add("b", links=[{"to": "a", "rel": "caused-by"}])
    with pytest.raises(NotFoundError) as err:
        remove_links(opened(kb), "a", "b")
    assert err.value.message == "no link from 'a' to 'b'"
    assert err.value.hint == "the link goes the other way: `lessons unlink b a`"


# --- related --------------------------------------------------------------------------


def _corpus_like(kb: KB) -> None:
    kb.add(
        "2019-03-dns-outage",
        title="DNS outage after a bad zone file push",
        date="2019-03-01",
        summary="A zone file with a typo was pushed to every DNS server; resolvers cached"
        " the broken records for the full TTL and lookups failed.",
        lesson="Validate zone files before pushing them everywhere at once.",
        tags=["dns", "config-change"],
        campaign="Platform",
    )
    kb.add(
        "2019-03-dns-outage-final",
        title="Final report: DNS outage after a bad zone file push",
        date="2019-03-04",
        summary="A zone file with a typo was pushed to every DNS server. Resolvers cached"
        " the broken records for the full TTL; lookups failed for an hour.",
        lesson="Validate zone files before pushing them everywhere at once; use a canary.",
        tags=["dns", "config-change", "rollback"],
        campaign="Platform",
    )
    kb.add(
        "2020-07-dns-zone-typo-again",
        title="DNS outage after a zone file typo, again",
        date="2020-07-10",
        summary="Again a zone file with a typo was pushed to every DNS server; lookups failed.",
        lesson="The validation step was never built.",
        tags=["dns", "config-change"],
        campaign="Migration",
    )
    kb.add(
        "2019-05-cooling",
        title="Cooling failure in the data centre",
        date="2019-05-01",
        summary="Chillers failed on a hot day and servers throttled.",
        tags=["cooling"],
    )
    kb.add(
        "2019-06-launch-went-well",
        title="Launch went well",
        kind="success",
        date="2019-06-01",
        summary="Feature flags let the launch go out to a few users first.",
        tags=["launch"],
    )
    for i, topic in enumerate(["a slow search page", "a late release", "an expired certificate"]):
        kb.add(
            f"2018-0{i + 1}-other",
            date=f"2018-0{i + 1}-01",
            title=f"About {topic}",
            summary=f"We had {topic}.",
            kind="observation",
        )


def test_related_ranks_the_near_duplicate_first_with_reasons(kb: KB) -> None:
    _corpus_like(kb)
    found = related(opened(kb), "2019-03-dns-outage")
    assert [r.id for r in found[:2]] == ["2019-03-dns-outage-final", "2020-07-dns-zone-typo-again"]
    best = found[0]
    assert best.score > found[1].score > 0
    assert best.shared_tags == ["config-change", "dns"]
    assert best.same_campaign is True
    assert best.reasons == [
        "similar title",
        "similar text: dns, zone, push, file",
        "shared tags: config-change, dns",
        "same campaign: Platform",
    ]
    assert found[1].reasons == [
        "similar title",
        "similar text: dns, zone, file, outage",
        "shared tags: config-change, dns",
    ]
    assert "2019-03-dns-outage" not in [r.id for r in found]
    assert best.as_dict()["id"] == "2019-03-dns-outage-final"


def test_related_leaves_out_records_already_linked_either_way(kb: KB) -> None:
    _corpus_like(kb)
    base = opened(kb)
    add_link(base, "2019-03-dns-outage-final", "2019-03-dns-outage", "supersedes")
    ids = [r.id for r in related(base, "2019-03-dns-outage")]
    assert "2019-03-dns-outage-final" not in ids
    assert ids[0] == "2020-07-dns-zone-typo-again"


def test_related_limit_and_filters(kb: KB) -> None:
    _corpus_like(kb)
    base = opened(kb)
    assert len(related(base, "2019-03-dns-outage", limit=1)) == 1
    only = related(base, "2019-03-dns-outage", filters=Filters(campaign="migration"))
    assert [r.id for r in only] == ["2020-07-dns-zone-typo-again"]


def test_related_accepts_a_prefix_and_reports_an_unknown_id(kb: KB) -> None:
    _corpus_like(kb)
    base = opened(kb)
    assert "2019-05-cooling" not in [r.id for r in related(base, "2019-05-cool")]
    with pytest.raises(NotFoundError):
        related(base, "no-such-record")


# --- recurrence ------------------------------------------------------------------------


def test_recurrence_reports_repeats_links_and_similar_unlinked_mistakes(kb: KB) -> None:
    _corpus_like(kb)
    base = opened(kb)
    found = recurrence(base)
    pairs = [(r.earlier["id"], r.later["id"], r.linked) for r in found]
    # The final report three days after the first is the same event, not a recurrence.
    assert ("2019-03-dns-outage", "2019-03-dns-outage-final", False) not in pairs
    assert ("2019-03-dns-outage", "2020-07-dns-zone-typo-again", False) in pairs
    assert all(r.score >= 0.5 for r in found)
    add_link(base, "2020-07-dns-zone-typo-again", "2019-03-dns-outage", "repeats")
    found = recurrence(base)
    linked = [r for r in found if r.linked]
    assert [(r.earlier["id"], r.later["id"]) for r in linked] == [
        ("2019-03-dns-outage", "2020-07-dns-zone-typo-again")
    ]
    assert linked[0].score > 0.3
    assert ("2019-03-dns-outage", "2020-07-dns-zone-typo-again") not in [
        (r.earlier["id"], r.later["id"]) for r in found if not r.linked
    ]
    as_json = linked[0].as_dict()
    assert as_json["id"] == "2020-07-dns-zone-typo-again"
    assert as_json["earlier"]["date"] == "2019-03-01"
    assert "zone" in as_json["shared_words"]


def test_recurrence_pairs_only_distinct_occasions_of_mistakes(kb: KB) -> None:
    text = {
        "summary": "The nightly backup job filled the disk and the database stopped.",
        "lesson": "Alert on disk space before it runs out.",
    }
    kb.add("same-day-a", date="2024-01-10", campaign="X", title="Backup filled the disk", **text)
    kb.add("same-day-b", date="2024-01-10", campaign="X", title="Backup job filled disk", **text)
    kb.add("other-team", date="2024-01-10", campaign="Y", title="Disk filled by backups", **text)
    kb.add("undated", date=None, title="Backups filled the disk", **text)
    kb.add("success", kind="success", date="2025-01-01", title="Backup disk alert worked", **text)
    # Unrelated records, so that the shared words are not in every record.
    for i, topic in enumerate(["a slow page", "a late launch", "an expired certificate"]):
        kb.add(f"other-{i}", date="2023-01-01", title=f"About {topic}", summary=f"{topic}.")
    pairs = {(r.earlier["id"], r.later["id"]) for r in recurrence(opened(kb))}
    # Same campaign and day: one event. A different campaign on that day: another.
    # No date and no campaign: cannot tell. Successes are not mistakes.
    assert pairs == {("other-team", "same-day-a"), ("other-team", "same-day-b")}


def test_recurrence_filters_select_the_later_mistake(kb: KB) -> None:
    _corpus_like(kb)
    base = opened(kb)
    later_2020 = recurrence(base, Filters(since="2020-01-01"))
    assert {r.later["id"] for r in later_2020} == {"2020-07-dns-zone-typo-again"}
    assert recurrence(base, Filters(until="2019-12-31")) == []
    mine = recurrence(base, record="2019-03-dns-outage-final")
    assert {r.earlier["id"] for r in mine} == {"2019-03-dns-outage-final"}
    assert recurrence(base, candidates=False) == []


# --- near-duplicate records --------------------------------------------------------------


def test_near_duplicates_finds_copied_records_unless_linked(kb: KB) -> None:
    _corpus_like(kb)
    summary = "Chillers failed on a hot day and servers throttled."
    kb.add(
        "2019-05-cooling-copy",
        title="Cooling failure in the data centre",
        summary=summary,
        date="2019-05-02",
        tags=["cooling"],
    )
    base = opened(kb)
    assert [(a, b) for a, b, _ in near_duplicates(base)] == [
        ("2019-05-cooling", "2019-05-cooling-copy")
    ]
    add_link(base, "2019-05-cooling-copy", "2019-05-cooling", "supersedes")
    assert near_duplicates(base) == []


# --- the graph ------------------------------------------------------------------------------


def _linked_kb(kb: KB) -> None:
    kb.add("a", kind="mistake", links=[{"to": "b", "rel": "caused-by", "note": "a 'quote'"}])
    kb.add("b", kind="success", title='Said "hi" \\ waved', campaign="C")
    kb.add("c", kind="observation", links=[{"to": "gone", "rel": "relates-to"}], campaign="C")
    kb.add("d", kind="observation")


def test_graph_holds_every_record_and_link(kb: KB) -> None:
    _linked_kb(kb)
    g = graph(opened(kb))
    assert [n["id"] for n in g.nodes] == ["a", "b", "c", "d", "gone"]
    assert g.nodes[-1] == {
        "id": "gone",
        "title": None,
        "kind": None,
        "date": None,
        "tags": [],
        "missing": True,
    }
    assert g.edges == [
        {"from": "a", "to": "b", "rel": "caused-by", "note": "a 'quote'"},
        {"from": "c", "to": "gone", "rel": "relates-to"},
    ]
    assert json.loads(json.dumps(g.as_dict())) == {"nodes": g.nodes, "edges": g.edges}


def test_graph_filters_keep_the_other_ends_as_outside_nodes(kb: KB) -> None:
    _linked_kb(kb)
    base = opened(kb)
    g = graph(base, Filters(campaign="C"))
    assert [(n["id"], n.get("outside", False)) for n in g.nodes] == [
        ("b", False),
        ("c", False),
        ("a", True),
        ("gone", False),
    ]
    assert [(e["from"], e["to"]) for e in g.edges] == [("a", "b"), ("c", "gone")]
    connected = graph(base, connected=True)
    assert "d" not in [n["id"] for n in connected.nodes]


def test_to_dot_escapes_quotes_and_backslashes_and_labels_relations(kb: KB) -> None:
    _linked_kb(kb)
    dot = to_dot(graph(opened(kb)))
    assert dot.startswith("digraph lessons {\n  rankdir=LR;\n")
    assert '"b" [label="b\\nSaid \\"hi\\" \\\\ waved", shape=ellipse,' in dot
    assert '"a" [label="a\\nTitle of a", shape=box,' in dot
    assert '"d" [label="d\\nTitle of d", shape=note,' in dot
    assert '"gone" [label="gone\\n(missing record)", shape=box, style="dashed,filled"' in dot
    assert '"a" -> "b" [label="caused-by", color="#b02a37", fontcolor="#b02a37",' in dot
    assert dot.endswith("}\n")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_to_dot_renders_with_graphviz(kb: KB) -> None:
    _linked_kb(kb)
    done = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(graph(opened(kb))), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "<svg" in done.stdout and "caused&#45;by" in done.stdout


def test_to_mermaid_sanitises_ids_and_quotes_labels(kb: KB) -> None:
    _linked_kb(kb)
    text = to_mermaid(graph(opened(kb)))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n_b("b<br/>Said #quot;hi#quot; \\ waved")' in lines
    assert '  n_a["a<br/>Title of a"]' in lines
    assert '  n_d{{"d<br/>Title of d"}}' in lines
    assert '  n_gone["gone<br/>(missing record)"]' in lines
    assert '  n_a -->|"caused-by"| n_b' in lines
    assert "  class n_a mistake" in lines
    assert mermaid_id("2012-09-end") == "n_2012_09_end"


def test_to_mermaid_escapes_hashes_and_angle_brackets() -> None:
    g = Graph(
        nodes=[
            {"id": "x", "title": "Incident #15023 <b>", "kind": "mistake", "date": None, "tags": []}
        ],
        edges=[],
    )
    assert '  n_x["x<br/>Incident #35;15023 #lt;b#gt;"]' in to_mermaid(g).splitlines()


# --- the repository's own entries and real post-mortems ------------------------------------


def _show_edges(kb: KB, rid: str) -> set[tuple[str, str, str]]:
    shown = json.loads(kb.run("show", rid, "--json").stdout)
    out = {(rid, link["to"], link["rel"]) for link in shown.get("links", [])}
    out |= {(b["from"], rid, b["rel"]) for b in shown["backlinks"]}
    return out


def _graph_agrees_with_show(kb: KB) -> int:
    g = json.loads(kb.run("graph", "--format", "json").stdout)
    edges = {(e["from"], e["to"], e["rel"]) for e in g["edges"]}
    for node in g["nodes"]:
        if not node.get("missing"):
            touching = {e for e in edges if node["id"] in (e[0], e[1])}
            assert _show_edges(kb, node["id"]) == touching, node["id"]
    return len(edges)


def test_repository_entries_graph_agrees_with_show(kb: KB) -> None:
    shutil.copytree(REPO / "entries", kb.entries, dirs_exist_ok=True)
    shutil.copy(REPO / "lessons.yaml", kb.root / "lessons.yaml")
    assert _graph_agrees_with_show(kb) > 10
    if shutil.which("dot"):
        dot = kb.run("graph").stdout
        done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        assert done.returncode == 0 and done.stderr == ""


CLOUD = SHARED_EVAL / "cloud-postmortems.jsonl"
WIKITECH = SHARED_EVAL / "wikitech-incidents.jsonl"


def write_corpus(root: Path, *files: Path) -> None:
    """Real post-mortems as records in ``root/entries`` (read at run time, never copied)."""
    from lessons.entries import dump_record
    from lessons.model import id_from_foreign, normalise_tag, parse_date

    (root / "entries").mkdir(parents=True, exist_ok=True)
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            row: dict[str, Any] = json.loads(line)
            date = row.get("date")
            if date and len(date) == 4:
                date = f"{date}-01-01"
            rid = id_from_foreign(row["id"])
            rec = {
                "id": rid,
                "title": " ".join((row.get("title") or rid).split())[:120],
                "kind": "mistake",
                "date": parse_date(date) if date else None,
                "summary": row.get("summary") or row.get("title") or rid,
                "tags": sorted({normalise_tag(t) for t in row.get("tags") or []} - {""}),
                "team": row.get("org"),
                "sources": [row["source_url"]] if row.get("source_url") else [],
            }
            (root / "entries" / f"{rid}.yaml").write_text(dump_record(rec), encoding="utf-8")


@pytest.fixture(scope="module")
def postmortems(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    if not (CLOUD.exists() and WIKITECH.exists()):
        pytest.skip(f"the eval corpora are not in {SHARED_EVAL}")
    root = tmp_path_factory.mktemp("postmortems")
    write_corpus(root, CLOUD, WIKITECH)
    base = KnowledgeBase.open(str(root))
    base.sync()
    from lessons.search.semantic import update_vectors

    update_vectors(base.store)  # as `lessons index` does: related fuses in the vectors
    return base


@pytest.mark.parametrize(
    ("record", "duplicate"),
    [
        ("azure-20180904-1", "azure-20180904-1-dup2"),
        ("azure-20180904-1-dup2", "azure-20180904-1"),
        ("google-gae-15023", "google-gce-15062"),
        ("google-gce-16017", "google-gae-16009"),
        ("azure-20190327-1", "azure-20190328-1"),
        ("wikitech-20150617-labsnfsoutage", "wikitech-20150617-labsnfsoutage-updates"),
        ("wikitech-20150617-labsnfsoutage-updates", "wikitech-20150617-labsnfsoutage"),
        ("wikitech-20110926-powercable", "wikitech-20110926-dbandpower"),
    ],
)
def test_related_puts_the_known_near_duplicate_first(
    postmortems: KnowledgeBase, record: str, duplicate: str
) -> None:
    assert related(postmortems, record, limit=3)[0].id == duplicate


def test_recurrence_on_real_postmortems_finds_the_same_failure_again(
    postmortems: KnowledgeBase,
) -> None:
    found = recurrence(postmortems, limit=20)
    pairs = {(r.earlier["id"], r.later["id"]) for r in found}
    # App Service in North Europe failed with the same symptoms a week later;
    # Cloud Router and Interconnect lost dynamic routes again a month later.
    assert ("azure-20170915-1", "azure-20170922-1") in pairs
    assert ("gcnet-19005", "gcnet-19007") in pairs
    # Preliminary and final reports of one event are not a recurrence.
    assert not pairs & {
        ("azure-20180904-1", "azure-20180904-1-dup2"),
        ("google-gce-15062", "google-gae-15023"),
    }
    assert all(r.score >= 0.5 and not r.linked for r in found)


def test_postmortem_graph_agrees_with_show(postmortems: KnowledgeBase, kb: KB) -> None:
    shutil.copytree(postmortems.root / "entries", kb.entries, dirs_exist_ok=True)
    base = opened(kb)
    for r in recurrence(base, limit=5):
        add_link(base, r.later["id"], r.earlier["id"], "repeats", note=f"score {r.score}")
    add_link(base, "azure-20180904-1-dup2", "azure-20180904-1", "supersedes")
    edges = json.loads(kb.run("graph", "--format", "json", "--connected").stdout)["edges"]
    assert len(edges) == 6
    for rid in {e["from"] for e in edges} | {e["to"] for e in edges}:
        touching = {(e["from"], e["to"], e["rel"]) for e in edges if rid in (e["from"], e["to"])}
        assert _show_edges(kb, rid) == touching
    assert [r.linked for r in recurrence(base, limit=5)] == [True] * 5
