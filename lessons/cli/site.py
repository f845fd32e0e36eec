"""``lessons site``: build the knowledge base's static website (and preview it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lessons.cli.app import app, write_err
from lessons.cli.common import build_filters, synced_kb, with_filters
from lessons.cli.render import progress_bar


@app.command()
@with_filters
def site(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Write the site to DIR [default: site/]."
        ),
    ] = None,
    internal: Annotated[
        bool,
        typer.Option(
            "--internal",
            help="Publish internal records too (every page says so); public ones only otherwise.",
        ),
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Where the site will be served from, e.g. /lessons/ or https://example.org/"
            "lessons/ (for the feed and the 404 page; other links are relative).",
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Then serve it on 127.0.0.1 for a preview (Ctrl-C stops)."),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", metavar="N", min=0, max=65535, help="Port of --serve.")
    ] = 8000,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Build a static website of the lessons: searchable, with a page per lesson.

    Home, lesson, tag, campaign, team, stage, timeline, retrospective and graph
    pages, a search that runs in the browser, an Atom feed and lessons.json. Only
    public records unless --internal. Rebuilding writes only the pages that
    changed. Any static host serves the folder. Examples:
    lessons site; lessons site -o public --base-url /lessons/;
    lessons site --campaign "Civil Service Reform Plan" --serve
    """
    from lessons.site import SiteOptions, build_site

    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    target = output if output is not None else kb.root / "site"
    options = SiteOptions(output=target, filters=filters, internal=internal, base_url=base_url)
    with progress_bar("Building the site") as progress:
        report = build_site(kb, options, progress)
    shown = _shown(target)
    what = "lessons" if report.records != 1 else "lesson"
    kind = " (internal included)" if report.internal else ""
    write_err(
        f"{report.records:,} {what}{kind}: {report.written:,} files written, "
        f"{report.unchanged:,} unchanged, {report.removed:,} removed; "
        f"{_size(report.bytes)} in {shown}"
    )
    if report.records == 0 and not report.internal:
        write_err(
            "hint: no record is public yet: mark records `visibility: public`, "
            "or pass --internal to publish internal ones as well"
        )
    if not serve:
        write_err(f"open {Path(shown) / 'index.html'}, or preview it with `lessons site --serve`")
        return
    _serve(target, port, report.base_url)


def _serve(folder: Path, port: int, base_url: str) -> None:
    from urllib.parse import urlsplit

    from lessons.site import preview_server

    path = urlsplit(base_url).path or "/"
    server = preview_server(folder, port, path)
    bound = int(server.server_address[1])
    write_err(f"serving {_shown(folder)} at http://127.0.0.1:{bound}{path} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        write_err("stopped")
    finally:
        server.server_close()


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"
