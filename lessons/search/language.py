"""The language of a knowledge base (``language:`` in ``lessons.yaml``): its stop words, its
stemmer, and the word list that tells a real word from a typo.

English, the default, is stemmed by the index itself (FTS5's Porter tokenizer) and
keeps the stop-word list of ``query.STOPWORDS``. Another language is indexed without
stemming; a query word then also searches the indexed words that share its stem
(Snowball through PyStemmer, or the light stemmer below for Ukrainian, which Snowball
does not cover), and its stop words come from the ``stop-words`` package.

Which words are words: pyspellchecker's frequency lists (English, Portuguese,
Spanish, French, German, Italian, Dutch, Russian, ...). A language it has no list for
corrects no word at all: without one, a real word could not be told from a typo.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from lessons.errors import UsageError
from lessons.search.query import STOPWORDS

# language name -> (ISO 639-1 code, PyStemmer algorithm or None)
LANGUAGES: dict[str, tuple[str, str | None]] = {
    "english": ("en", "english"),
    "portuguese": ("pt", "portuguese"),
    "spanish": ("es", "spanish"),
    "french": ("fr", "french"),
    "german": ("de", "german"),
    "italian": ("it", "italian"),
    "dutch": ("nl", "dutch"),
    "russian": ("ru", "russian"),
    "ukrainian": ("uk", None),
    "danish": ("da", "danish"),
    "finnish": ("fi", "finnish"),
    "hungarian": ("hu", "hungarian"),
    "norwegian": ("no", "norwegian"),
    "romanian": ("ro", "romanian"),
    "swedish": ("sv", "swedish"),
    "turkish": ("tr", "turkish"),
}
_CODES = {code: name for name, (code, _) in LANGUAGES.items()}
# pyspellchecker's word lists, by ISO code.
_DICTIONARIES = frozenset({"en", "pt", "es", "fr", "de", "it", "nl", "ru"})


@dataclass(frozen=True)
class Language:
    """How words of one language are told apart, stemmed and left out."""

    name: str
    code: str
    stopwords: frozenset[str]
    algorithm: str | None  # the Snowball stemmer (PyStemmer); None: the Ukrainian one here

    @property
    def english(self) -> bool:
        """English is stemmed inside the full-text index (Porter); others are not."""
        return self.name == "english"

    def stem(self, word: str) -> str:
        """The word's stem, as this language's stemmer gives it."""
        if self.algorithm is None:
            return ukrainian_stem(word)
        return _stem(self.algorithm, word.lower())

    def is_word(self, word: str) -> bool:
        """True when ``word`` is a word of the language; True for every word of a language
        without a word list (nothing is corrected there)."""
        if self.code not in _DICTIONARIES:
            return True
        return word.lower() in _word_list(self.code)


def fold(word: str) -> str:
    """Lower case without diacritics, as the index's tokenizer keeps words (FTS5's
    ``remove_diacritics 2``): informação -> informacao, мережею stays."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def language_name(value: str) -> str:
    """The canonical name of a language given by name or ISO code; UsageError if unknown."""
    key = value.strip().lower()
    if key in LANGUAGES:
        return key
    if key in _CODES:
        return _CODES[key]
    raise UsageError(
        f"unknown language '{value}'",
        hint="one of " + ", ".join(sorted(LANGUAGES)),
    )


@functools.lru_cache(maxsize=8)
def get_language(name: str = "english") -> Language:
    """The ``Language`` named (English by default)."""
    name = language_name(name)
    code, algorithm = LANGUAGES[name]
    if name == "english":
        # FTS5's Porter tokenizer stems English in the index; "porter" here agrees with it.
        return Language(name, code, STOPWORDS, "porter")
    from stop_words import get_stop_words

    stop = frozenset(w.lower() for w in get_stop_words(name))
    return Language(name, code, stop, algorithm)


@functools.lru_cache(maxsize=16384)
def _stem(algorithm: str, word: str) -> str:
    return str(_stemmer(algorithm).stemWord(word))


@functools.lru_cache(maxsize=4)
def _stemmer(algorithm: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(algorithm)


@functools.lru_cache(maxsize=4)
def _word_list(code: str) -> frozenset[str]:
    # Read once, and only when a query word is in no record (about 0.3 s for English).
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language=code, distance=1).word_frequency.keys())


# --- a light stemmer for Ukrainian ------------------------------------------------------
# Snowball has no Ukrainian stemmer. This one strips the common inflectional endings of
# nouns, adjectives and verbs from the part of the word after its first vowel (as
# Snowball's Russian stemmer does with its RV region), so that сервер, сервери,
# сервера and серверів, or мережа, мережі and мережею, share a stem.

# The index folds й to и and ї to і (diacritics off), so the stemmer works on folded
# words, with folded endings.
_UK_VOWELS = "аеєиіоуюя"
_UK_REFLEXIVE = ("ся", "сь")
_UK_ENDINGS_AS_WRITTEN = sorted(
    """
    ими іми ого ому ього ьому ами ями ові еві ах ях ів їв ей ям ем ом ою єю ею ої ій ий
    их іх им ім ая яя ее ую юю ати яти ити іти ути ала ила ола ли ла ло ть ти ють ять уть
    ать ить ємо имо емо ете ите еш иш ує а я у ю і ї о е є и й ь в
    """.split(),  # noqa: SIM905 - a word list reads best as prose
    key=len,
    reverse=True,
)
_UK_ENDINGS = sorted({fold(e) for e in _UK_ENDINGS_AS_WRITTEN}, key=len, reverse=True)
_UK_WORD = re.compile(r"^[а-щьюяєіґ']+$")


@functools.lru_cache(maxsize=8192)
def ukrainian_stem(word: str) -> str:
    """A light Ukrainian stem: inflectional endings off, within the part after the first
    vowel; words that are not Cyrillic are left as they are."""
    w = fold(word).replace("’", "'")
    if not _UK_WORD.match(w):
        return w
    first = next((i for i, ch in enumerate(w) if ch in _UK_VOWELS), None)
    if first is None:
        return w
    start = first + 1
    for ending in _UK_REFLEXIVE:
        if w.endswith(ending) and len(w) - len(ending) > start:
            w = w[: -len(ending)]
            break
    for ending in _UK_ENDINGS:
        if w.endswith(ending) and len(w) - len(ending) >= start + 1:
            w = w[: -len(ending)]
            break
    if len(w) > start + 2 and w[-1] == w[-2] and w[-1] not in _UK_VOWELS:
        w = w[:-1]  # оновленн(я) and оновлен(ь) share a stem
    return w
