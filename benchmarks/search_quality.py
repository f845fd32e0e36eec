"""Search quality on a judged query set: `lessons search` beside plain BM25, in one run.

Loads the corpora into a temporary knowledge base, ranks every judged query
with the function `lessons search` uses (in-process), and prints MRR,
recall@5 and recall@10 for all, non-hard and hard queries, next to a plain
BM25 (k1=1.2, b=0.75, lower-case [a-z0-9]+ tokens, title counted twice plus
summary, no stemming, no fuzzy matching) computed here on the same records.
``--ablate`` adds one line per component switched off, to show what each adds.

    python benchmarks/search_quality.py             # ../shared/eval, postmortems
    python benchmarks/search_quality.py --ablate
    python benchmarks/search_quality.py --eval DIR --queries Q.jsonl --corpus A.jsonl B.jsonl
    python benchmarks/search_quality.py --db postgresql://USER@HOST/DB   # PostgreSQL store

The corpora are read at run time and never copied into the repository. Corpus
ids that are not record ids (``google-GAE-#15023``) become ids by the rule
import uses, ``lessons.model.id_from_foreign``; judged ids are mapped the same way.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = REPO.parent / "shared" / "eval"
DEFAULT_QUERIES = "postmortems-queries.jsonl"
DEFAULT_CORPORA = ("cloud-postmortems.jsonl", "wikitech-incidents.jsonl")
DEPTH = 100  # results ranked per query (MRR and recall@10 need far fewer)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a .jsonl file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def judged_set(
    folder: Path, queries: str, corpora: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The corpus items and the judged queries, relevant ids mapped through the id rule."""
    from lessons.model import id_from_foreign

    items = [item for name in corpora for item in read_jsonl(folder / name)]
    judged = read_jsonl(folder / queries)
    for q in judged:
        q["relevant"] = [id_from_foreign(r) for r in q["relevant"]]
    return items, judged


def to_record(item: dict[str, Any]) -> dict[str, Any]:
    """A corpus item as a lessons record (the mapping `lessons import` applies; fallback)."""
    from lessons.model import MAX_TITLE, id_from_foreign, normalise_tag

    date = item.get("date")
    if isinstance(date, str) and re.fullmatch(r"\d{4}", date):
        date = f"{date}-01-01"
    title = " ".join(str(item.get("title") or item["id"]).split())
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    tags = [normalise_tag(t) for t in item.get("tags") or []]
    return {
        "id": id_from_foreign(item["id"]),
        "title": title,
        "kind": item.get("kind") or "mistake",
        "date": date or None,
        "summary": item.get("summary") or title,
        "team": item.get("org") or None,
        "tags": list(dict.fromkeys(t for t in tags if t)),
        "sources": [item["source_url"]] if item.get("source_url") else [],
    }


def build_kb(
    root: Path, paths: Sequence[Path], items: Sequence[dict[str, Any]], db: str | None = None
) -> Any:
    """A knowledge base at ``root`` holding the corpora, indexed; return the KnowledgeBase.

    The records come in through ``lessons import`` (org -> team, source_url ->
    sources, the corpus name left out), as a user would load them; if import
    fails, they are written directly with the same mapping (``to_record``).
    """
    from lessons.entries import dump_record
    from lessons.kb import KnowledgeBase

    entries = root / "entries"
    entries.mkdir(parents=True)
    maps = ["--map", "org=team", "--map", "source_url=sources", "--map", "corpus="]
    for path in paths:
        done = subprocess.run(
            [sys.executable, "-m", "lessons", "--kb", str(root), "import", str(path), *maps],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"lessons import failed ({done.stderr.strip()[:200]}); writing records directly")
            for old in entries.glob("*.yaml"):
                old.unlink()
            for item in items:
                rec = to_record(item)
                (entries / f"{rec['id']}.yaml").write_text(dump_record(rec), encoding="utf-8")
            break
    kb = KnowledgeBase.open(str(root), db)
    if db:
        kb.rebuild()
    else:
        kb.sync()
    return kb


# --- plain BM25, the reference -------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")


def plain_bm25(
    items: Sequence[dict[str, Any]], queries: Sequence[str], k1: float = 1.2, b: float = 0.75
) -> list[list[str]]:
    """Record ids ranked by BM25 over title (twice) + summary, for each query."""
    docs = []
    for item in items:
        text = f"{item.get('title') or ''} {item.get('title') or ''} {item.get('summary') or ''}"
        docs.append(Counter(_TOKEN.findall(text.lower())))
    lengths = [sum(d.values()) for d in docs]
    avgdl = sum(lengths) / len(lengths)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    n = len(docs)
    ids = [item["id"] for item in items]
    out = []
    for q in queries:
        terms = _TOKEN.findall(q.lower())
        scores = []
        for i, d in enumerate(docs):
            s = 0.0
            for t in terms:
                tf = d.get(t, 0)
                if not tf:
                    continue
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / avgdl))
            if s > 0:
                scores.append((-s, ids[i]))
        scores.sort()
        out.append([rid for _, rid in scores[:DEPTH]])
    return out


# --- scoring -------------------------------------------------------------------------


def metrics(
    rankings: Sequence[Sequence[str]], judged: Sequence[dict[str, Any]], which: str
) -> dict[str, float]:
    """MRR, recall@5, recall@10 over the queries ``which`` selects (all, easy, hard)."""
    rr, r5, r10 = [], [], []
    for ranking, q in zip(rankings, judged, strict=True):
        if (which == "hard" and not q["hard"]) or (which == "non-hard" and q["hard"]):
            continue
        relevant = set(q["relevant"])
        first = next((i for i, rid in enumerate(ranking, 1) if rid in relevant), None)
        rr.append(1 / first if first else 0.0)
        r5.append(len(relevant & set(ranking[:5])) / len(relevant))
        r10.append(len(relevant & set(ranking[:10])) / len(relevant))
    k = max(len(rr), 1)
    return {"MRR": sum(rr) / k, "R@5": sum(r5) / k, "R@10": sum(r10) / k, "n": len(rr)}


def lessons_rankings(kb: Any, queries: Sequence[str], tuning: Any) -> list[list[str]]:
    """Record ids as `lessons search` ranks them, for each query."""
    from lessons.errors import NoMatchError
    from lessons.search import search

    out = []
    for q in queries:
        try:
            result = search(kb.store, q, limit=DEPTH, synonyms=kb.config.synonyms, tuning=tuning)
            out.append([h.id for h in result.hits])
        except NoMatchError:
            out.append([])
    return out


def report(name: str, rankings: Sequence[Sequence[str]], judged: Sequence[dict[str, Any]]) -> None:
    """One line: the three figures for all, non-hard and hard queries."""
    cells = []
    for which in ("all", "non-hard", "hard"):
        m = metrics(rankings, judged, which)
        cells.append(f"{m['MRR']:.3f} {m['R@5']:.3f} {m['R@10']:.3f}")
    print(f"{name:<30} " + "   ".join(cells))


def ablations() -> list[tuple[str, dict[str, Any]]]:
    """Each component of `lessons search` switched off on its own, then all of them."""
    return [
        ("  without thesaurus", {"thesaurus": False}),
        ("  without feedback (PRF)", {"feedback_weight": 0.0}),
        ("  without proximity", {"proximity_weight": 0.0}),
        ("  without variants", {"variants": False}),
        ("  without fuzzy correction", {"fuzzy": False}),
        ("  all-words-first, any length", {"tier_max_words": 10_000}),
        ("  synonym weight 0.5 (not 0.3)", {"synonym_weight": 0.5}),
        ("  synonym weight 0.2", {"synonym_weight": 0.2}),
        (
            "  all of them off",
            {
                "thesaurus": False,
                "feedback_weight": 0.0,
                "proximity_weight": 0.0,
                "variants": False,
                "fuzzy": False,
                "all_first": False,
            },
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the eval folder")
    parser.add_argument("--queries", default=DEFAULT_QUERIES)
    parser.add_argument("--corpus", nargs="+", default=list(DEFAULT_CORPORA))
    parser.add_argument("--ablate", action="store_true", help="show what each component adds")
    parser.add_argument("--db", help="index into this store URL (e.g. postgresql://...)")
    args = parser.parse_args(argv)

    if not (args.eval / args.queries).is_file():
        print(f"skipped: no judged queries at {args.eval / args.queries}", file=sys.stderr)
        return 0
    from lessons.model import id_from_foreign
    from lessons.search import DEFAULT_TUNING

    items, judged = judged_set(args.eval, args.queries, args.corpus)
    queries = [q["query"] for q in judged]
    mapped = [{**item, "id": id_from_foreign(item["id"])} for item in items]

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        kb = build_kb(Path(tmp) / "kb", [args.eval / n for n in args.corpus], items, args.db)
        loaded = time.perf_counter() - started
        n_hard = sum(1 for q in judged if q["hard"])
        print(
            f"{len(items)} records ({', '.join(args.corpus)}), {len(judged)} queries "
            f"({len(judged) - n_hard} non-hard, {n_hard} hard); loaded and indexed in "
            f"{loaded:.1f} s"
        )
        print(f"{'':<30} {'all: MRR R@5 R@10':<21}   {'non-hard':<21}   {'hard':<21}")
        report("plain BM25 (title x2+summary)", plain_bm25(mapped, queries), judged)
        started = time.perf_counter()
        ours = lessons_rankings(kb, queries, DEFAULT_TUNING)
        per_query = (time.perf_counter() - started) / max(len(queries), 1)
        report("lessons search", ours, judged)
        if args.ablate:
            for name, change in ablations():
                report(
                    name, lessons_rankings(kb, queries, replace(DEFAULT_TUNING, **change)), judged
                )
        print(f"lessons search: {per_query * 1000:.0f} ms per query in-process")
        kb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
