"""Brief quality on a judged query set: `lessons brief` beside `lessons search`, in one run.

Each judged query is taken as the description of a planned piece of work. The
records a brief shows first (its first ten lessons, in the order it prints
them) are scored with recall@10 against the judgments, next to recall@10 of
`lessons search` for the same text, over the same temporary knowledge base
(loaded as `benchmarks/search_quality.py` loads it). The quality bar: the
brief's recall@10 is at least that of search. A second column asks the same
with each query written inside two sentences of planning prose.

    python benchmarks/brief_quality.py                  # every judged set
    python benchmarks/brief_quality.py --sets aiid-queries.jsonl

Skips (exit 0) when the eval folder is absent. The corpora are read at run
time and never copied into the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_quality import (
    DEFAULT_EVAL,
    build_kb,
    judged_set,
    judged_sets,
    lessons_rankings,
)

K = 10
PLAN_OPENING = "Plan for next quarter: we are reviewing our risks before we start. One to watch:"
PLAN_CLOSING = "We want to avoid repeating past incidents, so list what we learned."


def brief_rankings(
    kb: Any, queries: Sequence[str], limit: int = K, mode: str = "hybrid"
) -> list[list[str]]:
    """The ids each brief shows, in the order it shows them."""
    from lessons.errors import NoMatchError, UsageError
    from lessons.reports.brief import build_brief

    out = []
    for q in queries:
        try:
            brief = build_brief(kb, q, limit=limit, pitfalls=False, mode=mode)
            out.append([r["id"] for r in brief.results])
        except (NoMatchError, UsageError):
            out.append([])
    return out


def recall_at(rankings: Sequence[Sequence[str]], judged: Sequence[dict[str, Any]], k: int) -> float:
    """Mean share of each query's relevant records found in its first ``k``."""
    total = 0.0
    for ranking, q in zip(rankings, judged, strict=True):
        relevant = set(q["relevant"])
        total += len(relevant & set(ranking[:k])) / len(relevant)
    return total / max(len(judged), 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run search and brief over every judged set's queries; print recall@10 of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the eval folder")
    parser.add_argument("--sets", nargs="*", help="only these query files (names)")
    args = parser.parse_args(argv)

    if not args.eval.is_dir():
        print(f"skipped: no eval folder at {args.eval}", file=sys.stderr)
        return 0
    from lessons.search import DEFAULT_TUNING

    sets = judged_sets(args.eval)
    if args.sets:
        sets = [s for s in sets if s[1].name in args.sets or s[0] in args.sets]
    print(f"recall@{K}{'':<22}{'the queries':>12}{'as plan prose':>15}")
    for name, queries_path, corpora in sets:
        items, judged = judged_set(args.eval, queries_path, corpora)
        queries = [q["query"] for q in judged]
        # The same needs written as a planner might: inside sentences about the planning.
        plans = [f"{PLAN_OPENING} {q[:1].upper()}{q[1:]}. {PLAN_CLOSING}" for q in queries]
        with tempfile.TemporaryDirectory() as tmp:
            kb = build_kb(Path(tmp) / "kb", [args.eval / n for n in corpora], items)
            rows = []
            for mode in ("hybrid", "lexical"):
                started = time.perf_counter()
                searched = lessons_rankings(kb, queries, DEFAULT_TUNING, mode)
                plan_searched = lessons_rankings(kb, plans, DEFAULT_TUNING, mode)
                briefed = brief_rankings(kb, queries, mode=mode)
                plan_briefed = brief_rankings(kb, plans, mode=mode)
                took = (time.perf_counter() - started) / max(4 * len(queries), 1)
                rows.append((f"search ({mode})", searched, plan_searched, took))
                rows.append((f"brief ({mode})", briefed, plan_briefed, took))
            kb.close()
        for label, ranked, plan_ranked, took in rows:
            print(
                f"{name:<12} {label:<18}{recall_at(ranked, judged, K):>12.3f}"
                f"{recall_at(plan_ranked, judged, K):>15.3f}   ~{took * 1000:.0f} ms each"
            )
        r_search = recall_at(rows[0][1], judged, K)
        r_brief = recall_at(rows[1][1], judged, K)
        verdict = "meets" if r_brief >= r_search else "FALLS SHORT OF"
        print(f"{name:<12} the brief {verdict} the bar (recall@{K} at least that of search)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
