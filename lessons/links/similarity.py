"""Text similarity of records, shared by ``related``, recurrence and near-duplicates.

Similarity is TF-IDF cosine over a record's title, tags, lesson and summary, in
the stemmed term space of the full-text index: words are stemmed by SQLite's own
porter tokenizer, so document frequencies come straight from ``record_vocab``.
On the eval corpora it put the known near-duplicate first for 22 of 22 records,
where rapidfuzz's token-set ratio over the same text did for 18.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lessons.filters import Filters, value_key
from lessons.kb import KnowledgeBase

_WORD = re.compile(r"[^\W\d_][^\W_]{2,}")
# Function words, and the names of months and days (they say when, not what);
# nothing domain-specific: rarity (IDF) weighs the rest.
_STOP = frozenset(
    """
    about above after again against all also and any are aren because been before being
    below between both but can cannot could did didn does doesn doing don down during each
    few for from further had has have having her here hers herself him himself his how
    into its itself just let more most must not now off once only other our ours ourselves
    out over own same she should some such than that the their theirs them themselves then
    there these they this those through too under until upon very was wasn were weren what
    when where which while who whom why will with won would yet you your yours yourself
    able already always another anyone came come did get got give goes going gone good
    know lot made make many may might much one ones really said say see seen still take
    taken thing things think took two use used using want way well went whether
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday
    """.split()  # noqa: SIM905 - a list literal of 200 words would be unreadable
)
_STEMS: dict[str, str] = {}


def _words(text: str | None) -> list[str]:
    if not text:
        return []
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem_words(words: Iterable[str]) -> None:
    """Stem new words with the index's own tokenizer (SQLite FTS5 porter), into ``_STEMS``."""
    import sqlite3

    new = sorted({w for w in words if w not in _STEMS})
    if not new:
        return
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE s USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(s, 'instance')")
        conn.executemany("INSERT INTO s(rowid, x) VALUES (?, ?)", enumerate(new, start=1))
        for term, doc in conn.execute("SELECT term, doc FROM v WHERE offset = 0"):
            _STEMS[new[doc - 1]] = term
    finally:
        conn.close()
    for word in new:
        _STEMS.setdefault(word, word)


@dataclass
class _Doc:
    """A record as similarity sees it: stemmed term counts and, later, a unit vector."""

    id: str
    title: str
    kind: str
    date: str | None
    campaign: str | None
    tags: list[str]
    title_words: list[str]  # until the words are stemmed
    counts: Counter[str] = field(default_factory=Counter)
    title_counts: Counter[str] = field(default_factory=Counter)
    surface: dict[str, str] = field(default_factory=dict)
    vec: dict[str, float] = field(default_factory=dict)
    title_vec: dict[str, float] = field(default_factory=dict)


def _docs(rows: Iterable[Sequence[Any]], *, lean: bool = False) -> list[_Doc]:
    """Docs with stemmed term counts; ``lean`` leaves out what only ``related`` shows
    (title counts, surface words), for passes over every record."""
    docs = []
    # One string object per distinct word: 100,000 records hold some 15 million
    # words, and a string each would take a gigabyte before they are counted.
    vocab: dict[str, str] = {}
    share = vocab.setdefault
    for rid, title, kind, date, campaign, tags_text, lesson, summary in rows:
        tags = (tags_text or "").split()
        # Title and tags count twice: they say what the record is about.
        title_words = [share(w, w) for w in _words(title)]
        tag_words = [share(w, w) for w in _words(" ".join(tags).replace("-", " "))]
        body = [share(w, w) for w in (*_words(lesson), *_words(summary))]
        doc = _Doc(rid, title, kind, date, campaign, tags, [] if lean else title_words)
        # Counted now, in order of first appearance (which word shows for a stem);
        # unstemmed until the loop below swaps each for its stems, freeing as it goes.
        doc.counts = Counter(title_words * 2 + tag_words * 2 + body)
        docs.append(doc)
    _stem_words(vocab)
    for d in docs:
        words, d.counts = d.counts, Counter()
        for word, n in words.items():
            stem = _STEMS[word]
            d.counts[stem] += n
            if not lean:
                d.surface.setdefault(stem, word)
        if not lean:
            d.title_counts = Counter(_STEMS[w] for w in d.title_words)
        d.title_words = []
    return docs


class _Weights:
    """Inverse document frequencies: from the index vocabulary, or counted over given docs."""

    def __init__(self, kb: KnowledgeBase, docs: Sequence[_Doc] = ()) -> None:
        self.store = kb.store
        self.fts = self.store.has_term_counts()
        self.df: dict[str, int] = {}
        if self.fts:
            self.n = self.store.count()
        else:
            # No term counts in the store: count over every record.
            every = _docs(self.store.similarity_rows())
            self.n = len(every)
            self.df = dict(Counter(t for d in every for t in d.counts))
        self.known: set[str] = set(self.df)
        self.cover(docs)

    def cover(self, docs: Iterable[_Doc]) -> None:
        """Make sure the frequencies of every term of ``docs`` are known."""
        if not self.fts:
            return
        wanted = {t for d in docs for t in d.counts} - self.known
        if not wanted:
            return
        found = self.store.term_doc_counts(None if len(wanted) > 5000 else wanted)
        self.df.update(found)
        self.known |= wanted | set(found)

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 1) + 1))

    def vectorise(self, docs: Iterable[_Doc], *, titles: bool = False) -> None:
        """Give each doc its L2-normalised TF-IDF vector (sublinear term frequency),
        and one of its title alone when ``titles``."""
        for d in docs:
            d.vec = self.vector(d.counts)
            if titles:
                d.title_vec = self.vector(d.title_counts)

    def vector(self, counts: Mapping[str, int]) -> dict[str, float]:
        """The unit TF-IDF vector of term counts."""
        vec = {t: (1 + math.log(n)) * self.idf(t) for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {t: w / norm for t, w in vec.items() if w > 0}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[t] for t, w in a.items() if t in b)


def _shared_words(a: _Doc, b: _Doc, n: int = 4) -> list[str]:
    """The words that contribute most to the similarity of two docs."""
    small, big = (a, b) if len(a.vec) <= len(b.vec) else (b, a)
    parts = [(w * big.vec[t], t) for t, w in small.vec.items() if t in big.vec]
    return [a.surface.get(t) or b.surface.get(t) or t for _, t in heapq.nlargest(n, parts)]


def _tag_overlap(a: _Doc, b: _Doc, tag_idf: Mapping[str, float]) -> tuple[list[str], float]:
    """Shared tags, and their IDF-weighted Jaccard (a tag on every record counts little)."""
    mine, theirs = set(a.tags), set(b.tags)
    shared = sorted(mine & theirs)
    if not shared:
        return [], 0.0
    union = sum(tag_idf.get(t, 1.0) for t in mine | theirs)
    return shared, (sum(tag_idf.get(t, 1.0) for t in shared) / union) if union else 0.0


def _tag_idf(kb: KnowledgeBase) -> dict[str, float]:
    n = kb.store.count()
    return {tag: math.log((n + 1) / (c + 1)) + 0.1 for tag, c in kb.store.tag_counts()}


def _same_campaign(a: _Doc, b: _Doc) -> bool:
    return bool(a.campaign and b.campaign and value_key(a.campaign) == value_key(b.campaign))


def _selected(kb: KnowledgeBase, filters: Filters | None) -> set[str] | None:
    """The ids ``filters`` select, or None when there are no filters."""
    if filters is None or filters.is_empty():
        return None
    _, rows = kb.store.select(filters, sort="id", columns="r.id")
    return {r["id"] for r in rows}


# Terms per record that pair it with others, the share of records above which a
# term is too common to pair on, and how much of the threshold those terms must
# reach before the exact cosine is worth computing. Measured against all n² pairs:
# every pair at 0.5 found on the 730 cloud and wikitech mistakes, 96% on 3,128
# mixed post-mortems; the ones missed were alike mostly in common words.
TOP_TERMS = 40
COMMON_SHARE, COMMON_MIN = 0.05, 100
ROUGH_SHARE = 1 / 3


def _similar_pairs(
    docs: Sequence[_Doc],
    min_score: float,
    only: set[int] | None = None,
    top_terms: int = TOP_TERMS,
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, cosine) of ``docs``, i < j, whose cosine is at least ``min_score``;
    with ``only``, just the pairs one of those indexes is part of.

    Each doc's strongest terms go into an inverted index; the dot products over
    shared strong terms pick the pairs worth the exact cosine, so far fewer than
    the n² pairs are compared. Approximate: a pair alike only in words common to
    many records can be missed.
    """
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.vec.keys())
    cap = max(COMMON_MIN, int(len(docs) * COMMON_SHARE))
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    tops: list[list[tuple[str, float]]] = []
    for i, d in enumerate(docs):
        strong = ((t, w) for t, w in d.vec.items() if 1 < df[t] <= cap)
        top = heapq.nlargest(top_terms, strong, key=lambda item: item[1])
        tops.append(top)
        for term, weight in top:
            postings[term].append((i, weight))
    rough = min_score * ROUGH_SHARE
    out = []
    for i in sorted(only) if only is not None else range(len(docs)):
        acc: dict[int, float] = defaultdict(float)
        for term, weight in tops[i]:
            for j, other in postings[term]:
                # Each pair once: from its smaller index, unless only the larger probes.
                if j > i or (only is not None and j < i and j not in only):
                    acc[j] += weight * other
        vec = docs[i].vec
        for j, partial in acc.items():
            if partial >= rough:
                score = _cosine(vec, docs[j].vec)
                if score >= min_score:
                    out.append((min(i, j), max(i, j), score))
    return out
