"""Closing and reopening a record's follow-up actions (``lessons actions done|reopen``).

An action closed from the command line gets ``status: done``, ``closed:`` (the
date) and ``closed_by:`` (who); reopening sets ``status: open`` and removes the
other two. The edit is a round trip of that one action: the rest of the file,
its comments and layout, stays as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.errors import UsageError
from lessons.kb import KnowledgeBase


@dataclass
class ActionChange:
    """One action after ``close_action`` or ``reopen_action``."""

    id: str
    n: int  # 1-based, as shown by `lessons actions`
    path: str
    action: dict[str, Any]
    changed: bool  # False: it already was as asked


def who_am_i(root: Path) -> str | None:
    """The name to record as ``closed_by``: the user's own git ``user.name`` (global, not
    the repository's: a cloned repository's settings are a stranger's), else the login
    name (``$USER``, ``$LOGNAME``); None when none is known."""
    git = shutil.which("git")
    if git:
        try:
            found = subprocess.run(
                [git, "config", "--global", "user.name"],
                cwd=Path.home() if Path.home().is_dir() else "/",
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            name = found.stdout.strip()
            if found.returncode == 0 and name:
                return name
        except (OSError, subprocess.SubprocessError):
            pass
    for var in ("USER", "LOGNAME"):
        value = (os.environ.get(var) or "").strip()
        if value:
            return value
    return None


def close_action(
    kb: KnowledgeBase,
    ref: str,
    n: int,
    *,
    by: str | None = None,
    on: str | None = None,
    status: str = "done",
) -> ActionChange:
    """Close action ``n`` (1-based) of the record ``ref`` names: ``status`` (done or
    dropped), ``closed`` (``on``, default today) and ``closed_by`` (``by``, when known)."""
    from lessons.model import parse_date, today

    when = parse_date(on) if on is not None else today()
    if when is None:
        raise UsageError(f"--date must be a date YYYY-MM-DD, not '{on}'")
    rec, action = _action(kb, ref, n)
    if action["status"] == status:
        return ActionChange(rec["id"], n, rec["path"], action, False)
    values: dict[str, Any] = {"status": status, "closed": when}
    who = (by or "").strip()
    if who:
        values["closed_by"] = who
    return _edit(kb, rec, n, values, drop=() if who else ("closed_by",))


def reopen_action(kb: KnowledgeBase, ref: str, n: int) -> ActionChange:
    """Reopen action ``n`` of the record ``ref`` names: ``status: open``, no ``closed``."""
    rec, action = _action(kb, ref, n)
    if action["status"] == "open":
        return ActionChange(rec["id"], n, rec["path"], action, False)
    return _edit(kb, rec, n, {"status": "open"}, drop=("closed", "closed_by"))


def _action(kb: KnowledgeBase, ref: str, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rec = kb.get(ref)
    actions = rec.get("actions") or []
    if not actions:
        raise UsageError(
            f"'{rec['id']}' has no actions",
            hint="`lessons actions` lists the actions of every record",
        )
    if not 1 <= n <= len(actions):
        listed = "; ".join(f"{i}: {a['do']}" for i, a in enumerate(actions, start=1))
        raise UsageError(
            f"'{rec['id']}' has {len(actions)} action{'s' if len(actions) > 1 else ''}, "
            f"so no action {n}",
            hint=f"its actions: {listed}",
        )
    return rec, actions[n - 1]


def _edit(
    kb: KnowledgeBase,
    rec: dict[str, Any],
    n: int,
    values: dict[str, Any],
    drop: tuple[str, ...],
) -> ActionChange:
    from lessons.entries import edit_file, map_delete, map_insert
    from lessons.model import ACTION_KEYS

    def change(doc: Any) -> None:
        import datetime as dt

        item = doc["actions"][n - 1]
        for key, value in values.items():
            if key == "closed":
                value = dt.date.fromisoformat(value)
            if key in item:
                item[key] = value
            else:
                map_insert(item, key, value, ACTION_KEYS)
        for key in drop:
            if key in item and not map_delete(item, key):
                del item[key]

    digest = kb.store.file_digest(rec["path"])
    new = edit_file(kb.path_of(rec), kb.root, kb.config.schema, change, expected_digest=digest)
    kb.sync()
    return ActionChange(rec["id"], n, rec["path"], new["actions"][n - 1], True)
