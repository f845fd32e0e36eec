"""Follow-up actions across records (``lessons actions``)."""

from __future__ import annotations

from typing import Any

from lessons.errors import NoMatchError
from lessons.filters import Filters
from lessons.model import today as today_iso

KEYS = ("id", "title", "seq", "n", "do", "owner", "due", "status", "overdue", "closed", "closed_by")


def list_actions(
    kb: Any,
    filters: Filters | None = None,
    *,
    open_only: bool = False,
    owner: str | None = None,
    overdue: bool = False,
    today: str | None = None,
) -> list[dict[str, Any]]:
    """Actions of the records ``filters`` select, earliest due first (undated last).

    ``open_only`` keeps open ones, ``overdue`` open ones past their due date,
    ``owner`` one owner's (compared without regard to letter case). Each action
    has ``overdue`` set (open and due before ``today``), ``n`` (its 1-based number
    in the record) and, once closed, ``closed`` and ``closed_by`` when recorded.
    """
    today = today or today_iso()
    store = kb.store
    chosen: set[str] | None = None
    if filters is not None and not filters.is_empty():
        _, rows = store.select(filters, sort="id", columns="r.id")
        chosen = {r["id"] for r in rows}
    wanted = owner.strip().casefold() if owner else None
    out = []
    records: dict[str, dict[str, Any]] = {}
    for a in store.actions():
        if chosen is not None and a["id"] not in chosen:
            continue
        a["overdue"] = bool(a["status"] == "open" and a["due"] and a["due"] < today)
        if open_only and a["status"] != "open":
            continue
        if overdue and not a["overdue"]:
            continue
        if wanted is not None and (a["owner"] or "").strip().casefold() != wanted:
            continue
        a["n"] = a["seq"] + 1
        a["closed"] = a["closed_by"] = None
        if a["status"] != "open":
            # Who closed it and when are in the record itself, not in the action table.
            if a["id"] not in records:
                records[a["id"]] = store.get(a["id"]) or {}
            acts = records[a["id"]].get("actions") or []
            if a["seq"] < len(acts):
                a["closed"] = acts[a["seq"]].get("closed")
                a["closed_by"] = acts[a["seq"]].get("closed_by")
        out.append({k: a[k] for k in KEYS})
    return out


def no_match(
    kb: Any,
    filters: Filters | None,
    *,
    open_only: bool = False,
    owner: str | None = None,
    overdue: bool = False,
) -> NoMatchError:
    """The error for an empty list, saying what was asked and what there is."""
    asked = []
    if overdue:
        asked.append("overdue")
    elif open_only:
        asked.append("open")
    what = " ".join([*asked, "actions"])
    if owner:
        what += f" owned by '{owner}'"
    if filters is not None and not filters.is_empty():
        what += f" with {filters.describe()}"
    hint = None
    if owner:
        owners = sorted({a["owner"] for a in kb.store.actions() if a["owner"]})
        if owners:
            from lessons.model import suggest

            close = suggest(owner, owners)
            hint = f"did you mean '{close}'?" if close else "owners: " + ", ".join(owners[:10])
    elif not kb.store.actions():
        hint = "no record has actions yet; add them under 'actions:' in a record"
    return NoMatchError(f"no {what}", hint=hint)
