"""What every command shares: opening the knowledge base, and the shared filter options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from lessons.cli.app import STATE, write_err
from lessons.cli.render import progress_bar, report_skipped
from lessons.filters import Filters, parse_since, parse_until
from lessons.indexer import SyncReport
from lessons.kb import KnowledgeBase
from lessons.model import IMPACTS, KINDS, STATUSES, normalise_tag

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most N.")]


def open_kb() -> KnowledgeBase:
    """The knowledge base the global options and the working directory name (not synced).

    Its warnings (``kb.notes``) are shown as they come up, and at the latest when
    the command ends.
    """
    kb = KnowledgeBase.open(STATE.kb, STATE.db, across=STATE.across, from_kb=STATE.from_kb)
    STATE.opened.append(kb)
    show_notes(kb)
    return kb


def show_notes(kb: KnowledgeBase) -> None:
    """Say on stderr what the knowledge base noted (an index it would not use, files it
    would not read), once each."""
    for note in kb.notes:
        write_err(f"warning: {note}")
    kb.notes.clear()


def synced_kb() -> tuple[KnowledgeBase, SyncReport]:
    """The knowledge base, its index brought up to date quietly (skipped files reported)."""
    kb = open_kb()
    with progress_bar("Indexing") as progress:
        report = kb.sync(progress)
    show_notes(kb)
    report_skipped(report)
    return kb, report


def _choice(value: str | None, choices: tuple[str, ...], flag: str) -> str | None:
    if value is None:
        return None
    if value not in choices:
        from lessons.errors import UsageError
        from lessons.model import did_you_mean

        raise UsageError(
            f"{flag} must be one of {', '.join(choices)}, not '{value}'"
            + did_you_mean(value, choices)
        )
    return value


# name, annotation (each a repeatable or single option of the shared filters, SPEC §4)
_FILTER_PARAMS: list[tuple[str, Any]] = [
    (
        "kind",
        Annotated[str | None, typer.Option("--kind", help="mistake, success or observation.")],
    ),
    ("tag", Annotated[list[str] | None, typer.Option("--tag", help="Has this tag (repeat: all).")]),
    ("campaign", Annotated[str | None, typer.Option("--campaign", help="From this campaign.")]),
    ("team", Annotated[str | None, typer.Option("--team", help="From this team.")]),
    ("stage", Annotated[str | None, typer.Option("--stage", help="Arose at this stage.")]),
    (
        "impact",
        Annotated[str | None, typer.Option("--impact", help="low, medium, high, critical.")],
    ),
    (
        "since",
        Annotated[
            str | None,
            typer.Option("--since", help="On or after DATE (YYYY[-MM[-DD]] or 30d, 6m…)."),
        ],
    ),
    ("until", Annotated[str | None, typer.Option("--until", help="On or before DATE.")]),
    ("status", Annotated[str | None, typer.Option("--status", help="draft or final.")]),
    (
        "linked_to",
        Annotated[str | None, typer.Option("--linked-to", help="Linked to or from this id.")],
    ),
    ("orphans", Annotated[bool, typer.Option("--orphans", help="Only records with no links.")]),
]


def build_filters(kb: KnowledgeBase | None, **values: Any) -> Filters:
    """Turn the shared filter options into ``Filters`` (dates and tags normalised)."""
    aliases = kb.config.tag_aliases if kb else {}
    linked = values.get("linked_to")
    return Filters(
        kind=_choice(values.get("kind"), KINDS, "--kind"),
        tags=tuple(normalise_tag(t, aliases) for t in values.get("tag") or ()),
        campaign=values.get("campaign"),
        team=values.get("team"),
        stage=values.get("stage"),
        impact=_choice(values.get("impact"), IMPACTS, "--impact"),
        since=parse_since(values["since"]) if values.get("since") else None,
        until=parse_until(values["until"]) if values.get("until") else None,
        status=_choice(values.get("status"), STATUSES, "--status"),
        linked_to=kb.resolve(linked) if (kb and linked) else linked,
        orphans=bool(values.get("orphans")),
    )


def with_filters(func: F) -> F:
    """Add the shared filter options to a command; it receives them as ``filter_values``.

    The command turns them into ``Filters`` with ``build_filters`` once its
    knowledge base is open (tag aliases and id prefixes need it).
    """
    # eval_str: command modules use postponed annotations; Typer needs the objects.
    sig = inspect.signature(func, eval_str=True)
    params = [p for p in sig.parameters.values() if p.name != "filter_values"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ann)
        for name, ann in _FILTER_PARAMS
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name, None) for name, _ in _FILTER_PARAMS}
        return func(*args, filter_values=values, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params + extra)  # type: ignore[attr-defined]
    hints = {p.name: p.annotation for p in params}
    wrapper.__annotations__ = {**hints, **dict(_FILTER_PARAMS)}
    return wrapper  # type: ignore[return-value]
