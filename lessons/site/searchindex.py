"""The search index the browser loads: MiniSearch's index, computed here, written compactly.

MiniSearch (vendored under ``static/vendor/``) would build its index in the
browser from the documents, but on 10,000 records that takes about 1.6 s, and
its own JSON serialisation is 10 MB (2.8 MB gzipped) and 0.4 s to load. So the
build computes what MiniSearch would (the same tokens, the same term
frequencies, the same field lengths: see ``tokens``) and writes it as delta-coded
integer lists; ``assets/search.js`` turns them back into MiniSearch's index in
about a tenth of a second. A browser test checks that the result ranks exactly
as MiniSearch's own indexing of the same documents does.

The file also carries what a result shows and what the filters need, per
record: page, title, kind, date, tags, campaign, team, the number of its
snippet file and its id where that is not the page's name (names are stored
once and referred to by number). The text that snippets are cut from is in
separate files (``search/text-N.json``) that the page fetches only for the
results it shows: half the size of the index on 10,000 records, which the first
search need not wait for.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lessons.model import KINDS

# MiniSearch's fields, in order: a field's number is its position.
FIELDS = ("title", "tags", "text")
# Words too common to tell records apart; search.js drops the same ones from queries.
STOP_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "when",
        "which",
        "will",
        "with",
    )
)
MAX_TERM = 40
_TOKEN = re.compile(r"[^\W_]+")
# The record fields searched besides title and tags, in the order they are joined.
TEXT_KEYS = (
    "lesson",
    "summary",
    "recommendations",
    "expected",
    "why",
    "response",
    "evidence",
    "campaign",
    "team",
    "stage",
    "authors",
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` as search.js's ``tokenize`` splits them: NFC, lower case,
    runs of letters and digits."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def kept(token: str) -> bool:
    """Whether a token is indexed (search.js's ``processTerm`` keeps the same ones)."""
    return 1 < len(token) <= MAX_TERM and token not in STOP_WORDS


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(v for v in value if isinstance(v, str))
    return ""


def searched_text(rec: Mapping[str, Any], custom: Iterable[str] = ()) -> str:
    """Everything of a record the ``text`` field holds."""
    parts = [_text(rec.get(k)) for k in (*TEXT_KEYS, *custom)]
    return "\n".join(p for p in parts if p)


# Snippets: each record's text (cut at SNIPPET_TEXT characters) lives in one of a few
# files of about SHARD_SIZE records, fetched only for the results on screen. A record's
# file follows from its id, not its position, so a new record rewrites one of them.
SHARD_SIZE = 200
SNIPPET_TEXT = 4000


def shard_count(n: int) -> int:
    """How many snippet files for ``n`` records: a power of two (so it seldom changes)."""
    count = 1
    while count * SHARD_SIZE < n:
        count *= 2
    return count


def shard_of(rec_id: str, count: int) -> int:
    """The snippet file of a record."""
    from lessons.hashing import digest

    return int(digest(rec_id.encode("utf-8"), 4), 16) % count


def snippet_shards(
    records: Sequence[Mapping[str, Any]], custom_text: Iterable[str] = ()
) -> list[dict[str, str]]:
    """``search/text-N.json`` for each N: record id -> the text snippets are cut from."""
    count = shard_count(len(records))
    custom = tuple(custom_text)
    shards: list[dict[str, str]] = [{} for _ in range(count)]
    for rec in records:
        text = " ".join(searched_text(rec, custom).split())
        shards[shard_of(rec["id"], count)][rec["id"]] = text[:SNIPPET_TEXT]
    return [dict(sorted(shard.items())) for shard in shards]


def build_index(
    records: Sequence[Mapping[str, Any]],
    pages: Sequence[str],
    custom_text: Iterable[str] = (),
) -> dict[str, Any]:
    """The JSON document ``search/index.json``: ``records[i]`` is document ``i``, its page
    ``pages[i]``."""
    custom = tuple(custom_text)
    postings: dict[str, list[list[int]]] = {}
    lengths: list[int] = []
    totals = [0] * len(FIELDS)
    tags: dict[str, int] = {}
    campaigns: dict[str, int] = {}
    teams: dict[str, int] = {}
    docs: list[list[Any]] = []
    shards = shard_count(len(records))
    for doc, rec in enumerate(records):
        values = (
            rec.get("title") or "",
            " ".join(rec.get("tags") or []),
            searched_text(rec, custom),
        )
        for field, value in enumerate(values):
            words = tokens(value)
            # MiniSearch's field length: distinct tokens, before any are dropped.
            length = len(set(words))
            lengths.append(length)
            totals[field] += length
            for term, tf in Counter(w for w in words if kept(w)).items():
                lists = postings.get(term)
                if lists is None:
                    lists = postings[term] = [[] for _ in FIELDS]
                lists[field] += (doc, tf)
        docs.append(
            [
                pages[doc],
                rec.get("title") or "",
                KINDS.index(rec["kind"]) if rec.get("kind") in KINDS else 0,
                rec.get("date") or "",
                [_number(tags, t) for t in rec.get("tags") or []],
                _number(campaigns, rec.get("campaign")),
                _number(teams, rec.get("team")),
                shard_of(rec["id"], shards),
                # The id, where the page's name is not the id itself (almost never).
                0 if pages[doc] == rec["id"] else rec["id"],
            ]
        )
    n = len(records)
    terms = sorted(postings)
    return {
        "v": 1,
        "fields": list(FIELDS),
        "stop": sorted(STOP_WORDS),
        "max_term": MAX_TERM,
        "avg": [t / n if n else 0 for t in totals],
        "lengths": lengths,
        "terms": terms,
        "postings": [_encode(postings[t]) for t in terms],
        "kinds": list(KINDS),
        "tags": list(tags),
        "campaigns": list(campaigns),
        "teams": list(teams),
        "shards": shards,
        "docs": docs,
    }


def _number(names: dict[str, int], name: Any) -> int:
    """The number of ``name`` in ``names`` (added when new); -1 for none."""
    if not isinstance(name, str) or not name:
        return -1
    return names.setdefault(name, len(names))


def _encode(by_field: list[list[int]]) -> list[Any]:
    """``[field, [gap, (gap, -tf)…], field, […]]``: per field with the term, the documents
    as gaps from the previous one (the first from -1), a gap followed by ``-tf`` when
    the term occurs more than once there. Small numbers keep the file small."""
    out: list[Any] = []
    for field, flat in enumerate(by_field):
        if not flat:
            continue
        coded: list[int] = []
        prev = -1
        for i in range(0, len(flat), 2):
            doc, tf = flat[i], flat[i + 1]
            coded.append(doc - prev)
            if tf > 1:
                coded.append(-tf)
            prev = doc
        out += [field, coded]
    return out
