"""``lessons rm`` and ``lessons mv``: removing and renaming records."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import JsonOpt, synced_kb
from lessons.cli.render import is_tty, print_json


@app.command("rm")
def rm(
    refs: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Ids (or unique prefixes) to remove.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")
    ] = False,
    unlink: Annotated[
        bool,
        typer.Option("--unlink", help="Also remove the links other records have to them."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete records, saying which other records link to them.

    While another record links to one of them nothing is removed, unless
    --unlink: then those links go too, in the same step (the linking files keep
    their comments and layout). Asks first on a terminal; --yes does not ask,
    and is needed when standard input is not a terminal.

    Example: lessons rm 2024-05-draft-idea --unlink
    """
    from lessons.errors import UsageError
    from lessons.lifecycle import plan_removal, remove_records, still_linked

    kb, _ = synced_kb()
    kb.check_writable()
    doomed = plan_removal(kb, refs)
    linked = [d for d in doomed if d.backlinks]
    if linked and not unlink:
        raise still_linked(linked)
    if not yes:
        if not is_tty(sys.stdin):
            raise UsageError(
                "rm deletes files: confirm with --yes",
                hint="standard input is not a terminal, so nothing was asked or removed",
            )
        for d in doomed:
            write_err(f"{d.id}  {d.path}  {d.title}")
            for b in d.backlinks:
                write_err(f"  linked from {b['from']} ({b['rel']}): the link will be removed")
        n = len(doomed)
        if not _confirm(f"Remove {n} record{'s' if n > 1 else ''}? [y/N] "):
            write_err("nothing was removed")
            raise typer.Exit(1)
    done = remove_records(kb, [d.id for d in doomed], unlink=unlink)
    for u in done.unlinked:
        write_err(f"unlinked {u['from']} -> {u['to']} ({u['rel']})")
    for d in done.records:
        write_err(f"removed {d.id} ({d.path})")
    if json_out:
        print_json(
            {
                "removed": [{"id": d.id, "path": d.path} for d in done.records],
                "unlinked": done.unlinked,
            }
        )


def _confirm(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


@app.command("mv")
def mv(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The id (or a unique prefix).")],
    new_id: Annotated[str, typer.Argument(metavar="NEW-ID", help="The new id.")],
    json_out: JsonOpt = False,
) -> None:
    """Rename a record: its file, its id and every link to it, in one step.

    Either every file changes or none does: if anything fails half way (or the
    command is killed), every file is put back as it was.

    Example: lessons mv 2024-05-dns-outage 2024-05-dns-ttl-too-long
    """
    from lessons.lifecycle import rename_record

    kb, _ = synced_kb()
    kb.check_writable()
    done = rename_record(kb, ref, new_id)
    links = sum(n for _, n in done.rewritten)
    write_err(f"renamed {done.old} -> {done.new} ({done.new_path})")
    if done.rewritten:
        write_err(
            f"{links} link{'s' if links != 1 else ''} rewritten in "
            f"{len(done.rewritten)} record{'s' if len(done.rewritten) != 1 else ''}: "
            + ", ".join(src for src, _ in done.rewritten)
        )
    if json_out:
        print_json(
            {
                "old": done.old,
                "new": done.new,
                "path": done.new_path,
                "rewritten": [{"id": src, "links": n} for src, n in done.rewritten],
            }
        )
