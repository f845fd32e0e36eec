"""The record: its keys, kinds, relations, id rules and validation. No I/O here.

A record is kept as a plain ``dict`` in the order of ``KEY_ORDER`` (dicts are
cheap to build at 100,000 records; a class per record is not needed). Validation
turns the mapping a YAML file held into such a dict plus a list of problems.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

KINDS = ("mistake", "success", "observation")
IMPACTS = ("low", "medium", "high", "critical")
IMPACT_RANK = {name: rank for rank, name in enumerate(IMPACTS, start=1)}
VISIBILITIES = ("internal", "public")
STATUSES = ("draft", "final")
ACTION_STATUSES = ("open", "done", "dropped")
DEFAULT_STAGES = ("objectives", "audience", "strategy", "implementation", "scoring")

# rel -> the name the target shows it under (SPEC §3).
RELATIONS: dict[str, str] = {
    "relates-to": "relates-to",
    "caused-by": "caused",
    "repeats": "repeated-by",
    "applies": "applied-by",
    "supersedes": "superseded-by",
    "contradicts": "contradicts",
}

TEXT_KEYS = ("title", "summary", "lesson", "expected", "why", "response", "evidence")
LIST_KEYS = ("recommendations", "authors", "sources")
REQUIRED = ("id", "title", "kind", "summary")

# The order in which the tool writes keys (SPEC §2); custom fields follow.
KEY_ORDER = (
    "id",
    "title",
    "kind",
    "date",
    "summary",
    "lesson",
    "recommendations",
    "expected",
    "why",
    "response",
    "evidence",
    "impact",
    "campaign",
    "team",
    "authors",
    "stage",
    "tags",
    "links",
    "actions",
    "sources",
    "visibility",
    "status",
    "recorded",
)
# Source columns an import kept (``--keep-unmapped``), name -> text: written last,
# after custom fields, and never asked for by ``add``.
EXTRA_KEY = "extra"
STANDARD_KEYS = frozenset(KEY_ORDER) | {EXTRA_KEY}
LINK_KEYS = ("to", "rel", "note")
ACTION_KEYS = ("do", "owner", "due", "status", "closed", "closed_by")
CUSTOM_TYPES = ("text", "list", "date", "number", "choice")
MAX_TITLE = 120


@dataclass(frozen=True)
class CustomField:
    """A key declared under ``fields:`` in ``lessons.yaml``."""

    name: str
    type: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    """What validation needs from the configuration."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    fields: tuple[CustomField, ...] = ()
    tag_aliases: Mapping[str, str] = field(default_factory=dict)

    def known_keys(self) -> list[str]:
        """Every key a record may carry: standard ones, then custom ones."""
        return list(KEY_ORDER) + [f.name for f in self.fields]


@dataclass
class Problem:
    """One thing wrong (or worth a warning) in a record."""

    message: str
    field: str | None = None
    # A path into the document, e.g. ("links", 0, "rel"); turned into a line later.
    loc: tuple[str | int, ...] = ()
    severity: str = "error"
    line: int | None = None
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``check --json``."""
        return {
            "path": self.path,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


def suggest(word: str, choices: Iterable[str], cutoff: float = 60.0) -> str | None:
    """The closest of ``choices`` to ``word``, if any is close enough."""
    # Imported here: rapidfuzz costs start-up time and most records need no suggestion.
    from rapidfuzz import fuzz, process

    found = process.extractOne(word, list(choices), scorer=fuzz.WRatio, score_cutoff=cutoff)
    return found[0] if found else None


# Characters that must not reach a message raw: C0/C1 controls, DEL, bidi and other
# invisible formatting characters (a file may hold any of them).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
EXCERPT = 40


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A value from a file as a message may quote it: at most ``limit`` characters, cut
    with ``…``, every control or invisible character written out (``\\x1b``, ``<U+202E>``)."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    text = _HIDDEN.sub(_shown_char, text[:limit])
    return text + ("…" if cut else "")


def _shown_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    best = suggest(word, choices)
    return f" (did you mean '{best}'?)" if best else ""


def is_link_target(to: str) -> bool:
    """An id, or ``KB:ID``: a record of another knowledge base (a shared index)."""
    kb, sep, rid = to.rpartition(":")
    return bool(ID_RE.fullmatch(rid)) and (not sep or bool(ID_RE.fullmatch(kb)))


def slugify(text: str, max_len: int = 80) -> str:
    """Lower-case ASCII: accents dropped, other scripts transliterated, other runs one hyphen.

    ``Lição`` -> ``licao``; ``Підрядник`` -> ``pidryadnik`` (by anyascii, loaded only
    when a character has no ASCII form once its accents are gone).
    """
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    return slug[:max_len].rstrip("-")


def _ascii(text: str) -> str:
    if text.isascii():
        return text
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if ch.isascii():
            out.append(ch)
        elif not unicodedata.combining(ch):
            # A letter of another script, or a symbol: transliterated (``я`` -> ``ya``).
            from anyascii import anyascii

            out.append(anyascii(ch))
    return "".join(out)


def is_tag(text: str) -> bool:
    """Whether ``text`` is a normalised tag: letters, marks and digits of any script,
    words joined by single hyphens, case-folded and in NFC."""
    return bool(text) and normalise_tag(text) == text


def normalise_tag(tag: str, aliases: Mapping[str, str] | None = None) -> str:
    """Case-folded, NFC, every run of what is not a letter, mark or digit one hyphen.

    Any script is kept: ``Підрядник`` -> ``підрядник``, ``Ação`` -> ``ação``,
    ``Social_Media`` -> ``social-media``; then the configured aliases apply.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).casefold())
    parts: list[str] = []
    word: list[str] = []
    for ch in folded:
        if unicodedata.category(ch)[0] in "LMN":
            if word or unicodedata.category(ch)[0] != "M":
                word.append(ch)
        elif word:
            parts.append("".join(word))
            word = []
    if word:
        parts.append("".join(word))
    norm = "-".join(parts)[:200].rstrip("-")
    if aliases:
        norm = aliases.get(norm, norm)
    return norm


def today() -> str:
    """Today as ``YYYY-MM-DD`` (local time: a lesson's day is the writer's day)."""
    return dt.date.today().isoformat()


def parse_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` for a date value or string, ``None`` when it is not a valid date."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Validator:
    """Collects problems while turning a raw mapping into a normalised record."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.problems: list[Problem] = []

    def error(self, message: str, key: str | None, *loc: str | int) -> None:
        self.problems.append(Problem(message, key, tuple(loc) or ((key,) if key else ())))

    def warn(self, message: str, key: str | None, *loc: str | int) -> None:
        self.problems.append(
            Problem(message, key, tuple(loc) or ((key,) if key else ()), severity="warning")
        )

    def text(self, key: str, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(f"'{key}' must be text, not {_kind_of(value)}", key)
            return None
        return str(value).strip() if isinstance(value, str) else str(value)

    def text_list(self, key: str, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(
                f"'{key}' must be a list of text, not {_kind_of(value)}",
                key,
            )
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                text = str(item).strip()
                if text:
                    out.append(text)
            else:
                self.error(
                    f"item {i + 1} of '{key}' must be text, not {_kind_of(item)}", key, key, i
                )
        return out

    def choice(self, key: str, value: Any, choices: Iterable[str]) -> str | None:
        if value is None:
            return None
        options = list(choices)
        if not isinstance(value, str) or value not in options:
            shown = excerpt(value) if isinstance(value, str) else _kind_of(value)
            self.error(
                f"'{key}' must be one of {', '.join(options)}, not '{shown}'"
                + (did_you_mean(value, options) if isinstance(value, str) else ""),
                key,
            )
            return None
        return value

    def date(self, key: str, value: Any, *loc: str | int) -> str | None:
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.error(
                f"'{key}' must be a date YYYY-MM-DD, not '{excerpt(value)}'",
                str(loc[0]) if loc else key,
                *loc,
            )
        return parsed


def _kind_of(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "binary data (!!binary)"
    if isinstance(value, dt.datetime):
        return "a timestamp"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, set):
        return "a set (!!set)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "empty"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def validate(
    raw: Any,
    schema: Schema,
    *,
    stem: str | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check one record; return it normalised (``None`` if it has errors) and its problems.

    ``stem`` is the file name without ``.yaml``; the id must equal it.
    Cross-record checks (duplicate ids, missing link targets) live in the indexer.
    """
    v = _Validator(schema)
    if not isinstance(raw, dict):
        v.error(f"a record must be a mapping of keys to values, not {_kind_of(raw)}", None)
        return None, v.problems

    known = schema.known_keys()
    for key in raw:
        if not isinstance(key, str) or (key not in STANDARD_KEYS and key not in _custom(schema)):
            v.error(
                f"unknown key '{excerpt(key)}'{did_you_mean(str(key)[:200], known)}",
                excerpt(key),
            )

    for key in REQUIRED:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            v.error(f"missing required key '{key}'", key)

    rec: dict[str, Any] = {}
    rid = raw.get("id")
    if rid is not None:
        if not isinstance(rid, str) or not ID_RE.fullmatch(rid):
            v.error(
                f"'id' must be a slug of lower-case letters, digits and hyphens "
                f"(at most 80, starting with a letter or digit), not '{excerpt(rid)}'",
                "id",
            )
        elif stem is not None and rid != stem:
            v.error(
                f"id '{excerpt(rid)}' does not match the file name '{excerpt(stem)}.yaml'", "id"
            )
        rec["id"] = rid
    title = v.text("title", raw.get("title"))
    if title is not None:
        if "\n" in title:
            v.error("'title' must be one line", "title")
        elif len(title) > MAX_TITLE:
            v.error(f"'title' is {len(title)} characters long; the limit is {MAX_TITLE}", "title")
    rec["title"] = title
    rec["kind"] = v.choice("kind", raw.get("kind"), KINDS)
    rec["date"] = v.date("date", raw.get("date"))
    for key in ("summary", "lesson"):
        rec[key] = v.text(key, raw.get(key))
    rec["recommendations"] = v.text_list("recommendations", raw.get("recommendations"))
    for key in ("expected", "why", "response", "evidence"):
        rec[key] = v.text(key, raw.get(key))
    rec["impact"] = v.choice("impact", raw.get("impact"), IMPACTS)
    rec["campaign"] = v.text("campaign", raw.get("campaign"))
    rec["team"] = v.text("team", raw.get("team"))
    rec["authors"] = v.text_list("authors", raw.get("authors"))
    rec["stage"] = v.choice("stage", raw.get("stage"), schema.stages)
    rec["tags"] = _tags(v, raw.get("tags"), schema)
    rec["links"] = _links(v, raw.get("links"), rec.get("id"))
    rec["actions"] = _actions(v, raw.get("actions"))
    rec["sources"] = v.text_list("sources", raw.get("sources"))
    rec["visibility"] = v.choice("visibility", raw.get("visibility"), VISIBILITIES) or "internal"
    rec["status"] = v.choice("status", raw.get("status"), STATUSES) or "final"
    rec["recorded"] = v.date("recorded", raw.get("recorded"))
    rec["extra"] = _extra(v, raw.get("extra"))
    for custom in schema.fields:
        rec[custom.name] = _custom_value(v, custom, raw.get(custom.name))

    if rec["date"] is None and "date" not in raw:
        v.warn("no 'date': the record is left out of --since/--until filters", "date", "id")
    if rec["status"] == "final" and not rec.get("lesson") and "lesson" not in raw:
        v.warn("a final record without a 'lesson': what did we learn?", "lesson", "id")

    problems = _capped(v.problems)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return rec, problems


# Problems shown for one file: a file with thousands of bad values would drown the rest.
MAX_PROBLEMS = 50


def _capped(problems: list[Problem]) -> list[Problem]:
    """The first ``MAX_PROBLEMS`` problems, and one more saying how many were left out."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = problems[MAX_PROBLEMS:]
    errors = sum(p.severity == "error" for p in rest)
    more = Problem(
        f"… and {len(rest)} more problems in this file ({errors} errors) not shown",
        severity="error" if errors else "warning",
    )
    return [*problems[:MAX_PROBLEMS], more]


def _extra(v: _Validator, value: Any) -> dict[str, Any] | None:
    """What an import kept of columns that map to no key: names to text (or lists of text)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        v.error(f"'extra' must be a mapping of names to text, not {_kind_of(value)}", "extra")
        return None
    out: dict[str, Any] = {}
    for name, item in value.items():
        if item is None:
            continue
        if isinstance(item, list):
            out[str(name)] = v.text_list("extra", item)
            continue
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            v.error(
                f"'extra' item '{name}' must be text, not {_kind_of(item)}", "extra", "extra", name
            )
            continue
        out[str(name)] = item.strip() if isinstance(item, str) else item
    return out or None


def _custom(schema: Schema) -> set[str]:
    return {f.name for f in schema.fields}


def _custom_value(v: _Validator, custom: CustomField, value: Any) -> Any:
    if value is None:
        return [] if custom.type == "list" else None
    if custom.type == "text":
        return v.text(custom.name, value)
    if custom.type == "list":
        return v.text_list(custom.name, value)
    if custom.type == "date":
        return v.date(custom.name, value)
    if custom.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            v.error(f"'{custom.name}' must be a number, not '{excerpt(value)}'", custom.name)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN or infinity: such a value could not be exported.
            v.error(f"'{custom.name}' must be a finite number, not {value}", custom.name)
            return None
        return value
    return v.choice(custom.name, value, custom.values)


def _tags(v: _Validator, value: Any, schema: Schema) -> list[str]:
    raw_tags = v.text_list("tags", value)
    out: list[str] = []
    for i, tag in enumerate(raw_tags):
        norm = normalise_tag(tag, schema.tag_aliases)
        if not norm:
            v.error(f"tag '{excerpt(tag)}' has no letters or digits", "tags", "tags", i)
            continue
        if norm != tag:
            v.warn(
                f"tag '{excerpt(tag)}' is not normalised: write it as '{excerpt(norm)}'",
                "tags",
                "tags",
                i,
            )
        if norm not in out:
            out.append(norm)
    return out


def _sub_mapping(
    v: _Validator, key: str, i: int, item: Any, allowed: tuple[str, ...]
) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        v.error(f"item {i + 1} of '{key}' must be a mapping, not {_kind_of(item)}", key, key, i)
        return None
    for sub in item:
        if sub not in allowed:
            v.error(
                f"unknown key '{excerpt(sub)}' in item {i + 1} of '{key}'"
                + did_you_mean(str(sub)[:200], allowed),
                key,
                key,
                i,
                str(sub),
            )
    return item


def _links(v: _Validator, value: Any, own_id: str | None) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        v.error(f"'links' must be a list of {{to, rel}} mappings, not {_kind_of(value)}", "links")
        return []
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(value):
        link = _sub_mapping(v, "links", i, item, LINK_KEYS)
        if link is None:
            continue
        to, rel = link.get("to"), link.get("rel", "relates-to")
        if not isinstance(to, str) or not is_link_target(to):
            v.error(
                f"link {i + 1} needs 'to': the id of another record"
                " (KB:ID for one in another knowledge base)",
                "links",
                "links",
                i,
            )
            continue
        if rel not in RELATIONS:
            v.error(
                f"unknown relation '{excerpt(rel)}' in link {i + 1}"
                + (did_you_mean(rel[:200], RELATIONS) if isinstance(rel, str) else "")
                + f"; relations are {', '.join(RELATIONS)}",
                "links",
                "links",
                i,
                "rel",
            )
            continue
        if to == own_id:
            v.error(f"link {i + 1} points at the record itself", "links", "links", i)
            continue
        if (to, rel) in seen:
            v.error(f"link {i + 1} repeats an earlier link ({rel} {to})", "links", "links", i)
            continue
        seen.add((to, rel))
        entry: dict[str, Any] = {"to": to, "rel": rel}
        note = link.get("note")
        if note is not None:
            if not isinstance(note, str):
                v.error(f"the note of link {i + 1} must be text", "links", "links", i, "note")
            else:
                entry["note"] = note.strip()
        out.append(entry)
    return out


def _actions(v: _Validator, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        v.error(
            "'actions' must be a list of {do, owner, due, status, closed, closed_by} mappings",
            "actions",
        )
        return []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        action = _sub_mapping(v, "actions", i, item, ACTION_KEYS)
        if action is None:
            continue
        do = action.get("do")
        if not isinstance(do, str) or not do.strip():
            v.error(f"action {i + 1} needs 'do': what is to be done", "actions", "actions", i)
            continue
        entry: dict[str, Any] = {"do": do.strip()}
        owner = action.get("owner")
        if owner is not None:
            if isinstance(owner, str):
                entry["owner"] = owner.strip()
            else:
                v.error(
                    f"the owner of action {i + 1} must be text", "actions", "actions", i, "owner"
                )
        if action.get("due") is not None:
            due = v.date("due", action.get("due"), "actions", i, "due")
            if due:
                entry["due"] = due
        status = action.get("status", "open")
        if status not in ACTION_STATUSES:
            v.error(
                f"the status of action {i + 1} must be one of {', '.join(ACTION_STATUSES)}, "
                f"not '{excerpt(status)}'",
                "actions",
                "actions",
                i,
                "status",
            )
            continue
        entry["status"] = status
        # Who closed it and when: written by `lessons actions done`, removed by `reopen`.
        if action.get("closed") is not None:
            closed = v.date("closed", action.get("closed"), "actions", i, "closed")
            if closed:
                entry["closed"] = closed
        closed_by = action.get("closed_by")
        if closed_by is not None:
            if isinstance(closed_by, str):
                entry["closed_by"] = closed_by.strip()
            else:
                v.error(
                    f"the closed_by of action {i + 1} must be text",
                    "actions",
                    "actions",
                    i,
                    "closed_by",
                )
        out.append(entry)
    return out


def to_document(rec: Mapping[str, Any], schema: Schema | None = None) -> dict[str, Any]:
    """The record as it is written to YAML: key order of §2, empty and default values left out."""
    order = list(KEY_ORDER) + ([f.name for f in schema.fields] if schema else [])
    order += [k for k in rec if k not in order]
    doc: dict[str, Any] = {}
    for key in order:
        value = rec.get(key)
        if value is None or value == [] or value == "" or value == {}:
            continue
        if key == "visibility" and value == "internal":
            continue
        if key == "status" and value == "final":
            continue
        if key == "actions":
            value = [_action_doc(a) for a in value]
        doc[key] = value
    return doc


def _action_doc(action: Mapping[str, Any]) -> dict[str, Any]:
    return {k: action[k] for k in ACTION_KEYS if action.get(k) is not None}


def unique_id(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free first."""
    base = base[:80].rstrip("-") or "lesson"
    if not taken(base):
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: 80 - len(suffix)].rstrip("-") + suffix
        if not taken(candidate):
            return candidate
        n += 1


def make_id(date: str | None, title: str) -> str:
    """The id ``add`` and ``import`` make: ``YYYY-MM-<slug of the title>``.

    A title with nothing to spell in ASCII (``???``, a symbol no table knows) gives
    ``YYYY-MM-<8 hex digits of its hash>``: stable, so a re-import finds it again.
    """
    prefix = f"{date[:7]}-" if date else ""
    slug = slugify(title, 80 - len(prefix))
    if not slug and title.strip():
        import hashlib

        norm = unicodedata.normalize("NFC", " ".join(title.split()))
        slug = hashlib.sha256(norm.encode("utf-8")).hexdigest()[:8]
    return (prefix + slug).strip("-") or "lesson"


def id_from_foreign(value: str) -> str:
    """Turn an id from elsewhere into a record id: lower case, others to hyphens, collapsed.

    The one documented rule import uses (``google-GAE-#15023`` -> ``google-gae-15023``).
    """
    return slugify(value, 80)
