"""What interactive ``add`` asks after the required fields: campaign, team, impact, stage
and the custom fields of lessons.yaml, each with the values it may take or already has.

The CLI asks; this module says what to ask, which values to offer (Tab completion)
and turns an answer into a value, raising ``ValueError`` with what to type instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lessons.model import IMPACTS, parse_date
from lessons.recording.flags import resolve_choice

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase

# How many of the values in use are listed above a question (all complete with Tab).
SHOWN = 8


@dataclass
class FieldQuestion:
    """One optional field to ask for."""

    key: str
    label: str
    what: str  # the heading of the values shown: "In use" or "One of"
    choices: list[str]  # offered by Tab completion
    parse: Callable[[str], Any]  # answer -> value (None: left out); ValueError: ask again
    delims: str = ""  # "" completes the whole line; ", " each item of a list
    shown: list[str] = field(default_factory=list)


def field_questions(kb: KnowledgeBase, skip: Collection[str] = ()) -> list[FieldQuestion]:
    """The optional fields to ask for, in the record's key order, except those in ``skip``."""
    schema = kb.config.schema
    out: list[FieldQuestion] = []
    for key in ("campaign", "team"):
        used = [v for v, _ in kb.store.counts(key)]
        out.append(
            FieldQuestion(key, key.capitalize(), "In use", used, _known(used), shown=used[:SHOWN])
        )
    out.append(
        FieldQuestion(
            "impact",
            "Impact",
            "One of",
            list(IMPACTS),
            _choice(IMPACTS),
            shown=list(IMPACTS),
        )
    )
    stages = list(schema.stages)
    out.append(FieldQuestion("stage", "Stage", "One of", stages, _choice(stages), shown=stages))
    custom = [f for f in schema.fields]
    values = _custom_values(kb, [f.name for f in custom if f.type in ("text", "list")])
    for spec in custom:
        label = f"{spec.name} (custom field, {spec.type})"
        if spec.type == "choice":
            opts = list(spec.values)
            out.append(FieldQuestion(spec.name, label, "One of", opts, _choice(opts), shown=opts))
        elif spec.type == "list":
            used = values.get(spec.name, [])
            out.append(
                FieldQuestion(
                    spec.name,
                    label + ", comma-separated",
                    "In use",
                    used,
                    _list(used),
                    ", ",
                    used[:SHOWN],
                )
            )
        elif spec.type == "date":
            out.append(FieldQuestion(spec.name, label + ", YYYY-MM-DD", "", [], _date))
        elif spec.type == "number":
            out.append(FieldQuestion(spec.name, label, "", [], _number))
        else:
            used = values.get(spec.name, [])
            out.append(
                FieldQuestion(spec.name, label, "In use", used, _known(used), shown=used[:SHOWN])
            )
    return [q for q in out if q.key not in skip]


def complete_value(text: str, existing: Sequence[str], *, tags: bool = False) -> list[str]:
    """Completions of ``text`` at the prompt: the values starting with it (any letter
    case), else those containing it; tags go through ``complete_tag``."""
    if tags:
        from lessons.tags import complete_tag

        return complete_tag(text.strip(), existing)
    low = text.casefold()
    starts = [v for v in existing if v.casefold().startswith(low)]
    return starts or [v for v in existing if low and low in v.casefold()]


def _known(used: Sequence[str]) -> Callable[[str], Any]:
    """Free text; one that differs from a value in use only in case or spacing is that value."""
    by_key = {" ".join(v.casefold().split()): v for v in used}

    def parse(answer: str) -> Any:
        text = " ".join(answer.split())
        if not text:
            return None
        return by_key.get(text.casefold(), text)

    return parse


def _choice(choices: Sequence[str]) -> Callable[[str], Any]:
    def parse(answer: str) -> Any:
        if not answer.strip():
            return None
        chosen = resolve_choice(answer, list(choices))
        if chosen is None:
            raise ValueError(f"Choose one of {', '.join(choices)} (or Enter to skip).")
        return chosen

    return parse


def _list(used: Sequence[str]) -> Callable[[str], Any]:
    one = _known(used)

    def parse(answer: str) -> Any:
        items = [one(part) for part in answer.split(",")]
        return [i for i in dict.fromkeys(items) if i] or None

    return parse


def _date(answer: str) -> Any:
    if not answer.strip():
        return None
    parsed = parse_date(answer.strip())
    if parsed is None:
        raise ValueError("Write the date as YYYY-MM-DD (or Enter to skip).")
    return parsed


def _number(answer: str) -> Any:
    text = answer.strip()
    if not text:
        return None
    try:
        return int(text) if text.lstrip("-").isdigit() else float(text)
    except ValueError:
        raise ValueError("Write a number (or Enter to skip).") from None


def _custom_values(kb: KnowledgeBase, keys: Sequence[str]) -> dict[str, list[str]]:
    """The values in use of custom text and list fields, most used first (read from the
    indexed records that mention the key at all)."""
    if not keys:
        return {}
    counts: dict[str, Counter[str]] = {k: Counter() for k in keys}
    like = " OR ".join("data LIKE ?" for _ in keys)
    # own(): on a shared index, this knowledge base's records only.
    rows = kb.store.all(
        f"SELECT data FROM record WHERE ({like}){kb.store.own()}", [f'%"{k}"%' for k in keys]
    )
    for (data,) in rows:
        rec = json.loads(data)
        for key in keys:
            value = rec.get(key)
            if isinstance(value, str) and value.strip():
                counts[key][value.strip()] += 1
            elif isinstance(value, list):
                counts[key].update(str(v).strip() for v in value if str(v).strip())
    return {k: [v for v, _ in c.most_common()] for k, c in counts.items()}
