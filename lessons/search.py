"""Search (SPEC §5): the query language, ranking, typo correction, synonyms and snippets.

Layered as in sqlite-utils: ``parse_query`` reads the user's text into terms,
``fts_phrase``/``to_fts`` quote them into FTS5 syntax (user text never reaches
the engine unquoted), and ``search`` plans, runs and ranks. The store runs the
SQL; every piece of query syntax is made here.

How a query is answered (README, "How results are found and ranked", has the long version):

1. Words become *concepts*. A concept is satisfied by the word itself, its
   spelling variants (British/American, hyphen/space: ``fail-over``,
   ``failover``, ``fail over``) and, at a lower weight, its synonyms (the
   ``synonyms:`` of ``lessons.yaml`` and the built-in domain thesaurus in
   ``lessons/thesaurus.py``). Stop words are not required. A word that is in
   no record is corrected to the closest indexed words (unless ``exact``).
2. Each concept is scored with BM25 over the field-weighted FTS5 index
   (porter stemming); a record's score is the sum over concepts, plus a bonus
   for query words that stand close together, plus pseudo-relevance feedback:
   terms typical of the best first-pass results are searched for too.
3. Records that satisfy every concept come first (SPEC: all words must
   match). When fewer than ``limit`` do, the list is filled with the best
   partial matches, each marked ``partial``.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lessons.errors import NoMatchError, UsageError
from lessons.filters import Filters

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


# PostgreSQL keeps four weight labels; each full-text column has one (store/postgres.py).
TS_LABELS = {
    "title": "A",
    "tags_text": "A",
    "lesson": "B",
    "recommendations": "B",
    "summary": "C",
    "campaign": "D",
    "team": "D",
}


def alts_tsquery(alts: Iterable[Alt]) -> str:
    """PostgreSQL ``to_tsquery`` syntax for "any of these".

    Words hold letters and digits only (``parse_query``), so quoting them is
    enough; ``field:word`` becomes the field's weight label (title and tags share A).
    """
    parts = []
    for words, prefix, column in dict.fromkeys(alts):
        label = TS_LABELS.get(column or "", "")
        quoted = ["'" + w.replace("'", "''").replace("\\", "") + "'" for w in words]
        if label:
            quoted = [f"{q}:{label}" for q in quoted]
        if prefix:
            quoted[-1] += "*" if label else ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " | ".join(parts)


def match_expr(store: Any, alts: Iterable[Alt]) -> str:
    """ "Any of these" in the query syntax of ``store`` (FTS5 or PostgreSQL tsquery)."""
    if getattr(store, "dialect", "fts5") == "tsquery":
        return alts_tsquery(alts)
    return alts_fts(alts)


def near_expr(store: Any, pairs: Iterable[tuple[str, str]], distance: int) -> str:
    """Word pairs close together; empty where the store has no NEAR (PostgreSQL)."""
    if getattr(store, "dialect", "fts5") == "tsquery":
        return ""
    return near_fts(pairs, distance)


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

# British -> American spelling rules; a variant is used only if the index holds it.
_SPELLING_RULES = [
    (re.compile(r"^(\w{3,})our(s|ed|ing|ful|ite|ites|able|less)?$"), r"\1or\2"),
    (re.compile(r"^(\w{2,}[^aeiou])or(s|ed|ing|ful|ite|ites|able|less)?$"), r"\1our\2"),
    (re.compile(r"^(\w{2,})is(e|es|ed|ing|er|ers|ation|ations)$"), r"\1iz\2"),
    (re.compile(r"^(\w{2,})iz(e|es|ed|ing|er|ers|ation|ations)$"), r"\1is\2"),
    (re.compile(r"^(\w{2,})ys(e|es|ed|ing|er|ers)$"), r"\1yz\2"),
    (re.compile(r"^(\w{2,})yz(e|es|ed|ing|er|ers)$"), r"\1ys\2"),
    (re.compile(r"^(\w{2,}[^aeiou])re(s)?$"), r"\1er\2"),
    (re.compile(r"^(\w{2,}[^aeiou])er(s)?$"), r"\1re\2"),
    (re.compile(r"^(\w{2,}[^aeiou])red$"), r"\1ered"),
    (re.compile(r"^(\w{2,}[^aeiou])ered$"), r"\1red"),
    (re.compile(r"^(\w{3,})ogue(s)?$"), r"\1og\2"),
    (re.compile(r"^(\w{3,})og(s)?$"), r"\1ogue\2"),
    (re.compile(r"^(\w{2,})ence(s)?$"), r"\1ense\2"),
    (re.compile(r"^(\w{2,})ense(s)?$"), r"\1ence\2"),
    (re.compile(r"^(\w{2,}[ae])ll(ed|ing|er|ers)$"), r"\1l\2"),
    (re.compile(r"^(\w{2,}[ae])l(ed|ing|er|ers)$"), r"\1ll\2"),
]
_SPELLING_PAIRS = dict(
    pair.split("/")
    for pair in """grey/gray aluminium/aluminum programme/program programmes/programs
    tyre/tire tyres/tires disc/disk discs/disks sceptical/skeptical mould/mold
    manoeuvre/maneuver learnt/learned judgement/judgment ageing/aging artefact/artifact
    artefacts/artifacts draught/draft plough/plow storey/story kerb/curb enrol/enroll
    fulfil/fulfill instalment/installment practise/practice cosy/cozy whilst/while
    amongst/among spelt/spelled burnt/burned""".split()  # noqa: SIM905
)
_SPELLING_PAIRS.update({v: k for k, v in list(_SPELLING_PAIRS.items())})


def spelling_variants(word: str) -> list[str]:
    """Other spellings of ``word`` (British/American); the caller keeps the ones in use."""
    out = [_SPELLING_PAIRS[word]] if word in _SPELLING_PAIRS else []
    for pattern, repl in _SPELLING_RULES:
        if pattern.match(word):
            out.append(pattern.sub(repl, word))
    return [v for v in dict.fromkeys(out) if v != word]


_CANONICAL = (_SPELLING_RULES[0], _SPELLING_RULES[2], _SPELLING_RULES[6])


@functools.lru_cache(maxsize=4096)
def light_stem(word: str) -> str:
    """A crude suffix stripper, used only to match query words against synonym entries."""
    w = _SPELLING_PAIRS.get(word, word)
    if "our" in w or "is" in w or "re" in w:
        for pattern, repl in _CANONICAL:
            w = pattern.sub(repl, w)  # one canonical (American) spelling
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suffix in ("ing", "ed", "s"):
        if suffix == "s" and w.endswith(("ss", "us", "is")):
            break
        if len(w) - len(suffix) >= 3 and w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # cache, caches, cached -> cach
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":
        w = w[:-1]  # stopped -> stop
    return w


# --- synonyms ----------------------------------------------------------------------


@dataclass
class Thesaurus:
    """Groups of equivalent terms, found in a query by their light stems."""

    # each group: (entry, its stemmed form) pairs
    groups: list[list[tuple[tuple[str, ...], tuple[str, ...]]]] = field(default_factory=list)
    # stemmed entry -> the groups it is in
    index: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    longest: int = 1

    def add(self, terms: Iterable[str]) -> None:
        """Add one group of equivalent terms (words or phrases)."""
        entries = []
        for term in terms:
            words = tuple(w.lower() for w in _WORD.findall(term))
            if words and words not in entries:
                entries.append(words)
        if len(entries) < 2:
            return
        gid = len(self.groups)
        keys = [tuple(light_stem(w) for w in words) for words in entries]
        self.groups.append(list(zip(entries, keys, strict=True)))
        for key in keys:
            self.index.setdefault(key, []).append(gid)
            self.longest = max(self.longest, len(key))

    def others(self, key: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The other entries of the groups holding the stemmed entry ``key``."""
        return [e for gid in self.index.get(key, []) for e, k in self.groups[gid] if k != key]

    def matches(self, stems: Sequence[str]) -> list[tuple[int, int, list[tuple[str, ...]]]]:
        """(start, end, other entries) for every entry found in a sequence of stemmed words."""
        found = []
        for start in range(len(stems)):
            for end in range(min(len(stems), start + self.longest), start, -1):
                key = tuple(stems[start:end])
                if key in self.index:
                    found.append((start, end, self.others(key)))
        return found


_BUILTIN: Thesaurus | None = None


def builtin_thesaurus() -> Thesaurus:
    """The domain thesaurus shipped with the package (parsed once)."""
    global _BUILTIN
    if _BUILTIN is None:
        from lessons.thesaurus import GROUPS

        th = Thesaurus()
        for line in GROUPS.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                th.add(t.strip() for t in line.split(","))
        _BUILTIN = th
    return _BUILTIN


def thesaurus_for(synonyms: Mapping[str, Sequence[str]] | None, builtin: bool) -> Thesaurus:
    """The configured ``synonyms:`` (term: [equivalents]) and, if wanted, the built-in ones."""
    th = Thesaurus()
    if builtin:
        base = builtin_thesaurus()
        th.groups = list(base.groups)
        th.index = {k: list(v) for k, v in base.index.items()}
        th.longest = base.longest
    for term, alts in (synonyms or {}).items():
        th.add([term.replace("-", " "), *alts])
    return th


# --- tuning ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tuning:
    """The knobs of ranking; the defaults are what the CLI uses (benchmarks vary them)."""

    # bm25() weight of each FTS column: title, tags, lesson, recommendations,
    # summary, campaign, team, the other text fields.
    weights: tuple[float, ...] = (4.0, 4.0, 2.0, 2.0, 1.0, 0.5, 0.5, 0.5)
    variants: bool = True  # spelling and hyphen/space variants
    fuzzy: bool = True  # correct words that are in no record
    thesaurus: bool = True  # the built-in domain thesaurus (configured synonyms always apply)
    synonym_weight: float = 0.3
    proximity_weight: float = 0.25
    proximity_distance: int = 6
    feedback_docs: int = 8
    feedback_terms: int = 10
    feedback_weight: float = 0.3
    all_first: bool = True  # records matching every word rank first...
    tier_max_words: int = 4  # ...in queries of at most this many words (see README)
    feedback_keep: int = 5  # feedback leaves the first pass's best few in place


DEFAULT_TUNING = Tuning()


# --- planning ----------------------------------------------------------------------


@dataclass
class Concept:
    """Something the query asks for: satisfied by any of ``alts`` (or, weaker, ``syns``)."""

    label: str
    alts: list[Alt]
    syns: list[Alt] = field(default_factory=list)
    # Compounds shared with the next or previous word (file + server -> fileserver):
    # each of the two concepts counts them at half weight, so together once.
    shared: list[Alt] = field(default_factory=list)
    primary: str | None = None  # the word, for proximity pairs
    syn_share: float = 1.0  # less than 1 when a synonym phrase covers several words

    def groups(self, tuning: Tuning) -> list[tuple[float, list[Alt]]]:
        """(weight, alternatives) to score; a record's score is the best weighted group."""
        syn = tuning.synonym_weight * self.syn_share
        out = [(1.0, self.alts), (0.5, self.shared), (syn, self.syns)]
        return [(w, alts) for w, alts in out if alts and w > 0]


@dataclass
class Plan:
    """The query, worked out: what to require, what to exclude, what was corrected."""

    concepts: list[Concept]
    excluded: list[Alt]
    corrected: dict[str, str]  # word as typed -> replacement(s) shown to the user
    unknown: list[str]  # words in no record and not corrected
    truncated: bool = False

    def highlight(self, store: Any) -> str:
        """Everything worth highlighting in snippets."""
        alts = [a for c in self.concepts for a in (*c.alts, *c.shared, *c.syns)]
        return match_expr(store, alts)


def plan_query(
    store: Any,
    text: str,
    *,
    exact: bool = False,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> Plan:
    """Turn user text into concepts, with variants, corrections and synonyms."""
    terms = parse_query(text)
    positive = [t for t in terms if not t.negated]
    if not positive:
        raise UsageError(
            f"nothing to search for in '{text.strip()[:80]}'",
            hint='search for words or "a phrase"; -word only excludes'
            if terms
            else 'search for words or "a phrase"; symbols and punctuation alone are not searched',
        )
    excluded = [(t.words, t.prefix, t.column) for t in terms if t.negated]
    strict = [t for t in positive if not t.plain]
    plain = [t for t in positive if t.plain]

    # Stop words are not required, but stay in the stream: "ran out of storage"
    # matches the synonym entry "out of storage".
    content = [i for i, t in enumerate(plain) if not _is_stop(t)]
    if not content and not strict:
        content = list(range(len(plain)))  # only stop words: take them as asked
    truncated = len(content) + len(strict) > MAX_TERMS
    content = content[: max(0, MAX_TERMS - len(strict))]
    strict = strict[:MAX_TERMS]

    # Synonym entries found in the query, of one word or several ("regular
    # expression", "out of storage", "air conditioning").
    th = thesaurus_for(synonyms, tuning.thesaurus)
    spans, word_syns = _synonym_spans(th, plain, set(content))
    share: dict[int, float] = {}
    # Their synonyms are shared by the words they cover, and count once.
    for first, last, others in spans:
        covered = [i for i in range(first, last + 1) if i in content]
        for i in covered:
            word_syns.setdefault(i, []).extend(others)
            share[i] = min(share.get(i, 1.0), 1 / len(covered))

    words_needed: set[str] = set()
    for i in content:
        key = "".join(plain[i].words)
        words_needed.add(key)
        if len(plain[i].words) == 1 and tuning.variants:
            words_needed.update(spelling_variants(key))
            words_needed.update(_splits(key))
    pairs = [(a, b) for a, b in itertools.pairwise(content) if b == a + 1]
    if tuning.variants:
        for a, b in pairs:
            words_needed.update(_joins(plain[a], plain[b]))
    df = store.word_counts(words_needed) if words_needed else {}

    corrected: dict[str, str] = {}
    unknown: list[str] = []
    concepts: dict[int, Concept] = {}
    for i in content:
        # Words the thesaurus knows are real words, not typos: never "corrected".
        fix = not exact and i not in word_syns
        c = _concept(store, plain[i], df, fix, tuning, corrected, unknown)
        others = word_syns.get(i, [])
        if not others and c.primary and c.primary in corrected.values():
            others = th.others((light_stem(c.primary),))
        c.syns += [(e, False, None) for e in others]
        c.syn_share = share.get(i, 1.0)
        concepts[i] = c
    if tuning.variants:
        for a, b in pairs:
            for joined in _joins(plain[a], plain[b]):
                if df.get(joined):
                    concepts[a].shared.append(((joined,), False, None))
                    concepts[b].shared.append(((joined,), False, None))
    out = [concepts[i] for i in sorted(concepts)]
    for t in strict:
        out.append(Concept(t.raw or " ".join(t.words), [(t.words, t.prefix, t.column)]))
    for c in out:
        c.alts = list(dict.fromkeys(c.alts))
        c.shared = [s for s in dict.fromkeys(c.shared) if s not in c.alts]
        c.syns = [s for s in dict.fromkeys(c.syns) if s not in c.alts and s not in c.shared]
    return Plan(out, excluded, corrected, unknown, truncated)


def _synonym_spans(
    th: Thesaurus, plain: Sequence[Term], wanted: set[int]
) -> tuple[list[tuple[int, int, list[tuple[str, ...]]]], dict[int, list[tuple[str, ...]]]]:
    """Synonym entries found in the query: (first, last term, other entries) of those
    spanning several terms (longest first, no overlaps), and term -> other entries
    of those matching a single term."""
    tokens = [(i, light_stem(w)) for i, t in enumerate(plain) for w in t.words]
    found = th.matches([st for _, st in tokens])
    spans: list[tuple[int, int, list[tuple[str, ...]]]] = []
    singles: dict[int, list[tuple[str, ...]]] = {}
    taken: set[int] = set()
    for start, end, others in sorted(found, key=lambda m: (-(m[1] - m[0]), m[0])):
        first, last = tokens[start][0], tokens[end - 1][0]
        whole = (start == 0 or tokens[start - 1][0] != first) and (
            end == len(tokens) or tokens[end][0] != last
        )
        terms = range(first, last + 1)
        if not whole or not any(i in wanted for i in terms):
            continue
        if first == last:
            singles.setdefault(first, []).extend(others)
        elif not any(i in taken for i in terms):
            taken.update(terms)
            spans.append((first, last, others))
    return spans, singles


def _is_stop(t: Term) -> bool:
    return all(w in STOPWORDS for w in t.words)


# Short second halves worth splitting off: log in, set up, back up, cut off.
_PARTICLES = frozenset({"in", "up", "on", "out", "off"})


def _splits(word: str) -> list[str]:
    """``failover`` -> ``fail``, ``over`` (each half looked up in the index)."""
    if len(word) < 5 or not word.isalpha():
        return []
    return [
        p
        for i in range(3, len(word) - 1)
        if len(word) - i >= 3 or word[i:] in _PARTICLES
        for p in (word[:i], word[i:])
    ]


def _joins(a: Term, b: Term) -> list[str]:
    """``fail`` + ``over`` -> ``failover`` (looked up in the index)."""
    if len(a.words) != 1 or len(b.words) != 1:
        return []
    x, y = a.words[0], b.words[0]
    firsts = [x, *spelling_variants(x)]
    seconds = [y, *spelling_variants(y)]
    return [f + s for f in firsts for s in seconds]


def _concept(
    store: Any,
    t: Term,
    df: Mapping[str, int],
    fix: bool,
    tuning: Tuning,
    corrected: dict[str, str],
    unknown: list[str],
) -> Concept:
    if len(t.words) > 1:
        # A compound as typed (fail-over, load-balancer): the phrase, or the words joined.
        alts: list[Alt] = [(t.words, False, None)]
        joined = "".join(t.words)
        if tuning.variants and df.get(joined):
            alts.append(((joined,), False, None))
        return Concept(t.raw, alts, primary=None)
    word = t.words[0]
    alts = [((word,), False, None)]
    if tuning.variants:
        alts += [((v,), False, None) for v in spelling_variants(word) if df.get(v)]
        splits = _splits(word)
        pairs = [(splits[k], splits[k + 1]) for k in range(0, len(splits), 2)]
        good = [(a, b) for a, b in pairs if df.get(a) and df.get(b)]
        good.sort(key=lambda p: -min(df.get(p[0], 0), df.get(p[1], 0)))
        alts += [((a, b), False, None) for a, b in good[:2]]
    known = any(df.get(w[0]) for w, _, _ in alts if len(w) == 1)
    if not known:
        # Not as written, but perhaps in another form: stemming finds "expression"
        # in a record that only says "expressions".
        known = store.fts_exists(match_expr(store, [((word,), False, None)]))
    if not known and word.isalpha() and fix and tuning.fuzzy:
        fixes = correct_word(store, word)
        if fixes:
            corrected[word] = fixes[0]
            return Concept(word, [((f,), False, None) for f in fixes], primary=fixes[0])
    if not known:
        unknown.append(word)
    return Concept(word, alts, primary=word)


def correct_word(store: Any, word: str, limit: int = 2) -> list[str]:
    """The indexed words closest to ``word`` (a typo), best first; empty when none is close."""
    if len(word) < 4:
        return []
    from rapidfuzz import fuzz, process

    def best(candidates: list[tuple[str, int]]) -> list[tuple[float, str]]:
        freq = dict(candidates)
        found = process.extract(
            word, list(freq), scorer=fuzz.ratio, limit=10, score_cutoff=_cutoff(word)
        )
        # Closeness first; among equally close words, the more common one.
        ranked = sorted(
            ((score + 2.0 * math.log10(1 + freq[w]), w) for w, score, _ in found), reverse=True
        )
        return ranked

    lo, hi = len(word) - 2, len(word) + 2
    ranked = best(store.words_starting(word[0], lo, hi))
    if not ranked:
        ranked = best(store.words_starting("", lo, hi))
    if not ranked:
        return []
    top = ranked[0][0]
    return [w for s, w in ranked if s >= top - 1.0][:limit]


def _cutoff(word: str) -> float:
    # One edit in a short word is a large share of it.
    return 75.0 if len(word) >= 7 else 70.0


# --- running -----------------------------------------------------------------------


@dataclass
class Hit:
    """One result."""

    id: str
    title: str
    kind: str
    date: str | None
    score: float
    tags: list[str]
    path: str
    snippet: list[tuple[str, bool]]  # (text, highlighted)
    partial: bool = False  # matches only some of the words
    kb: str | None = None  # its knowledge base, in a shared index

    def snippet_text(self, mark: str = "**") -> str:
        """The snippet with highlighted words between ``mark``s."""
        return "".join(f"{mark}{s}{mark}" if hot else s for s, hot in self.snippet)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of SPEC §4."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "date": self.date,
            "score": round(self.score, 4),
            "snippet": self.snippet_text(),
            "tags": self.tags,
            "path": self.path,
            "partial": self.partial,
            **({"kb": self.kb} if self.kb is not None else {}),
        }


@dataclass
class SearchResult:
    """What a search found."""

    query: str
    total: int  # records matching all the words, plus those matching some
    matched_all: int  # records matching every word
    hits: list[Hit]
    corrected: dict[str, str]
    showing: str | None  # the query as searched, when words were corrected
    unknown: list[str]
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        """The JSON document of ``search --json``."""
        out: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "matched_all": self.matched_all,
            "results": [h.as_json() for h in self.hits],
        }
        if self.corrected:
            out["corrected"] = self.corrected
            out["showing"] = self.showing
        return out


def search(
    store: Any,
    text: str,
    filters: Filters | None = None,
    *,
    limit: int = 10,
    exact: bool = False,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> SearchResult:
    """Ranked records for a query (SPEC §5); raises ``NoMatchError`` with a hint when none."""
    filters = filters or Filters()
    plan = plan_query(store, text, exact=exact, synonyms=synonyms, tuning=tuning)
    ranked, total, n_all = rank(store, plan, filters, tuning, limit)
    showing = _showing(text, plan.corrected) if plan.corrected else None
    if not ranked:
        raise NoMatchError(
            f"nothing matches '{_short(showing or text)}'"
            + (f" with {filters.describe()}" if not filters.is_empty() else ""),
            hint=_no_match_hint(store, plan, filters, exact, synonyms, tuning, text),
        )
    top = ranked[:limit]
    rows = store.search_rows([pk for pk, _, _ in top])
    snippets = store.search_snippets(plan.highlight(store), [pk for pk, _, _ in top])
    hits = []
    for pk, score, full in top:
        row = rows[pk]
        hits.append(
            Hit(
                id=row["id"],
                title=row["title"],
                kind=row["kind"],
                date=row["date"],
                score=score,
                tags=row["tags"],
                path=row["path"],
                snippet=_best_snippet(snippets.get(pk, []), row),
                partial=not full,
                kb=row.get("kb"),
            )
        )
    return SearchResult(
        query=text,
        total=total,
        matched_all=n_all,
        hits=hits,
        corrected=plan.corrected,
        showing=showing,
        unknown=plan.unknown,
        truncated=plan.truncated,
    )


def rank(
    store: Any, plan: Plan, filters: Filters, tuning: Tuning = DEFAULT_TUNING, depth: int = 10
) -> tuple[list[tuple[int, float, bool]], int, int]:
    """The best ``depth`` records as (pk, score, matches every concept), best first;
    how many records match at all; how many match every concept."""
    if len(plan.concepts) == 1 and not plan.excluded:
        # One word (the commonest search): the engine ranks and counts on its own.
        groups = [(match_expr(store, alts), w) for w, alts in plan.concepts[0].groups(tuning)]
        fast = store.fts_top(groups, tuning.weights, depth, filters)
        if fast is not None:
            top, total = fast
            return [(pk, s, True) for pk, s in top], total, total
    allowed = None if filters.is_empty() else store.record_pks(filters)

    def scores(expr: str) -> dict[int, float]:
        found: dict[int, float] = store.fts_scores(expr, tuning.weights)
        if allowed is None:
            return found
        return {pk: s for pk, s in found.items() if pk in allowed}

    totals: dict[int, float] = {}
    satisfied: Counter[int] = Counter()
    for c in plan.concepts:
        best: dict[int, float] = {}
        for weight, alts in c.groups(tuning):
            for pk, s in scores(match_expr(store, alts)).items():
                best[pk] = max(best.get(pk, 0.0), weight * s)
        for pk, s in best.items():
            totals[pk] = totals.get(pk, 0.0) + s
            satisfied[pk] += 1
    if tuning.proximity_weight:
        # Query words that stand close together in a record (NEAR) add to its score.
        primaries = [c.primary for c in plan.concepts]
        pairs = [(a, b) for a, b in itertools.pairwise(primaries) if a and b]
        if pairs:
            near = scores(near_expr(store, pairs, tuning.proximity_distance))
            for pk, s in near.items():
                if pk in totals:
                    totals[pk] += tuning.proximity_weight * s
    if plan.excluded:
        for pk in scores(match_expr(store, plan.excluded)):
            totals.pop(pk, None)
    n = len(plan.concepts)
    full = {pk for pk in totals if satisfied[pk] >= n}
    tiered = tuning.all_first and n <= tuning.tier_max_words

    def best_of(items: Mapping[int, float], k: int) -> list[tuple[int, float, bool]]:
        top = heapq.nsmallest(
            k, items.items(), key=lambda x: (tiered and x[0] not in full, -x[1], x[0])
        )
        return [(pk, s, pk in full) for pk, s in top]

    first = best_of(totals, max(depth, tuning.feedback_docs, tuning.feedback_keep))
    use_feedback = tuning.feedback_weight and tuning.feedback_terms and n >= 2 and first
    extra = _feedback(store, plan, first[: tuning.feedback_docs], tuning) if use_feedback else []
    if not extra:
        return first[:depth], len(totals), len(full)
    # Pseudo-relevance feedback re-scores the records found (it never adds records
    # that match no query word), and leaves the first pass's best few where they are.
    prf = scores(match_expr(store, extra))
    top_own = max(totals.values()) or 1.0
    top_prf = max(prf.values(), default=0.0) or 1.0
    kept = first[: tuning.feedback_keep]
    kept_pks = {pk for pk, _, _ in kept}
    mixed = {
        pk: s / top_own + tuning.feedback_weight * prf.get(pk, 0.0) / top_prf
        for pk, s in totals.items()
        if pk not in kept_pks
    }
    rest = best_of(mixed, max(0, depth - len(kept)))
    floor = max((s for _, s, _ in rest), default=0.0)
    head = [
        (pk, max(s / top_own, floor + 0.01 * (len(kept) - k)), f)
        for k, (pk, s, f) in enumerate(kept)
    ]
    return (head + rest)[:depth], len(totals), len(full)


def _feedback(
    store: Any, plan: Plan, top: Sequence[tuple[int, float, bool]], tuning: Tuning
) -> list[Alt]:
    """Pseudo-relevance feedback: words typical of the best first-pass records."""
    texts = store.search_texts([pk for pk, _, _ in top])
    if not texts:
        return []
    best = top[0][1] or 1.0
    weight: dict[str, float] = {}
    seen_in: Counter[str] = Counter()
    for pk, score, _ in top:
        words = [w for w in _WORD.findall(texts.get(pk, "").lower()) if _feedback_word(w)]
        if not words:
            continue
        counts = Counter(words)
        share = score / best
        for word, k in counts.items():
            weight[word] = weight.get(word, 0.0) + share * k / len(words)
            seen_in[word] += 1
    asked = {
        light_stem(w) for c in plan.concepts for a in (*c.alts, *c.shared, *c.syns) for w in a[0]
    }
    candidates = [
        w
        for w in sorted(weight, key=lambda x: (-weight[x], x))[:80]
        if seen_in[w] >= min(2, len(top)) and light_stem(w) not in asked
    ]
    if not candidates:
        return []
    df = store.word_counts(candidates)
    n = max(store.count(), 1)
    scored = []
    for w in candidates:
        d = df.get(w, 0)
        if d < 2:
            continue
        scored.append((weight[w] * math.log(n / d), w))
    scored.sort(reverse=True)
    chosen: list[str] = []
    stems: set[str] = set()
    for _, w in scored:
        st = light_stem(w)
        if st in stems:
            continue
        stems.add(st)
        chosen.append(w)
        if len(chosen) >= tuning.feedback_terms:
            break
    return [((w,), False, None) for w in chosen]


def _feedback_word(w: str) -> bool:
    return len(w) > 2 and w not in STOPWORDS and not w.isdigit() and not w[0].isdigit()


# --- snippets and messages ---------------------------------------------------------

HL_START, HL_END = "\x02", "\x03"


def parse_snippet(text: str) -> list[tuple[str, bool]]:
    """``…a \\x02word\\x03 b…`` -> segments (text, highlighted), on one line."""
    text = " ".join(text.split())
    out: list[tuple[str, bool]] = []
    for part in re.split(f"({HL_START}[^{HL_END}]*{HL_END})", text):
        if not part:
            continue
        if part.startswith(HL_START):
            out.append((part[1:-1], True))
        else:
            out.append((part.replace(HL_START, "").replace(HL_END, ""), False))
    return out


def _best_snippet(candidates: Sequence[str], row: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The candidate (lesson, recommendations, summary, other text) with most highlights."""
    best: list[tuple[str, bool]] = []
    best_hits = -1
    for text in candidates:
        if not text:
            continue
        segs = parse_snippet(text)
        hits = sum(1 for _, hot in segs if hot)
        if hits > best_hits:
            best, best_hits = segs, hits
    if best:
        return best
    summary = " ".join(str(row.get("summary") or "").split())
    return [(summary[:160] + ("…" if len(summary) > 160 else ""), False)] if summary else []


def _showing(text: str, corrected: Mapping[str, str]) -> str:
    """The query with corrected words replaced, as the user typed the rest."""

    def swap(m: re.Match[str]) -> str:
        return corrected.get(m.group(0).lower(), m.group(0))

    return _WORD.sub(swap, " ".join(text.split()))


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _no_match_hint(
    store: Any,
    plan: Plan,
    filters: Filters,
    exact: bool,
    synonyms: Mapping[str, Sequence[str]] | None,
    tuning: Tuning,
    text: str,
) -> str:
    if store.count() == 0:
        return "the knowledge base is empty; add a record with `lessons add`"
    if not filters.is_empty():
        _, total, _ = rank(store, plan, Filters(), replace(tuning, feedback_weight=0.0))
        if total:
            return f"{total} records match without {filters.describe()}; loosen the filters"
    if plan.unknown:
        parts = []
        for word in plan.unknown[:3]:
            close = correct_word(store, word, limit=3)
            parts.append(f"'{word}': " + (", ".join(close) if close else "nothing close"))
        extra = " (drop --exact to use them)" if exact else ""
        return "in no record: " + "; ".join(parts) + extra
    return "try fewer or other words, or a prefix like word*"
