"""``lessons check``: every problem of every record, file by file and across records (SPEC §6)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.entries import line_map
from lessons.entries.write import LEFTOVER
from lessons.kb import KnowledgeBase
from lessons.model import today

# Extra checks other modules register (near-duplicate tags, similar records…).
Checker = Callable[[KnowledgeBase], list["Finding"]]
EXTRA_CHECKS: list[Checker] = []


@dataclass
class Finding:
    """One problem, placed in a file."""

    path: str
    line: int | None
    field: str | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``check --json``."""
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class CheckResult:
    """Errors (exit 2) and warnings (exit 0)."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    records: int = 0
    files: int = 0

    def add(self, finding: Finding) -> None:
        """File a finding under its severity."""
        (self.errors if finding.severity == "error" else self.warnings).append(finding)


class _Lines:
    """Line numbers of record files, read once per file and only when needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, dict[tuple[str | int, ...], int]] = {}

    def of(self, path: str, *loc: str | int) -> int | None:
        if path not in self.cache:
            try:
                self.cache[path] = line_map((self.root / path).read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError):
                self.cache[path] = {}
        lines = self.cache[path]
        while loc and loc not in lines:
            loc = loc[:-1]
        return lines.get(loc, lines.get(()))


def check(kb: KnowledgeBase) -> CheckResult:
    """Sync the index, then gather every problem it and the link graph show."""
    kb.sync()
    store = kb.store
    result = CheckResult(records=store.count())
    problems = store.file_problems()
    result.files = store.file_count()
    for path, items in problems:
        for p in items:
            result.add(Finding(path, p.get("line"), p.get("field"), p["message"], p["severity"]))
    lines = _Lines(kb.root)
    info = store.record_facts()
    links = store.all_links()
    # Links into another knowledge base (KB:ID) are checked against a shared index,
    # where one is in use; a local index cannot tell, and says nothing of them.
    elsewhere = {dst for _, dst, *_ in links if ":" in dst}
    found_elsewhere = store.existing(elsewhere) if store.shared and elsewhere else elsewhere
    for src, dst, rel, _note, seq in links:
        if src not in info:
            continue
        path = info[src][0]
        if dst in elsewhere:
            if dst not in found_elsewhere:
                result.add(
                    Finding(
                        path,
                        lines.of(path, "links", seq),
                        "links",
                        f"link to '{dst}', which is in no knowledge base of the index",
                    )
                )
            continue
        if dst not in info:
            from lessons.model import did_you_mean

            result.add(
                Finding(
                    path,
                    lines.of(path, "links", seq),
                    "links",
                    f"link to '{dst}', which does not exist{did_you_mean(dst, info)}",
                )
            )
        elif rel == "repeats":
            src_date, dst_date = info[src][1], info[dst][1]
            if src_date and dst_date and src_date < dst_date:
                result.add(
                    Finding(
                        path,
                        lines.of(path, "links", seq),
                        "links",
                        f"'repeats' points at a newer record ({dst}, {dst_date}): "
                        "the newer record should repeat the older one",
                        "warning",
                    )
                )
    for cycle in supersedes_cycles(links):
        path = info[cycle[0]][0]
        result.add(
            Finding(
                path,
                lines.of(path, "links"),
                "links",
                "'supersedes' links go round in a circle: " + " -> ".join([*cycle, cycle[0]]),
            )
        )
    now = today()
    for path, date, _kind in info.values():
        if date and date > now:
            result.add(
                Finding(
                    path,
                    lines.of(path, "date"),
                    "date",
                    f"'date' {date} is in the future (today is {now})",
                    "warning",
                )
            )
    for action in store.actions():
        if action["status"] == "open" and action["due"] and action["due"] < now:
            path = info[action["id"]][0]
            result.add(
                Finding(
                    path,
                    lines.of(path, "actions", action["seq"]),
                    "actions",
                    f"action '{action['do']}' was due on {action['due']} and is still open",
                    "warning",
                )
            )
    for extra in EXTRA_CHECKS:
        for finding in extra(kb):
            result.add(finding)
    key = lambda f: (f.path, f.line or 0, f.message)  # noqa: E731
    result.errors.sort(key=key)
    result.warnings.sort(key=key)
    return result


# A write in progress keeps its temporary file for milliseconds; older than this,
# the write was interrupted (a killed process, a power cut).
LEFTOVER_AGE_S = 60


def check_leftover_writes(kb: KnowledgeBase) -> list[Finding]:
    """Temporary files of interrupted writes: the scan passes over them (hidden),
    but one may hold the only copy of text that was being saved."""
    found: list[Finding] = []
    old = time.time() - LEFTOVER_AGE_S
    for folder, _dirs, names in os.walk(kb.config.entries):
        for name in names:
            match = LEFTOVER.match(name)
            if not match:
                continue
            path = Path(folder) / name
            try:
                if path.stat().st_mtime > old:
                    continue
            except OSError:
                continue
            target = (Path(folder) / match.group(1)).relative_to(kb.root).as_posix()
            found.append(
                Finding(
                    path.relative_to(kb.root).as_posix(),
                    None,
                    None,
                    f"left by an interrupted write of {target}: compare the two, keep what "
                    "you need, then delete this file",
                    "warning",
                )
            )
    return found


def supersedes_cycles(links: list[tuple[str, str, str, str | None, int]]) -> list[list[str]]:
    """Each cycle of ``supersedes`` links once, starting at its smallest id."""
    graph: dict[str, list[str]] = {}
    for src, dst, rel, _note, _seq in links:
        if rel == "supersedes":
            graph.setdefault(src, []).append(dst)
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    # Depth-first with an explicit stack: a chain of thousands of records must
    # not hit Python's recursion limit.
    for root in sorted(graph):
        if root in state:
            continue
        trail: list[str] = [root]
        stack = [iter(graph.get(root, ()))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[trail.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                cycle = trail[trail.index(nxt) :]
                start = cycle.index(min(cycle))
                canon = tuple(cycle[start:] + cycle[:start])
                if canon not in seen:
                    seen.add(canon)
                    cycles.append(list(canon))
            elif nxt not in state:
                state[nxt] = 1
                trail.append(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return cycles


# Registered here, after ``Finding`` exists: the checks import it back.
from lessons.links import check_similar_records  # noqa: E402
from lessons.tags import check_near_duplicates  # noqa: E402

EXTRA_CHECKS.append(check_near_duplicates)
EXTRA_CHECKS.append(check_similar_records)
EXTRA_CHECKS.append(check_leftover_writes)
