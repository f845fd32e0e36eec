"""Check the judged query sets in this folder against the corpora they judge.

For every set named in ``sets.json`` it checks the shape of each line, that
every relevant id exists in the set's collection (the corpus files listed for
it), that no query repeats a record title, and prints the counts: queries,
hard queries and their share, queries per type, judgments and distinct
records. It ranks nothing: it never runs a search over the queries.

    python benchmarks/judged/check.py              # corpora in ../shared/eval
    python benchmarks/judged/check.py --eval DIR

Exit status 1 if any set breaks a rule; the corpora folder missing is a skip
(exit 0), as everywhere else the evaluation corpora are used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_EVAL = HERE.parent.parent.parent / "shared" / "eval"
TYPES = ("natural", "paraphrase", "typo", "spelling-variant", "abbreviation")
MIN_QUERIES = 30
MIN_RELEVANT, MAX_RELEVANT = 2, 12
MIN_WORDS, MAX_WORDS = 2, 15


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a .jsonl file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def check_set(name: str, corpora: list[str], folder: Path) -> list[str]:
    """Problems found in one set (empty when it is sound); prints its counts."""
    problems: list[str] = []
    records = {r["id"]: r for c in corpora for r in read_jsonl(folder / c)}
    titles = {" ".join(r["title"].lower().split()) for r in records.values()}
    queries = read_jsonl(HERE / name)
    seen: set[str] = set()
    for n, q in enumerate(queries, 1):
        where = f"{name}:{n}"
        if set(q) != {"query", "relevant", "hard", "type"}:
            problems.append(f"{where}: keys {sorted(q)}")
            continue
        text = q["query"]
        words = len(text.split())
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems.append(f"{where}: {words} words")
        if text.lower() in seen:
            problems.append(f"{where}: repeated query")
        seen.add(text.lower())
        if " ".join(text.lower().split()) in titles:
            problems.append(f"{where}: the query is a record title")
        if q["type"] not in TYPES:
            problems.append(f"{where}: type {q['type']!r}")
        if q["hard"] is not (q["type"] != "natural"):
            problems.append(f"{where}: hard={q['hard']} but type {q['type']}")
        rel = q["relevant"]
        if not MIN_RELEVANT <= len(rel) <= MAX_RELEVANT:
            problems.append(f"{where}: {len(rel)} relevant ids")
        if len(set(rel)) != len(rel):
            problems.append(f"{where}: a relevant id is repeated")
        missing = [i for i in rel if i not in records]
        problems += [f"{where}: {i} is not in {', '.join(corpora)}" for i in missing]
    if len(queries) < MIN_QUERIES:
        problems.append(f"{name}: {len(queries)} queries (< {MIN_QUERIES})")
    hard = sum(q.get("hard") is True for q in queries)
    judgments = [i for q in queries for i in q.get("relevant", [])]
    types = Counter(q.get("type") for q in queries)
    print(
        f"{name}: {len(queries)} queries over {len(records)} records; "
        f"hard {hard} ({hard / max(len(queries), 1):.0%}); "
        f"{len(judgments)} judgments, {len(set(judgments))} distinct records; "
        + ", ".join(f"{t} {types[t]}" for t in TYPES if types[t])
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="corpora folder")
    args = parser.parse_args(argv)
    if not args.eval.is_dir():
        print(f"skipped: no corpora folder at {args.eval}")
        return 0
    sets = json.loads((HERE / "sets.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    for name, corpora in sets.items():
        problems += check_set(name, corpora, args.eval)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
