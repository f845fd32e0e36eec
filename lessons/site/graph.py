"""The link graph page: a deterministic layout drawn as SVG whose nodes are links.

No script is needed to read or use it: each node is an ``<a>`` to the record's
page, with the title as its tooltip and accessible name. Each connected group
of records is laid out on rings around its most linked record (breadth-first:
ring k holds the records k links away), and the groups are packed in rows,
largest first. A graph too large to read at once shows its most linked records
and the links among them, and says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

WIDTH = 960.0
RING = 70.0
GAP = 26.0  # the least distance between two nodes on a ring
MARGIN = 30.0
MAX_NODES = 150
LABELS_UP_TO = 60


def layout(
    nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Positions for ``nodes`` (dicts with ``id``) joined by ``edges`` (``from``, ``to``,
    ``rel``): ``{"nodes": [...with x, y], "edges": [...with coordinates], "width",
    "height", "shown", "total", "labels"}``."""
    known = {n["id"]: dict(n) for n in nodes}
    edges = [e for e in edges if e["from"] in known and e["to"] in known and e["from"] != e["to"]]
    degree: dict[str, int] = defaultdict(int)
    for e in edges:
        degree[e["from"]] += 1
        degree[e["to"]] += 1
    total = len([i for i in known if degree[i]])
    chosen = sorted((i for i in known if degree[i]), key=lambda i: (-degree[i], i))[:MAX_NODES]
    keep = set(chosen)
    edges = [e for e in edges if e["from"] in keep and e["to"] in keep]
    adjacent: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        adjacent[e["from"]].add(e["to"])
        adjacent[e["to"]].add(e["from"])
    placed: dict[str, tuple[float, float]] = {}
    boxes = [_component(group, adjacent, degree) for group in _components(chosen, adjacent)]
    x = y = MARGIN
    row_height = 0.0
    for size, local in boxes:
        if x + size > WIDTH - MARGIN and x > MARGIN:
            x = MARGIN
            y += row_height + MARGIN
            row_height = 0.0
        for rid, (lx, ly) in local.items():
            placed[rid] = (round(x + size / 2 + lx, 1), round(y + size / 2 + ly, 1))
        x += size + MARGIN
        row_height = max(row_height, size)
    width = max([WIDTH, *(px + MARGIN for px, _ in placed.values())])
    height = y + row_height + MARGIN if placed else 0.0
    out_nodes = []
    for rid in sorted(placed, key=lambda i: (-degree[i], i)):
        node = known[rid]
        node["x"], node["y"] = placed[rid]
        node["degree"] = degree[rid]
        out_nodes.append(node)
    out_edges = []
    for e in edges:
        (x1, y1), (x2, y2) = placed[e["from"]], placed[e["to"]]
        # Stop the line short of the target's circle so its arrowhead shows.
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        cut = 9.0 / length
        out_edges.append(
            {
                **e,
                "x1": x1,
                "y1": y1,
                "x2": round(x2 - (x2 - x1) * cut, 1),
                "y2": round(y2 - (y2 - y1) * cut, 1),
            }
        )
    return {
        "nodes": out_nodes,
        "edges": out_edges,
        "width": round(width, 1),
        "height": round(height, 1),
        "shown": len(out_nodes),
        "total": total,
        "labels": len(out_nodes) <= LABELS_UP_TO,
    }


def _components(ids: Sequence[str], adjacent: Mapping[str, set[str]]) -> list[list[str]]:
    """Connected groups of ``ids``, largest first (ties by their first id)."""
    seen: set[str] = set()
    groups = []
    for start in sorted(ids):
        if start in seen:
            continue
        group = []
        stack = [start]
        seen.add(start)
        while stack:
            rid = stack.pop()
            group.append(rid)
            for other in adjacent.get(rid, ()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        groups.append(sorted(group))
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def _component(
    group: list[str], adjacent: Mapping[str, set[str]], degree: Mapping[str, int]
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Rings around the group's most linked record: (box size, offsets from its centre)."""
    centre = min(group, key=lambda i: (-degree[i], i))
    angle: dict[str, float] = {centre: 0.0}
    rings: list[list[str]] = [[centre]]
    while True:
        following: list[str] = []
        for rid in rings[-1]:
            for other in sorted(adjacent.get(rid, ())):
                if other not in angle and other not in following:
                    following.append(other)
                    angle[other] = angle[rid]
        if not following:
            break
        # Each record goes near the one that reached it: fewer crossing lines.
        following.sort(key=lambda i: (angle[i], i))
        rings.append(following)
        for k, rid in enumerate(following):
            angle[rid] = 2 * math.pi * k / len(following)
    local = {centre: (0.0, 0.0)}
    radius = 0.0
    for depth, ring in enumerate(rings[1:], start=1):
        radius = max(radius + RING, depth * RING, len(ring) * GAP / (2 * math.pi))
        for rid in ring:
            local[rid] = (radius * math.cos(angle[rid]), radius * math.sin(angle[rid]))
    return 2 * radius + 2 * MARGIN, local
