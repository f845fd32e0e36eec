"""What every command shares: opening the knowledge base, and the shared filter options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from lessons.cli.app import STATE, write_err
from lessons.cli.choices import choose_optional
from lessons.cli.completion import (
    complete_campaigns,
    complete_from,
    complete_ids,
    complete_stages,
    complete_tags,
    complete_teams,
    offer,
)
from lessons.cli.render import progress_bar, report_skipped
from lessons.filters import Filters, parse_since, parse_until, value_key
from lessons.indexer import SyncReport
from lessons.kb import KnowledgeBase
from lessons.model import IMPACTS, KINDS, STATUSES, normalise_tag

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most N.")]
IdsOpt = Annotated[
    bool, typer.Option("--ids", help="Print only the ids, one per line (as rg -l prints files).")
]
IdArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="An id, a unique prefix of one, or the record's file.",
        autocompletion=offer(complete_ids),
    ),
]


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


# name, annotation (each a repeatable or single option of the shared filters, SPEC §4)
_FILTER_PARAMS: list[tuple[str, Any]] = [
    (
        "kind",
        Annotated[
            str | None,
            typer.Option(
                "--kind",
                help="mistake, success or observation (any case, or a prefix).",
                autocompletion=complete_from(KINDS),
            ),
        ],
    ),
    (
        "tag",
        Annotated[
            list[str] | None,
            typer.Option(
                "--tag", help="Has this tag (repeat: all).", autocompletion=offer(complete_tags)
            ),
        ],
    ),
    (
        "campaign",
        Annotated[
            str | None,
            typer.Option(
                "--campaign",
                help="From this campaign (any case and spacing).",
                autocompletion=offer(complete_campaigns),
            ),
        ],
    ),
    (
        "team",
        Annotated[
            str | None,
            typer.Option(
                "--team",
                help="From this team (any case and spacing).",
                autocompletion=offer(complete_teams),
            ),
        ],
    ),
    (
        "stage",
        Annotated[
            str | None,
            typer.Option(
                "--stage", help="Arose at this stage.", autocompletion=offer(complete_stages)
            ),
        ],
    ),
    (
        "impact",
        Annotated[
            str | None,
            typer.Option(
                "--impact",
                help="low, medium, high or critical.",
                autocompletion=complete_from(IMPACTS),
            ),
        ],
    ),
    (
        "since",
        Annotated[
            str | None,
            typer.Option("--since", help="On or after DATE (YYYY[-MM[-DD]] or 30d, 6m…)."),
        ],
    ),
    ("until", Annotated[str | None, typer.Option("--until", help="On or before DATE.")]),
    (
        "status",
        Annotated[
            str | None,
            typer.Option(
                "--status", help="draft or final.", autocompletion=complete_from(STATUSES)
            ),
        ],
    ),
    (
        "linked_to",
        Annotated[
            str | None,
            typer.Option(
                "--linked-to", help="Linked to or from this id.", autocompletion=offer(complete_ids)
            ),
        ],
    ),
    ("orphans", Annotated[bool, typer.Option("--orphans", help="Only records with no links.")]),
]


def build_filters(kb: KnowledgeBase | None, **values: Any) -> Filters:
    """Turn the shared filter options into ``Filters``: choices read as ``choose`` reads
    them (any case, a unique prefix), dates and tags normalised, a campaign or team
    matched in every spelling the index holds, id prefixes resolved."""
    aliases = kb.config.tag_aliases if kb else {}
    linked = values.get("linked_to")
    stages: tuple[str, ...] = ()
    if kb and values.get("stage"):
        indexed = [s for s, _ in kb.store.counts("stage")]
        stages = tuple(dict.fromkeys([*kb.config.stages, *indexed]))
    campaign, campaign_any = _spellings(kb, "campaign", values.get("campaign"))
    team, team_any = _spellings(kb, "team", values.get("team"))
    return Filters(
        kind=choose_optional(values.get("kind"), KINDS, "--kind"),
        tags=tuple(normalise_tag(t, aliases) for t in values.get("tag") or ()),
        campaign=campaign,
        team=team,
        stage=choose_optional(values.get("stage"), stages, "--stage")
        if kb
        else values.get("stage"),
        impact=choose_optional(values.get("impact"), IMPACTS, "--impact"),
        since=parse_since(values["since"]) if values.get("since") else None,
        until=parse_until(values["until"]) if values.get("until") else None,
        status=choose_optional(values.get("status"), STATUSES, "--status"),
        linked_to=kb.resolve(linked) if (kb and linked) else linked,
        orphans=bool(values.get("orphans")),
        campaign_any=campaign_any,
        team_any=team_any,
    )


def _spellings(
    kb: KnowledgeBase | None, column: str, value: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """The most common spelling of ``value`` in the index and every spelling of it
    (letter case and spacing aside)."""
    if not value or kb is None:
        return value, ()
    counts = kb.store.counts(column)
    key = value_key(value)
    same = [(v, n) for v, n in counts if value_key(v) == key]
    if not same:
        return value, ()  # matches nothing: the command says so in its own words
    # counts come most frequent first: the first is the usual spelling.
    return same[0][0], tuple(v for v, _ in same)


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
