"""``lessons tag``: add, remove, list, rename, merge and suggest tags."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import JsonOpt, LimitOpt, build_filters, synced_kb, with_filters
from lessons.cli.render import print_json, table

tag_app = typer.Typer(
    name="tag",
    help="Add, remove, list, rename, merge and find near-duplicate tags.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(tag_app, name="tag")

IdArg = Annotated[str, typer.Argument(metavar="ID", help="An id or a unique prefix of one.")]
TagsArg = Annotated[list[str], typer.Argument(metavar="TAG...", help="One or more tags.")]


@tag_app.command("add")
def add(ref: IdArg, tags: TagsArg) -> None:
    """Add tags to a record (normalised: lower case, hyphens, aliases).

    The file keeps its comments and layout; only the tags line changes.
    Example: lessons tag add 2012-09-hashtags humour "Social Media"
    """
    from lessons.tags import add_tags

    kb, _ = synced_kb()
    done = add_tags(kb, ref, tags)
    if done.changed:
        write_err(f"{done.id}: added {', '.join(done.changed)}")
    if done.unchanged:
        write_err(f"{done.id}: already tagged {', '.join(done.unchanged)}")
    write_err(f"tags: {', '.join(done.tags)}")


@tag_app.command("remove")
def remove(ref: IdArg, tags: TagsArg) -> None:
    """Remove tags from a record. Exit 2 when it has none of them.

    Example: lessons tag remove 2012-09-hashtags humour
    """
    from lessons.tags import remove_tags

    kb, _ = synced_kb()
    done = remove_tags(kb, ref, tags)
    write_err(f"{done.id}: removed {', '.join(done.changed)}")
    if done.unchanged:
        write_err(f"{done.id}: did not have {', '.join(done.unchanged)}")
    write_err(f"tags: {', '.join(done.tags) or '(none)'}")


@tag_app.command("list")
@with_filters
def list_(
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Every tag with the number of records carrying it, most used first.

    Takes the shared filters. Exit 1 when no record has a tag.
    Example: lessons tag list --kind mistake --json
    """
    from lessons.errors import NoMatchError

    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    counts = kb.store.tag_counts(filters)
    shown = counts[:limit] if limit else counts
    if json_out:
        print_json([{"tag": t, "count": n} for t, n in shown])
    else:
        table(("count", "tag"), [(n, t) for t, n in shown], ("cyan", "bold"))
        if len(shown) < len(counts):
            write_err(f"{len(shown)} of {len(counts)} tags shown (--limit)")
    if not counts:
        raise NoMatchError("no tags", hint="add some with `lessons tag add ID TAG`")


@tag_app.command("rename")
def rename(
    old: Annotated[str, typer.Argument(help="The tag to rename.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename a tag in every record; print each file changed.

    Example: lessons tag rename hash-tags hashtags
    """
    from lessons.tags import rename_tag

    kb, _ = synced_kb()
    _bulk(lambda: rename_tag(kb, old, new, on_file=_changed), "renamed", "to")


@tag_app.command("merge")
def merge(
    tags: Annotated[list[str], typer.Argument(metavar="TAG...", help="The tags to merge.")],
    into: Annotated[str, typer.Option("--into", help="The tag they become.")],
) -> None:
    """Merge tags into one, in every record; print each file changed.

    Example: lessons tag merge hashtag hash-tags --into hashtags
    """
    from lessons.tags import merge_tags

    kb, _ = synced_kb()
    _bulk(lambda: merge_tags(kb, tags, into, on_file=_changed), "merged", "into")


def _changed(path: str) -> None:
    # One line per file as it is written, so an interrupted run still says what it did.
    sys.stdout.write(path + "\n")
    sys.stdout.flush()


def _bulk(run: Any, verb: str, preposition: str) -> None:
    from lessons.tags import PartialMergeError

    try:
        result = run()
    except PartialMergeError as exc:
        write_err(f"changed {len(exc.changed)} file(s) (listed above); not yet changed:")
        for path in exc.remaining:
            write_err(f"  {path}")
        raise
    n = len(result.changed)
    write_err(
        f"{verb} {', '.join(result.sources)} {preposition} {result.into}: "
        f"{n} file{'s' if n != 1 else ''} changed"
    )


@tag_app.command("suggest")
def suggest(json_out: JsonOpt = False) -> None:
    """Near-duplicate tags to merge (hashtag / hashtags / hash-tags), most likely first.

    Groups tags that are one word written several ways (case, hyphens, plural)
    and tags spelled alike (rapidfuzz), with counts and the merge command. Each
    group merges into its most used tag, unless another of its spellings is far
    more common in the language (word frequency): then into that one.
    Example: lessons tag suggest --json
    """
    from lessons.tags import suggest as find

    kb, _ = synced_kb()
    groups = find(kb)
    if json_out:
        print_json([g.as_dict() for g in groups])
        return
    if not groups:
        write_err("no near-duplicate tags")
        return
    from lessons.cli.render import Doc

    doc = Doc()
    for g in groups:
        why = f"; '{g.into}' is the common spelling" if g.why == "common spelling" else ""
        doc.line(
            ", ".join(f"{t} ({n})" for t, n in g.tags),
            (f"  [{g.reason}, {g.score:.0f}{why}]", "dim"),
        )
        doc.line(("  " + g.command(), "cyan"))
    doc.print()
