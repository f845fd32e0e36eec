"""Query planning: words become concepts with their variants, corrections and synonyms."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lessons.errors import UsageError
from lessons.search.language import Language, fold, get_language
from lessons.search.query import (
    MAX_TERMS,
    Alt,
    Term,
    alts_fts,
    parse_query,
)
from lessons.search.spelling import correct_word, light_stem, spelling_variants
from lessons.search.synonyms import Thesaurus, thesaurus_for

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
    fusion: str = "pooled"  # how hybrid search fuses the rankings: pooled or rrf (fuse.py)
    # 2: records holding every word as typed, then the rest (issue 13's rule, no more);
    # 3: also every word through variants, synonyms or corrections before the rest.
    # Measured on the four judged sets, 2 scored MRR -0.005, +0.013, +0.004 and 0.
    tiers: int = 2
    # Fusion gives the words the share of the query they found (lexical.coverage).
    coverage: bool = True


DEFAULT_TUNING = Tuning()


# --- planning ----------------------------------------------------------------------


# (weight, alternatives, literal): a record's score for a concept is its best weighted
# group; the ``literal`` group is the word as typed (any inflection: the index stems),
# the others reach it through a spelling or hyphen variant, a correction or a synonym.
Group = tuple[float, list[Alt], bool]


@dataclass
class Concept:
    """Something the query asks for: satisfied by ``alts`` (the word as typed), its
    ``variants`` (British/American spellings, hyphen and space forms), ``fixes``
    (corrections of a word in no record) or, weaker, ``syns``."""

    label: str
    alts: list[Alt]
    syns: list[Alt] = field(default_factory=list)
    variants: list[Alt] = field(default_factory=list)
    # Compounds shared with the next or previous word (file + server -> fileserver):
    # each of the two concepts counts them at half weight, so together once.
    shared: list[Alt] = field(default_factory=list)
    fixes: list[Alt] = field(default_factory=list)
    primary: str | None = None  # the word, for proximity pairs
    syn_share: float = 1.0  # less than 1 when a synonym phrase covers several words
    strict: bool = False  # a phrase, prefix or field:word: matched as written only

    def everything(self) -> list[Alt]:
        """Every alternative that satisfies the concept."""
        return [*self.alts, *self.variants, *self.shared, *self.fixes, *self.syns]

    def groups(self, tuning: Tuning) -> list[Group]:
        """(weight, alternatives, literal) to score."""
        syn = tuning.synonym_weight * self.syn_share
        out = [
            (1.0, self.alts, True),
            (1.0, self.variants, False),
            (1.0, self.fixes, False),
            (0.5, self.shared, False),
            (syn, self.syns, False),
        ]
        return [(w, alts, lit) for w, alts, lit in out if alts and w > 0]


@dataclass
class Plan:
    """The query, worked out: what to require, what to exclude, what was corrected."""

    concepts: list[Concept]
    excluded: list[Alt]
    corrected: dict[str, str]  # word as typed -> replacement(s) shown to the user
    unknown: list[str]  # words in no record and not corrected
    truncated: bool = False
    meaning: str = ""  # the words searched, corrections in: what semantic matching embeds

    def highlight(self, literal: bool = False) -> str:
        """What to highlight in snippets: the words as typed (``literal``), or everything
        a record may have been matched by."""
        if literal:
            alts = [a for c in self.concepts for a in c.alts]
        else:
            alts = [a for c in self.concepts for a in c.everything()]
        return alts_fts(alts)


def plan_query(
    store: Any,
    text: str,
    *,
    exact: bool = False,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
    language: Language | None = None,
) -> Plan:
    """Turn user text into concepts, with variants, corrections and synonyms."""
    language = language or get_language()
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
    content = [i for i, t in enumerate(plain) if not _is_stop(t, language)]
    if not content and not strict:
        # Every record holds "the" and "of": listing them all would answer nothing.
        raise UsageError(
            f"only common words in '{text.strip()[:80]}': they are not searched on their own",
            hint='add a word that says what you are looking for, or quote a phrase: "the and of"',
        )
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
        c = _concept(store, plain[i], df, fix, tuning, corrected, unknown, language)
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
        out.append(
            Concept(t.raw or " ".join(t.words), [(t.words, t.prefix, t.column)], strict=True)
        )
    for c in out:
        c.alts = list(dict.fromkeys(c.alts))
        c.variants = [s for s in dict.fromkeys(c.variants) if s not in c.alts]
        taken = {*c.alts, *c.variants}
        c.shared = [s for s in dict.fromkeys(c.shared) if s not in taken]
        c.fixes = [s for s in dict.fromkeys(c.fixes) if s not in taken]
        c.syns = [
            s
            for s in dict.fromkeys(c.syns)
            if s not in taken and s not in c.shared and s not in c.fixes
        ]
    # Meaning is matched on the words that mean something: a word in no record that
    # is no word of the language either (zqxwv, an uncorrected typo) is left out.
    noise = {w for w in unknown if not language.is_word(w)}
    meaning = " ".join(corrected.get(w, w) for t in positive for w in t.words if w not in noise)
    return Plan(out, excluded, corrected, unknown, truncated, meaning)


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


def _is_stop(t: Term, language: Language) -> bool:
    return all(w in language.stopwords for w in t.words)


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


# Indexed forms of one word searched at most (the commonest first).
MAX_FORMS = 64


def inflections(store: Any, word: str, language: Language) -> list[str]:
    """The indexed words that share ``word``'s stem (a language the index does not stem
    itself): servidores and servidor, мережа and мережею."""
    folded = fold(word)
    stem = language.stem(folded)
    if len(stem) < 2:
        return []
    # A stemmer may change a stem's last letter; its other forms start with the rest.
    prefix = stem[:-1] if len(stem) > 3 else stem
    found = [
        (n, w)
        for w, n in store.words_starting(prefix, len(prefix), len(prefix) + 16)
        if w != folded and language.stem(w) == stem
    ]
    found.sort(key=lambda x: (-x[0], x[1]))
    return [w for _, w in found[:MAX_FORMS]]


def _concept(
    store: Any,
    t: Term,
    df: Mapping[str, int],
    fix: bool,
    tuning: Tuning,
    corrected: dict[str, str],
    unknown: list[str],
    language: Language,
) -> Concept:
    if len(t.words) > 1:
        # A compound as typed (fail-over, load-balancer): the phrase, or the words joined.
        alts: list[Alt] = [(t.words, False, None)]
        joined = "".join(t.words)
        if tuning.variants and df.get(joined):
            alts.append(((joined,), False, None))
        return Concept(t.raw, alts[:1], variants=alts[1:], primary=None)
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
    if not known and not language.english:
        known = bool(inflections(store, word, language))
    if not known:
        # Not as written, but perhaps in another form: stemming finds "expression"
        # in a record that only says "expressions".
        known = store.fts_exists(alts_fts([((word,), False, None)]))
    # A word of the language is never "corrected" into another word (quarrel is not
    # quarterly): it is in no record, and the search says so. A correction is searched
    # beside the word as typed, so it can only add results.
    if not known and word.isalpha() and fix and tuning.fuzzy and not language.is_word(word):
        fixes = correct_word(store, word)
        if fixes:
            corrected[word] = fixes[0]
            return Concept(
                word,
                alts[:1],
                variants=alts[1:],
                fixes=[((f,), False, None) for f in fixes],
                primary=fixes[0],
            )
    if not known:
        unknown.append(word)
    forms = [] if language.english else inflections(store, word, language)
    if forms and not known:
        known = True
        unknown.remove(word)
    typed = [alts[0], *[((f,), False, None) for f in forms]]
    return Concept(word, typed, variants=alts[1:], primary=word)
