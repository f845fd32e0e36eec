"""The semantic side's vectors: how they are stored and read, vectors of another model
left out or embedded again (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from lessons.kb import KnowledgeBase
from lessons.search import search
from lessons.search.semantic import (
    VECTOR_MODEL_KEY,
    dot_all,
    fill_vectors,
    from_bytes,
    load_model,
    nearest,
    to_bytes,
    update_vectors,
    usable,
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


def test_a_vector_is_stored_as_int8_with_a_scale_and_read_back() -> None:
    whole = _unit(1, 2, -3, 4)
    blob = to_bytes(whole)
    assert len(blob) == 4 + 4  # a float32 scale, then one byte per component
    assert from_bytes([blob], 4)[0] == pytest.approx(whole, abs=0.01)
    query = _unit(1, 0, 0, 0)
    other = to_bytes(_unit(0, 1, 0, 0))
    assert dot_all([blob, other], query) == pytest.approx([float(whole[0]), 0.0], abs=0.01)


def test_vectors_of_another_size_are_left_out_not_compared() -> None:
    # A shared index may hold a knowledge base published by an older `lessons` whose
    # model had another size: its vectors are skipped, never misread.
    mine = (1, to_bytes(_unit(1, 0, 0, 0)))
    older = (2, to_bytes(_unit(1, 0, 0, 0, 0, 0)))
    passages = (3, to_bytes(_unit(1, 0, 0)) * 3)
    assert usable([mine, older, passages], 4) == [mine]


def test_a_shared_index_with_another_models_vectors_still_searches(kb: KB) -> None:
    kb.add("cool", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    kb.add("cert", title="Certificate expired", summary="The TLS certificate lapsed at night.")
    base = _open(kb)
    cert = base.store.record_pk("cert")
    with base.store.transaction():
        # As a knowledge base published by an older `lessons` would have left it.
        base.store.execute(
            "UPDATE record_vector SET vec = ? WHERE pk = ?", (to_bytes(_unit(1, 0, 0)), cert)
        )
    found = nearest(base.store, "servers overheating in hot weather", also=[cert])
    assert [pk for pk, _ in found.ranked] == [base.store.record_pk("cool")]
    assert cert not in (found.cosines or {})


def test_vectors_of_another_model_are_embedded_again_by_themselves(kb: KB) -> None:
    kb.add("a", title="Certificate expired", summary="The TLS certificate lapsed.")
    base = _open(kb)
    model = load_model()
    assert base.store.get_meta(VECTOR_MODEL_KEY) == model.model_id
    again = update_vectors(base.store)
    assert again.embedded == 0 and again.reused == 0

    class Newer(type(model)):  # type: ignore[misc]
        model_id = "next-model"

    newer = Newer()
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


def _candidates_only(kb: KB, store: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond EVERY_VECTOR_UP_TO records, meaning re-ranks the records the words found."""
    import lessons.search.semantic as semantic

    cool = store.record_pk("cool")  # type: ignore[attr-defined]
    heat = store.record_pk("heat")  # type: ignore[attr-defined]
    query = "servers overheating in hot weather"
    every = nearest(store, query, also=[cool])
    assert {pk for pk, _ in every.ranked} >= {cool, heat}
    monkeypatch.setattr(semantic, "EVERY_VECTOR_UP_TO", 1)
    few = nearest(store, query, also=[cool])
    # Only the candidate was read: the other record close in meaning was not compared.
    assert [pk for pk, _ in few.ranked] == [cool]
    assert few.cosines == {cool: pytest.approx(every.cosines[cool], abs=1e-6)}


def _meaning_kb(kb: KB) -> None:
    kb.add("cool", title="Cooling failure", summary="The chillers stopped in a heat wave.")
    kb.add("heat", title="Server room too hot", summary="Racks overheated in the summer.")
    for i in range(4):
        kb.add(f"f{i}", title=f"Budget meeting {i}", summary="Finance reviewed spending.")


def test_a_large_index_compares_the_query_with_its_word_candidates_only(
    kb: KB, monkeypatch: pytest.MonkeyPatch
) -> None:
    _meaning_kb(kb)
    _candidates_only(kb, _open(kb).store, monkeypatch)


def test_a_large_shared_index_compares_the_word_candidates_only(
    kb: KB, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _meaning_kb(kb)
    assert kb.run("--db", pg_url, "index").exit_code == 0
    from lessons.store import open_store

    store = open_store(pg_url)
    try:
        _candidates_only(kb, store, monkeypatch)
    finally:
        store.close()


def test_a_record_without_a_vector_yet_is_neither_helped_nor_pushed_down_by_meaning() -> None:
    from lessons.search.fuse import pooled

    words = [(1, 3.0, 0), (2, 2.0, 0), (3, 1.9, 0)]
    cosines = {1: 0.6, 3: 0.59}  # record 2 has no vector yet
    fused = pooled(
        words,
        sorted(cosines.items(), key=lambda kv: -kv[1]),
        semantic_z=lambda c: 0.0,
        cosine_of=cosines.get,
        tiered=False,
    )
    # Its words put it above record 3, whose cosine is barely below record 1's: a
    # missing cosine counted as 0 would have put it last.
    assert [f.pk for f in fused] == [1, 2, 3]
    assert fused[1].semantic_score is None


def test_an_excluded_word_keeps_its_records_out_of_meaning_too(kb: KB) -> None:
    _meaning_kb(kb)
    store = _open(kb).store
    found = {h.id for h in search(store, "servers overheating in hot weather", limit=10).hits}
    assert {"cool", "heat"} <= found
    without = search(store, "servers overheating in hot weather -chillers", limit=10)
    assert "cool" not in {h.id for h in without.hits}
    assert "heat" in {h.id for h in without.hits}


def test_a_query_is_embedded_by_the_quick_session_as_index_embeds_it() -> None:
    from lessons.search.encoder import QUICK_UP_TO, Encoder

    texts = [
        "why did the certificate expire during the launch",
        "servers overheating in a heat wave",
        "disk backup",
    ]
    query = Encoder()
    one = np.vstack([query.embed([t]) for t in texts])
    # A search's few texts open only the session that opens fast...
    assert "_quick_session" in vars(query) and "_session" not in vars(query)
    bulk = Encoder()
    many = bulk.embed(texts * (QUICK_UP_TO // len(texts) + 1))[: len(texts)]
    # ...index's many texts the optimised one; the vectors are the same.
    assert "_session" in vars(bulk) and "_quick_session" not in vars(bulk)
    assert np.all((one * many).sum(axis=1) > 0.99999)
    # Once the optimised session is open, it embeds everything.
    bulk.embed(["one more"])
    assert "_quick_session" not in vars(bulk)


def test_the_count_of_records_with_a_vector_stays_true_through_edits(kb: KB) -> None:
    """The embedded index counts vector rows without joining them to the records: that
    holds only while a record's vector goes with it, which this checks."""
    for i in range(6):
        kb.add(f"r{i}", title=f"Record {i} about backups", summary=f"Backup {i} failed.")
    base = _open(kb)

    def joined() -> int:
        return int(
            base.store.one("SELECT count(*) FROM record_vector v JOIN record r ON r.pk = v.pk")[0]
        )

    assert base.store.vector_counts() == (6, 6) and joined() == 6
    (kb.root / "entries" / "r1.yaml").unlink()
    kb.add("r2", title="Record 2 rewritten", summary="Now about restores.")
    kb.add("r9", title="A new record", summary="About disks.")
    base.sync()
    # r1 gone with its vector, r2 changed (its vector dropped), r9 new (none yet).
    assert base.store.vector_counts() == (4, 6) == (joined(), base.store.count())
    update_vectors(base.store)
    assert base.store.vector_counts() == (6, 6) and joined() == 6


def test_a_vector_for_a_record_removed_meanwhile_is_not_stored(kb: KB) -> None:
    # `index` reads the records to embed, then stores their vectors: a record another
    # run removed in between gets none, so every vector row stays a live record's.
    kb.add("r0", title="Record about backups", summary="Backup failed.")
    base = _open(kb)
    vec = to_bytes(np.ones(384, dtype=np.float32) / np.sqrt(384))
    with base.store.transaction():
        base.store.put_vectors([("gone-digest", vec)], [(987654, "gone-digest")])
    rows = base.store.one("SELECT count(*) FROM record_vector WHERE pk = 987654")[0]
    assert rows == 0
    assert base.store.vector_counts() == (1, 1)
