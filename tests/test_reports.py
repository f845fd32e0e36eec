"""Reports as a library: the retrospective's sections, the brief, actions and templates."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import KB, REPO, SHARED_EVAL

import lessons.reports
from lessons.errors import NoMatchError, UsageError
from lessons.filters import Filters
from lessons.kb import KnowledgeBase
from lessons.reports import md_escape, render, signed, tidy_markdown
from lessons.reports.actions import list_actions
from lessons.reports.brief import build_brief, query_for, tags_in_text
from lessons.reports.retro import build_retro, merge_recommendations, nice_ticks, timeline


def opened(kb: KB) -> KnowledgeBase:
    """The fixture's knowledge base, synced."""
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    return base


def repo_kb(tmp_path: Path) -> KnowledgeBase:
    """A copy of the repository's own knowledge base (entries and lessons.yaml)."""
    root = tmp_path / "repo-kb"
    shutil.copytree(REPO / "entries", root / "entries")
    shutil.copy(REPO / "lessons.yaml", root / "lessons.yaml")
    base = KnowledgeBase.open(str(root))
    base.sync()
    return base


# --- retro: headline, what went well and wrong --------------------------------------


def test_retro_counts_records_by_kind_and_impact(kb: KB) -> None:
    kb.add("m1", kind="mistake", impact="high")
    kb.add("m2", kind="mistake")
    kb.add("s1", kind="success", impact="low")
    kb.add("o1", kind="observation", impact="high")
    head = build_retro(opened(kb)).headline
    assert head["records"] == 4
    assert head["by_kind"] == {"mistake": 2, "success": 1, "observation": 1}
    assert head["by_impact"] == {"critical": 0, "high": 2, "medium": 0, "low": 1, "unrated": 1}
    assert head["by_kind_impact"]["mistake"] == {
        "critical": 0,
        "high": 1,
        "medium": 0,
        "low": 0,
        "unrated": 1,
    }


def test_retro_lists_mistakes_highest_impact_first_and_successes_apart(kb: KB) -> None:
    kb.add("low-one", kind="mistake", impact="low", date="2024-05-03")
    kb.add("critical-one", kind="mistake", impact="critical", date="2024-01-01")
    kb.add("unrated-one", kind="mistake", date="2024-06-01")
    kb.add("medium-new", kind="mistake", impact="medium", date="2024-05-02")
    kb.add("medium-old", kind="mistake", impact="medium", date="2024-02-02")
    kb.add("good", kind="success", impact="high")
    r = build_retro(opened(kb))
    assert [i["id"] for i in r.went_wrong["items"]] == [
        "critical-one",
        "medium-new",
        "medium-old",
        "low-one",
        "unrated-one",
    ]
    assert [i["id"] for i in r.went_well["items"]] == ["good"]
    assert r.went_well["items"][0]["lesson"] == "What good taught us."


def test_retro_limit_cuts_lists_but_keeps_totals(kb: KB) -> None:
    for i in range(5):
        kb.add(f"m{i}", kind="mistake")
    r = build_retro(opened(kb), limit=2)
    assert r.went_wrong["total"] == 5
    assert len(r.went_wrong["items"]) == 2


def test_retro_of_empty_selection_raises_no_match(kb: KB) -> None:
    kb.add("a", campaign="Spring")
    with pytest.raises(NoMatchError, match="no records with --campaign Autumn"):
        build_retro(opened(kb), Filters(campaign="Autumn"))


# --- retro: themes ------------------------------------------------------------------


def test_retro_themes_compare_with_the_previous_period_of_the_same_length(kb: KB) -> None:
    # The period: a quarter, 2024-04-01 .. 2024-06-30; before it: 2024-01-01 .. 2024-03-31.
    kb.add("now-1", date="2024-04-10", tags=["outage", "dns"])
    kb.add("now-2", date="2024-05-10", tags=["outage", "dns"])
    kb.add("now-3", date="2024-06-10", tags=["outage"])
    kb.add("before-1", date="2024-01-10", tags=["outage", "billing"])
    kb.add("before-2", date="2024-03-10", tags=["billing"])
    kb.add("long-ago", date="2020-01-01", tags=["dns"])
    themes = build_retro(opened(kb), Filters(since="2024-04-01", until="2024-06-30")).themes
    assert themes["compare"] == "count"
    assert themes["baseline"] == "the previous 3 months (2024-01-01 – 2024-03-31)"
    assert themes["baseline_records"] == 2
    by_tag = {t["tag"]: t for t in themes["items"]}
    assert by_tag["outage"]["count"] == 3
    assert by_tag["outage"]["baseline_count"] == 1
    assert by_tag["outage"]["count_change"] == 2
    assert by_tag["outage"]["trend"] == "up"
    assert by_tag["dns"]["trend"] == "new"
    assert themes["faded"] == [{"tag": "billing", "baseline_count": 2}]


def test_the_previous_period_is_in_months_for_whole_months_else_in_days() -> None:
    from lessons.reports.retro import previous_period

    assert previous_period("2019-01-01", "2020-12-31") == ("2017-01-01", "24 months")
    assert previous_period("2024-03-01", "2024-03-31") == ("2024-02-01", "1 month")
    assert previous_period("2024-01-01", "2024-01-01") == ("2023-12-31", "1 day")
    assert previous_period("2024-03-10", "2024-03-19") == ("2024-02-29", "10 days")


def test_retro_themes_of_a_campaign_compare_with_the_rest_by_share(kb: KB) -> None:
    kb.add("c1", campaign="Launch", tags=["press"])
    kb.add("c2", campaign="Launch", tags=["press", "budget"])
    kb.add("x1", campaign="Other", tags=["press"])
    kb.add("x2", campaign="Other", tags=["budget"])
    kb.add("x3", campaign="Other", tags=["budget"])
    kb.add("x4", campaign="Other", tags=["venue"])
    themes = build_retro(opened(kb), Filters(campaign="launch")).themes
    assert themes["compare"] == "share"
    assert themes["baseline"] == "the rest of the knowledge base"
    assert themes["baseline_records"] == 4
    press = next(t for t in themes["items"] if t["tag"] == "press")
    assert (press["share"], press["baseline_share"], press["share_change"]) == (1.0, 0.25, 75.0)
    assert press["trend"] == "up"
    budget = next(t for t in themes["items"] if t["tag"] == "budget")
    assert (budget["share"], budget["baseline_share"]) == (0.5, 0.5)
    assert budget["trend"] == "steady"


def test_retro_themes_leave_out_the_tags_that_select_the_records(kb: KB) -> None:
    kb.add("a", tags=["q3", "press"])
    kb.add("b", tags=["q3"])
    themes = build_retro(opened(kb), Filters(tags=("q3",))).themes
    assert [t["tag"] for t in themes["items"]] == ["press"]
    assert themes["compare"] is None


# --- retro: recurrence, lessons applied, actions -----------------------------------

SIMILAR = (
    "The nightly database backup job silently failed because the backup disk volume was "
    "full, and nobody noticed the missing backups for weeks."
)


def test_retro_recurring_has_repeats_links_and_look_alikes(kb: KB) -> None:
    kb.add("backup-2022", date="2022-03-01", summary=SIMILAR, title="Backups failed, disk full")
    kb.add("backup-2024", date="2024-03-01", summary=SIMILAR, title="Backups failed, disk full")
    kb.add("old", date="2020-01-01", title="Certificate expired")
    kb.add(
        "again",
        date="2024-02-01",
        title="Certificate expired again",
        links=[{"to": "old", "rel": "repeats"}],
    )
    kb.add("unrelated", date="2024-02-02", title="Venue booked too late")
    rec = build_retro(opened(kb), Filters(since="2024-01-01")).recurring
    pairs = {(r["later"]["id"], r["earlier"]["id"], r["linked"]) for r in rec["items"]}
    assert pairs == {("again", "old", True), ("backup-2024", "backup-2022", False)}
    assert (rec["total"], rec["linked"], rec["candidates"]) == (2, 1, 1)
    assert rec["note"] is None


def test_retro_over_the_scan_limit_keeps_to_repeats_links_and_says_so(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lessons.reports, "RECURRENCE_SCAN_MAX", 2)
    kb.add("backup-2022", date="2022-03-01", summary=SIMILAR)
    kb.add("backup-2024", date="2024-03-01", summary=SIMILAR)
    kb.add("old", date="2020-01-01", tags=["certs"])
    kb.add("again", date="2024-02-01", tags=["certs"], links=[{"to": "old", "rel": "repeats"}])
    rec = build_retro(opened(kb)).recurring
    assert [(r["later"]["id"], r["earlier"]["id"]) for r in rec["items"]] == [("again", "old")]
    assert rec["items"][0]["shared_tags"] == ["certs"]
    assert rec["items"][0]["score"] is None
    assert "4 mistakes (more than 2)" in rec["note"]


def test_retro_lessons_applied_and_share_of_mistakes_applied(kb: KB) -> None:
    kb.add("m1", kind="mistake", impact="high")
    kb.add("m2", kind="mistake", impact="low")
    kb.add("m3", kind="mistake")
    kb.add("fix", kind="success", links=[{"to": "m1", "rel": "applies", "note": "used it"}])
    applied = build_retro(opened(kb)).applied
    assert (applied["mistakes"], applied["mistakes_applied"], applied["share"]) == (3, 1, 0.3333)
    assert [(a["by"]["id"], a["lesson_of"]["id"], a["note"]) for a in applied["items"]] == [
        ("fix", "m1", "used it")
    ]
    assert [r["id"] for r in applied["not_applied"]] == ["m2", "m3"]


def test_retro_open_and_overdue_actions_with_owners(kb: KB) -> None:
    kb.add(
        "a",
        actions=[
            {"do": "Late task", "owner": "Ana", "due": "2020-01-01"},
            {"do": "Future task", "owner": "ana", "due": "2099-01-01"},
            {"do": "Finished", "owner": "Bo", "status": "done"},
            {"do": "Unowned"},
        ],
    )
    acts = build_retro(opened(kb), today="2026-11-24").actions
    assert (acts["open"], acts["overdue"], acts["done"], acts["dropped"]) == (3, 1, 1, 0)
    assert [a["do"] for a in acts["items"]] == ["Late task", "Future task", "Unowned"]
    assert [a["overdue"] for a in acts["items"]] == [True, False, False]
    assert acts["owners"] == [
        {"owner": "Ana", "open": 2, "overdue": 1},
        {"owner": "(no owner)", "open": 1, "overdue": 0},
    ]


# --- retro: recommendations ---------------------------------------------------------


def test_near_duplicate_recommendations_are_merged_and_counted() -> None:
    occurrences = [
        ("Test the backups by restoring them every month.", "a", 2, "2024-01-01"),
        ("Test backups by restoring them every month", "b", 1, "2024-02-01"),
        ("test the backups, restoring them every month!", "c", 1, "2024-03-01"),
        ("Test the backups by restoring them every month.", "d", 3, "2024-04-01"),
        ("Name an owner for every alert.", "e", 4, "2024-05-01"),
        ("Name an owner for each alert", "f", 1, "2024-05-02"),
        ("Book the venue early.", "g", 4, "2024-06-01"),
    ]
    merged = merge_recommendations(occurrences)
    assert (merged["total"], merged["distinct"], merged["repeated"]) == (7, 3, 2)
    first, second, third = merged["items"]
    assert first["text"] == "Test the backups by restoring them every month."
    assert (first["count"], first["records"]) == (4, ["a", "d", "c", "b"])
    assert len(first["variants"]) == 2
    assert (second["count"], sorted(second["records"])) == (2, ["e", "f"])
    assert (third["text"], third["count"]) == ("Book the venue early.", 1)


def test_a_short_recommendation_does_not_swallow_longer_ones() -> None:
    merged = merge_recommendations(
        [
            ("Communicate.", "a", 0, ""),
            ("Communicate the change to every customer two weeks ahead.", "b", 0, ""),
        ]
    )
    assert [i["count"] for i in merged["items"]] == [1, 1]


def test_recommendations_beyond_the_pool_still_join_their_near_duplicate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lessons.reports.retro as retro

    monkeypatch.setattr(retro, "MERGE_POOL", 2)
    occurrences = [
        ("Rotate the keys before they expire.", "a", 0, ""),
        ("Rotate the keys before they expire.", "b", 0, ""),
        ("Write the runbook first.", "c", 0, ""),
        ("Write the runbook first.", "d", 0, ""),
        ("Something else entirely different.", "e", 0, ""),
        ("Rotate keys before they expire", "f", 0, ""),
    ]
    merged = merge_recommendations(occurrences)
    assert [(i["text"], i["count"]) for i in merged["items"]] == [
        ("Rotate the keys before they expire.", 3),
        ("Write the runbook first.", 2),
        ("Something else entirely different.", 1),
    ]


# --- retro: timeline ----------------------------------------------------------------


def test_timeline_fills_empty_months_and_counts_by_kind() -> None:
    rows = [
        {"date": "2024-01-05", "kind": "mistake"},
        {"date": "2024-01-20", "kind": "success"},
        {"date": "2024-03-01", "kind": "mistake"},
        {"date": None, "kind": "observation"},
    ]
    t = timeline(rows)
    assert t["unit"] == "month"
    assert [(b["label"], b["mistake"], b["success"], b["total"]) for b in t["bars"]] == [
        ("2024-01", 1, 1, 2),
        ("2024-02", 0, 0, 0),
        ("2024-03", 1, 0, 1),
    ]
    assert [m["month"] for m in t["months"]] == ["2024-01", "2024-03"]
    assert t["undated"] == 1
    assert t["ticks"] == [0, 1, 2]


def test_timeline_groups_long_spans_into_quarters_then_years() -> None:
    quarters = timeline(
        [{"date": "2020-01-01", "kind": "mistake"}, {"date": "2023-12-01", "kind": "mistake"}]
    )
    assert quarters["unit"] == "quarter"
    assert quarters["bars"][0]["label"] == "2020 Q1"
    assert len(quarters["bars"]) == 16
    years = timeline(
        [{"date": "2000-01-01", "kind": "mistake"}, {"date": "2020-06-01", "kind": "success"}]
    )
    assert years["unit"] == "year"
    assert [b["label"] for b in years["bars"]][:2] == ["2000", "2001"]
    assert len(years["bars"]) == 21


def test_nice_ticks_are_round_and_reach_the_top() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(4) == [0, 1, 2, 3, 4]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(14) == [0, 5, 10, 15]
    assert nice_ticks(230) == [0, 50, 100, 150, 200, 250]


# --- brief ---------------------------------------------------------------------------


def test_brief_puts_the_hashtag_mistake_first_on_the_repo_entries(tmp_path: Path) -> None:
    brief = build_brief(repo_kb(tmp_path), "launch a campaign hashtag on twitter")
    first = brief.results[0]
    assert first["id"] == "2012-09-hashtags-attempted-humour"
    assert first["checklist"][0] == (
        "- [ ] Try proposed hashtags on a few people outside the team before an announcement."
        " (2012-09-hashtags-attempted-humour)"
    )
    assert "hashtags" in brief.themes and "twitter" in brief.themes


def test_brief_shows_mistakes_first_by_impact_then_successes(kb: KB) -> None:
    summary = "The webinar registration page broke during the launch."
    kb.add("win", kind="success", impact="critical", summary=summary)
    kb.add("slip-low", kind="mistake", impact="low", summary=summary)
    kb.add("slip-high", kind="mistake", impact="high", summary=summary)
    kb.add("note", kind="observation", summary=summary)
    brief = build_brief(opened(kb), "webinar registration launch")
    assert [r["id"] for r in brief.results] == ["slip-high", "slip-low", "win", "note"]


def test_brief_checklist_falls_back_to_the_record_when_it_has_no_recommendations(kb: KB) -> None:
    kb.add("bare", title="Webinar audio failed", summary="The webinar audio failed.")
    kb.add(
        "full",
        title="Webinar slides late",
        summary="Webinar slides arrived late.",
        recommendations=["Freeze the slides a day before.", "Keep a PDF copy."],
    )
    by_id = {r["id"]: r for r in build_brief(opened(kb), "webinar").results}
    assert by_id["bare"]["checklist"] == [
        "- [ ] Check the plan against: Webinar audio failed (bare)"
    ]
    assert by_id["full"]["checklist"] == [
        "- [ ] Freeze the slides a day before. (full)",
        "- [ ] Keep a PDF copy. (full)",
    ]


def test_brief_reads_a_long_plan_by_its_distinctive_words(tmp_path: Path) -> None:
    base = repo_kb(tmp_path)
    plan = (
        "Project plan. Objectives: next quarter we want to run a consultation with young "
        "people. We will put a survey in front of pupils in schools, with a short link from "
        "our Facebook page. Schools are the partner; the survey is the instrument; the "
        "young people are the audience. Timeline, budget and staffing follow in the annex. "
        "The team will meet weekly and report to the board on progress and risks. "
    ) * 3
    query = query_for(base.store, plan)
    words = query.split()
    assert len(words) <= 32
    assert {"survey", "schools", "pupils"} <= set(words)
    assert "plan" not in words and "next" not in words
    brief = build_brief(base, plan)
    assert brief.results[0]["id"] in {
        "2012-09-signposting-young-people-to-e-form-surveys",
        "2012-09-growing-up-in-oldham-survey-in-schools",
    }
    assert "2012-09-growing-up-in-oldham-survey-in-schools" in [r["id"] for r in brief.results]


def test_tags_in_text_finds_aliases_plurals_and_compound_tags() -> None:
    counts = {"hashtags": 2, "twitter": 5, "live-chat": 1, "surveys": 3}
    aliases = {"tweet": "twitter"}
    found = tags_in_text("A live chat, a survey and a hashtag; then tweet it.", counts, aliases)
    assert found == ["live-chat", "surveys", "hashtags", "twitter"]


def test_brief_tag_and_campaign_raise_matching_lessons(kb: KB) -> None:
    kb.add(
        "a", title="Stand was hard to find", summary="Visitors missed the stand.", campaign="Expo"
    )
    kb.add("b", title="Stand was too small", summary="The stand was crowded.", tags=["venue"])
    kb.add("c", title="Stand leaflets ran out", summary="We ran out of leaflets at the stand.")
    plain = [r["id"] for r in build_brief(opened(kb), "stand").results]
    assert sorted(plain) == ["a", "b", "c"]
    by_tag = build_brief(opened(kb), "stand", tags=["venue"])
    assert by_tag.results[0]["id"] == "b"
    assert "tagged venue" in by_tag.results[0]["why"]
    by_campaign = build_brief(opened(kb), "stand", campaign="expo")
    assert by_campaign.results[0]["id"] == "a"
    assert "same campaign (Expo)" in by_campaign.results[0]["why"]


def _press_leaks(kb: KB, actions: list[dict[str, str]]) -> None:
    """A leaked press release ('old') and its repeat ('new', with ``actions``)."""
    kb.add("old", title="Press release leaked early", date="2020-01-01", tags=["embargo"])
    kb.add(
        "new",
        title="Press release leaked before the embargo",
        date="2024-01-01",
        tags=["embargo"],
        links=[{"to": "old", "rel": "repeats"}],
        actions=actions,
    )


def test_brief_adds_open_actions_and_recurring_pitfalls_in_its_themes(kb: KB) -> None:
    _press_leaks(
        kb,
        [
            {"do": "Send releases under embargo to named journalists only", "owner": "Comms"},
            {"do": "Done already", "status": "done"},
        ],
    )
    brief = build_brief(opened(kb), "press release under embargo", today="2026-11-24")
    assert [a["do"] for a in brief.actions] == [
        "Send releases under embargo to named journalists only"
    ]
    assert [(p["later"]["id"], p["earlier"]["id"], p["linked"]) for p in brief.pitfalls] == [
        ("new", "old", True)
    ]


def test_brief_over_the_scan_limit_reads_only_the_links_it_shows(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past RECURRENCE_SCAN_MAX mistakes a brief's pitfalls are the repeats links that
    # touch its results or whose records share one of its themes' tags: those alone
    # are read (a shared index of a million records holds 86,000 such links).
    from lessons.reports import recurring

    monkeypatch.setattr(lessons.reports, "RECURRENCE_SCAN_MAX", 1)
    _press_leaks(kb, [{"do": "Name the journalists", "owner": "Comms"}])
    kb.add("cat-1", title="Catering late", date="2021-01-01", tags=["food", "embargo"])
    kb.add(
        "cat-2",
        title="Catering late again",
        date="2022-01-01",
        tags=["food", "embargo"],
        links=[{"to": "cat-1", "rel": "repeats"}],
    )
    kb.add("v-1", title="Venue flooded", date="2021-01-01", tags=["venue"])
    kb.add(
        "v-2", title="Venue flooded again", tags=["venue"], links=[{"to": "v-1", "rel": "repeats"}]
    )
    base = opened(kb)
    every, _ = recurring(base)
    assert len(every) == 3
    # Links touching a record, or whose two records share a tag asked for.
    near, _ = recurring(base, touching={"new"}, tags=set())
    assert [(p["later"]["id"], p["earlier"]["id"]) for p in near] == [("new", "old")]
    shared, _ = recurring(base, touching=set(), tags={"food"})
    assert [(p["later"]["id"], p["earlier"]["id"]) for p in shared] == [("cat-2", "cat-1")]
    assert sorted(base.store.repeats_sharing(["embargo", "venue"])) == [
        ("cat-2", "cat-1"),
        ("new", "old"),
        ("v-2", "v-1"),
    ]
    assert [a["id"] for a in base.store.actions({"new", "old"})] == ["new"]
    brief = build_brief(base, "press release under embargo", today="2026-11-24")
    assert {(p["later"]["id"], p["earlier"]["id"]) for p in brief.pitfalls} == {
        ("new", "old"),
        ("cat-2", "cat-1"),
    }
    assert [a["do"] for a in brief.actions] == ["Name the journalists"]


def test_brief_needs_something_to_go_on_and_says_when_nothing_bears_on_it(kb: KB) -> None:
    kb.add("a", title="Venue booked late")
    base = opened(kb)
    with pytest.raises(UsageError, match="describe the plan"):
        build_brief(base, "  ...  ")
    with pytest.raises(NoMatchError, match="no past lessons bear on this plan"):
        build_brief(base, "quantum chromodynamics")


@pytest.mark.skipif(
    not (SHARED_EVAL / "postmortems-queries.jsonl").is_file(), reason="no ../shared/eval"
)
def test_brief_recall_at_10_is_at_least_that_of_search_on_the_judged_queries() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import brief_quality
        import search_quality
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from lessons.model import id_from_foreign
    from lessons.search import DEFAULT_TUNING

    items = [
        item
        for name in search_quality.DEFAULT_CORPORA
        for item in search_quality.read_jsonl(SHARED_EVAL / name)
    ]
    judged = search_quality.read_jsonl(SHARED_EVAL / search_quality.DEFAULT_QUERIES)
    for q in judged:
        q["relevant"] = [id_from_foreign(r) for r in q["relevant"]]
    queries = [q["query"] for q in judged]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = [SHARED_EVAL / name for name in search_quality.DEFAULT_CORPORA]
        base = search_quality.build_kb(Path(tmp) / "kb", paths, items)
        searched = search_quality.lessons_rankings(base, queries, DEFAULT_TUNING)
        briefed = brief_quality.brief_rankings(base, queries)
        base.close()
    r_search = brief_quality.recall_at(searched, judged, 10)
    r_brief = brief_quality.recall_at(briefed, judged, 10)
    assert r_brief >= r_search, (r_brief, r_search)


# --- actions --------------------------------------------------------------------------


def test_list_actions_filters_by_status_owner_overdue_and_records(kb: KB) -> None:
    kb.add(
        "a",
        campaign="Spring",
        actions=[
            {"do": "Late", "owner": "Ana Lee", "due": "2020-01-01"},
            {"do": "Later", "owner": "Bo", "due": "2099-01-01"},
            {"do": "Closed", "owner": "ana lee", "status": "done", "due": "2019-01-01"},
        ],
    )
    kb.add("b", campaign="Autumn", actions=[{"do": "Other", "owner": "ANA LEE"}])
    base = opened(kb)
    every = list_actions(base, today="2026-11-24")
    assert [a["do"] for a in every] == ["Closed", "Late", "Later", "Other"]
    assert [a["overdue"] for a in every] == [False, True, False, False]
    assert [a["do"] for a in list_actions(base, open_only=True)] == ["Late", "Later", "Other"]
    assert [a["do"] for a in list_actions(base, owner="ana lee")] == ["Closed", "Late", "Other"]
    assert [a["do"] for a in list_actions(base, overdue=True, today="2026-11-24")] == ["Late"]
    assert [a["do"] for a in list_actions(base, Filters(campaign="autumn"))] == ["Other"]


# --- templates ------------------------------------------------------------------------


def test_markdown_escaping_keeps_user_text_literal() -> None:
    assert md_escape("a | b *c* [x](y) <b> _u_") == r"a \| b \*c\* \[x\](y) \<b\> \_u\_"
    assert md_escape("two\n  lines") == "two lines"


def test_signed_numbers() -> None:
    assert (signed(3), signed(-2), signed(0), signed(12.5, " pts")) == (
        "+3",
        "−2",
        "±0",
        "+12.5 pts",
    )


def test_tidy_markdown_leaves_one_blank_line_between_blocks() -> None:
    assert tidy_markdown("# A\ntext\n\n\n\n## B\n\n\n") == "# A\ntext\n\n## B\n"


def test_a_user_template_gets_the_data_and_its_errors_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "mine.md"
    good.write_text("{{ title }}: {{ headline.records }} records\n")
    assert render("x", {"title": "T", "headline": {"records": 3}}, html=False, template=good) == (
        "T: 3 records\n"
    )
    bad = tmp_path / "bad.md"
    bad.write_text("line one\n{{ title }}\n{{ nothere.x }}\n")
    with pytest.raises(UsageError) as info:
        render("x", {"title": "T"}, html=False, template=bad)
    assert info.value.path == str(bad) and info.value.line == 3
    broken = tmp_path / "broken.html"
    broken.write_text("<p>\n{% if %}\n")
    with pytest.raises(UsageError, match="syntax error") as info:
        render("x", {}, html=True, template=broken)
    assert info.value.line == 2


def test_html_templates_escape_user_text(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<h1>{{ title }}</h1>")
    assert render("x", {"title": "<script>x</script>"}, html=True, template=page) == (
        "<h1>&lt;script&gt;x&lt;/script&gt;</h1>"
    )
