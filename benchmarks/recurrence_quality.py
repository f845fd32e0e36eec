"""Recurrence quality: words alone against words and meaning, on judged recurring pairs.

    python benchmarks/recurrence_quality.py [--eval ../shared/eval]

The judged file (``benchmarks/judged/recurrence-aiid.json``) names a slice of a corpus
in ``../shared/eval`` and the recurring pairs among its records, judged by reading
them before the detector ran. The slice is loaded into a temporary knowledge base as
the search benchmark does (``lessons import``, then words and vectors), and
``lessons.links.recurrence`` is run with and without meaning at several thresholds;
the table gives the pairs found, how many are judged pairs, precision and recall.
Skips cleanly when the eval folder is absent.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from search_quality import DEFAULT_EVAL, build_kb, read_jsonl  # noqa: E402

JUDGED = HERE / "judged" / "recurrence-aiid.json"
THRESHOLDS = (0.5, 0.4, 0.35, 0.3)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the slice, run the detector both ways, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the eval folder")
    parser.add_argument("--judged", type=Path, default=JUDGED, help="the judged pairs")
    args = parser.parse_args(argv)
    judged = json.loads(args.judged.read_text(encoding="utf-8"))
    corpus = args.eval / judged["corpus"]
    if not corpus.is_file():
        print(f"skipped: {corpus} not found")
        return 0
    from lessons.links import recurrence
    from lessons.model import id_from_foreign

    span = judged["records"]
    prefix = span["prefix"]
    items = [
        item
        for item in read_jsonl(corpus)
        if item["id"].startswith(prefix)
        and item["id"][len(prefix) :].isdigit()
        and span["from"] <= int(item["id"][len(prefix) :]) <= span["to"]
    ]
    truth = {
        frozenset(id_from_foreign(i) for i in pair)
        for group in judged["groups"]
        for pair in itertools.combinations(group["ids"], 2)
    }
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "slice.jsonl"
        source.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
        kb = build_kb(Path(tmp) / "kb", [source], items)
        print(
            f"{len(items)} records of {judged['corpus']}, {len(truth)} judged recurring pairs"
            f" ({args.judged.name})"
        )
        print(
            f"{'min-score':>9}  {'compared by':<17} {'found':>5} {'judged':>6}"
            f" {'precision':>9} {'recall':>6} {'time':>6}"
        )
        for threshold in THRESHOLDS:
            for meaning in (False, True):
                started = time.perf_counter()
                found = recurrence(kb, min_score=threshold, meaning=meaning)
                took = time.perf_counter() - started
                got = {frozenset((r.earlier["id"], r.later["id"])) for r in found}
                hits = len(got & truth)
                precision = f"{hits / len(got):.2f}" if got else "-"
                how = "words and meaning" if meaning else "words alone"
                print(
                    f"{threshold:>9}  {how:<17} {len(got):>5} {hits:>6} {precision:>9}"
                    f" {hits / len(truth):>6.2f} {took:>5.2f}s"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
