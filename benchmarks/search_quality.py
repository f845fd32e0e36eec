"""Search quality on every judged query set, beside plain BM25, in one run.

For each judged set (``../shared/eval/postmortems-queries.jsonl`` over the cloud and
Wikitech corpora, and every set named in ``benchmarks/judged/sets.json``), the
corpora are loaded into a temporary knowledge base with ``lessons import`` and
indexed as ``lessons index`` does (words, then vectors); every query is ranked with
the function `lessons search` uses (in-process) in each mode (hybrid, the default;
lexical; semantic), and the table shows MRR, MRR on the hard queries, recall@5,
recall@10 and recall@10 on the hard queries, next to a plain BM25 computed here on
the same records (k1=1.2, b=0.75, lower-case [a-z0-9]+ tokens, title counted twice
plus summary, no stemming, no fuzzy matching).

Literal precision: for each set's knowledge base, words are drawn by a fixed rule
(letters only, 4+ characters, in 5 to 100 of the corpus's records, not among the
10,000 commonest English words of pyspellchecker's list nor a stop word; 30 of them,
seed 13) and
each is searched alone (default mode); the figure is the share of the first ten
results that hold the word (any inflection: the Porter stems are compared), with the
number of words under 95%.

    python benchmarks/search_quality.py                 # every set found
    python benchmarks/search_quality.py --sets aiid-queries.jsonl
    python benchmarks/search_quality.py --ablate        # each component off, per set
    python benchmarks/search_quality.py --db postgresql://USER@HOST/DB   # SQLite and it

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
JUDGED = REPO / "benchmarks" / "judged"
DEPTH = 100  # results ranked per query (MRR and recall@10 need far fewer)
MODES = ("hybrid", "lexical", "semantic")
# The bar for another store: every figure within this of the embedded index's.
PARITY = 0.03


def judged_sets(eval_dir: Path) -> list[tuple[str, Path, list[str]]]:
    """(name, queries file, corpus file names) of every judged set there is."""
    out: list[tuple[str, Path, list[str]]] = []
    if (eval_dir / DEFAULT_QUERIES).is_file():
        out.append(("postmortems", eval_dir / DEFAULT_QUERIES, list(DEFAULT_CORPORA)))
    index = JUDGED / "sets.json"
    if index.is_file():
        for queries, corpora in json.loads(index.read_text(encoding="utf-8")).items():
            name = queries.removesuffix(".jsonl").removesuffix("-queries")
            out.append((name, JUDGED / queries, list(corpora)))
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a .jsonl file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def judged_set(
    folder: Path, queries: str | Path, corpora: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The corpus items and the judged queries, relevant ids mapped through the id rule."""
    from lessons.model import id_from_foreign

    items = [item for name in corpora for item in read_jsonl(folder / name)]
    judged = read_jsonl(folder / queries)
    for q in judged:
        q["hard"] = bool(q.get("hard"))
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
    from lessons.search.semantic import update_vectors

    update_vectors(kb.store)  # as `lessons index` does after the sync
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
    rankings: Sequence[Sequence[str]], judged: Sequence[dict[str, Any]]
) -> dict[str, float]:
    """MRR, hard MRR, recall@5, recall@10 and hard recall@10 (hard: ``"hard": true``)."""
    rr: list[float] = []
    r5: list[float] = []
    r10: list[float] = []
    hard_rr: list[float] = []
    hard_r10: list[float] = []
    for ranking, q in zip(rankings, judged, strict=True):
        relevant = set(q["relevant"])
        first = next((i for i, rid in enumerate(ranking, 1) if rid in relevant), None)
        rr.append(1 / first if first else 0.0)
        r5.append(len(relevant & set(ranking[:5])) / len(relevant))
        r10.append(len(relevant & set(ranking[:10])) / len(relevant))
        if q["hard"]:
            hard_rr.append(rr[-1])
            hard_r10.append(r10[-1])

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    return {
        "MRR": mean(rr),
        "hMRR": mean(hard_rr),
        "R@5": mean(r5),
        "R@10": mean(r10),
        "hR@10": mean(hard_r10),
    }


def lessons_rankings(
    kb: Any, queries: Sequence[str], tuning: Any, mode: str = "hybrid"
) -> list[list[str]]:
    """Record ids as `lessons search` ranks them, for each query."""
    from lessons.errors import NoMatchError, UsageError
    from lessons.search import search

    out = []
    for q in queries:
        try:
            result = search(
                kb.store,
                q,
                limit=DEPTH,
                synonyms=kb.config.synonyms,
                tuning=tuning,
                mode=mode,
                language=kb.config.language,
            )
            out.append([h.id for h in result.hits])
        except (NoMatchError, UsageError):
            out.append([])
    return out


COLUMNS = ("MRR", "hMRR", "R@5", "R@10", "hR@10")


def by_type(rankings: Sequence[Sequence[str]], judged: Sequence[dict[str, Any]]) -> str:
    """MRR for each ``type`` of query a set names (natural, paraphrase, typo, ...)."""
    groups: dict[str, list[float]] = {}
    for ranking, q in zip(rankings, judged, strict=True):
        kind = q.get("type") or ("hard" if q["hard"] else "natural")
        relevant = set(q["relevant"])
        first = next((i for i, rid in enumerate(ranking, 1) if rid in relevant), None)
        groups.setdefault(kind, []).append(1 / first if first else 0.0)
    return ", ".join(
        f"{kind} {sum(v) / len(v):.3f} ({len(v)})" for kind, v in sorted(groups.items())
    )


def header() -> str:
    """The table's column names."""
    return f"{'set':<12} {'ranking':<30}" + "".join(f"{c:>7}" for c in COLUMNS)


def row(set_name: str, name: str, m: dict[str, float]) -> str:
    """One line of the table."""
    return f"{set_name:<12} {name:<30}" + "".join(f"{m[c]:>7.3f}" for c in COLUMNS)


# --- literal precision --------------------------------------------------------------

PRECISION_WORDS = 30
PRECISION_SEED = 13
COMMON_ENGLISH = 10_000


def precision_words(items: Sequence[dict[str, Any]]) -> list[str]:
    """Words picked by rule (see the module's docstring), never by looking at results."""
    import gzip
    import random

    import spellchecker

    path = Path(spellchecker.__file__).parent / "resources" / "en.json.gz"
    freq = json.loads(gzip.decompress(path.read_bytes()))
    common = set(sorted(freq, key=lambda w: -freq[w])[:COMMON_ENGLISH])
    df: Counter[str] = Counter()
    for item in items:
        text = f"{item.get('title') or ''} {item.get('summary') or ''}".lower()
        df.update(set(re.findall(r"[a-z]+", text)))
    from lessons.search import STOPWORDS

    pool = sorted(
        w
        for w, n in df.items()
        if 5 <= n <= 100 and len(w) >= 4 and w not in common and w not in STOPWORDS
    )
    rng = random.Random(PRECISION_SEED)
    return rng.sample(pool, min(PRECISION_WORDS, len(pool)))


def literal_precision(kb: Any, words: Sequence[str], mode: str = "hybrid") -> tuple[float, int]:
    """Mean share of the first ten results (or of the first N, when only N records
    hold the word) that hold the word; how many words are under 95%."""
    import Stemmer

    from lessons.errors import NoMatchError
    from lessons.search import search

    stem = Stemmer.Stemmer("porter").stemWord
    shares = []
    for word in words:
        try:
            result = search(kb.store, word, limit=10, mode=mode)
        except NoMatchError:
            continue
        # Of the first ten, or of as many as there are records holding the word.
        hits = result.hits[: max(1, min(10, result.matched_all))]
        target = stem(word)
        held = 0
        for hit in hits:
            rec = kb.store.get(hit.id) or {}
            body = " ".join(
                str(rec.get(k) or "")
                for k in (
                    "title",
                    "summary",
                    "lesson",
                    "why",
                    "response",
                    "evidence",
                    "team",
                    "campaign",
                )
            )
            body += (
                " "
                + " ".join(rec.get("tags") or [])
                + " "
                + " ".join(rec.get("recommendations") or [])
            )
            if target in {stem(w) for w in re.findall(r"[^\W_]+", body.lower())}:
                held += 1
        shares.append(held / len(hits))
    if not shares:
        return float("nan"), 0
    return sum(shares) / len(shares), sum(1 for s in shares if s < 0.95)


def ablations() -> list[tuple[str, dict[str, Any]]]:
    """Each component of `lessons search` switched off on its own, then all of them."""
    return [
        ("  without thesaurus", {"thesaurus": False}),
        ("  without feedback (PRF)", {"feedback_weight": 0.0}),
        ("  without proximity", {"proximity_weight": 0.0}),
        ("  without variants", {"variants": False}),
        ("  without fuzzy correction", {"fuzzy": False}),
        ("  all-words-first, any length", {"tier_max_words": 10_000}),
        ("  fusion: plain RRF k=60", {"fusion": "rrf"}),
        ("  words' say not by coverage", {"coverage": False}),
        ("  no literal-first tiers", {"all_first": False}),
        (
            "  all of them off",
            {
                "thesaurus": False,
                "feedback_weight": 0.0,
                "proximity_weight": 0.0,
                "variants": False,
                "fuzzy": False,
                "all_first": False,
                "coverage": False,
            },
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run every judged set and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the eval folder")
    parser.add_argument("--sets", nargs="*", help="only these query files (names)")
    parser.add_argument("--ablate", action="store_true", help="show what each component adds")
    parser.add_argument("--db", help="index into this store URL (e.g. postgresql://...)")
    args = parser.parse_args(argv)

    if not args.eval.is_dir():
        print(f"skipped: no eval folder at {args.eval}", file=sys.stderr)
        return 0
    from lessons.model import id_from_foreign
    from lessons.search import DEFAULT_TUNING

    sets = judged_sets(args.eval)
    if args.sets:
        sets = [s for s in sets if s[1].name in args.sets or s[0] in args.sets]
    if not sets:
        print("skipped: no judged query sets found", file=sys.stderr)
        return 0
    lines = [header()]
    notes = []
    # --db: the same sets through the embedded index and the given one, in one run, so
    # that the two are compared on the same corpora, queries and code.
    stores: list[str | None] = [None, args.db] if args.db else [None]
    gaps: list[str] = []
    for name, queries_path, corpora in sets:
        items, judged = judged_set(args.eval, queries_path, corpora)
        queries = [q["query"] for q in judged]
        mapped = [{**item, "id": id_from_foreign(item["id"])} for item in items]
        n_hard = sum(1 for q in judged if q["hard"])
        first = len(lines)
        lines.append(
            row(name, "plain BM25 (title x2+summary)", metrics(plain_bm25(mapped, queries), judged))
        )
        by_store: dict[str, dict[str, dict[str, float]]] = {}
        for db in stores:
            engine = "sqlite" if db is None else db.split(":", 1)[0].split("+")[0]
            tag = f" [{engine}]" if args.db else ""
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                kb = build_kb(Path(tmp) / "kb", [args.eval / n for n in corpora], items, db)
                loaded = time.perf_counter() - started
                notes.append(
                    f"{name}{tag}: {len(items)} records ({', '.join(corpora)}), {len(judged)}"
                    f" queries ({n_hard} hard); loaded, indexed and embedded in {loaded:.1f} s"
                )
                for mode in MODES:
                    started = time.perf_counter()
                    ranked = lessons_rankings(kb, queries, DEFAULT_TUNING, mode)
                    per_query = (time.perf_counter() - started) / max(len(queries), 1)
                    label = f"lessons --mode {mode}" + (" (default)" if mode == "hybrid" else "")
                    if args.db:
                        label = f"lessons {mode}"
                    found = metrics(ranked, judged)
                    by_store.setdefault(mode, {})[engine] = found
                    lines.append(row(name, (label + tag)[:30], found))
                    notes.append(
                        f"  {name}{tag} {mode}: {per_query * 1000:.0f} ms per query in-process"
                    )
                    if mode == "hybrid":
                        notes.append(
                            f"  {name}{tag} hybrid MRR by kind of query: {by_type(ranked, judged)}"
                        )
                if args.ablate:
                    for label, change in ablations():
                        ranked = lessons_rankings(kb, queries, replace(DEFAULT_TUNING, **change))
                        lines.append(row(name, (label + tag)[:30], metrics(ranked, judged)))
                words = precision_words(items)
                for mode in ("hybrid", "lexical"):
                    share, under = literal_precision(kb, words, mode)
                    notes.append(
                        f"  {name}{tag} literal precision ({mode}): {share:.3f} of the top 10"
                        f" hold the word, {under} of {len(words)} words under 95%"
                    )
                kb.close()
        if args.db:
            for mode, found in by_store.items():
                a, b = found["sqlite"], next(v for k, v in found.items() if k != "sqlite")
                worst = max(abs(a[c] - b[c]) for c in COLUMNS if not math.isnan(a[c]))
                gaps.append(
                    f"  {name} {mode}: largest |sqlite - {args.db.split(':', 1)[0]}| difference"
                    f" {worst:.3f} ({'within' if worst <= PARITY else 'OVER'} {PARITY})"
                )
        print("\n".join(lines[first:]), flush=True)
    print()
    print("\n".join(lines))
    print("\n".join(notes))
    if gaps:
        print("\n".join(gaps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
