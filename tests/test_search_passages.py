"""The semantic side: records embedded whole and by passage, Rocchio feedback from the
first lexical hits, and vectors of another model embedded again (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from lessons.kb import KnowledgeBase
from lessons.search import DEFAULT_TUNING, search
from lessons.search.semantic import (
    MAX_PASSAGES,
    PASSAGE_WORDS,
    VECTOR_MODEL_KEY,
    dot_all,
    fill_vectors,
    from_bytes,
    load_model,
    nearest,
    record_bytes,
    record_passages,
    to_bytes,
    update_vectors,
)
from tests.conftest import KB


def _open(kb: KB) -> KnowledgeBase:
    base = KnowledgeBase.open(str(kb.root))
    base.sync()
    update_vectors(base.store)
    return base


def _unit(*values: float) -> np.ndarray:
    vec = np.array(values, dtype=np.float32)
    return vec / np.linalg.norm(vec)


def test_passages_are_the_title_with_tags_then_sentences_grouped() -> None:
    sentence = "The cooling plant stopped during the heat wave and servers overheated."
    body = " ".join([sentence] * 12)
    out = record_passages("Cooling failure", "heat-wave, cooling", body, None, None)
    assert out[0] == "Cooling failure heat wave, cooling"
    # Sentences are joined until a passage has PASSAGE_WORDS words, never cut inside.
    assert all(p.endswith(".") for p in out[1:])
    assert all(len(p.split()) >= PASSAGE_WORDS for p in out[1:-1])
    assert " ".join(out[1:]) == body


def test_a_very_long_record_keeps_at_most_max_passages() -> None:
    body = " ".join(f"Sentence number {i} says one thing about the outage." for i in range(600))
    out = record_passages("Long", "", body, "a lesson", "a recommendation")
    assert len(out) == MAX_PASSAGES
    assert out[0] == "Long"


def test_a_record_scores_the_mean_of_its_whole_text_and_its_best_passage() -> None:
    query = _unit(1, 0, 0, 0)
    whole = _unit(1, 1, 1, 1)  # cosine 0.5 with the query
    passages = np.stack([_unit(0, 1, 0, 0), _unit(1, 0, 0, 0)])  # 0, then 1
    blob = record_bytes(whole, passages)
    plain = to_bytes(whole)  # stored before passages: the whole text only
    sims = dot_all([blob, plain], query)
    assert sims[0] == pytest.approx((0.5 + 1.0) / 2, abs=0.01)
    assert sims[1] == pytest.approx(0.5, abs=0.01)
    # Whole texts only (related records, the ablation).
    assert dot_all([blob, plain], query, passages=False) == pytest.approx([0.5, 0.5], abs=0.01)
    # Reading a record's vector back gives its whole text's.
    assert from_bytes([blob], 4)[0] == pytest.approx(whole, abs=0.01)


def test_a_long_record_with_one_passage_on_the_subject_is_found_by_meaning(kb: KB) -> None:
    filler = " ".join(
        f"The quarterly budget review {i} discussed spending, invoices and hiring plans."
        for i in range(20)
    )
    kb.add(
        "long",
        title="Quarterly review",
        summary=filler + " Separately, the chillers failed during the heat wave and the"
        " servers overheated.",
    )
    for i in range(8):
        kb.add(f"b{i}", title=f"Budget review {i}", summary="Spending and invoices were reviewed.")
    base = _open(kb)
    query = "servers overheating in hot weather"
    pk = base.store.record_pk("long")
    assert pk is not None
    found = nearest(base.store, query, depth=3, also=[pk])
    whole_only = nearest(base.store, query, depth=3, also=[pk], passages=False)
    assert found.ranked[0][0] == pk
    # Its whole text is about budgets: by that alone it is not the closest record.
    assert whole_only.ranked[0][0] != pk
    assert found.z(found.cosines[pk]) > whole_only.z(whole_only.cosines[pk])


def test_feedback_moves_the_query_towards_the_first_lexical_hits(kb: KB) -> None:
    kb.add("cool", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    kb.add("cert", title="Certificate expired", summary="The TLS certificate lapsed at night.")
    for i in range(6):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")
    base = _open(kb)
    cool = base.store.record_pk("cool")
    plain = nearest(base.store, "chillers", also=[cool])
    moved = nearest(base.store, "chillers", also=[cool], feedback=[cool])
    assert moved.cosines[cool] > plain.cosines[cool]
    # No weight, no move.
    still = nearest(base.store, "chillers", also=[cool], feedback=[cool], feedback_weight=0.0)
    assert still.cosines[cool] == pytest.approx(plain.cosines[cool])


def test_feedback_is_used_in_hybrid_search_only(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    import lessons.search.semantic as semantic

    kb.add("cool", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    kb.add("cert", title="Certificate expired", summary="The TLS certificate lapsed at night.")
    base = _open(kb)
    seen: dict[str, object] = {}
    real = semantic.nearest

    def spy(*args: object, **kwargs: object) -> object:
        seen["feedback"] = kwargs.get("feedback")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(semantic, "nearest", spy)
    search(base.store, "chillers heat", mode="hybrid")
    assert seen["feedback"] == [base.store.record_pk("cool")]
    search(base.store, "chillers heat", mode="semantic")
    assert not seen["feedback"]
    from dataclasses import replace

    search(base.store, "chillers heat", tuning=replace(DEFAULT_TUNING, semantic_feedback=0.0))
    assert seen["feedback"] == [base.store.record_pk("cool")]  # asked, at weight 0


def test_vectors_of_another_model_are_embedded_again_by_themselves(kb: KB) -> None:
    kb.add("a", title="Certificate expired", summary="The TLS certificate lapsed.")
    base = _open(kb)
    model = load_model()
    assert base.store.get_meta(VECTOR_MODEL_KEY) == model.model_id
    again = update_vectors(base.store)
    assert again.embedded == 0 and again.reused == 0
    newer = type(model)(model.pieces, model.vectors, model.scales, model.weights, "next-model")
    report = update_vectors(base.store, model=newer)
    assert report.embedded == 1
    assert report.pruned == 1
    assert base.store.get_meta(VECTOR_MODEL_KEY) == "next-model"
    assert base.store.vector_counts() == (1, 1)


def test_a_search_leaves_another_models_vectors_to_the_index_command(kb: KB) -> None:
    kb.add("a", title="Certificate expired", summary="The TLS certificate lapsed.")
    base = _open(kb)
    with base.store.transaction():
        base.store.set_meta(VECTOR_MODEL_KEY, "an-older-model")
    kb.add("b", title="Cooling failure", summary="The chillers stopped.")
    base.sync()
    fill_vectors(base.store, 256)
    # Not embedded inline: that would mean every record, inside a search.
    assert base.store.vector_counts() == (1, 2)
    report = update_vectors(base.store)
    # Record a's text had this model's vector in the cache already: reused, not embedded.
    assert (report.embedded, report.reused) == (1, 1)
    assert base.store.vector_counts() == (2, 2)
