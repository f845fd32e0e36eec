"""Semantic matching: records and queries as vectors, compared by cosine similarity.

The model is static (model2vec's kind): a vector per word piece of all-MiniLM-L6-v2's
vocabulary, distilled from that transformer by ``scripts/distil_model.py`` and shipped
in ``lessons/search/model/`` (about 8 MB). A text's vector is the weighted mean of its
pieces' vectors. No neural network runs, nothing is downloaded, and only numpy is
needed, so embedding 10,000 records takes seconds and a query about a millisecond;
docs/search.md says why this model and not the transformer itself.

Vectors live in the index (``vector`` and ``record_vector``, store/base.py), keyed by
a hash of the model and the text: ``update_vectors`` embeds only records whose text
has no vector yet, a batch per transaction, so an interrupted run keeps what it did.
numpy is imported here, and this module only by what needs it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "model"
# Part of every vector's digest: a new model (or a new way to build a record's text)
# gets a new id, and every record is embedded again by the next `lessons index`.
MODEL_ID = "minilm-l6-static-256-v1/int8"
# Records embedded per transaction by `lessons index` (a progress step each).
BATCH = 512
_SPLIT = re.compile(r"[^\W_]+")


class WordPieces:
    """BERT's uncased WordPiece: lower case, accents off, greedy longest pieces."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.ids = {piece: i for i, piece in enumerate(vocab)}
        self.unknown = self.ids.get("[UNK]", 0)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one model per process, kept for good
    def word(self, word: str) -> tuple[int, ...]:
        """The piece ids of one word (lower case, no accents)."""
        if len(word) > 100:
            return (self.unknown,)
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unknown,)
            out.append(found)
            start = end
        return tuple(out)

    def text(self, text: str) -> list[int]:
        """The piece ids of a text."""
        folded = unicodedata.normalize("NFD", text.lower())
        folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")
        return [p for w in _SPLIT.findall(folded) for p in self.word(w)]


@dataclass
class StaticModel:
    """Piece vectors (int8 with a scale per row) and the weight of each piece."""

    pieces: WordPieces
    vectors: np.ndarray
    scales: np.ndarray
    weights: np.ndarray
    model_id: str = MODEL_ID

    @property
    def dim(self) -> int:
        """Components per vector."""
        return int(self.vectors.shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32, one row per text; zeros for a text with no words)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.pieces.text(text)
            if not ids:
                continue
            idx = np.fromiter(ids, dtype=np.int64, count=len(ids))
            w = self.weights[idx] * self.scales[idx]
            vec = w @ self.vectors[idx].astype(np.float32)
            norm = float(np.linalg.norm(vec))
            if norm:
                out[row] = vec / norm
        return out


@functools.lru_cache(maxsize=1)
def load_model() -> StaticModel:
    """The shipped model (read once per process; the vectors are memory-mapped)."""
    vocab = (MODEL_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return StaticModel(
        pieces=WordPieces(vocab),
        vectors=np.load(MODEL_DIR / "vectors.npy", mmap_mode="r"),
        scales=np.load(MODEL_DIR / "scales.npy"),
        weights=np.load(MODEL_DIR / "weights.npy"),
    )


# --- records -------------------------------------------------------------------------


def record_text(title: str, tags: str, summary: str, lesson: str | None, recs: str | None) -> str:
    """What of a record is embedded: what it is about, in its own words."""
    parts = [title, tags.replace("-", " "), summary, lesson or "", recs or ""]
    return "\n".join(p for p in parts if p)


def text_digest(text: str, model_id: str = MODEL_ID) -> str:
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


def _unpack(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Stored vectors as (int8 components, one row each; float32 scales)."""
    width = len(blobs[0])
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), width)
    return raw[:, 4:].view(np.int8), raw[:, :4].copy().view("<f4").ravel().astype(np.float32)


def from_bytes(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored vectors back as a float32 matrix, one row each."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    comps, scales = _unpack(blobs)
    return comps.astype(np.float32) * scales[:, None]


# Rows converted to float32 at a time: a float32 copy of 100,000 vectors would be 100 MB
# of fresh memory, slower to fault in than the arithmetic it serves.
_CHUNK = 4096


def dot_all(blobs: Sequence[bytes], query: np.ndarray) -> np.ndarray:
    """The dot product of every stored vector with ``query``."""
    comps, scales = _unpack(blobs)
    out = np.empty(len(blobs), dtype=np.float32)
    for start in range(0, len(blobs), _CHUNK):
        out[start : start + _CHUNK] = comps[start : start + _CHUNK].astype(np.float32) @ query
    return out * scales


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
    model: StaticModel | None = None,
    limit: int | None = None,
) -> VectorReport:
    """Give every record without a vector one, a batch per transaction (an interrupted
    run keeps the batches it finished); ``limit`` stops after that many records."""
    model = model or load_model()
    report = VectorReport()
    done, total = store.vector_counts()
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
    model: StaticModel | None = None,
    also: Iterable[int] = (),
) -> Nearest:
    """The ``depth`` records whose vectors are closest to the text's (of those ``allowed``),
    and the cosines of the records ``also`` names."""
    model = model or load_model()
    with_vec, records = store.vector_counts()
    rows = store.record_vectors()
    if not rows:
        return Nearest([], with_vec, records)
    query = model.embed([text])[0]
    if not query.any():
        return Nearest([], with_vec, records)
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sims = dot_all([r[1] for r in rows], query)
    # The background is every record, whatever the filters keep.
    mean, std = float(sims.mean()), float(sims.std())
    wanted = list(also)
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
    k = min(depth, len(pks))
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((pks[top], -sims[top]))]
    ranked = [(int(pks[i]), float(sims[i])) for i in top]
    cosines.update(ranked)
    return Nearest(ranked, with_vec, records, mean, std, cosines)


def fill_vectors(store: Any, at_most: int) -> None:
    """Give records without a vector one, when there are at most ``at_most`` of them
    (a static model embeds a few hundred in milliseconds); best-effort: an index that
    cannot be written is used with the vectors it has."""
    with_vec, records = store.vector_counts()
    if 0 < records - with_vec <= at_most:
        with contextlib.suppress(Exception):
            update_vectors(store)


def close_to_record(store: Any, record_id: str, depth: int = 100) -> Nearest | None:
    """The records closest in meaning to one record (itself left out), with the spread
    of its cosines over the whole index; None when it has no vector yet."""
    me = store.record_pk(record_id)
    rows = store.record_vectors()
    mine = next((vec for pk, vec in rows if pk == me), None)
    if me is None or mine is None:
        return None
    with_vec, records = store.vector_counts()
    query = from_bytes([mine])[0]
    query /= float(np.linalg.norm(query)) or 1.0
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sims = dot_all([r[1] for r in rows], query)
    others = pks != me
    pks, sims = pks[others], sims[others]
    if not len(pks):
        return Nearest([], with_vec, records)
    mean, std = float(sims.mean()), float(sims.std())
    k = min(depth, len(pks))
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((pks[top], -sims[top]))]
    ranked = [(int(pks[i]), float(sims[i])) for i in top]
    # Every record's cosine: related scores candidates found by their words too.
    cosines = dict(zip(pks.tolist(), sims.tolist(), strict=True))
    return Nearest(ranked, with_vec, records, mean, std, cosines)


def all_vectors(store: Any) -> dict[int, np.ndarray]:
    """pk -> unit vector (float32) of every record that has one."""
    rows = store.record_vectors()
    matrix = from_bytes([vec for _, vec in rows])
    return {pk: matrix[i] for i, (pk, _) in enumerate(rows)}
