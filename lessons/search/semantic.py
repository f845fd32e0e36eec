"""Semantic matching: records and queries as vectors, compared by cosine similarity.

The model is static (model2vec's kind): a vector per word piece of all-MiniLM-L6-v2's
vocabulary, distilled from that transformer by ``scripts/distil_model.py`` and shipped
in ``lessons/search/model/`` (about 8 MB). A text's vector is the weighted mean of its
pieces' vectors. No neural network runs, nothing is downloaded, and only numpy is
needed, so embedding 10,000 records takes seconds and a query about a millisecond;
docs/search.md says why this model and not the transformer itself.

A record is stored as several vectors: its whole text first, then its passages (the
title with the tags, and its text cut at sentence ends into pieces of about
``PASSAGE_WORDS`` words). A query is compared with both, and a record scores the mean
of its whole-text cosine and its best passage's: a long post-mortem whose one
paragraph is about the query is not drowned by the rest of its text, and a record
that is about the query throughout still counts as such (document and best-passage
evidence combined, as in passage retrieval: Callan, SIGIR 1994). Measured on every
judged set in docs/search.md.

In a hybrid search the query's vector is also moved towards the vectors of the first
few records the words found (Rocchio's relevance feedback, with those records taken
as relevant): the words anchor what the query is about, and meaning then finds
records close to that rather than to the bare query, whose few words a static model
embeds poorly.

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
MODEL_ID = "minilm-l6-static-256-v1/int8+passages"
# The meta key naming the model the index's record vectors come from.
VECTOR_MODEL_KEY = "vector_model"
# Records embedded per transaction by `lessons index` (a progress step each).
BATCH = 512
_SPLIT = re.compile(r"[^\W_]+")
# Passages: sentences are joined until a passage has this many words; a record keeps
# at most MAX_PASSAGES of them (the first: a very long record is cut, not skipped).
PASSAGE_WORDS = 40
MAX_PASSAGES = 16
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# Relevance feedback in hybrid search: this share of the mean vector of the first
# FEEDBACK_DOCS records the words found is added to the query's vector.
FEEDBACK_WEIGHT = 0.5
FEEDBACK_DOCS = 3


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


def record_passages(
    title: str, tags: str, summary: str, lesson: str | None, recs: str | None
) -> list[str]:
    """The passages of a record embedded beside its whole text: the title with the tags,
    then its text in pieces of about ``PASSAGE_WORDS`` words, cut at sentence ends."""
    head = " ".join(p for p in (title, tags.replace("-", " ")) if p)
    body = "\n".join(p for p in (summary, lesson or "", recs or "") if p)
    out = [head] if head else []
    current: list[str] = []
    words = 0
    for sentence in _SENTENCE_END.split(body):
        if not sentence.strip():
            continue
        current.append(sentence)
        words += len(sentence.split())
        if words >= PASSAGE_WORDS:
            out.append(" ".join(current))
            current, words = [], 0
    if current:
        out.append(" ".join(current))
    return out[:MAX_PASSAGES]


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


def record_bytes(whole: np.ndarray, passages: np.ndarray) -> bytes:
    """A record's vectors as stored: its whole text's, then each passage's (to_bytes)."""
    return to_bytes(whole) + b"".join(to_bytes(v) for v in passages)


def _unpack(blobs: Sequence[bytes], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored vectors as (int8 components, one row per vector; float32 scales; the
    number of vectors of each record: 1 + its passages)."""
    width = 4 + dim
    counts = np.fromiter((len(b) // width for b in blobs), dtype=np.int64, count=len(blobs))
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, width)
    return (
        raw[:, 4:].view(np.int8),
        raw[:, :4].copy().view("<f4").ravel().astype(np.float32),
        counts,
    )


def from_bytes(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stored records' whole-text vectors as a float32 matrix, one row each."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    width = 4 + dim
    comps, scales, _ = _unpack([b[:width] for b in blobs], dim)
    return comps.astype(np.float32) * scales[:, None]


# Rows converted to float32 at a time: a float32 copy of 100,000 vectors would be 100 MB
# of fresh memory, slower to fault in than the arithmetic it serves.
_CHUNK = 4096


def dot_all(blobs: Sequence[bytes], query: np.ndarray, passages: bool = True) -> np.ndarray:
    """Each stored record's closeness to ``query``: the mean of its whole text's dot
    product and its best passage's (``passages``), or its whole text's alone."""
    if not passages:
        width = 4 + len(query)
        blobs = [b[:width] for b in blobs]
    comps, scales, counts = _unpack(blobs, len(query))
    sims = np.empty(len(comps), dtype=np.float32)
    for start in range(0, len(comps), _CHUNK):
        sims[start : start + _CHUNK] = comps[start : start + _CHUNK].astype(np.float32) @ query
    sims *= scales
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    whole = sims[starts]
    if not passages or len(sims) == len(counts):
        return whole
    # Every record's best passage (its whole text's row left out); a record stored
    # without passages (an index embedded before passages) has its whole text only.
    of_passages = sims.copy()
    of_passages[starts] = -np.inf
    best = np.where(counts > 1, np.maximum.reduceat(of_passages, starts), whole)
    return ((whole + best) / 2).astype(np.float32)


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
    if store.get_meta(VECTOR_MODEL_KEY) != model.model_id:
        # Vectors of another model (or another layout) are not comparable with this
        # one's: every record of this knowledge base is embedded again.
        with store.transaction():
            mine = f"SELECT pk FROM record{store.own(where=True)}"
            store.execute(f"DELETE FROM record_vector WHERE pk IN ({mine})")
            store.set_meta(VECTOR_MODEL_KEY, model.model_id)
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
            passages = [record_passages(*rows[i][1:]) for i in fresh]
            flat = model.embed([p for ps in passages for p in ps])
            at = 0
            for k, i in enumerate(fresh):
                own = flat[at : at + len(passages[k])]
                at += len(passages[k])
                new.append((digests[i], record_bytes(vectors[k], own)))
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
    feedback: Sequence[int] = (),
    feedback_weight: float = FEEDBACK_WEIGHT,
    passages: bool = True,
) -> Nearest:
    """The ``depth`` records whose vectors are closest to the text's (of those ``allowed``),
    and the cosines of the records ``also`` names. The query's vector is moved towards
    the mean vector of the records ``feedback`` names by ``feedback_weight`` (Rocchio);
    ``passages``: records score by whole text and best passage, else whole text only."""
    model = model or load_model()
    with_vec, records = store.vector_counts()
    rows = store.record_vectors()
    if not rows:
        return Nearest([], with_vec, records)
    query = model.embed([text])[0]
    if not query.any():
        return Nearest([], with_vec, records)
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if feedback and feedback_weight:
        query = _towards(query, rows, pks, feedback, feedback_weight)
    sims = dot_all([r[1] for r in rows], query, passages)
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


def _towards(
    query: np.ndarray,
    rows: Sequence[tuple[int, bytes]],
    pks: np.ndarray,
    feedback: Sequence[int],
    weight: float,
) -> np.ndarray:
    """Rocchio: the query's unit vector plus ``weight`` times the mean of the whole-text
    vectors of the records ``feedback`` names, made unit again."""
    at = np.flatnonzero(np.isin(pks, np.asarray(feedback, dtype=np.int64)))
    picked = [rows[i][1] for i in at.tolist()]
    if not picked:
        return query
    centre = from_bytes(picked, len(query)).mean(axis=0)
    moved = query + weight * centre
    norm = float(np.linalg.norm(moved))
    return (moved / norm).astype(np.float32) if norm else query


def fill_vectors(store: Any, at_most: int) -> None:
    """Give records without a vector one, when there are at most ``at_most`` of them
    (a static model embeds a few hundred in milliseconds); best-effort: an index that
    cannot be written is used with the vectors it has."""
    with_vec, records = store.vector_counts()
    if with_vec and store.get_meta(VECTOR_MODEL_KEY) != load_model().model_id:
        return  # another model's vectors: embedding every record again is `index`'s work
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
    dim = load_model().dim
    query = from_bytes([mine], dim)[0]
    query /= float(np.linalg.norm(query)) or 1.0
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    # Record to record: whole texts (a record is one subject, not a query's few words).
    sims = dot_all([r[1] for r in rows], query, passages=False)
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
    matrix = from_bytes([vec for _, vec in rows], load_model().dim)
    return {pk: matrix[i] for i, (pk, _) in enumerate(rows)}
