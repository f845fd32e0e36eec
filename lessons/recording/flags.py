"""A new record from the command line's flags: links, actions, custom fields, choices."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lessons.errors import UsageError
from lessons.model import (
    ACTION_STATUSES,
    KEY_ORDER,
    RELATIONS,
    REQUIRED,
    Schema,
    did_you_mean,
    parse_date,
)
from lessons.recording.values import is_empty

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase

# Fields ``add`` cannot do without (the id is made), and the flag that gives each.
NEEDED = tuple(k for k in REQUIRED if k != "id")
FLAGS = {
    "title": "--title",
    "kind": "--kind",
    "summary": "--summary",
    "lesson": "--lesson",
    "date": "--date",
}


def parse_link(spec: str) -> tuple[str, str]:
    """``REL:ID`` → (rel, id or id prefix); an unknown relation is an error with a hint."""
    rel, sep, ref = spec.partition(":")
    rel, ref = rel.strip(), ref.strip()
    if not sep or not ref:
        raise UsageError(
            f"--link takes REL:ID, not '{spec}'",
            hint="for example --link relates-to:2012-09-hashtags; relations: "
            + ", ".join(RELATIONS),
        )
    if rel not in RELATIONS:
        raise UsageError(
            f"unknown relation '{rel}' in --link {spec}{did_you_mean(rel, RELATIONS)}",
            hint=f"relations: {', '.join(RELATIONS)}",
        )
    return rel, ref


def parse_action(spec: str) -> dict[str, Any]:
    """``TEXT[;owner=NAME][;due=YYYY-MM-DD][;status=open|done|dropped]`` → an action."""
    parts = spec.split(";")
    action: dict[str, Any] = {}
    text: list[str] = []
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if sep and key in ("owner", "due", "status") and text:
            value = value.strip()
            if key == "due":
                due = parse_date(value)
                if due is None:
                    raise UsageError(f"--action due= must be a date YYYY-MM-DD, not '{value}'")
                value = due
            if key == "status" and value not in ACTION_STATUSES:
                raise UsageError(
                    f"--action status= must be one of {', '.join(ACTION_STATUSES)}, not '{value}'"
                )
            action[key] = value
        else:
            text.append(part)
    do = ";".join(text).strip()
    if not do:
        raise UsageError(f"--action needs the text of what is to be done: '{spec}'")
    return {"do": do, **action}


def parse_fields(specs: Iterable[str], schema: Schema) -> dict[str, Any]:
    """``--field KEY=VALUE`` (repeatable) → custom field values, typed as configured."""
    custom = {f.name: f for f in schema.fields}
    out: dict[str, Any] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise UsageError(f"--field takes KEY=VALUE, not '{spec}'")
        if key in KEY_ORDER:
            raise UsageError(
                f"'{key}' is a standard key, not a custom field",
                hint=f"use its own option, e.g. --{key}" if key in FLAGS else None,
            )
        spec_of = custom.get(key)
        if spec_of is None:
            known = ", ".join(custom) or "none are declared in lessons.yaml"
            raise UsageError(
                f"unknown field '{key}'{did_you_mean(key, custom)}",
                hint=f"custom fields: {known}",
            )
        if spec_of.type == "list":
            out.setdefault(key, []).extend(v.strip() for v in value.split(";") if v.strip())
        elif spec_of.type == "number":
            try:
                out[key] = int(value) if re.fullmatch(r"-?\d+", value) else float(value)
            except ValueError:
                raise UsageError(f"field '{key}' is a number, not '{value}'") from None
        else:
            out[key] = value
    return out


def raw_from_flags(
    kb: KnowledgeBase,
    values: Mapping[str, Any],
    *,
    links: Sequence[str] = (),
    actions: Sequence[str] = (),
    fields: Sequence[str] = (),
    public: bool = False,
    draft: bool = False,
) -> dict[str, Any]:
    """The record the flags describe (only the keys given); link ids resolved, tags normalised."""
    raw: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or value == [] or value == ():
            continue
        raw[key] = list(value) if isinstance(value, list | tuple) else value
    if raw.get("tags"):
        from lessons.tags import normalise_tags

        raw["tags"] = normalise_tags(raw["tags"], kb.config.tag_aliases)
    if links:
        raw["links"] = []
        for spec in links:
            rel, ref = parse_link(spec)
            raw["links"].append({"to": kb.resolve(ref), "rel": rel})
    if actions:
        raw["actions"] = [parse_action(a) for a in actions]
    raw.update(parse_fields(fields, kb.config.schema))
    if public:
        raw["visibility"] = "public"
    if draft:
        raw["status"] = "draft"
    return raw


def missing(raw: Mapping[str, Any]) -> list[str]:
    """The required keys ``raw`` lacks (the id is made, so never among them)."""
    return [k for k in NEEDED if is_empty(raw.get(k))]


def missing_error(keys: Sequence[str]) -> UsageError:
    """The error for required fields missing where nobody can be asked."""
    names = ", ".join(keys)
    flags = " ".join(f"{FLAGS[k]} ..." for k in keys)
    return UsageError(
        f"missing required field{'s' if len(keys) > 1 else ''}: {names}",
        hint=f"give {flags} (standard input is not a terminal, so nothing was asked)",
    )


def resolve_choice(value: str, choices: Sequence[str]) -> str | None:
    """``value`` or the one choice it is a prefix of (``m`` → ``mistake``)."""
    value = value.strip().lower()
    if value in choices:
        return value
    found = [c for c in choices if value and c.startswith(value)]
    return found[0] if len(found) == 1 else None
