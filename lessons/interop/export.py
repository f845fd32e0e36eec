"""Export: records out as JSON, JSONL, YAML, CSV (read back by import) and Markdown."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lessons.errors import UsageError
from lessons.model import (
    ID_RE,
    KEY_ORDER,
    Schema,
    to_document,
)

if TYPE_CHECKING:
    pass
from lessons.interop.source import FORMATS_OUT
from lessons.interop.values import guard_formula, join_list
from lessons.mdtext import md_escape


def public_only(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with ``visibility: public``."""
    return [r for r in records if r.get("visibility") == "public"]


def export_text(
    records: list[dict[str, Any]],
    fmt: str,
    schema: Schema,
    name: str = "",
    *,
    raw_csv: bool = False,
) -> str:
    """The records as ``fmt`` text; every format but ``md`` reads back with import.

    CSV cells a spreadsheet would run as formulas get a leading ``'`` unless
    ``raw_csv`` (import takes it off again).
    """
    docs = [to_document({k: v for k, v in r.items() if k != "path"}, schema) for r in records]
    if fmt == "json":
        return json.dumps(docs, ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    if fmt == "yaml":
        return _yaml_list(docs, schema)
    if fmt == "csv":
        return _csv(docs, schema, guard=not raw_csv)
    if fmt == "md":
        return _markdown(docs, schema, name)
    raise UsageError(f"--format must be one of {', '.join(FORMATS_OUT)}, not '{fmt}'")


def _yaml_list(docs: list[dict[str, Any]], schema: Schema) -> str:
    from lessons.entries import dump_record

    if not docs:
        return "[]\n"
    out: list[str] = []
    for doc in docs:
        lines = dump_record(doc, schema).splitlines()
        out.append("- " + lines[0])
        out.extend("  " + line if line else "" for line in lines[1:])
    return "\n".join(out) + "\n"


def _csv(docs: list[dict[str, Any]], schema: Schema, *, guard: bool) -> str:
    import csv
    import io

    order = list(KEY_ORDER) + [f.name for f in schema.fields]
    present = {k for d in docs for k in d}
    order += sorted(present - set(order))
    columns = [k for k in order if k in present or k in ("id", "title", "kind", "summary")]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for doc in docs:
        cells = [_cell(key, doc.get(key)) for key in columns]
        writer.writerow([guard_formula(c) for c in cells] if guard else cells)
    return buf.getvalue()


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "links":
        return link_cell(value)
    if key == "actions" or isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return join_list(str(v) for v in value)
    return str(value)


def _markdown(docs: list[dict[str, Any]], schema: Schema, name: str) -> str:
    # Every value goes through md_escape: a record is untrusted, and raw HTML or
    # links in it would be live wherever the page is rendered.
    e = md_escape
    lines = [f"# {e(name or 'Lessons')}", ""]
    if not docs:
        lines.append("No records.")
    for doc in docs:
        lines += [f"## {e(doc['title'])}", ""]
        meta = [_code(doc["id"]), e(doc["kind"])]
        meta += [e(doc[k]) for k in ("date",) if doc.get(k)]
        meta += [f"{k} {e(doc[k])}" for k in ("impact", "stage", "status") if doc.get(k)]
        lines.append(" · ".join(meta))
        who = [f"{k}: {e(doc[k])}" for k in ("campaign", "team") if doc.get(k)]
        if doc.get("authors"):
            who.append("by " + ", ".join(e(a) for a in doc["authors"]))
        if doc.get("tags"):
            who.append("tags: " + ", ".join(e(t) for t in doc["tags"]))
        if who:
            lines.append(" · ".join(who))
        for key in ("summary", "lesson", "expected", "why", "response", "evidence"):
            if doc.get(key):
                lines += ["", f"**{key.capitalize()}.** {e(doc[key], block=True)}"]
        sections: list[tuple[str, list[str]]] = [
            ("Recommendations", [f"- {e(r)}" for r in doc.get("recommendations", [])]),
            ("Links", [_md_link(link) for link in doc.get("links", [])]),
            ("Actions", [_md_action(a) for a in doc.get("actions", [])]),
            ("Sources", [f"- {e(s)}" for s in doc.get("sources", [])]),
        ]
        for title, body in sections:
            if body:
                lines += ["", f"**{title}**", "", *body]
        custom = []
        for spec in schema.fields:
            value = doc.get(spec.name)
            if value not in (None, []):
                shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                custom.append(f"{e(spec.name)}: {e(shown)}")
        if custom:
            lines += ["", " · ".join(custom)]
        extra = doc.get("extra")
        if isinstance(extra, dict) and extra:
            lines += ["", "**Also in the source**", ""]
            lines += [f"- {e(k)}: {e(v)}" for k, v in extra.items()]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _code(value: Any) -> str:
    """An id in backticks (ids are slugs; anything else is escaped, not quoted)."""
    text = str(value)
    return f"`{text}`" if ID_RE.fullmatch(text) else md_escape(text)


def _md_link(link: Mapping[str, Any]) -> str:
    note = f" — {md_escape(link['note'])}" if link.get("note") else ""
    return f"- {md_escape(link['rel'])} {_code(link['to'])}{note}"


def _md_action(action: Mapping[str, Any]) -> str:
    box = {"open": "[ ]", "done": "[x]", "dropped": "[-]"}.get(action.get("status", "open"), "[ ]")
    extra = [md_escape(action[k]) for k in ("owner",) if action.get(k)]
    if action.get("due"):
        extra.append(f"due {md_escape(action['due'])}")
    return f"- {box} {md_escape(action['do'])}" + (f" ({', '.join(extra)})" if extra else "")


def link_cell(links: Iterable[Mapping[str, Any]]) -> str:
    items = []
    for link in links:
        item = f"{link['rel']}:{link['to']}"
        if link.get("note") is not None:
            item += f":{link['note']}"
        items.append(item)
    return join_list(items)
