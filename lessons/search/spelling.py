"""Spelling: British/American variants, a light stemmer for synonym look-ups, and the
correction of words that are in no record.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

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
    # The store gives the candidates (a shared index from its trigram index); the
    # policy that chooses among them is this function's, the same on every store.
    ranked = best(store.spelling_candidates(word, lo, hi, same_start=True))
    if not ranked:
        ranked = best(store.spelling_candidates(word, lo, hi, same_start=False))
    if not ranked:
        return []
    top = ranked[0][0]
    return [w for s, w in ranked if s >= top - 1.0][:limit]


def _cutoff(word: str) -> float:
    # One edit in a short word is a large share of it.
    return 75.0 if len(word) >= 7 else 70.0
