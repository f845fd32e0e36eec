"""``lessons actions``: list follow-up actions; close and reopen them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import (
    IdArg,
    JsonOpt,
    LimitOpt,
    build_filters,
    synced_kb,
    with_filters,
)
from lessons.cli.render import Column, print_json, table

# The callback's docstring is the group's help (with its examples).
actions_app = typer.Typer(
    name="actions",
    invoke_without_command=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(actions_app, name="actions")

# On a terminal a column empty in every row (closed, when nothing is) is left out;
# piped lines keep their shape.
ACTION_COLUMNS = (
    Column("due"),
    Column("status"),
    Column("owner", cut=2, min=12),
    Column("id", "cyan", own_line=True),
    Column("#", right=True),
    Column("action", cut=1, min=30),
    Column("closed", "dim", cut=3, min=10),
)
NArg = Annotated[
    int, typer.Argument(metavar="N", min=1, help="The action's number (the # of `actions`).")
]


@actions_app.callback()
@with_filters
def actions(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open actions.")] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner's (any letter case).")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open actions past their due date.")
    ] = False,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Follow-up actions across records: due date, status, owner, record, what to do.

    The shared filters select the records; the status shown is open, overdue
    (open and past due), done or dropped, with when and by whom it was closed.
    Earliest due first; # is the action's number in its record (for `actions
    done ID N`). Exit 1 when none match. Examples: lessons actions --open --owner
    "digital engagement"; lessons actions --overdue --campaign "Civil Service
    Reform Plan" --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from lessons.reports.actions import list_actions, no_match

    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    items = list_actions(kb, filters, open_only=open_only, owner=owner, overdue=overdue)
    total = len(items)
    shown = items if limit is None else items[:limit]
    if json_out:
        print_json({"total": total, "results": shown})
    else:
        table(
            ACTION_COLUMNS,
            [
                (
                    a["due"] or "",
                    ("overdue", "red") if a["overdue"] else a["status"],
                    a["owner"] or "",
                    a["id"],
                    str(a["n"]),
                    a["do"],
                    _closed(a),
                )
                for a in shown
            ],
        )
        if total > len(shown):
            write_err(f"{len(shown)} of {total} shown (--limit)")
    if not items:
        raise no_match(kb, filters, open_only=open_only, owner=owner, overdue=overdue)


def _closed(a: dict[str, Any]) -> str:
    if a["status"] == "open":
        return ""
    return " ".join(x for x in (a.get("closed"), a.get("closed_by")) if x)


@actions_app.command("done")
def done(
    ref: IdArg,
    n: NArg,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who closed it [default: git's user.name, else $USER]."),
    ] = None,
    date: Annotated[
        str | None, typer.Option("--date", help="When, YYYY-MM-DD [default: today].")
    ] = None,
    drop: Annotated[
        bool, typer.Option("--dropped", help="Mark it dropped (not to be done) instead.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Close action N of a record: status done, the date and who closed it.

    Only that action changes; the rest of the file keeps its comments and
    layout. Example: lessons actions done 2012-09-hashtags 2
    """
    from lessons.lifecycle import close_action, who_am_i

    kb, _ = synced_kb()
    kb.check_writable()
    who = by if by is not None else who_am_i(kb.root)
    result = close_action(kb, ref, n, by=who, on=date, status="dropped" if drop else "done")
    _report(result, json_out)


@actions_app.command("reopen")
def reopen(ref: IdArg, n: NArg, json_out: JsonOpt = False) -> None:
    """Reopen action N of a record: status open, its closing date and closer removed.

    Example: lessons actions reopen 2012-09-hashtags 2
    """
    from lessons.lifecycle import reopen_action

    kb, _ = synced_kb()
    kb.check_writable()
    _report(reopen_action(kb, ref, n), json_out)


def _report(result: Any, json_out: bool) -> None:
    a = result.action
    what = f"{result.id} action {result.n} ({a['do']})"
    if not result.changed:
        write_err(f"{what} is already {a['status']}; nothing changed")
    elif a["status"] == "open":
        write_err(f"reopened {what}")
    else:
        who = f" by {a['closed_by']}" if a.get("closed_by") else ""
        write_err(f"{a['status']}: {what}, {a.get('closed')}{who}")
    if json_out:
        print_json({"id": result.id, "n": result.n, "path": result.path, **a})
