"""Semantic matching: records and queries as vectors, compared by cosine similarity.

The model is all-MiniLM-L6-v2, a sentence transformer, run as an int8 ONNX export on
the CPU (encoder.py): a record's vector is the transformer's reading of its first 128
word pieces (title, tags, summary, then lesson and recommendations), a query's the
reading of its words. docs/search.md says why this model, and what else was measured.

Vectors live in the index (``vector`` and ``record_vector``, store/base/vectors.py),
keyed by a hash of the model and the text: ``update_vectors`` embeds only records whose
text has no vector yet, a batch per transaction, so an interrupted run keeps what it
did. numpy is imported here, and this module only by what needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lessons.search.encoder import load_encoder

# The meta key naming the model the index's record vectors come from.
VECTOR_MODEL_KEY = "vector_model"
# Records embedded per transaction by `lessons index` (a progress step each).
BATCH = 256
# Above this many records a search compares the query with the records its words found
# (the lexical candidates, corrections included) rather than with every record: reading
# every vector of a shared index of 1,000,000 would take seconds and a gigabyte. Up to
# here reading them all is a fraction of a second (100,000 int8 vectors: 39 MB).
EVERY_VECTOR_UP_TO = 200_000


class Model(Protocol):
    """What embeds texts: the encoder (or, in tests, anything shaped like it)."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def load_model() -> Model:
    """The model of this process (encoder.py)."""
    return load_encoder()


# --- records -------------------------------------------------------------------------


def record_text(title: str, tags: str, summary: str, lesson: str | None, recs: str | None) -> str:
    """What of a record is embedded: what it is about, in its own words."""
    parts = [title, tags.replace("-", " "), summary, lesson or "", recs or ""]
    return "\n".join(p for p in parts if p)


def text_digest(text: str, model_id: str) -> str:
    """The key of a text's vector: the model and the text, hashed."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()[:32]


def to_bytes(vec: np.ndarray) -> bytes:
    """A vector as stored: its scale (float32) then int8 components, little-endian.

    A quarter of float32's size, and int8 turns into float32 fast (float16 does not):
    reading and comparing 100,000 vectors is what a hybrid search spends its time on."""
    scale = float(np.abs(vec).max()) / 127.0 or 1.0
    return (
        np.float32(scale).astype("<f4").tobytes() + np.round(vec / scale).astype(np.int8).tobytes()
    )


def from_bytes(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stored vectors as a float32 matrix, one row each (all of ``dim`` components)."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, 4 + dim)
    scales = raw[:, :4].copy().view("<f4").ravel().astype(np.float32)
    return raw[:, 4:].view(np.int8).astype(np.float32) * scales[:, None]


def usable(rows: Sequence[tuple[int, bytes]], dim: int) -> list[tuple[int, bytes]]:
    """The rows whose vectors this model can compare: a shared index may still hold
    another model's (a knowledge base published by an older `lessons`), of another size."""
    width = 4 + dim
    return [r for r in rows if len(r[1]) == width]


# Rows converted to float32 at a time: a float32 copy of 100,000 vectors would be 150 MB
# of fresh memory, slower to fault in than the arithmetic it serves.
_CHUNK = 4096


def dot_all(blobs: Sequence[bytes], query: np.ndarray) -> np.ndarray:
    """Each stored vector's dot product with ``query`` (a cosine: both are unit length)."""
    dim = len(query)
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, 4 + dim)
    comps = raw[:, 4:].view(np.int8)
    sims = np.empty(len(raw), dtype=np.float32)
    for start in range(0, len(raw), _CHUNK):
        sims[start : start + _CHUNK] = comps[start : start + _CHUNK].astype(np.float32) @ query
    return sims * raw[:, :4].copy().view("<f4").ravel()


@dataclass
class VectorReport:
    """What ``update_vectors`` did."""

    embedded: int = 0  # texts run through the model
    reused: int = 0  # records whose text had a vector already
    pruned: int = 0  # vectors no record uses any more


def update_vectors(
    store: Any,
    *,
    progress: Callable[[int, int], None] | None = None,
    model: Model | None = None,
    limit: int | None = None,
) -> VectorReport:
    """Give every record without a vector one, a batch per transaction (an interrupted
    run keeps the batches it finished); ``limit`` stops after that many records."""
    model = model or load_model()
    report = VectorReport()
    if store.get_meta(VECTOR_MODEL_KEY) != model.model_id:
        # Vectors of another model (or another layout) are not comparable with this
        # one's: every record of this knowledge base is embedded again.
        with store.transaction():
            mine = f"SELECT pk FROM record{store.own(where=True)}"
            store.execute(f"DELETE FROM record_vector WHERE pk IN ({mine})")
            store.set_meta(VECTOR_MODEL_KEY, model.model_id)
    done, total = store.vector_counts(home=True)
    todo = total - done
    finished = 0
    while limit is None or finished < limit:
        size = BATCH if limit is None else min(BATCH, limit - finished)
        rows = store.vector_todo(size)
        if not rows:
            break
        texts = [record_text(*row[1:]) for row in rows]
        digests = [text_digest(t, model.model_id) for t in texts]
        known = store.known_vectors(digests)
        fresh = [i for i, d in enumerate(digests) if d not in known]
        new: list[tuple[str, bytes]] = []
        if fresh:
            vectors = model.embed([texts[i] for i in fresh])
            new = [(digests[i], to_bytes(vectors[k])) for k, i in enumerate(fresh)]
        with store.transaction():
            store.put_vectors(new, [(row[0], d) for row, d in zip(rows, digests, strict=True)])
        report.embedded += len(fresh)
        report.reused += len(rows) - len(fresh)
        finished += len(rows)
        if progress:
            progress(min(finished, todo), max(todo, finished))
    if limit is None:
        with store.transaction():
            report.pruned = store.prune_vectors()
    return report


# --- searching -----------------------------------------------------------------------


@dataclass
class Nearest:
    """What the vectors say about a query."""

    ranked: list[tuple[int, float]]  # (pk, cosine) of the closest records, best first
    with_vectors: int  # records that have a vector
    records: int  # records in the index
    # The query's cosine to every record: its mean and standard deviation, the scale
    # fusion measures each record's closeness on.
    mean: float = 0.0
    std: float = 0.0
    cosines: dict[int, float] | None = None  # pk -> cosine, for records asked about

    def z(self, cosine: float) -> float:
        """How many standard deviations a cosine stands above the mean."""
        return (cosine - self.mean) / self.std if self.std > 0 else 0.0


def nearest(
    store: Any,
    text: str,
    allowed: Iterable[int] | None = None,
    depth: int = 100,
    model: Model | None = None,
    also: Iterable[int] = (),
    counts: tuple[int, int] | None = None,
) -> Nearest:
    """The ``depth`` records whose vectors are closest to the text's (of those ``allowed``),
    and the cosines of the records ``also`` names. Beyond ``EVERY_VECTOR_UP_TO``
    records, only the records ``also`` names are compared (none: no ranking).
    ``counts``: the store's ``vector_counts()`` when the caller has just read them."""
    model = model or load_model()
    with_vec, records = counts or store.vector_counts()
    wanted = list(also)
    among = wanted if records > EVERY_VECTOR_UP_TO else None
    rows = usable(store.record_vectors(among), model.dim)
    if not rows:
        return Nearest([], with_vec, records)
    query = model.embed([text])[0]
    if not query.any():
        return Nearest([], with_vec, records)
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sims = dot_all([r[1] for r in rows], query)
    # The background is every record compared, whatever the filters keep.
    mean, std = float(sims.mean()), float(sims.std())
    cosines: dict[int, float] = {}
    if wanted:
        order = np.argsort(pks)
        at = np.searchsorted(pks[order], wanted)
        for pk, i in zip(wanted, at, strict=True):
            if i < len(order) and pks[order[i]] == pk:
                cosines[pk] = float(sims[order[i]])
    if allowed is not None:
        keep = np.isin(pks, np.fromiter(allowed, dtype=np.int64))
        pks, sims = pks[keep], sims[keep]
    if not len(pks):
        return Nearest([], with_vec, records, mean, std, cosines)
    ranked = _best(pks, sims, depth)
    cosines.update(ranked)
    return Nearest(ranked, with_vec, records, mean, std, cosines)


def _best(pks: np.ndarray, sims: np.ndarray, depth: int) -> list[tuple[int, float]]:
    """The ``depth`` highest (pk, cosine), best first (ties by pk)."""
    k = min(depth, len(pks))
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((pks[top], -sims[top]))]
    return [(int(pks[i]), float(sims[i])) for i in top]


def fill_vectors(store: Any, at_most: int) -> tuple[int, int]:
    """Give records without a vector one, when there are at most ``at_most`` of them
    (a few records: tens of milliseconds each); best-effort: an index that cannot be
    written is used with the vectors it has. Returns ``vector_counts()`` as they stand
    after it (for ``nearest`` and ``close_to_record``, which would count again)."""
    counts = store.vector_counts()
    # What a search may embed is the home knowledge base's (in a shared index the
    # others' are their own publications' work); on a single index the two are one.
    mine = store.vector_counts(home=True) if store.shared else counts
    with_vec, records = mine
    if with_vec and store.get_meta(VECTOR_MODEL_KEY) != load_model().model_id:
        return counts  # another model's vectors: embedding every record is `index`'s work
    if 0 < records - with_vec <= at_most:
        with contextlib.suppress(Exception):
            update_vectors(store)
            counts = store.vector_counts()
    return counts


def close_to_record(
    store: Any,
    record_id: str,
    depth: int = 100,
    counts: tuple[int, int] | None = None,
    among: Iterable[str] | None = None,
) -> Nearest | None:
    """The records closest in meaning to one record (itself left out), with the spread
    of its cosines over the records compared; None when it has no vector yet. As in
    ``nearest``, beyond ``EVERY_VECTOR_UP_TO`` records only the records ``among`` names
    (refs: the caller's candidates) are compared, when it names any; every record
    otherwise. ``counts`` as for ``nearest``."""
    me = store.record_pk(record_id)
    if me is None:
        return None
    dim = load_model().dim
    with_vec, records = counts or store.vector_counts()
    # A million vectors would cross into Python (about 1.5 GB as float32) for one record.
    wanted = None
    if among is not None and records > EVERY_VECTOR_UP_TO:
        # Their keys looked up only here: a smaller index compares every record.
        wanted = {me, *store.pks_of(among).values()}
    rows = usable(store.record_vectors(wanted), dim)
    mine = next((vec for pk, vec in rows if pk == me), None)
    if mine is None:
        return None
    query = from_bytes([mine], dim)[0]
    query /= float(np.linalg.norm(query)) or 1.0
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sims = dot_all([r[1] for r in rows], query)
    others = pks != me
    pks, sims = pks[others], sims[others]
    if not len(pks):
        return Nearest([], with_vec, records)
    mean, std = float(sims.mean()), float(sims.std())
    ranked = _best(pks, sims, depth)
    # Every record's cosine: related scores candidates found by their words too.
    cosines = dict(zip(pks.tolist(), sims.tolist(), strict=True))
    return Nearest(ranked, with_vec, records, mean, std, cosines)


def all_vectors(store: Any) -> dict[int, np.ndarray]:
    """pk -> unit vector (float32) of every record that has one (of this model)."""
    dim = load_model().dim
    rows = usable(store.record_vectors(), dim)
    matrix = from_bytes([vec for _, vec in rows], dim)
    return {pk: matrix[i] for i, (pk, _) in enumerate(rows)}
