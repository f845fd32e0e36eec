"""The query language (SPEC §5): parsing user text into terms, and quoting them into
FTS5's syntax (which both stores read) so that user text never reaches
the engine unquoted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# --- the query language ------------------------------------------------------------

# field:word -> the full-text column (the FTS table calls the tags column tags_text).
FIELDS = {
    "title": "title",
    "summary": "summary",
    "lesson": "lesson",
    "recommendations": "recommendations",
    "tags": "tags_text",
    "campaign": "campaign",
    "team": "team",
}
_FIELD_RE = re.compile(r"(" + "|".join(FIELDS) + r"):", re.IGNORECASE)
# A word: letters and digits of any script (FTS5's unicode61 tokenizer agrees).
_WORD = re.compile(r"[^\W_]+")
# Control characters (NUL among them) would end or break an FTS string.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_QUERY_CHARS = 2000
MAX_TERMS = 32


@dataclass(frozen=True)
class Term:
    """One item of a query: a word, a hyphenated compound or a quoted phrase."""

    words: tuple[str, ...]  # lower-cased tokens; more than one are matched as a phrase
    column: str | None = None  # field:word restricts to one full-text column
    prefix: bool = False  # word* : the last word is a prefix
    negated: bool = False  # -word : records containing it are left out
    quoted: bool = False  # "a phrase" as typed
    raw: str = ""  # as typed, for messages

    @property
    def plain(self) -> bool:
        """A bare word (or compound) that search may expand and correct."""
        return not (self.column or self.prefix or self.quoted)


def parse_query(text: str) -> list[Term]:
    """Read user text into terms; anything that is not query syntax is searched for or ignored.

    Syntax: ``word``, ``"a phrase"`` (an unclosed quote runs to the end), ``-word``
    or ``-"a phrase"`` to exclude, ``word*`` for a prefix, ``field:word`` or
    ``field:"a phrase"`` for the fields of ``FIELDS``. Punctuation inside a word
    splits it into a phrase (``fail-over`` is the phrase ``fail over``).
    """
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS * 2]))
    text = text[:MAX_QUERY_CHARS]
    terms: list[Term] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        column = None
        m = _FIELD_RE.match(text, i)
        if m and m.end() < n and not text[m.end()].isspace():
            column = FIELDS[m.group(1).lower()]
            i = m.end()
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body = text[i + 1 : end]
            i = end + 1
            prefix = i < n and text[i] == "*"
            i += prefix
            quoted = True
        else:
            end = i
            while end < n and not text[end].isspace():
                end += 1
            body = text[i:end]
            i = end
            prefix = body.endswith("*")
            quoted = False
        words = tuple(w.lower() for w in _WORD.findall(body))
        if words:
            terms.append(Term(words, column, prefix, negated, quoted, body.rstrip("*")))
    return terms


def fts_phrase(words: Sequence[str], prefix: bool = False, column: str | None = None) -> str:
    """One FTS5 phrase, quoted so that nothing in it is read as syntax."""
    phrase = '"' + " ".join(words).replace('"', '""') + '"'
    if prefix:
        phrase += " *"
    return f"{column} : {phrase}" if column else phrase


def to_fts(text: str) -> str:
    """The user's query as an FTS5 expression: every term must match, ``-term`` excluded.

    An empty string when there is nothing to search for (no words, or only
    exclusions: FTS5 cannot start with NOT).
    """
    terms = parse_query(text)
    wanted = [fts_phrase(t.words, t.prefix, t.column) for t in terms if not t.negated]
    if not wanted:
        return ""
    expr = " AND ".join(wanted)
    for t in terms:
        if t.negated:
            expr = f"({expr}) NOT {fts_phrase(t.words, t.prefix, t.column)}"
    return expr


# An alternative a concept can be satisfied by: (words, prefix, column).
Alt = tuple[tuple[str, ...], bool, "str | None"]


def alts_fts(alts: Iterable[Alt]) -> str:
    """FTS5 syntax for "any of these"."""
    return " OR ".join(fts_phrase(w, p, c) for w, p, c in dict.fromkeys(alts))


def near_fts(pairs: Iterable[tuple[str, str]], distance: int) -> str:
    """FTS5 syntax for "any of these word pairs close together"."""
    return " OR ".join(f'NEAR("{a}" "{b}", {int(distance)})' for a, b in dict.fromkeys(pairs))


# --- words -------------------------------------------------------------------------

# Not required and not scored on their own; they still take part in phrases and
# in synonym matching ("ran out of storage").
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because
    been before being below between both but by can cannot could couldn couldnt did didn
    didnt do does doesn doesnt doing don dont down during each few for from further get
    gets got had hadn has hasn have haven having he her here hers herself him himself his
    how i if in into is isn it its itself just let ll me more most much must mustn my
    myself no nor not now of off on once only or other ought our ours ourselves out over
    own re s same shan she should shouldn so some such t than that the their theirs them
    themselves then there these they this those through to too under until up us very was
    wasn we were weren what when where which while who whom why will with won wont would
    wouldn ve you your yours yourself yourselves d m o y ain whether via yet""".split()  # noqa: SIM905
)
