"""The cross-link commands through the real CLI: link, unlink, related, graph, and the
link-aware parts of show, list and check."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KB


def _three(kb: KB) -> None:
    kb.add("2024-05-hashtags", title="Hashtags that tried to be funny", tags=["hashtags"])
    kb.add(
        "2024-05-apology",
        kind="success",
        title="Apologised quickly in public",
        tags=["apology"],
    )
    kb.add("2024-06-survey", kind="observation", title="Survey sent too late", date="2024-06-01")


# --- link / unlink ----------------------------------------------------------------------


def test_link_writes_the_link_and_show_lists_it_both_ways(kb: KB) -> None:
    _three(kb)
    res = kb.run("link", "2024-05-apol", "2024-05-hash", "--rel", "caused-by", "--note", "joke")
    assert res.exit_code == 0
    assert res.stdout == ""
    assert res.stderr == (
        "linked 2024-05-apology --caused-by--> 2024-05-hashtags  (entries/2024-05-apology.yaml)\n"
    )
    assert "links:\n- {to: 2024-05-hashtags, rel: caused-by, note: joke}\n" in (
        kb.entries / "2024-05-apology.yaml"
    ).read_text(encoding="utf-8")
    shown = kb.run("show", "2024-05-apology").stdout
    assert (
        "Links\n  caused-by\n    2024-05-hashtags  Hashtags that tried to be funny  — joke\n"
        in (shown)
    )
    back = kb.run("show", "2024-05-hashtags")
    assert "Links\n  caused\n    2024-05-apology  Apologised quickly in public  — joke\n" in (
        back.stdout
    )
    data = json.loads(kb.run("show", "2024-05-hashtags", "--json").stdout)
    assert data["backlinks"] == [
        {
            "from": "2024-05-apology",
            "rel": "caused-by",
            "as": "caused",
            "title": "Apologised quickly in public",
        }
    ]


def test_show_groups_links_and_backlinks_by_relation(kb: KB) -> None:
    _three(kb)
    kb.run("link", "2024-06-survey", "2024-05-hashtags", "--rel", "repeats")
    kb.run("link", "2024-06-survey", "2024-05-apology", "--rel", "applies")
    kb.run("link", "2024-05-apology", "2024-05-hashtags", "--rel", "supersedes")
    shown = kb.run("show", "2024-05-hashtags").stdout
    links = shown[shown.index("Links\n") :].split("\nfile:")[0]
    assert links.splitlines()[:5] == [
        "Links",
        "  repeated-by",
        "    2024-06-survey  Survey sent too late",
        "  superseded-by",
        "    2024-05-apology  Apologised quickly in public",
    ]
    applied = kb.run("show", "2024-05-apology").stdout
    assert "  applied-by\n    2024-06-survey  Survey sent too late\n" in applied
    assert "  supersedes\n    2024-05-hashtags  Hashtags that tried to be funny\n" in applied


def test_link_defaults_to_relates_to(kb: KB) -> None:
    _three(kb)
    assert kb.run("link", "2024-05-hashtags", "2024-06-survey").exit_code == 0
    text = (kb.entries / "2024-05-hashtags.yaml").read_text(encoding="utf-8")
    assert "- {to: 2024-06-survey, rel: relates-to}\n" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            # ("repeat", a prefix of "repeats", is read as it since issue 14.)
            ("2024-05-hashtags", "2024-06-survey", "--rel", "repaets"),
            "Error: unknown relation 'repaets' (did you mean 'repeats'?)\n"
            "hint: relations are relates-to, caused-by, repeats, applies, supersedes,"
            " contradicts\n",
        ),
        (
            ("2024-05-hashtags", "2024-05-hashtags"),
            "Error: a record cannot link to itself ('2024-05-hashtags')\n",
        ),
        (
            ("2024-05", "2024-06-survey"),
            "Error: '2024-05' is the start of more than one id: 2024-05-apology,"
            " 2024-05-hashtags\nhint: type more of the id\n",
        ),
    ],
)
def test_link_refuses_bad_input_with_exit_2(kb: KB, args: tuple[str, ...], message: str) -> None:
    _three(kb)
    before = (kb.entries / "2024-05-hashtags.yaml").read_text(encoding="utf-8")
    res = kb.run("link", *args)
    assert (res.exit_code, res.stdout, res.stderr) == (2, "", message)
    assert (kb.entries / "2024-05-hashtags.yaml").read_text(encoding="utf-8") == before


def test_link_to_a_missing_record_suggests_the_closest_ids(kb: KB) -> None:
    _three(kb)
    res = kb.run("link", "2024-05-hashtags", "2024-06-survy")
    assert res.exit_code == 2
    assert res.stderr.startswith(
        "Error: no record with id '2024-06-survy'\n"
        "hint: closest: 2024-06-survey  (Survey sent too late)"
    )


def test_link_refuses_a_duplicate(kb: KB) -> None:
    _three(kb)
    kb.run("link", "2024-05-hashtags", "2024-06-survey", "--rel", "caused-by")
    res = kb.run("link", "2024-05-hash", "2024-06", "--rel", "caused-by")
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: '2024-05-hashtags' already links to '2024-06-survey' as caused-by\n"
        "hint: `lessons unlink 2024-05-hashtags 2024-06-survey --rel caused-by` removes it\n"
    )


def test_unlink_removes_links_and_reports_each(kb: KB) -> None:
    _three(kb)
    kb.run("link", "2024-06-survey", "2024-05-hashtags", "--rel", "repeats")
    kb.run("link", "2024-06-survey", "2024-05-hashtags", "--rel", "caused-by")
    kb.run("link", "2024-06-survey", "2024-05-apology", "--rel", "applies")
    res = kb.run("unlink", "2024-06", "2024-05-hash", "--rel", "repeats")
    assert (res.exit_code, res.stderr) == (
        0,
        "unlinked 2024-06-survey --repeats--> 2024-05-hashtags  (entries/2024-06-survey.yaml)\n",
    )
    res = kb.run("unlink", "2024-06-survey", "2024-05-hashtags")
    assert res.stderr == (
        "unlinked 2024-06-survey --caused-by--> 2024-05-hashtags  (entries/2024-06-survey.yaml)\n"
    )
    text = (kb.entries / "2024-06-survey.yaml").read_text(encoding="utf-8")
    # The file had no list to copy the indentation from: the default applies.
    assert "links:\n  - {to: 2024-05-apology, rel: applies}\n" in text
    again = kb.run("unlink", "2024-06-survey", "2024-05-hashtags")
    assert again.exit_code == 2
    assert again.stderr == (
        "Error: no link from '2024-06-survey' to '2024-05-hashtags'\n"
        "hint: its links: applies 2024-05-apology\n"
    )


# --- related ------------------------------------------------------------------------------


def _similar(kb: KB) -> None:
    kb.add(
        "2023-01-disk-full",
        title="Database stopped when the backup filled the disk",
        summary="The nightly backup wrote to the data volume and filled the disk.",
        tags=["disk-full", "backups"],
        date="2023-01-10",
    )
    kb.add(
        "2024-02-disk-full-again",
        title="Backup filled the disk again and the database stopped",
        summary="The nightly backup filled the data volume again.",
        tags=["disk-full", "backups"],
        date="2024-02-10",
    )
    kb.add(
        "2024-03-slow-search",
        title="Search pages were slow",
        summary="A missing index made search queries scan the whole table.",
        tags=["latency"],
        date="2024-03-01",
    )
    kb.add("2024-04-launch", title="Launch went well", kind="success", summary="Flags helped.")


def test_related_prints_score_id_and_reasons(kb: KB) -> None:
    _similar(kb)
    res = kb.run("related", "2024-02-disk")
    assert res.exit_code == 0
    first = res.stdout.splitlines()[0].split("\t")
    assert first[1:5] == [
        "2023-01-disk-full",
        "mistake",
        "2023-01-10",
        "Database stopped when the backup filled the disk",
    ]
    assert float(first[0]) > 0.5
    assert first[5].startswith("similar title; similar text: ")
    assert first[5].endswith("; shared tags: backups, disk-full")


def test_related_json_and_limit(kb: KB) -> None:
    _similar(kb)
    res = kb.run("related", "2024-02-disk-full-again", "--json", "--limit", "1")
    data = json.loads(res.stdout)
    assert data["id"] == "2024-02-disk-full-again"
    assert [r["id"] for r in data["results"]] == ["2023-01-disk-full"]
    best = data["results"][0]
    assert set(best) >= {"id", "title", "score", "reasons", "shared_tags", "text_similarity"}
    assert best["shared_tags"] == ["backups", "disk-full"]


def test_related_leaves_out_linked_records_and_exits_1_when_nothing_is_left(kb: KB) -> None:
    kb.add("a", title="Alpha beta gamma", summary="Alpha beta gamma delta.")
    kb.add("b", title="Alpha beta gamma again", summary="Alpha beta gamma delta again.")
    kb.add("c", title="Something else", summary="Nothing shared at all here.")
    assert kb.run("related", "a").stdout.split("\t")[1] == "b"
    kb.run("link", "b", "a", "--rel", "repeats")
    res = kb.run("related", "a")
    assert res.exit_code == 1
    assert res.stderr == "Error: nothing similar to 'a' that is not linked to it already\n"


def test_related_needs_an_id_without_recurring(kb: KB) -> None:
    _similar(kb)
    res = kb.run("related")
    assert (res.exit_code, res.stderr) == (
        2,
        "Error: which record? give an ID\nhint: or use --recurring\n",
    )
    assert kb.run("related", "nope-nothing").exit_code == 2


def test_related_recurring_lists_candidates_and_linked_repeats(kb: KB) -> None:
    _similar(kb)
    res = kb.run("related", "--recurring")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].split("  ")[1] == "candidate"
    assert lines[1].startswith("  later   2024-02-disk-full-again  2024-02-10  Backup filled")
    assert lines[2].startswith("  earlier 2023-01-disk-full  2023-01-10  Database stopped")
    kb.run("link", "2024-02-disk-full-again", "2023-01-disk-full", "--rel", "repeats")
    data = json.loads(kb.run("related", "--recurring", "--json").stdout)
    assert data["total"] == 1
    only = data["results"][0]
    assert (only["id"], only["linked"], only["earlier"]["id"]) == (
        "2024-02-disk-full-again",
        True,
        "2023-01-disk-full",
    )
    assert "linked (repeats)" in kb.run("related", "--recurring").stdout


def test_related_recurring_takes_filters_and_an_id(kb: KB) -> None:
    _similar(kb)
    none = kb.run("related", "--recurring", "--until", "2023-12-31")
    assert (none.exit_code, none.stdout) == (1, "")
    assert none.stderr == (
        "Error: no recurring mistakes found with --until 2023-12-31\n"
        "hint: --min-score lowers the similarity it takes (now 0.5)\n"
    )
    mine = json.loads(kb.run("related", "--recurring", "2023-01", "--json").stdout)
    assert [r["earlier"]["id"] for r in mine["results"]] == ["2023-01-disk-full"]
    strict = kb.run("related", "--recurring", "--min-score", "0.99")
    assert strict.exit_code == 1


# --- graph ------------------------------------------------------------------------------------


def _graph_kb(kb: KB) -> None:
    _three(kb)
    kb.run("link", "2024-05-apology", "2024-05-hashtags", "--rel", "caused-by")
    kb.run("link", "2024-06-survey", "2024-05-hashtags", "--rel", "repeats")


def test_graph_json_has_nodes_and_edges(kb: KB) -> None:
    _graph_kb(kb)
    res = kb.run("graph", "--format", "json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert [n["id"] for n in data["nodes"]] == [
        "2024-05-apology",
        "2024-05-hashtags",
        "2024-06-survey",
    ]
    assert data["edges"] == [
        {"from": "2024-05-apology", "to": "2024-05-hashtags", "rel": "caused-by"},
        {"from": "2024-06-survey", "to": "2024-05-hashtags", "rel": "repeats"},
    ]


def test_graph_takes_the_shared_filters(kb: KB) -> None:
    _graph_kb(kb)
    data = json.loads(kb.run("graph", "--format", "json", "--kind", "observation").stdout)
    assert [(n["id"], n.get("outside", False)) for n in data["nodes"]] == [
        ("2024-06-survey", False),
        ("2024-05-hashtags", True),
    ]
    linked = json.loads(kb.run("graph", "-f", "json", "--linked-to", "2024-05-hash").stdout)
    assert {n["id"] for n in linked["nodes"]} == {
        "2024-05-apology",
        "2024-06-survey",
        "2024-05-hashtags",
    }
    res = kb.run("graph", "--tag", "nothing-has-this")
    assert (res.exit_code, res.stderr) == (1, "Error: no records with --tag nothing-has-this\n")


def test_graph_dot_and_mermaid(kb: KB) -> None:
    _graph_kb(kb)
    dot = kb.run("graph").stdout
    assert dot.startswith("digraph lessons {\n")
    assert '"2024-06-survey" -> "2024-05-hashtags" [label="repeats",' in dot
    mermaid = kb.run("graph", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR\n")
    assert '  n_2024_05_apology -->|"caused-by"| n_2024_05_hashtags\n' in mermaid


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_graph_dot_renders_with_graphviz(kb: KB, tmp_path: Path) -> None:
    _graph_kb(kb)
    out = tmp_path / "graph.dot"
    res = kb.run("graph", "-o", str(out))
    assert res.exit_code == 0
    assert res.stderr == f"wrote 3 nodes and 2 edges to {out}\n"
    done = subprocess.run(["dot", "-Tsvg", str(out)], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.count('class="node"') == 3 and done.stdout.count('class="edge"') == 2


def test_graph_refuses_an_unknown_format(kb: KB) -> None:
    _graph_kb(kb)
    res = kb.run("graph", "--format", "svg")
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: --format must be one of dot, mermaid, json, not 'svg'")


# --- list --linked-to / --orphans, and the link checks ------------------------------------------


def test_list_linked_to_and_orphans(kb: KB) -> None:
    _graph_kb(kb)
    kb.add("2024-07-alone", title="Nobody links here")
    linked = kb.run("list", "--linked-to", "2024-05-hash").stdout
    assert [line.split("\t")[0] for line in linked.splitlines()] == [
        "2024-06-survey",
        "2024-05-apology",
    ]
    orphans = kb.run("list", "--orphans")
    assert [line.split("\t")[0] for line in orphans.stdout.splitlines()] == ["2024-07-alone"]
    kb.run("unlink", "2024-05-apology", "2024-05-hashtags")
    orphans = kb.run("list", "--orphans").stdout
    # Newest first, then by id: both are dated 2024-05-01.
    assert [line.split("\t")[0] for line in orphans.splitlines()] == [
        "2024-05-apology",
        "2024-07-alone",
    ]


def test_search_accepts_linked_to_and_orphans(kb: KB) -> None:
    _graph_kb(kb)
    if kb.run("search", "--help").exit_code != 0:
        pytest.skip("the search command is not registered yet")
    res = kb.run("search", "survey", "--linked-to", "2024-05-hashtags", "--json")
    assert [r["id"] for r in json.loads(res.stdout)["results"]] == ["2024-06-survey"]
    assert kb.run("search", "survey", "--orphans").exit_code == 1


def test_check_reports_the_link_problems(kb: KB) -> None:
    kb.add("a", date="2024-01-01", links=[{"to": "b", "rel": "repeats"}])
    kb.add("b", date="2024-06-01", links=[{"to": "c", "rel": "supersedes"}])
    kb.add("c", links=[{"to": "b", "rel": "supersedes"}, {"to": "gone", "rel": "caused-by"}])
    kb.write(
        "d.yaml",
        "id: d\ntitle: D\nkind: mistake\nsummary: S.\nlesson: L.\n"
        "date: 2024-01-01\nlinks:\n  - {to: d, rel: relates-to}\n",
    )
    res = kb.run("check", "--json")
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    errors = {(e["path"], e["message"]) for e in data["errors"]}
    assert ("entries/c.yaml", "link to 'gone', which does not exist") in errors
    assert ("entries/b.yaml", "'supersedes' links go round in a circle: b -> c -> b") in errors
    assert ("entries/d.yaml", "link 1 points at the record itself") in errors
    warnings = {(w["path"], w["message"]) for w in data["warnings"]}
    assert (
        "entries/a.yaml",
        "'repeats' points at a newer record (b, 2024-06-01): "
        "the newer record should repeat the older one",
    ) in warnings


def test_check_warns_about_near_duplicate_records(kb: KB) -> None:
    _similar(kb)
    text = (kb.entries / "2024-03-slow-search.yaml").read_text(encoding="utf-8")
    kb.write(
        "2024-03-slow-search-copy.yaml",
        text.replace("2024-03-slow-search", "2024-03-slow-search-copy"),
    )
    res = kb.run("check")
    assert res.exit_code == 0
    assert (
        "entries/2024-03-slow-search-copy.yaml:1: warning: near-duplicate record:"
        " '2024-03-slow-search-copy' reads like '2024-03-slow-search' (text similarity 0.95);"
        " merge them, or link them"
        " (`lessons link 2024-03-slow-search-copy 2024-03-slow-search --rel supersedes`)\n"
    ) in res.stderr
    kb.run("link", "2024-03-slow-search-copy", "2024-03-slow-search", "--rel", "supersedes")
    assert "'2024-03-slow-search-copy' reads like" not in kb.run("check").stderr


# --- PostgreSQL: no FTS5 there, so related and recurrence score every record -------------


def test_links_related_recurring_and_graph_on_postgres(kb: KB, pg_url: str) -> None:
    _similar(kb)
    sqlite_related = json.loads(kb.run("related", "2024-02-disk", "--json").stdout)
    res = kb.run("--db", pg_url, "related", "2024-02-disk", "--json")
    assert res.exit_code == 0, res.stderr
    on_pg = json.loads(res.stdout)
    assert [r["id"] for r in on_pg["results"]][:1] == ["2023-01-disk-full"]
    assert [r["id"] for r in on_pg["results"]][:1] == [r["id"] for r in sqlite_related["results"]][
        :1
    ]
    link = kb.run("--db", pg_url, "link", "2024-02-disk", "2023-01-disk", "--rel", "repeats")
    assert link.exit_code == 0, link.stderr
    recurring = json.loads(kb.run("--db", pg_url, "related", "--recurring", "--json").stdout)
    assert [(r["id"], r["linked"]) for r in recurring["results"]] == [
        ("2024-02-disk-full-again", True)
    ]
    edges = json.loads(kb.run("--db", pg_url, "graph", "-f", "json").stdout)["edges"]
    assert edges == [
        {"from": "2024-02-disk-full-again", "to": "2023-01-disk-full", "rel": "repeats"}
    ]
