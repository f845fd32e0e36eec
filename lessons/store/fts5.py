"""FTS5's matching and ranking, computed outside SQLite for a store whose engine has
neither (PostgreSQL).

``lessons/search/`` writes FTS5 expressions and ranks by what ``bm25()`` returns.
SQLite computes that inside FTS5. So that a shared index ranks exactly as the
embedded one (issue 16: "the same answers and quality"), its documents are made of
the same tokens (made by SQLite's own tokenizer: ``terms``, ``documents``), held as
positions in the engine (a tsvector, whose index narrows the records to look at),
and the phrase, prefix, column and NEAR matching and the BM25 formula of FTS5 are
applied here to those positions. ``tests/test_fts5.py`` checks the numbers against
SQLite's own.

Limits a tsvector sets: positions past 16,383 and more than 256 positions of one
word in one record are not kept (a record that long is rare; FTS5 keeps them).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lessons.store.schema import FTS_COLUMNS

# FTS5's bm25() constants (fts5_aux.c).
K1 = 1.2
B = 0.75
# tsvector limits (PostgreSQL's MAXENTRYPOS and MAXNUMPOS).
MAX_POSITION = 16383
MAX_POSITIONS = 256
# The weight label of each column in the tsvector (narrows field:word look-ups).
LABELS = ("A", "A", "B", "B", "C", "D", "D", "D")

_WORD = re.compile(r"[^\W_]+")
# The tokenizer of the embedded index's record_fts (store/sqlite.py).
TOKENIZE = "porter unicode61 remove_diacritics 2"


class _Tokenizer:
    """SQLite's own FTS5 tokenizer, in memory: the tokens are the embedded index's
    exactly (its Porter has departures from the published algorithm that other
    stemmers lack, and unicode61 folds as no Python function quite does)."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        cols = ", ".join(f"c{i}" for i in range(len(FTS_COLUMNS)))
        self.conn.execute(f"CREATE VIRTUAL TABLE d USING fts5({cols}, tokenize='{TOKENIZE}')")
        self.conn.execute("CREATE VIRTUAL TABLE dv USING fts5vocab(d, 'instance')")
        self.lock = threading.Lock()

    def tokens(self, rows: Sequence[Sequence[str | None]]) -> list[list[list[str]]]:
        """For each row of column texts, each column's terms in order."""
        out: list[list[list[str]]] = [[[] for _ in FTS_COLUMNS] for _ in rows]
        width = len(FTS_COLUMNS)
        marks = ",".join("?" * width)
        with self.lock:
            self.conn.execute("DELETE FROM d")
            self.conn.executemany(
                f"INSERT INTO d (rowid, {', '.join(f'c{i}' for i in range(width))})"
                f" VALUES (?, {marks})",
                [(i, *(list(r) + [None] * width)[:width]) for i, r in enumerate(rows)],
            )
            found = self.conn.execute(
                "SELECT doc, col, offset, term FROM dv ORDER BY doc, col, offset"
            ).fetchall()
        for doc, col, _offset, term in found:
            out[doc][int(col[1:])].append(term)
        return out


@functools.lru_cache(maxsize=1)
def _tokenizer() -> _Tokenizer:
    return _Tokenizer()


@functools.lru_cache(maxsize=4096)
def terms(text: str | None) -> tuple[str, ...]:
    """The index terms of some text, in order."""
    if not text:
        return ()
    return tuple(_tokenizer().tokens([[text]])[0][0])


# --- documents -------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A record as the engine stores it: its terms as a tsvector, how many tokens it
    has, and where each column starts among the positions."""

    tsvector: str
    length: int
    starts: list[int]
    terms: tuple[str, ...]  # its distinct terms (document frequencies count these)
    # For each of ``terms``, the column labels of its positions as kept ("AAC"): the
    # champion lists' weights (store/postgres/champions.py) count them.
    labels: tuple[str, ...] = ()


def documents(rows: Sequence[Sequence[str | None]]) -> list[Document]:
    """The documents of records' full-text columns (``FTS_COLUMNS`` order).

    Each column's positions follow the previous column's after a gap of one, so that
    no phrase runs from one column into the next (FTS5 positions are per column)."""
    out = []
    for start in range(0, len(rows), 500):
        out += [_document(cols) for cols in _tokenizer().tokens(rows[start : start + 500])]
    return out


def _document(columns: Sequence[Sequence[str]]) -> Document:
    positions: dict[str, list[str]] = {}
    starts: list[int] = []
    length = 0
    at = 1
    for column, words in enumerate(columns):
        starts.append(at)
        length += len(words)
        label = LABELS[column]
        for offset, term in enumerate(words):
            pos = at + offset
            if pos > MAX_POSITION:
                break
            held = positions.setdefault(term, [])
            if len(held) < MAX_POSITIONS:
                held.append(f"{pos}{label}")
        at += len(words) + 1
    held = sorted(positions)
    vector = " ".join(f"{_lexeme(t)}:{','.join(positions[t])}" for t in held)
    labels = tuple("".join(p[-1] for p in positions[t]) for t in held)
    return Document(vector, length, starts, tuple(held), labels)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


# --- expressions -------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """One FTS5 phrase: its terms, a prefix last term, an optional column."""

    words: tuple[str, ...]  # as written in the expression (snippets highlight these)
    terms: tuple[str, ...]
    prefix: bool = False
    column: int | None = None


@dataclass(frozen=True)
class Near:
    """``NEAR(p1 p2 ..., distance)``."""

    phrases: tuple[Phrase, ...]
    distance: int


Item = Phrase | Near


def parse(expr: str) -> list[Item]:
    """The items of an expression ``lessons.search`` writes: phrases (``"a b"``, with
    ``col : `` before or `` *`` after) and NEAR groups, joined by OR."""
    items: list[Item] = []
    i, n = 0, len(expr)
    while i < n:
        if expr[i].isspace():
            i += 1
        elif expr.startswith("OR", i) and (i + 2 == n or expr[i + 2].isspace()):
            i += 2
        elif expr.startswith("NEAR(", i):
            i += 5
            phrases: list[Phrase] = []
            while True:
                while expr[i].isspace():
                    i += 1
                if expr[i] == '"':
                    phrase, i = _phrase(expr, i, None)
                    phrases.append(phrase)
                    continue
                break
            m = re.compile(r",\s*(\d+)\s*\)").match(expr, i)
            if not m:
                raise ValueError(f"unsupported NEAR group at {i}: {expr!r}")
            items.append(Near(tuple(phrases), int(m.group(1))))
            i = m.end()
        else:
            m = re.compile(r"(\w+)\s*:\s*").match(expr, i)
            column = None
            if m and m.group(1) in FTS_COLUMNS:
                column = FTS_COLUMNS.index(m.group(1))
                i = m.end()
            if i >= n or expr[i] != '"':
                raise ValueError(f"unsupported full-text expression at {i}: {expr!r}")
            phrase, i = _phrase(expr, i, column)
            items.append(phrase)
    return items


def _phrase(expr: str, i: int, column: int | None) -> tuple[Phrase, int]:
    """The quoted phrase at ``expr[i]`` (a ``"`` doubled inside) and where it ends."""
    j = i + 1
    text = []
    while True:
        k = expr.index('"', j)
        text.append(expr[j:k])
        if expr.startswith('""', k):
            text.append('"')
            j = k + 2
            continue
        j = k + 1
        break
    body = "".join(text)
    m = re.compile(r"\s*\*").match(expr, j)
    prefix = bool(m)
    if m:
        j = m.end()
    words = tuple(_WORD.findall(body.lower()))
    return Phrase(words, tuple(terms(body)), prefix, column), j


def phrases(items: Iterable[Item]) -> list[Phrase]:
    """Every phrase of an expression, in the order bm25() numbers them."""
    out: list[Phrase] = []
    for item in items:
        out += item.phrases if isinstance(item, Near) else [item]
    return out


def tsquery(items: Iterable[Item], *, labels: bool = True) -> str:
    """A tsquery every record the expression matches also matches (an index look-up;
    the exact match is ``hits``)."""
    parts = []
    for item in items:
        if isinstance(item, Near):
            inner = [_phrase_query(p, labels) for p in item.phrases]
            if all(inner):
                parts.append("(" + " & ".join(inner) + ")")
        else:
            q = _phrase_query(item, labels)
            if q:
                parts.append(q)
    return " | ".join(parts)


def _phrase_query(phrase: Phrase, labels: bool) -> str:
    if not phrase.terms:
        return ""
    label = LABELS[phrase.column] if labels and phrase.column is not None else ""
    out = []
    for k, term in enumerate(phrase.terms):
        last = k == len(phrase.terms) - 1
        mark = (":*" if phrase.prefix and last else ":") + label
        out.append(_lexeme(term) + (mark if mark != ":" else ""))
    return "(" + " <-> ".join(out) + ")"


def words_query(items: Iterable[Item]) -> str:
    """The expression's words as written, in ``to_tsquery`` syntax (for highlighting
    with the engine's own parser)."""
    parts = []
    for phrase in phrases(items):
        if not phrase.words:
            continue
        quoted = ["'" + w.replace("'", "''").replace("\\", "") + "'" for w in phrase.words]
        if phrase.prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " | ".join(parts)


def lexemes(items: Iterable[Item]) -> tuple[list[str], list[str]]:
    """(terms matched exactly, prefixes) that the positions must be read for."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for phrase in phrases(items):
        for k, term in enumerate(phrase.terms):
            if phrase.prefix and k == len(phrase.terms) - 1:
                prefixes.add(term)
            else:
                exact.add(term)
    return sorted(exact), sorted(prefixes)


# --- matching ------------------------------------------------------------------------


class Positions:
    """Where the terms of interest stand in one record."""

    def __init__(self, by_term: Mapping[str, Sequence[int]], starts: Sequence[int]) -> None:
        self.by_term = by_term
        self.starts = list(starts)
        self._prefixed: dict[str, set[int]] = {}

    def column(self, pos: int) -> int:
        """The column a position is in."""
        return bisect.bisect_right(self.starts, pos) - 1

    def of(self, term: str, prefix: bool) -> set[int]:
        """The positions of a term (of every term it begins, for a prefix)."""
        if not prefix:
            return set(self.by_term.get(term, ()))
        if term not in self._prefixed:
            self._prefixed[term] = {
                p for t, ps in self.by_term.items() if t.startswith(term) for p in ps
            }
        return self._prefixed[term]

    def instances(self, phrase: Phrase) -> list[int]:
        """The positions where the phrase starts, in its column if it names one."""
        if not phrase.terms:
            return []
        last = len(phrase.terms) - 1
        sets = [self.of(t, phrase.prefix and k == last) for k, t in enumerate(phrase.terms)]
        found = []
        for p in sorted(sets[0]):
            if all(p + k in sets[k] for k in range(1, len(sets))) and (
                phrase.column is None or self.column(p) == phrase.column
            ):
                found.append(p)
        return found


def hits(items: Sequence[Item], where: Positions) -> list[list[int]] | None:
    """The instances of each phrase (``phrases`` order) that count for bm25(), or None
    when the record does not match the expression."""
    out: list[list[int]] = []
    matched = False
    for item in items:
        if isinstance(item, Phrase):
            found = where.instances(item)
            matched = matched or bool(found)
            out.append(found)
            continue
        lists = [where.instances(p) for p in item.phrases]
        kept = _near(item, lists, where)
        matched = matched or any(kept)
        out += kept
    return out if matched else None


def _near(group: Near, lists: list[list[int]], where: Positions) -> list[list[int]]:
    """The instances of a NEAR group's phrases that stand in a match of the group:
    one instance of each phrase, all in one column, the group spanning at most
    ``distance`` tokens between them (FTS5's rule)."""
    sizes = [len(p.terms) for p in group.phrases]
    keep: list[set[int]] = [set() for _ in lists]
    if not all(lists):
        return [[] for _ in lists]
    # Every combination of instances is small here (two words, a few instances each).
    for combo in itertools.product(*lists):
        if len({where.column(p) for p in combo}) != 1:
            continue
        first = min(combo)
        last_end = max(p + s for p, s in zip(combo, sizes, strict=True))
        tokens = sum(sizes)
        if last_end - first - tokens <= group.distance:
            for k, p in enumerate(combo):
                keep[k].add(p)
    return [sorted(k) if all(keep) else [] for k in keep]


# --- ranking -------------------------------------------------------------------------


def idf(rows: int, matching: int) -> float:
    """FTS5's inverse document frequency (never below a millionth)."""
    value = math.log((rows - matching + 0.5) / (matching + 0.5))
    return value if value > 0 else 1e-6


def bm25(
    instances: Sequence[Sequence[int]],
    where: Positions,
    weights: Sequence[float],
    idfs: Sequence[float],
    length: int,
    avgdl: float,
) -> float:
    """FTS5's bm25() of one record, sign flipped (higher is better)."""
    norm = K1 * (1 - B + B * length / avgdl) if avgdl > 0 else K1
    score = 0.0
    for found, factor in zip(instances, idfs, strict=True):
        freq = sum(weights[c] if c < len(weights) else 1.0 for c in map(where.column, found))
        score += factor * freq * (K1 + 1) / (freq + norm)
    return score
