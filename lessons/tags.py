"""Tags: normalised on the way in, edited on one record or across all, near-duplicates found.

Every edit goes through ``entries.edit_file``: round-trip YAML (comments, key
order, quoting and the layout of other keys survive), atomic, under the write
lock. A record's tags are read inside that lock, so two writers tagging the
same record one after the other both land; nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.errors import LessonsError, NotFoundError, RecordError, UsageError
from lessons.model import KEY_ORDER, did_you_mean, normalise_tag

if TYPE_CHECKING:
    from lessons.check import Finding
    from lessons.kb import KnowledgeBase

# Two spellings closer than this (rapidfuzz ratio, 0-100) are offered as one tag.
FUZZY_CUTOFF = 88.0
# Words shorter than this are too short for spelling similarity to mean anything.
FUZZY_MIN_LEN = 5


def normalise_tags(tags: Iterable[str], aliases: Mapping[str, str] | None = None) -> list[str]:
    """Each tag normalised (SPEC §2), duplicates dropped; a tag with no letters is an error."""
    out: list[str] = []
    for raw in tags:
        for part in _split(raw):
            norm = normalise_tag(part, aliases)
            if not norm:
                raise UsageError(f"tag '{part}' has no letters or digits")
            if norm not in out:
                out.append(norm)
    return out


def _split(raw: str) -> list[str]:
    # "a, b" on the command line means two tags; "social media" is one.
    return [p.strip() for p in raw.split(",") if p.strip()] or [raw]


@dataclass
class TagEdit:
    """What ``add_tags`` or ``remove_tags`` did to one record."""

    id: str
    path: str
    changed: list[str]
    unchanged: list[str]
    tags: list[str]


class _Unchanged(Exception):
    """Raised inside an edit that turns out to change nothing: no write."""


def _record(kb: KnowledgeBase, ref: str) -> tuple[str, str, Path]:
    rec = kb.get(ref)
    return rec["id"], rec["path"], kb.path_of(rec)


def _tag_list(doc: Any, create: bool) -> Any:
    """The round-trip list under ``tags``; a new empty flow list when asked to create one."""
    from ruamel.yaml.comments import CommentedSeq

    from lessons.entries import map_insert

    seq = doc.get("tags")
    if seq is None and create:
        seq = CommentedSeq()
        seq.fa.set_flow_style()  # the style the tool writes: tags: [a, b]
        if "tags" in doc:
            doc["tags"] = seq
        else:
            map_insert(doc, "tags", seq, KEY_ORDER)
    if seq is not None and not isinstance(seq, list):
        raise RecordError("'tags' is not a list; fix the file by hand", field="tags")
    return seq


def add_tags(kb: KnowledgeBase, ref: str, tags: Sequence[str]) -> TagEdit:
    """Add ``tags`` (normalised) to the record ``ref`` names; tags it has already stay once."""
    from lessons.entries import edit_file, seq_append

    aliases = kb.config.tag_aliases
    wanted = normalise_tags(tags, aliases)
    rid, rel, path = _record(kb, ref)
    added: list[str] = []

    def change(doc: Any) -> None:
        seq = _tag_list(doc, create=True)
        present = {normalise_tag(str(t), aliases) for t in seq}
        for tag in wanted:
            if tag not in present:
                seq_append(seq, tag)
                present.add(tag)
                added.append(tag)
        if not added:
            raise _Unchanged

    try:
        rec = edit_file(path, kb.root, kb.config.schema, change)
    except _Unchanged:
        return TagEdit(rid, rel, [], wanted, _current_tags(kb, path))
    return TagEdit(rid, rel, added, [t for t in wanted if t not in added], rec["tags"])


def remove_tags(kb: KnowledgeBase, ref: str, tags: Sequence[str]) -> TagEdit:
    """Remove ``tags`` from the record ``ref`` names. None of them on it is an error."""
    from lessons.entries import edit_file, empty_list, map_delete, seq_remove

    aliases = kb.config.tag_aliases
    wanted = normalise_tags(tags, aliases)
    rid, rel, path = _record(kb, ref)
    removed: list[str] = []

    def change(doc: Any) -> None:
        seq = _tag_list(doc, create=False)
        items = list(seq) if seq is not None else []
        drop = [i for i, t in enumerate(items) if normalise_tag(str(t), aliases) in wanted]
        for i in drop:
            norm = normalise_tag(str(items[i]), aliases)
            if norm not in removed:
                removed.append(norm)
        if not drop:
            raise _Unchanged
        if len(drop) == len(items):
            # No tags left: the key goes, as if it had never been written (a comment
            # on its line keeps it, as an empty list).
            if not map_delete(doc, "tags"):
                empty_list(doc, "tags")
            return
        for i in reversed(drop):
            seq_remove(seq, i)

    try:
        rec = edit_file(path, kb.root, kb.config.schema, change)
    except _Unchanged:
        current = _current_tags(kb, path)
        shown = ", ".join(wanted)
        raise NotFoundError(
            f"{rid} has no tag {shown}" if len(wanted) == 1 else f"{rid} has none of: {shown}",
            hint=f"its tags: {', '.join(current)}" if current else "it has no tags",
        ) from None
    return TagEdit(rid, rel, removed, [t for t in wanted if t not in removed], rec["tags"])


def _current_tags(kb: KnowledgeBase, path: Path) -> list[str]:
    from lessons.entries import load_file

    loaded = load_file(path, str(path), kb.config.schema)
    return list(loaded.record["tags"]) if loaded.record else []


# --- across every record ---------------------------------------------------------


@dataclass
class MergeResult:
    """What ``merge_tags`` changed: the files, relative to the knowledge base root."""

    sources: list[str]
    into: str
    changed: list[str] = field(default_factory=list)


class PartialMergeError(LessonsError):
    """A rename or merge stopped part way: some files changed, others not yet."""

    def __init__(
        self, message: str, *, changed: list[str], remaining: list[str], **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.changed = changed
        self.remaining = remaining


def rename_tag(
    kb: KnowledgeBase, old: str, new: str, *, on_file: Callable[[str], None] | None = None
) -> MergeResult:
    """Rename tag ``old`` to ``new`` in every record that has it."""
    return merge_tags(kb, [old], new, on_file=on_file)


def merge_tags(
    kb: KnowledgeBase,
    sources: Sequence[str],
    into: str,
    *,
    on_file: Callable[[str], None] | None = None,
) -> MergeResult:
    """Replace each of ``sources`` by ``into`` in every record (the knowledge base synced).

    Files are edited one at a time, each atomically; ``on_file`` hears of each
    file once it is written. If one fails, the files already changed are valid
    and complete, and ``PartialMergeError`` says which files remain.
    """
    from lessons.entries import edit_file, seq_remove

    aliases = kb.config.tag_aliases
    olds = normalise_tags(sources, aliases)
    target = normalise_tags([into], aliases)[0]
    olds = [t for t in olds if t != target]
    if not olds:
        raise UsageError(f"nothing to do: the tags already are '{target}'")
    counts = dict(kb.store.tag_counts())
    unknown = [t for t in olds if t not in counts]
    if unknown:
        raise NotFoundError(
            f"no record has the tag '{unknown[0]}'{did_you_mean(unknown[0], counts)}",
            hint="`lessons tag list` shows every tag",
        )
    paths = list(dict.fromkeys(p for _, p, _ in kb.store.records_with_tags(olds)))
    # A read-only knowledge base is said once, not as a stop at the first file.
    kb.check_writable()
    result = MergeResult(olds, target)
    wanted = set(olds)

    def change(doc: Any) -> None:
        seq = _tag_list(doc, create=False)
        if seq is None:
            raise _Unchanged
        norms = [normalise_tag(str(t), aliases) for t in seq]
        hits = [i for i, t in enumerate(norms) if t in wanted]
        if not hits:
            raise _Unchanged
        keep_target = target in norms
        # The first hit becomes the target (keeping its place and comment), unless
        # the record has the target already; every other hit goes.
        drop = hits if keep_target else hits[1:]
        if not keep_target:
            seq[hits[0]] = target
        for i in reversed(drop):
            seq_remove(seq, i)

    for n, rel in enumerate(paths):
        try:
            edit_file(kb.root / rel, kb.root, kb.config.schema, change)
        except _Unchanged:
            continue
        except (LessonsError, OSError) as exc:
            message = exc.message if isinstance(exc, LessonsError) else str(exc)
            remaining = paths[n:]
            raise PartialMergeError(
                f"stopped at {rel}: {message}; {len(result.changed)} file(s) changed, "
                f"{len(remaining)} not yet",
                changed=list(result.changed),
                remaining=remaining,
                hint="the changed files are complete; fix the problem and run the command "
                "again to finish",
            ) from None
        result.changed.append(rel)
        if on_file:
            on_file(rel)
    return result


# --- near-duplicates ---------------------------------------------------------------


@dataclass
class TagGroup:
    """Tags that look like one tag written several ways."""

    tags: list[tuple[str, int]]  # (tag, records), the suggested survivor first
    score: float  # 100 when they normalise to one word; rapidfuzz ratio otherwise
    reason: str  # "same word", "similar spelling" or "misspelling"
    # Why the survivor: "most used", or "common spelling" (word frequency outweighed use).
    why: str = "most used"
    # Each tag's frequency in the language at large (wordfreq's Zipf scale), when known.
    frequency: dict[str, float] = field(default_factory=dict)

    @property
    def into(self) -> str:
        """The tag to keep: the most used."""
        return self.tags[0][0]

    @property
    def others(self) -> list[str]:
        """The tags to merge into ``into``."""
        return [t for t, _ in self.tags[1:]]

    def command(self) -> str:
        """The command that merges the group."""
        return f"lessons tag merge {' '.join(self.others)} --into {self.into}"

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``tag suggest --json``."""
        return {
            "into": self.into,
            "merge": self.others,
            "tags": [{"tag": t, "count": n} for t, n in self.tags],
            "score": round(self.score, 1),
            "reason": self.reason,
            "why": self.why,
            "frequency": self.frequency,
            "command": self.command(),
        }


_PLURAL_ES = ("sses", "shes", "ches", "xes", "zes")
_NOT_PLURAL = ("ss", "us", "is")


def word_key(tag: str) -> str:
    """One key for the spellings of a word: no hyphens, singular (``Hash_Tags`` → ``hashtag``)."""
    # A normalised tag is letters, marks and digits of any script joined by hyphens.
    key = normalise_tag(tag).replace("-", "")
    if len(key) > 4 and key.endswith("ies"):
        return key[:-3] + "y"
    if key.endswith(_PLURAL_ES):
        return key[:-2]
    if len(key) > 3 and key.endswith("s") and not key.endswith(_NOT_PLURAL):
        return key[:-1]
    return key


def group_tags(counts: Sequence[tuple[str, int]]) -> list[TagGroup]:
    """Groups of near-duplicate tags among ``(tag, count)``, most likely merge first."""
    from rapidfuzz import fuzz, process

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[str, list[str]] = {}
    for tag, _ in counts:
        by_key.setdefault(word_key(tag), []).append(tag)
    keys = list(by_key)
    for key in keys:
        find(key)
    scores: dict[str, float] = {}
    long_keys = [k for k in keys if len(k) >= FUZZY_MIN_LEN]
    for i, key in enumerate(long_keys):
        for _, score, j in process.extract(
            key, long_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None
        ):
            if j <= i:
                continue
            a, b = find(key), find(long_keys[j])
            if a != b:
                parent[b] = a
                scores[a] = min(scores.get(a, 100.0), scores.pop(b, 100.0), score)
    count_of = dict(counts)
    members: dict[str, list[str]] = {}
    for key in keys:
        members.setdefault(find(key), []).extend(by_key[key])
    groups: list[TagGroup] = []
    for root, tags in members.items():
        if len(tags) < 2:
            continue
        ordered = sorted(tags, key=lambda t: (-count_of[t], len(t), t))
        score = scores.get(root, 100.0)
        groups.append(
            TagGroup(
                [(t, count_of[t]) for t in ordered],
                score,
                "same word" if score >= 100.0 else "similar spelling",
            )
        )
    groups.sort(key=lambda g: (-g.score, -sum(n for _, n in g.tags), g.into))
    return groups


def suggest(kb: KnowledgeBase, *, spelling: bool = True) -> list[TagGroup]:
    """Near-duplicate tags of the (synced) knowledge base, most likely merge first.

    With ``spelling``, word frequency in the language (wordfreq) also decides: a
    group keeps the spelling far more common in the language (``receive`` over a
    more used ``recieve``), and a rare tag close to a common word is offered as
    its misspelling even below the usual similarity cut-off.
    """
    counts = kb.store.tag_counts()
    groups = group_tags(counts)
    if not spelling or not counts:
        return groups
    language = str(getattr(kb.config, "language", None) or "en")
    freq = word_frequencies([t for t, _ in counts], language)
    if not freq:
        return groups
    groups += misspellings(counts, groups, freq)
    prefer_common_spelling(groups, freq)
    groups.sort(key=lambda g: (-g.score, -sum(n for _, n in g.tags), g.into))
    return groups


# How much more common in the language a spelling must be than the group's most used
# tag to be kept instead: 1.0 on the Zipf scale is ten times as frequent. Below it
# (humour/humor: 0.4) both are real spellings and use in the knowledge base decides.
SPELLING_MARGIN = 1.0
# A word at least this common (Zipf 3: about once per million words) is a real word.
KNOWN_WORD = 3.0
# How alike a rare tag and a common word must be to call the tag a misspelling
# (a transposition in a 7-letter word, recieve/receive, is 86).
MISSPELLING_CUTOFF = 80.0


def word_frequencies(tags: Sequence[str], language: str = "en") -> dict[str, float]:
    """Each tag's frequency in ``language`` (wordfreq's Zipf scale: 0 unknown, 3 rare, 6
    very common), hyphens read as spaces; empty when wordfreq is not installed."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return {}
    out = {}
    for tag in tags:
        words = tag.replace("-", " ")
        try:
            out[tag] = float(zipf_frequency(words, language))
        except (LookupError, ValueError):
            out[tag] = float(zipf_frequency(words, "en"))
    return out


def misspellings(
    counts: Sequence[tuple[str, int]], groups: Sequence[TagGroup], freq: Mapping[str, float]
) -> list[TagGroup]:
    """Groups of a common word and the rare tags spelled close to it (not already
    grouped): ``receive`` with ``recieve``."""
    from rapidfuzz import fuzz, process

    grouped = {t for g in groups for t, _ in g.tags}
    free = [(t, n) for t, n in counts if t not in grouped and len(t) >= FUZZY_MIN_LEN]
    known = [t for t, _ in free if freq.get(t, 0.0) >= KNOWN_WORD]
    count_of = dict(counts)
    found: dict[str, list[tuple[str, float]]] = {}
    for tag, _ in free:
        if tag in known:
            continue
        best = process.extractOne(tag, known, scorer=fuzz.ratio, score_cutoff=MISSPELLING_CUTOFF)
        if best and freq[best[0]] - freq.get(tag, 0.0) >= SPELLING_MARGIN:
            found.setdefault(best[0], []).append((tag, best[1]))
    out = []
    for word, variants in found.items():
        tags = [(word, count_of[word])] + [(t, count_of[t]) for t, _ in variants]
        score = min(sc for _, sc in variants)
        out.append(TagGroup(tags, score, "misspelling", "common spelling"))
    return out


def prefer_common_spelling(groups: Sequence[TagGroup], freq: Mapping[str, float]) -> None:
    """Put first in each group the spelling far more common in the language than the
    most used tag (a misspelling used often loses to the right spelling used less)."""
    for g in groups:
        g.frequency = {t: freq.get(t, 0.0) for t, _ in g.tags}
        best = max(g.tags, key=lambda item: (g.frequency[item[0]], item[1]))
        if g.frequency[best[0]] - g.frequency[g.into] >= SPELLING_MARGIN:
            g.tags = [best, *[item for item in g.tags if item != best]]
            g.why = "common spelling"


def closest_tags(word: str, existing: Sequence[str], limit: int = 3) -> list[str]:
    """Existing tags that ``word`` may have meant: same word first, then close spellings."""
    from rapidfuzz import fuzz, process

    norm = normalise_tag(word)
    if not norm or norm in existing:
        return []
    key = word_key(norm)
    same = [t for t in existing if word_key(t) == key]
    found = process.extract(norm, list(existing), scorer=fuzz.ratio, score_cutoff=75, limit=limit)
    return list(dict.fromkeys(same + [t for t, _, _ in found]))[:limit]


def complete_tag(prefix: str, existing: Sequence[str], limit: int = 20) -> list[str]:
    """Completions of ``prefix``: tags starting with it, else the closest spellings."""
    from rapidfuzz import fuzz, process

    norm = normalise_tag(prefix) if prefix else ""
    starts = [t for t in existing if t.startswith(norm)]
    if starts or not norm:
        return starts[:limit]
    found = process.extract(
        norm, list(existing), scorer=fuzz.partial_ratio, score_cutoff=70, limit=limit
    )
    return [t for t, _, _ in found]


def check_near_duplicates(kb: KnowledgeBase) -> list[Finding]:
    """``check`` warnings: a record using a tag that is another tag's other spelling.

    Only groups of one word written several ways (case, hyphens, plural) are
    reported; spellings that are merely close (``outage``/``outrage``) are left
    to ``tag suggest``, where a person decides.
    """
    from lessons.check import Finding
    from lessons.entries import line_map

    # Counts alone here: the word list takes a second to load, too much for every check.
    groups = [g for g in suggest(kb, spelling=False) if g.reason == "same word"]
    if not groups:
        return []
    into = {t: g for g in groups for t in g.others}
    findings: list[Finding] = []
    for _rid, path, tag in kb.store.records_with_tags(list(into)):
        group = into[tag]
        count = dict(group.tags)[group.into]
        line = None
        try:
            lines = line_map((kb.root / path).read_text(encoding="utf-8-sig"))
            line = lines.get(("tags",))
        except (OSError, UnicodeDecodeError):
            pass
        findings.append(
            Finding(
                path,
                line,
                "tags",
                f"tag '{tag}' is another spelling of '{group.into}' "
                f"({count} record{'s' if count != 1 else ''}): "
                f"`lessons tag merge {tag} --into {group.into}`",
                "warning",
            )
        )
    return findings
