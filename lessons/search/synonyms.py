"""Synonyms: the ``synonyms:`` of ``lessons.yaml`` and the built-in thesaurus."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lessons.search.query import _WORD
from lessons.search.spelling import light_stem

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
