"""store/fts5.py computes FTS5's matching and bm25() outside SQLite (for the shared
PostgreSQL index): on the same records it must give SQLite's own answers."""

from __future__ import annotations

import random
import sqlite3

import pytest

from lessons.store import fts5
from lessons.store.schema import FTS_COLUMNS

WORDS = [
    "disk",
    "disks",
    "full",
    "failover",
    "database",
    "databases",
    "certificate",
    "certificates",
    "certification",
    "expired",
    "renewal",
    "network",
    "networking",
    "latency",
    "slow",
    "cache",
    "cached",
    "caching",
    "deploy",
    "deployed",
    "rollback",
    "technology",
    "possibly",
    "the",
    "a",
    "of",
    "déploiement",
    "ﬁle",
    "café",
    "naïve",
    "dns",
    "resolver",
]
WEIGHTS = (4.0, 4.0, 2.0, 2.0, 1.0, 0.5, 0.5, 0.5)
EXPRESSIONS = [
    '"disk"',
    '"disk" OR "database" OR "cache"',
    '"disk full"',
    '"certif" *',
    '"certific" *',
    'title : "disk"',
    'tags_text : "disk"',
    'summary : "latency" OR "slow"',
    'team : "network"',
    'NEAR("disk" "full", 2)',
    'NEAR("database" "failover", 6) OR NEAR("cache" "latency", 6)',
    '"technology"',
    '"possibly"',
    '"deploiement"',
    '"file"',
    '"naive" OR "cafe"',
    '"the"',
    '"say ""hi"""',
]


def corpus(n: int = 300, seed: int = 7) -> list[list[str | None]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row: list[str | None] = []
        for column in FTS_COLUMNS:
            if rng.random() < 0.15:
                row.append(None)
                continue
            size = rng.randint(1, 4 if column in ("title", "tags_text", "team") else 40)
            row.append(" ".join(rng.choice(WORDS) for _ in range(size)))
        rows.append(row)
    return rows


def sqlite_scores(rows: list[list[str | None]], expr: str) -> dict[int, float]:
    conn = sqlite3.connect(":memory:")
    cols = ", ".join(FTS_COLUMNS)
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5({cols}, tokenize='{fts5.TOKENIZE}')")
    marks = ",".join("?" * (len(FTS_COLUMNS) + 1))
    conn.executemany(
        f"INSERT INTO t (rowid, {cols}) VALUES ({marks})",
        [(i, *row) for i, row in enumerate(rows, 1)],
    )
    w = ", ".join(map(str, WEIGHTS))
    found = conn.execute(f"SELECT rowid, bm25(t, {w}) FROM t WHERE t MATCH ?", (expr,))
    return {pk: -score for pk, score in found}


def python_scores(rows: list[list[str | None]], expr: str) -> dict[int, float]:
    docs = fts5.documents(rows)
    where = {}
    for pk, doc in enumerate(docs, 1):
        by_term: dict[str, list[int]] = {}
        for part in doc.tsvector.split(" ") if doc.tsvector else []:
            lexeme, _, positions = part.rpartition(":")
            by_term[lexeme.strip("'")] = [int(p.rstrip("ABCD")) for p in positions.split(",")]
        where[pk] = fts5.Positions(by_term, doc.starts)
    items = fts5.parse(expr)
    counts = [sum(1 for w in where.values() if w.instances(p)) for p in fts5.phrases(items)]
    idfs = [fts5.idf(len(rows), n) for n in counts]
    avgdl = sum(d.length for d in docs) / len(docs)
    out = {}
    for pk, w in where.items():
        found = fts5.hits(items, w)
        if found is not None:
            out[pk] = fts5.bm25(found, w, WEIGHTS, idfs, docs[pk - 1].length, avgdl)
    return out


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_matching_and_bm25_are_sqlites_own(expr: str) -> None:
    rows = corpus()
    expected = sqlite_scores(rows, expr)
    got = python_scores(rows, expr)
    assert set(got) == set(expected)
    for pk, score in expected.items():
        assert got[pk] == pytest.approx(score, rel=1e-9), pk


def test_the_terms_are_the_porter_tokenizers() -> None:
    # SQLite's Porter departs from the published algorithm (logi -> log, bli -> ble);
    # ligatures and accents fold as unicode61 folds them.
    assert fts5.terms("Technology possibly Déploiement") == ("technolog", "possibl", "deploiement")
    assert fts5.terms("") == ()


def test_a_document_keeps_columns_apart() -> None:
    (doc,) = fts5.documents([["disk", "full", None, None, None, None, None, None]])
    # "disk" ends the title and "full" starts the tags: not the phrase "disk full".
    assert doc.length == 2
    assert doc.starts[:2] == [1, 3]
    assert "'disk':1A" in doc.tsvector and "'full':3A" in doc.tsvector


def test_unsupported_syntax_is_refused() -> None:
    with pytest.raises(ValueError):
        fts5.parse('"a" AND "b"')
