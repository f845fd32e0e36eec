"""retro, brief and actions through the real CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from conftest import KB, REPO


def repo_copy(kb: KB) -> KB:
    """The fixture's folder filled with the repository's own entries and lessons.yaml."""
    shutil.rmtree(kb.entries)
    shutil.copytree(REPO / "entries", kb.entries)
    shutil.copy(REPO / "lessons.yaml", kb.root / "lessons.yaml")
    return kb


def campaign_kb(kb: KB) -> KB:
    """A small knowledge base with two campaigns, links, actions and recommendations."""
    kb.add(
        "2024-01-venue-late",
        title="Venue booked too late",
        kind="mistake",
        impact="high",
        date="2024-01-15",
        campaign="Spring Expo",
        tags=["venue", "planning"],
        recommendations=["Book the venue six months ahead."],
        actions=[
            {"do": "Add venue booking to the launch checklist", "owner": "Ops", "due": "2020-02-01"}
        ],
    )
    kb.add(
        "2024-02-stand-crowded",
        title="Stand too small for the crowd",
        kind="mistake",
        impact="low",
        date="2024-02-10",
        campaign="Spring Expo",
        tags=["venue"],
        recommendations=["Book the venue 6 months ahead", "Measure the stand space first."],
    )
    kb.add(
        "2024-03-demo-worked",
        title="Live demo drew visitors",
        kind="success",
        impact="medium",
        date="2024-03-01",
        campaign="Spring Expo",
        tags=["demo"],
        links=[{"to": "2024-01-venue-late", "rel": "applies"}],
        actions=[{"do": "Keep the demo script", "owner": "ops", "status": "done"}],
    )
    kb.add(
        "2023-autumn-press",
        title="Press release went out late",
        kind="mistake",
        date="2023-10-15",
        campaign="Autumn Fair",
        tags=["press"],
        actions=[{"do": "Draft releases a week early", "owner": "Comms", "due": "2099-01-01"}],
    )
    return kb


# --- retro ---------------------------------------------------------------------------


def test_retro_prints_markdown_when_piped(kb: KB) -> None:
    res = campaign_kb(kb).run("retro", "--campaign", "Spring Expo")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert out.startswith("# Retrospective: campaign Spring Expo\n")
    headings = re.findall(r"^## (.+)$", out, flags=re.M)
    assert headings == [
        "At a glance",
        "What went well (1)",
        "What went wrong (2)",
        "Themes",
        "Recurring mistakes",
        "Lessons applied",
        "Recommendations",
        "Actions",
        "Timeline",
    ]
    assert "| mistakes | 0 | 1 | 0 | 1 | 0 | **2** |" in out
    assert "Compared with the rest of the knowledge base, 1 record." in out
    assert "1. **×2** Book the venue six months ahead. — `2024-01-venue-late`, " in out
    assert "| **2020-02-01 overdue** | Ops | Add venue booking to the launch checklist |" in out
    assert "The lesson of 1 of 2 mistakes (50%) has been applied" in out
    assert "| 2024-02 | 1 | 0 | 0 | 1 |" in out
    assert "\n\n\n" not in out


def test_retro_json_carries_the_same_data(kb: KB) -> None:
    res = campaign_kb(kb).run("retro", "--campaign", "spring expo", "--format", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert set(data) >= {
        "title",
        "headline",
        "went_well",
        "went_wrong",
        "themes",
        "recurring",
        "applied",
        "recommendations",
        "actions",
        "timeline",
    }
    assert data["headline"]["by_kind"] == {"mistake": 2, "success": 1, "observation": 0}
    assert [i["id"] for i in data["went_wrong"]["items"]] == [
        "2024-01-venue-late",
        "2024-02-stand-crowded",
    ]
    assert data["recommendations"]["items"][0]["count"] == 2
    assert data["actions"]["overdue"] == 1


def test_retro_html_is_one_self_contained_file_with_an_svg_chart(kb: KB, tmp_path: Path) -> None:
    out = tmp_path / "retro.html"
    res = campaign_kb(kb).run("retro", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert res.stderr == f"wrote the retrospective of 4 records to {out}\n"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html and "Records per month by kind" in html
    assert html.count('<rect x="') >= 4 + 3  # bars of four months, and the legend
    assert "@media print" in html
    # Nothing is fetched from elsewhere: no scripts, stylesheets, fonts or images.
    for pattern in ("<script", "<link", "@import", "url(", "<img", "src="):
        assert pattern not in html
    assert re.findall(r'https?://[^"\s<]+', html) == ["http://www.w3.org/2000/svg"]


def test_retro_escapes_user_text_in_html(kb: KB) -> None:
    kb.add("x", title="<b>Bold</b> & <script>alert(1)</script>", kind="mistake")
    res = kb.run("retro", "--format", "html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in res.stdout
    assert "<script>" not in res.stdout


def test_retro_output_file_is_readable_like_any_new_file(kb: KB, tmp_path: Path) -> None:
    out = tmp_path / "retro.md"
    kb.add("a")
    old = os.umask(0o022)
    try:
        assert kb.run("retro", "-o", str(out)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert out.read_text(encoding="utf-8") == kb.run("retro").stdout


def test_retro_format_follows_the_output_suffix(kb: KB, tmp_path: Path) -> None:
    kb.add("a")
    kb.run("retro", "-o", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text())["headline"]["records"] == 1
    kb.run("retro", "-o", str(tmp_path / "r.htm"))
    assert (tmp_path / "r.htm").read_text().startswith("<!DOCTYPE html>")


def test_retro_of_nothing_says_so_and_writes_nothing(kb: KB, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = campaign_kb(kb).run("retro", "--campaign", "Winter Gala", "-o", str(out))
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr.startswith(
        "Error: no records with --campaign Winter Gala: nothing to review\n"
    )
    assert not out.exists()


def test_retro_themes_against_the_previous_period(kb: KB) -> None:
    res = campaign_kb(kb).run("retro", "--since", "2024-01", "--until", "2024-03")
    assert res.exit_code == 0, res.stderr
    assert "Compared with the previous 3 months (2023-10-01 – 2023-12-31), 1 record." in res.stdout
    assert "| venue | 2 | 67% | 0 | +2 ★ new |" in res.stdout
    assert "Gone quiet since then: press (1 before)." in res.stdout


def test_retro_terminal_format_has_sections_and_a_bar_chart(kb: KB) -> None:
    res = campaign_kb(kb).run("retro", "--format", "terminal")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    for title in ("At a glance", "What went well (1)", "What went wrong (3)", "Records per month"):
        assert title in out
    assert re.search(r"^2024-01 █+ 1$", out, flags=re.M)
    assert re.search(r"^2024-03 ▓+ 1$", out, flags=re.M)
    assert "█ mistakes   ▓ successes   ░ observations" in out


def test_retro_with_a_users_template(kb: KB, tmp_path: Path) -> None:
    mine = tmp_path / "team.md.j2"
    mine.write_text(
        "{{ selection }}: {{ headline.records }} records\n"
        "{% for r in went_wrong['items'] %}- {{ r.title }}\n{% endfor %}"
    )
    res = campaign_kb(kb).run("retro", "--campaign", "Autumn Fair", "--template", str(mine))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "campaign Autumn Fair: 1 records\n- Press release went out late\n"
    bad = tmp_path / "bad.md.j2"
    bad.write_text("{{ headline.records }}\n{{ no_such_thing }}\n")
    res = kb.run("retro", "--template", str(bad))
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"Error: the template uses something the report does not have: 'no_such_thing' is "
        f"undefined ({bad}:2)\n"
    )
    res = kb.run("retro", "--template", str(mine), "--format", "json")
    assert res.exit_code == 2
    assert "--template goes with --format md or html" in res.stderr


def test_retro_rejects_an_unknown_format_and_terminal_to_a_file(kb: KB, tmp_path: Path) -> None:
    kb.add("a")
    res = kb.run("retro", "--format", "pdf")
    assert res.exit_code == 2
    assert "--format must be one of terminal, md, html, json, not 'pdf'" in res.stderr
    res = kb.run("retro", "--format", "terminal", "-o", str(tmp_path / "x"))
    assert res.exit_code == 2
    assert "-o writes md, html or json" in res.stderr


def test_retro_on_the_repo_entries_lists_open_actions_with_owners(kb: KB) -> None:
    res = repo_copy(kb).run("retro")
    assert res.exit_code == 0, res.stderr
    assert "*Digital Engagement lessons · 14 records · 2012-09-10 – 2012-09-24" in res.stdout
    assert "Owners: Digital Engagement 4 open (3 overdue); Louise Kidney 1 open." in res.stdout


# --- brief ---------------------------------------------------------------------------


def test_brief_for_a_hashtag_campaign_puts_the_hashtag_mistake_first(kb: KB) -> None:
    res = repo_copy(kb).run("brief", "launch a campaign hashtag on twitter", "--format", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    first = data["results"][0]
    assert first["id"] == "2012-09-hashtags-attempted-humour"
    assert {"id", "title", "score", "kind", "lesson", "checklist"} <= set(first)
    kinds = [r["kind"] for r in data["results"]]
    assert kinds == sorted(kinds, key=["mistake", "success", "observation"].index)


def test_brief_markdown_is_a_checklist_with_record_ids(kb: KB) -> None:
    res = repo_copy(kb).run("brief", "launch a campaign hashtag on twitter")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert out.startswith("# Lessons for this plan\n\n> launch a campaign hashtag on twitter\n")
    assert out.index("## Mistakes to avoid") < out.index("## Successes worth repeating")
    assert (
        "- [ ] Try proposed hashtags on a few people outside the team before an announcement."
        " (2012-09-hashtags-attempted-humour)\n"
    ) in out
    assert "## Open actions on these lessons" in out
    assert (
        "- [ ] Add a hashtag test (tried on people outside the team) to the announcement checklist"
        " — Digital Engagement, due 2013-01-31 **(overdue)** (`2012-09-hashtags-attempted-humour`)"
    ) in out
    for line in out.splitlines():
        if line.startswith("- [ ]"):
            assert re.search(r"\(`?[a-z0-9-]+`?\)$", line), line


def test_brief_reads_the_plan_from_a_file_or_stdin(kb: KB, tmp_path: Path) -> None:
    repo_copy(kb)
    plan = tmp_path / "plan.md"
    plan.write_text(
        "# Consultation plan\n\nWe will survey young people in schools about local services,"
        " and signpost the survey from Facebook.\n"
    )
    from_file = kb.run("brief", "--from", str(plan), "--format", "json")
    assert from_file.exit_code == 0, from_file.stderr
    ids = [r["id"] for r in json.loads(from_file.stdout)["results"]]
    assert ids[0] == "2012-09-signposting-young-people-to-e-form-surveys"
    assert "2012-09-growing-up-in-oldham-survey-in-schools" in ids
    from_stdin = kb.run("brief", "--from", "-", "--format", "json", input=plan.read_text())
    assert json.loads(from_stdin.stdout)["results"] == json.loads(from_file.stdout)["results"]


def test_brief_limit_and_a_tag_that_raises_lessons_carrying_it(kb: KB) -> None:
    oldham = "2012-09-growing-up-in-oldham-survey-in-schools"
    repo_copy(kb)
    plain = json.loads(kb.run("brief", "engage people", "--limit", "3", "--format", "json").stdout)
    assert len(plain["results"]) == 3
    assert oldham not in [r["id"] for r in plain["results"]]
    res = kb.run("brief", "engage people", "--tag", "survey", "--limit", "3", "--format", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["themes"][0] == "surveys"
    by_id = {r["id"]: r for r in data["results"]}
    assert "tagged surveys" in by_id[oldham]["why"]


def test_brief_without_a_plan_or_with_nothing_related(kb: KB, tmp_path: Path) -> None:
    repo_copy(kb)
    res = kb.run("brief")
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: describe the plan: give TEXT, --from FILE, --tag")
    res = kb.run("brief", "quantum chromodynamics lattice")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr.startswith("Error: no past lessons bear on this plan\n")
    res = kb.run("brief", "--from", str(tmp_path / "missing.md"))
    assert res.exit_code == 2
    assert "no such file" in res.stderr


def test_brief_text_with_query_syntax_is_read_as_words(kb: KB) -> None:
    res = repo_copy(kb).run("brief", 'a "hashtag: -twitter* (launch', "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["results"][0]["id"] == "2012-09-hashtags-attempted-humour"


# --- actions -------------------------------------------------------------------------


def test_actions_lists_every_follow_up_earliest_due_first(kb: KB) -> None:
    res = campaign_kb(kb).run("actions")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines() == [
        # due, status, owner, id, # (the action's number in its record), what, closed
        "2020-02-01\toverdue\tOps\t2024-01-venue-late\t1\t"
        "Add venue booking to the launch checklist\t",
        "2099-01-01\topen\tComms\t2023-autumn-press\t1\tDraft releases a week early\t",
        # Closed by hand, without a date or a name: the closed column is empty.
        "\tdone\tops\t2024-03-demo-worked\t1\tKeep the demo script\t",
    ]


def test_actions_open_owner_overdue_and_filters(kb: KB) -> None:
    campaign_kb(kb)
    assert len(kb.run("actions", "--open").stdout.splitlines()) == 2
    owner = kb.run("actions", "--owner", "OPS").stdout.splitlines()
    assert [line.split("\t")[5] for line in owner] == [
        "Add venue booking to the launch checklist",
        "Keep the demo script",
    ]
    overdue = kb.run("actions", "--overdue").stdout.splitlines()
    assert [line.split("\t")[3] for line in overdue] == ["2024-01-venue-late"]
    autumn = kb.run("actions", "--campaign", "Autumn Fair").stdout.splitlines()
    assert [line.split("\t")[3] for line in autumn] == ["2023-autumn-press"]


def test_actions_json(kb: KB) -> None:
    res = campaign_kb(kb).run("actions", "--open", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["total"] == 2
    first = data["results"][0]
    assert first == {
        "id": "2024-01-venue-late",
        "title": "Venue booked too late",
        "seq": 0,
        "do": "Add venue booking to the launch checklist",
        "owner": "Ops",
        "due": "2020-02-01",
        "status": "open",
        "overdue": True,
        "n": 1,
        "closed": None,
        "closed_by": None,
    }


def test_actions_none_matching_exits_1_with_a_hint(kb: KB) -> None:
    campaign_kb(kb)
    res = kb.run("actions", "--owner", "Comz")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr == "Error: no actions owned by 'Comz'\nhint: did you mean 'Comms'?\n"
    res = kb.run("actions", "--overdue", "--campaign", "Autumn Fair", "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout) == {"total": 0, "results": []}
    assert res.stderr.startswith("Error: no overdue actions with --campaign Autumn Fair\n")


@pytest.mark.parametrize("command", ["retro", "brief", "actions"])
def test_report_commands_have_help_with_an_example(kb: KB, command: str) -> None:
    res = kb.run(command, "--help")
    assert res.exit_code == 0
    assert "Example" in res.stdout
