"""Recurrence by meaning: two mistakes that say the same thing in other words are found
by their vectors, and without vectors the comparison falls back to words and says so.

Real knowledge bases in temporary folders, indexed by the real commands."""

from __future__ import annotations

import json

from lessons.kb import KnowledgeBase
from lessons.links import recurrence
from tests.conftest import KB

# The same mistake twice, a year apart, sharing almost no word.
PATCH = (
    "laptops-patch",
    "2023-02-10",
    "A vendor's update knocked every laptop offline",
    "The supplier pushed a new version overnight and in the morning no staff computer"
    " could connect to the network.",
)
BRICKED = (
    "fleet-bricked",
    "2024-06-18",
    "Faulty patch from the supplier bricked the fleet",
    "An automatic upgrade from the manufacturer left all our workstations unable to join"
    " the wifi until IT rolled it back.",
)
# Other mistakes, about other things, so that the words and vectors have a background.
OTHERS = [
    (
        "Expired TLS certificate broke the payment page",
        "Nobody renewed the certificate and checkout failed for a day.",
    ),
    (
        "Launch slipped because the venue was double booked",
        "The conference room was booked twice and the launch moved a week.",
    ),
    (
        "Survey got few answers",
        "The survey was twenty pages long and most people gave up halfway.",
    ),
    (
        "Press release went out with the wrong date",
        "The embargo date in the release was a month early.",
    ),
    (
        "Volunteer rota had gaps over the holidays",
        "Nobody owned the rota in December and three shifts were empty.",
    ),
    (
        "Translation of the leaflet arrived late",
        "The translator was briefed two days before printing.",
    ),
    (
        "Budget spreadsheet had a formula error",
        "A sum skipped the last row and the forecast was short.",
    ),
    (
        "Database migration locked the orders table",
        "The migration ran at noon and orders timed out for an hour.",
    ),
    (
        "Social media post used an unlicensed photo",
        "The picture came from a search engine and the owner complained.",
    ),
    (
        "Workshop feedback forms were lost",
        "The paper forms were left in the room and thrown away.",
    ),
]
# Below the default (0.5): short records share few words, and meaning is averaged with them.
THRESHOLD = "0.25"
PAIR = ("laptops-patch", "fleet-bricked")


def _write(kb: KB, others: int = len(OTHERS)) -> None:
    for rid, date, title, summary in (PATCH, BRICKED):
        kb.add(rid, date=date, title=title, summary=summary, lesson=None)
    for i in range(others):
        title, summary = OTHERS[i % len(OTHERS)]
        # One day for all of them: one occasion, so they are never paired with each other.
        kb.add(f"other-{i:03d}", date="2022-05-15", title=title, summary=summary, lesson=None)


def _pairs(found: list) -> list[tuple[str, str]]:
    return [(r.earlier["id"], r.later["id"]) for r in found]


def test_the_same_mistake_in_other_words_recurs_only_with_vectors(kb: KB) -> None:
    _write(kb)
    assert kb.run("index").exit_code == 0  # words, then vectors
    base = KnowledgeBase.open(str(kb.root))
    words_only = recurrence(base, min_score=float(THRESHOLD), meaning=False)
    assert PAIR not in _pairs(words_only)
    found = recurrence(base, min_score=float(THRESHOLD))
    assert _pairs(found)[0] == PAIR
    top = found[0]
    assert top.text_similarity < 0.1  # the words alone say little
    assert top.semantic_similarity is not None and top.score > top.text_similarity
    assert found.without_vectors == 0
    assert found.mistakes == len(OTHERS) + 2
    # The command line shows it, and says nothing about missing vectors.
    res = kb.run("related", "--recurring", "--min-score", THRESHOLD, "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    first = data["results"][0]
    assert (first["earlier"]["id"], first["later"]["id"]) == PAIR
    assert first["semantic_similarity"] == top.semantic_similarity
    assert "without_vectors" not in data
    assert "meaning was compared" not in res.stderr
    shown = kb.run("related", "--recurring", "--min-score", THRESHOLD).stdout
    assert "candidate, closer in meaning than in words" in shown.splitlines()[0]


def test_without_vectors_recurrence_compares_words_and_says_so(kb: KB) -> None:
    from lessons.search import INLINE_EMBED

    # More records without vectors than a command embeds by itself: until `lessons
    # index` runs, the mistakes are compared by their words alone.
    others = INLINE_EMBED + 10
    _write(kb, others)
    res = kb.run("related", "--recurring", "--min-score", THRESHOLD)
    total = others + 2
    assert f"meaning was compared for 0 of {total} mistakes" in res.stderr
    assert "`lessons index`" in res.stderr
    assert "laptops-patch" not in res.stdout
    as_json = json.loads(kb.run("related", "--recurring", "--min-score", "0.2", "--json").stdout)
    assert as_json["without_vectors"] == total
    retro = kb.run("retro", "--format", "json")
    note = json.loads(retro.stdout)["recurring"]["note"]
    assert f"compared by meaning for 0 of {total} mistakes" in note

    assert kb.run("index").exit_code == 0
    res = kb.run("related", "--recurring", "laptops-patch", "--min-score", THRESHOLD, "--json")
    data = json.loads(res.stdout)
    assert "without_vectors" not in data and "meaning was compared" not in res.stderr
    first = data["results"][0]
    assert (first["earlier"]["id"], first["later"]["id"]) == PAIR
    assert first["semantic_similarity"] is not None
    assert json.loads(kb.run("retro", "--format", "json").stdout)["recurring"]["note"] is None
