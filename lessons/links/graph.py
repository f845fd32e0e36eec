"""The link graph of the records, and its renderings as Graphviz DOT and Mermaid."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from lessons.filters import Filters
from lessons.kb import KnowledgeBase


@dataclass
class Graph:
    """Records as nodes and links as edges.

    Nodes are the records the filters select, plus the other end of each of
    their links (``outside``: a record not selected; ``missing``: no such record).
    """

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """``{"nodes": [...], "edges": [...]}``."""
        return {"nodes": self.nodes, "edges": self.edges}


def graph(kb: KnowledgeBase, filters: Filters | None = None, *, connected: bool = False) -> Graph:
    """The link graph of the records ``filters`` select (all by default).

    ``connected`` leaves out selected records that have no link at all.
    """
    store = kb.store
    cols = "r.id, r.title, r.kind, r.date, r.tags_text"
    _, rows = store.select(filters or Filters(), sort="id", columns=cols)
    selected = {r["id"]: r for r in rows}
    edges = []
    for src, dst, rel, note, _seq in sorted(store.all_links(), key=lambda x: (x[0], x[4])):
        if src in selected or dst in selected:
            edge: dict[str, Any] = {"from": src, "to": dst, "rel": rel}
            if note:
                edge["note"] = note
            edges.append(edge)
    ends = {e["from"] for e in edges} | {e["to"] for e in edges}
    others = sorted(ends - set(selected))
    known = {
        r[0]: {"id": r[0], "title": r[1], "kind": r[2], "date": r[3], "tags": r[5].split()}
        for r in store.similarity_rows(others)
    }
    nodes = []
    for rid, row in selected.items():
        if connected and rid not in ends:
            continue
        nodes.append(_node(row, outside=False))
    for rid in others:
        if rid in known:
            nodes.append(_node(known[rid], outside=True))
        else:
            nodes.append(
                {"id": rid, "title": None, "kind": None, "date": None, "tags": [], "missing": True}
            )
    return Graph(nodes, edges)


def _node(row: dict[str, Any], *, outside: bool) -> dict[str, Any]:
    node = {k: row[k] for k in ("id", "title", "kind", "date", "tags")}
    if outside:
        node["outside"] = True
    return node


# Colours (fill, border) and shapes per kind: shape tells them apart without colour.
KIND_LOOK = {
    "mistake": ("#f8d7da", "#b02a37", "box"),
    "success": ("#d1e7dd", "#146c43", "ellipse"),
    "observation": ("#cfe2ff", "#0a58ca", "note"),
}
MISSING_LOOK = ("#eeeeee", "#888888", "box")
REL_COLOUR = {
    "relates-to": "#666666",
    "caused-by": "#b02a37",
    "repeats": "#d63384",
    "applies": "#146c43",
    "supersedes": "#0a58ca",
    "contradicts": "#fd7e14",
}


def _dot_str(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, no raw newlines."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _wrap(text: str, width: int = 32) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def to_dot(g: Graph) -> str:
    """The graph as Graphviz DOT: kinds by shape and colour, relations as edge labels."""
    out = [
        "digraph lessons {",
        "  rankdir=LR;",
        '  node [style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for n in g.nodes:
        fill, border, shape = KIND_LOOK.get(n.get("kind") or "", MISSING_LOOK)
        if n.get("missing"):
            label_lines = [n["id"], "(missing record)"]
            style = '"dashed,filled"'
        else:
            label_lines = [n["id"], *_wrap(n["title"])]
            style = '"rounded,filled,dashed"' if n.get("outside") else '"rounded,filled"'
        # Each line escaped on its own, joined by DOT's own newline escape.
        label = '"' + "\\n".join(_dot_str(x)[1:-1] for x in label_lines) + '"'
        tooltip = _dot_str(n.get("title") or n["id"])
        out.append(
            f"  {_dot_str(n['id'])} [label={label}, shape={shape}, style={style},"
            f' fillcolor="{fill}", color="{border}", tooltip={tooltip}];'
        )
    for e in g.edges:
        colour = REL_COLOUR.get(e["rel"], "#666666")
        extra = f", tooltip={_dot_str(e['note'])}" if e.get("note") else ""
        out.append(
            f"  {_dot_str(e['from'])} -> {_dot_str(e['to'])} [label={_dot_str(e['rel'])},"
            f' color="{colour}", fontcolor="{colour}"{extra}];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def mermaid_id(record_id: str) -> str:
    """A node id Mermaid accepts: letters, digits and underscores, never a keyword."""
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", record_id)


def _mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label, with its special characters as entity codes."""
    text = text.replace("#", "#35;")
    for char, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        text = text.replace(char, code)
    return text


def to_mermaid(g: Graph) -> str:
    """The graph as a Mermaid ``flowchart LR`` (renders in Markdown viewers)."""
    out = ["flowchart LR"]
    classes: dict[str, list[str]] = defaultdict(list)
    for n in g.nodes:
        nid = mermaid_id(n["id"])
        if n.get("missing"):
            out.append(f'  {nid}["{_mermaid_text(n["id"])}<br/>(missing record)"]')
            classes["missing"].append(nid)
            continue
        label = f"{_mermaid_text(n['id'])}<br/>{_mermaid_text(n['title'])}"
        shape = {"success": ('("', '")'), "observation": ('{{"', '"}}')}.get(
            n["kind"], ('["', '"]')
        )
        out.append(f"  {nid}{shape[0]}{label}{shape[1]}")
        classes[n["kind"]].append(nid)
        if n.get("outside"):
            classes["outside"].append(nid)
    for e in g.edges:
        out.append(
            f'  {mermaid_id(e["from"])} -->|"{_mermaid_text(e["rel"])}"| {mermaid_id(e["to"])}'
        )
    for kind, (fill, border, _shape) in [*KIND_LOOK.items(), ("missing", MISSING_LOOK)]:
        dash = ",stroke-dasharray: 4 3" if kind == "missing" else ""
        out.append(f"  classDef {kind} fill:{fill},stroke:{border},color:#000{dash}")
    out.append("  classDef outside stroke-dasharray: 4 3")
    for name, ids in classes.items():
        out.append(f"  class {','.join(ids)} {name}")
    return "\n".join(out) + "\n"
