"""The commented YAML template the editor opens for a new record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lessons.model import KEY_ORDER, RELATIONS, Schema
from lessons.recording.values import is_empty

_HELP = {
    "id": "Made from the date and the title when left empty; set it to choose your own.",
    "title": "One issue per record, in one line (at most 120 characters). Required.",
    "kind": "mistake, success or observation. Required.",
    "date": "When it happened: YYYY-MM-DD.",
    "summary": "What happened: the facts, without judgement. Required.",
    "lesson": "What we learned: the insight the next team needs before it plans.",
    "recommendations": "What to do next time: one action per item, each a '- ' line.",
    "expected": "What was supposed to happen.",
    "why": "Why it went as it did: causes and contributing factors.",
    "response": "What was done at the time.",
    "evidence": "Metrics, quotes or facts that back it up.",
    "impact": "How much it mattered: low, medium, high or critical.",
    "campaign": "The campaign, project or incident it came from.",
    "team": "The team.",
    "authors": "Who wrote it, e.g. [Ann Smith, Bo Lee].",
    "stage": "Where in the work it arose: {stages}.",
    "tags": "Lower case, hyphens for spaces, e.g. [twitter, live-chat].",
    "links": "Links to other records: - {{to: ID, rel: relates-to}}; rel is one of {rels}.",
    "actions": "Follow-ups: - {{do: TEXT, owner: NAME, due: YYYY-MM-DD}}.",
    "sources": "URLs or references, e.g. [https://example.org/post].",
    "visibility": "internal (the default) or public: only public records are published.",
    "status": "final (the default) or draft, for a record still being written.",
}
_BLOCK_KEYS = ("summary", "lesson")
_FLOW_KEYS = ("authors", "tags", "sources")


def template(
    raw: Mapping[str, Any], schema: Schema, popular_tags: Sequence[tuple[str, int]] = ()
) -> tuple[str, list[str]]:
    """The commented YAML the editor opens for a new record, the flags' values filled in.

    Returns the text and its comment lines (dropped again when the file is read back).
    The template is itself valid YAML.
    """
    comments: list[str] = [
        "# A new lesson. Fill in the values, then save and close the editor to record it.",
        "# Keys left empty are left out. To give up, empty the file, save and close.",
        "# Lines starting with '#' are comments.",
    ]
    lines: list[str] = [*comments, ""]
    stages = ", ".join(schema.stages)
    rels = ", ".join(RELATIONS)
    keys = [k for k in KEY_ORDER if k != "recorded"] + [f.name for f in schema.fields]
    custom = {f.name: f for f in schema.fields}
    for key in keys:
        if key in custom:
            spec = custom[key]
            what = f"one of {', '.join(spec.values)}" if spec.type == "choice" else spec.type
            help_text = f"Custom field ({what})."
        else:
            help_text = _HELP[key].format(stages=stages, rels=rels)
        if key == "tags" and popular_tags:
            shown = ", ".join(f"{t} ({n})" for t, n in popular_tags[:12])
            help_text += f" In use: {shown}."
        comment = f"# {help_text}"
        comments.append(comment)
        lines.append(comment)
        values = _template_value(key, raw.get(key), custom.get(key))
        comments.extend(v for v in values if v.startswith("#"))
        lines.extend(values)
    text = "\n".join(lines) + "\n"
    return text, comments


def _template_value(key: str, value: Any, custom: Any) -> list[str]:
    if key in ("visibility", "status") and value is None:
        # Left at the default unless uncommented.
        return [f"# {key}: {'public' if key == 'visibility' else 'draft'}"]
    if is_empty(value):
        if key in _BLOCK_KEYS:
            return [f"{key}: |", "  "]
        if key in ("recommendations", "links", "actions") or (custom and custom.type == "list"):
            return [f"{key}:", "  - "] if key == "recommendations" else [f"{key}: []"]
        if key in _FLOW_KEYS:
            return [f"{key}: []"]
        return [f"{key}: "]
    return _dump_value(key, value).rstrip("\n").splitlines()


def _dump_value(key: str, value: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text as ``|`` blocks, as the tool writes records."""

    def text(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data.strip("\n") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    wide = 1 << 30
    if key in ("date", "recorded") and isinstance(value, str):
        return f"{key}: {value}\n"
    if key in _FLOW_KEYS or key in ("links", "actions"):
        if key in _FLOW_KEYS:
            flow = yaml.dump(
                value, Dumper=Dumper, default_flow_style=True, width=wide, allow_unicode=True
            )
            return f"{key}: {flow}"
        items = [
            "  - "
            + yaml.dump(
                item, Dumper=Dumper, default_flow_style=True, width=wide, allow_unicode=True
            )
            for item in value
        ]
        return f"{key}:\n" + "".join(items)
    return yaml.dump(
        {key: value},
        Dumper=Dumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        width=wide,
    )
