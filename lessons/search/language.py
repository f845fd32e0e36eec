"""The language of a knowledge base (``language:`` in ``lessons.yaml``): its stop words, its
stemmer, and the word list that tells a real word from a typo.

English, the default, is stemmed by the index itself (FTS5's Porter tokenizer) and
keeps the stop-word list of ``query.STOPWORDS``. Another language is indexed without
stemming; a query word then also searches the indexed words that share its stem
(Snowball through PyStemmer, or the light stemmer below for Ukrainian, which Snowball
does not cover), and its stop words come from the ``stop-words`` package.

Which words are words: pyspellchecker's frequency lists (English, Portuguese, Spanish,
French, German, Italian, Dutch, Russian, ...), searched as text. A language it has no list for
corrects no word at all: without one, a real word could not be told from a typo.
"""

from __future__ import annotations

import functools
import json
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
        return _word_list(self.code).has(word.lower())


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


class _WordList:
    """pyspellchecker's word list of one language, asked about single words.

    The list is a gzipped JSON object of word -> frequency. Building pyspellchecker's
    SpellChecker parses it into a dict (about 0.6 s for English, 160,000 words, more for
    Portuguese), which cost a search with a typo more than the rest of its work; a
    query asks about a handful of words, so the decompressed file is searched for the
    key instead. The keys are the words in lower case, as SpellChecker would lower
    them; the test suite checks the two agree.

    The search runs on the UTF-8 bytes as they come out of gzip: decoding the text and
    asking ``str.islower`` of it cost half again the decompression (about 7 ms for
    English). UTF-8 text holds a word's encoding exactly where the text holds the
    word, and in valid JSON only JSON white space (ASCII) stands between a key and its
    colon, so a bytes pattern finds exactly the keys the text pattern would.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.lowered: bytes | None = None  # the list in lower case, once needed
        self.known: dict[str, bool] = {}

    def has(self, word: str) -> bool:
        """Whether ``word`` (lower case) is a key of the list."""
        if word not in self.known:
            # A key is the only string followed by a colon (the values are numbers);
            # json.dumps quotes the word as the file does (no word holds a quote or a
            # backslash, but one that did would be escaped alike).
            key = json.dumps(word, ensure_ascii=False).encode("utf-8")
            pattern = re.compile(re.escape(key) + rb"\s*:")
            found = pattern.search(self.data) is not None
            if not found:
                # SpellChecker lowers every key: a capitalised key would be this word.
                # Lowering leaves a lower-case key as it is, so a key found above is
                # found in the lowered list too, and only a miss needs the lowered list
                # (the shipped lists already are lower case: a check of a few ms).
                lowered = self._lowered()
                found = lowered is not self.data and pattern.search(lowered) is not None
            self.known[word] = found
        return self.known[word]

    def _lowered(self) -> bytes:
        if self.lowered is None:
            data = self.data
            self.lowered = (
                data if _lower_case(data) else data.decode("utf-8").lower().encode("utf-8")
            )
        return self.lowered


# Every byte below 128: deleting them leaves the multi-byte characters of UTF-8 text.
_ASCII = bytes(range(128))


def _lower_case(data: bytes) -> bool:
    """Whether UTF-8 ``data`` is its own lower case: no ASCII capital, and its other
    characters (whole UTF-8 sequences, all of whose bytes are 128 or above) unchanged
    by ``str.lower``. A few ms where decoding and lowering the text takes ten."""
    if data.lower() != data:
        return False
    rest = data.translate(None, _ASCII).decode("utf-8")
    return rest.lower() == rest


@functools.lru_cache(maxsize=4)
def _word_list(code: str) -> _WordList:
    # Read once per process, and only when a query word is in no record. The file is
    # found without importing pyspellchecker (its import is not needed to read it).
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("spellchecker")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        return _WordList(b"")
    raw = (Path(next(iter(folders))) / "resources" / f"{code}.json.gz").read_bytes()
    return _WordList(gzip.decompress(raw))


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
