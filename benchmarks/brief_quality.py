"""Brief quality on a judged query set: `lessons brief` beside `lessons search`, in one run.

Each judged query is taken as the description of a planned piece of work. The
records a brief shows first (its first ten lessons, in the order it prints
them) are scored with recall@10 against the judgments, next to recall@10 of
`lessons search` for the same text, over the same temporary knowledge base
(loaded as `benchmarks/search_quality.py` loads it). The quality bar: the
brief's recall@10 is at least that of search. A second column asks the same
with each query written inside two sentences of planning prose.

    python benchmarks/brief_quality.py
    python benchmarks/brief_quality.py --eval DIR --queries Q.jsonl --corpus A.jsonl B.jsonl

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
    DEFAULT_CORPORA,
    DEFAULT_EVAL,
    DEFAULT_QUERIES,
    build_kb,
    judged_set,
    lessons_rankings,
)

K = 10
PLAN_OPENING = "Plan for next quarter: we are reviewing our risks before we start. One to watch:"
PLAN_CLOSING = "We want to avoid repeating past incidents, so list what we learned."


def brief_rankings(kb: Any, queries: Sequence[str], limit: int = K) -> list[list[str]]:
    """The ids each brief shows, in the order it shows them."""
    from lessons.errors import NoMatchError
    from lessons.reports.brief import build_brief

    out = []
    for q in queries:
        try:
            brief = build_brief(kb, q, limit=limit, pitfalls=False)
            out.append([r["id"] for r in brief.results])
        except NoMatchError:
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
    """Run both over the judged queries and print recall@10 of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the eval folder")
    parser.add_argument("--queries", default=DEFAULT_QUERIES)
    parser.add_argument("--corpus", nargs="+", default=list(DEFAULT_CORPORA))
    args = parser.parse_args(argv)

    if not (args.eval / args.queries).is_file():
        print(f"skipped: no judged queries at {args.eval / args.queries}", file=sys.stderr)
        return 0
    from lessons.search import DEFAULT_TUNING

    items, judged = judged_set(args.eval, args.queries, args.corpus)
    queries = [q["query"] for q in judged]
    # The same needs written as a planner might: inside sentences about the planning.
    plans = [f"{PLAN_OPENING} {q[:1].upper()}{q[1:]}. {PLAN_CLOSING}" for q in queries]

    with tempfile.TemporaryDirectory() as tmp:
        kb = build_kb(Path(tmp) / "kb", [args.eval / n for n in args.corpus], items)
        print(f"{len(items)} records ({', '.join(args.corpus)}), {len(judged)} queries as plans")
        started = time.perf_counter()
        searched = lessons_rankings(kb, queries, DEFAULT_TUNING)
        search_s = (time.perf_counter() - started) / max(len(queries), 1)
        started = time.perf_counter()
        briefed = brief_rankings(kb, queries)
        brief_s = (time.perf_counter() - started) / max(len(queries), 1)
        plan_searched = lessons_rankings(kb, plans, DEFAULT_TUNING)
        plan_briefed = brief_rankings(kb, plans)
        kb.close()
    r_search = recall_at(searched, judged, K)
    r_brief = recall_at(briefed, judged, K)
    print(f"{'':<16}{'the queries':>14}{'as plan prose':>16}")
    print(
        f"{'lessons search':<16}{r_search:>14.3f}{recall_at(plan_searched, judged, K):>16.3f}"
        f"   recall@{K}; {search_s * 1000:.0f} ms per query"
    )
    print(
        f"{'lessons brief':<16}{r_brief:>14.3f}{recall_at(plan_briefed, judged, K):>16.3f}"
        f"   recall@{K}; {brief_s * 1000:.0f} ms per plan"
    )
    verdict = "meets" if r_brief >= r_search else "FALLS SHORT OF"
    print(f"the brief {verdict} the bar (recall@{K} on the queries at least that of search)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
