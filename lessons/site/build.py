"""``lessons site``: the static website of a knowledge base, built in one pass.

``build_site`` chooses the published records (``publish.py``), makes the page
models (``pages.py``), renders them with the sandboxed templates
(``render.py``), and writes only what changed (``output.py``), with the search
index, the Atom feed, ``lessons.json`` and the assets beside the pages.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.errors import UsageError
from lessons.filters import Filters, parse_since, parse_until
from lessons.site import pages as P
from lessons.site.output import Output
from lessons.site.render import STATIC, csp, ensure_csp, environment, inside, render

Progress = Callable[[int, int], None]
# Logos a site may show: raster images, known by their first bytes. (An SVG can
# carry script, which would run if someone opened the file itself.)
LOGO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}
MAX_LOGO_BYTES = 1 << 20
ASSETS = ("lessons.css", "search.js", "vendor/minisearch.js", "vendor/minisearch.LICENSE.txt")


@dataclass
class SiteOptions:
    """What to build, and where."""

    output: Path
    filters: Filters = field(default_factory=Filters)
    internal: bool = False
    base_url: str | None = None


@dataclass
class BuildReport:
    """What a build made and changed."""

    output: Path
    records: int
    pages: int
    written: int
    unchanged: int
    removed: int
    bytes: int
    internal: bool
    base_url: str
    index_bytes: int = 0
    hidden_links: int = 0
    seconds: float = 0.0
    written_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)


def base_url_of(text: str | None) -> str:
    """The URL path (or absolute http(s) URL) the site is served from, ending in ``/``."""
    value = (text or "/").strip()
    if not re.fullmatch(r"(https?://[A-Za-z0-9.-]+(:\d{1,5})?)?/[^\s\"'<>\\]*", value):
        raise UsageError(
            f"not a base URL: '{text}'",
            hint="write the path the site is served from, such as /lessons/ or "
            "https://example.org/lessons/",
        )
    return value if value.endswith("/") else value + "/"


def build_site(kb: Any, options: SiteOptions, progress: Progress | None = None) -> BuildReport:
    """Build the site of ``kb`` into ``options.output``; write only files that changed."""
    from lessons.reports import kb_name
    from lessons.site.publish import published, wants_internal

    started = time.perf_counter()
    settings = kb.config.site
    internal = wants_internal(settings.internal, options.internal)
    base_url = base_url_of(options.base_url or settings.base_url)
    _check_output(kb.root, options.output)
    templates = (
        inside(kb.root, settings.templates, what="site.templates", field="site")
        if settings.templates
        else None
    )
    if templates is not None and not templates.is_dir():
        raise UsageError("site.templates must name a folder", path=str(templates), field="site")
    logo = _logo(kb.root, settings.logo) if settings.logo else None
    env = environment(templates)
    policy = csp(settings.external)
    out = Output(options.output)
    out.open()
    with published(kb, options.filters, internal=internal) as pub:
        site = P.make_site(pub.records, stages=kb.config.stages, custom=kb.config.fields)
        common = {
            "site": {
                "name": kb_name(kb),
                "organisation": settings.organisation,
                "logo": f"assets/logo.{logo[1]}" if logo else None,
                "internal": internal,
                "base_url": base_url,
                "records": len(site.records),
                "custom_css": bool(templates and (templates / "style.css").is_file()),
                "today": site.today,
            },
            "csp": policy,
            "nav": None,
        }
        writer = _Writer(env, out, common, policy)
        jobs = list(_jobs(kb, pub.kb, site))
        # The search index and the data files count as one more step of the bar.
        steps = len(jobs) + 1
        if progress is not None:
            progress(0, steps)
        for done, (path, template, context) in enumerate(jobs, start=1):
            writer.page(path, template, context() if callable(context) else context)
            if progress is not None and done % 50 == 0:
                progress(done, steps)
        if progress is not None:
            progress(len(jobs), steps)
        index = _search_index(kb, site, out)
        out.write("search/index.json", index)
        _write_data(kb, out, site, pub.records, base_url)
        _write_assets(out, templates, logo)
        if progress is not None:
            progress(steps, steps)
        total = len(jobs)
        report = out.close()
    return BuildReport(
        output=options.output,
        records=len(site.records),
        pages=total,
        written=report.written,
        unchanged=report.unchanged,
        removed=report.removed,
        bytes=report.bytes,
        internal=internal,
        base_url=base_url,
        index_bytes=len(index),
        hidden_links=pub.hidden_links,
        seconds=time.perf_counter() - started,
        written_paths=report.written_paths,
        removed_paths=report.removed_paths,
    )


def _check_output(root: Path, output: Path) -> None:
    """Refuse an output folder that is the knowledge base, holds it, or is in entries/."""
    target = output.resolve()
    real_root = root.resolve()
    if target == real_root or real_root.is_relative_to(target):
        raise UsageError(
            f"the site cannot be written over the knowledge base itself: {output}",
            hint="name a folder of its own with -o DIR (the default is site/)",
        )
    if target.is_relative_to(real_root / "entries") or target.is_relative_to(
        real_root / ".lessons"
    ):
        raise UsageError(
            f"the site cannot go inside entries/ or .lessons/: {output}",
            hint="name a folder of its own with -o DIR (the default is site/)",
        )


def _logo(root: Path, rel: str) -> tuple[bytes, str]:
    path = inside(root, rel, what="site.logo", field="site")
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_LOGO_BYTES else b""
    except OSError as exc:
        raise UsageError(f"cannot read the logo: {exc.strerror}", path=str(path)) from None
    if not data:
        raise UsageError("the logo must be an image of at most 1 MB", path=str(path))
    for magic, ext in LOGO_TYPES.items():
        if data.startswith(magic):
            return data, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "webp"
    raise UsageError(
        "the logo must be a PNG, JPEG, GIF or WebP image",
        path=str(path),
        field="site.logo",
        hint="SVG is not accepted: an SVG file can carry script",
    )


class _Writer:
    """Renders pages with the shared variables and hands them to the output."""

    def __init__(self, env: Any, out: Output, common: dict[str, Any], policy: str) -> None:
        self.env = env
        self.out = out
        self.common = common
        self.policy = policy

    def page(self, path: str, template: str, context: dict[str, Any]) -> None:
        # Links are relative, so the site works at any path; the 404 page is served at
        # whatever address was asked for, so its links start from the base URL.
        root = (
            self.common["site"]["base_url"] if context.get("absolute") else "../" * path.count("/")
        )
        values = {**self.common, "root": root, "path": path, **context}
        html = ensure_csp(render(self.env, template, values), self.policy)
        self.out.write(path, html.encode("utf-8"))


Job = tuple[str, str, "dict[str, Any] | Callable[[], dict[str, Any]]"]


class _Retros:
    """The retrospectives' data, made when a page first needs it: recurring mistakes
    are found once, for the home page, the overall retrospective and the yearly ones."""

    def __init__(self, pub_kb: Any, site: P.Site) -> None:
        self.pub_kb = pub_kb
        self.site = site
        self._recurrences: tuple[list[dict[str, Any]], str | None] | None = None
        self._overall: dict[str, Any] | None = None

    @property
    def recurrences(self) -> tuple[list[dict[str, Any]], str | None]:
        from lessons.reports import recurring

        if self._recurrences is None:
            self._recurrences = recurring(self.pub_kb) if self.site.records else ([], None)
        return self._recurrences

    @property
    def overall(self) -> dict[str, Any] | None:
        from lessons.reports.retro import build_retro

        if self._overall is None and self.site.records:
            retro = build_retro(self.pub_kb, Filters(), limit=20, recurrences=self.recurrences)
            self._overall = retro.as_dict()
        return self._overall


def _jobs(kb: Any, pub_kb: Any, site: P.Site) -> Iterator[Job]:
    """Every page: (path, template, variables or a function making them). The pages
    that need the retrospective come last, so the progress bar moves from the start."""
    from lessons.reports.retro import timeline

    retros = _Retros(pub_kb, site)
    years = P.by_year(site)
    chart = timeline(site.records)
    for rec in site.records:
        yield (
            P.record_url(rec["id"]),
            "record.html.j2",
            _deferred(P.record_page, site, rec),
        )
    for key, folder, one, many, index in P.GROUPS:
        listing = P.group_index(site, key)
        if index:
            yield (
                index,
                "groups.html.j2",
                {"nav": many, "title": many.capitalize(), "what": one, "groups": listing},
            )
        for group in site.groups[key].values():
            yield (
                group.url,
                "group.html.j2",
                {
                    "nav": many if index else "home",
                    "title": group.name,
                    "what": one,
                    "folder": folder,
                    "index": index,
                    "records": group.records,
                },
            )
    yield (
        "timeline.html",
        "timeline.html.j2",
        {
            "nav": "timeline",
            "title": "Timeline",
            "timeline": chart,
            "years": [
                {"year": y, "count": len(refs), "url": f"timeline/{y}.html" if y else None}
                for y, refs in years.items()
            ],
        },
    )
    for year, refs in years.items():
        if year:
            yield (
                f"timeline/{year}.html",
                "year.html.j2",
                {"nav": "timeline", "title": year, "months": P.by_month(refs)},
            )
    yield (
        "actions.html",
        "actions.html.j2",
        {"nav": "actions", "title": "Open actions", "actions": P.open_actions(site)},
    )
    yield ("index.html", "home.html.j2", _deferred(_home, site, retros, years))
    year_list = [y for y in years if y]
    if site.records:
        yield (
            "retro/index.html",
            "retro.html.j2",
            lambda: {
                "nav": "retro",
                "title": "Retrospective",
                "retro": retros.overall,
                "refs": site.refs,
                "years": year_list,
                "year": None,
            },
        )
    for year in year_list:
        yield (
            f"retro/{year}.html",
            "retro.html.j2",
            _deferred(_year_retro, pub_kb, year, site.refs, year_list, retros),
        )
    yield ("graph.html", "graph.html.j2", _deferred(_graph_page, pub_kb, site))
    yield (
        "search.html",
        "search.html.j2",
        {
            "nav": "search",
            "title": "Search",
            "kinds": P.group_index(site, "kind"),
            "tags": sorted(P.group_index(site, "tags"), key=lambda g: g["name"]),
            "campaigns": sorted(P.group_index(site, "campaign"), key=lambda g: g["name"].lower()),
            "teams": sorted(P.group_index(site, "team"), key=lambda g: g["name"].lower()),
            "years": [y for y in years if y],
        },
    )
    yield ("404.html", "404.html.j2", {"nav": None, "title": "Page not found", "absolute": True})


def _home(site: P.Site, retros: _Retros, years: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "nav": "home",
        "title": "Lessons",
        "counts": {k: len(site.groups["kind"].get(k, P.Group(k, k, "")).records) for k in P.PLURAL},
        "kinds": P.group_index(site, "kind"),
        "latest": [site.refs[r["id"]] for r in _latest(site)],
        "recurring": _recurring(retros.overall, site)[:5],
        "actions": P.open_actions(site),
        "home_actions": P.HOME_ACTIONS,
        "tags": P.group_index(site, "tags")[:20],
        "years": [{"year": y, "count": len(refs)} for y, refs in years.items() if y],
    }


def _deferred(func: Callable[..., dict[str, Any]], *args: Any) -> Callable[[], dict[str, Any]]:
    """A page's variables made only when the page is rendered (memory stays flat)."""
    return lambda: func(*args)


def _latest(site: P.Site) -> list[dict[str, Any]]:
    from lessons.site.feed import newest

    return list(newest(site.records, P.LATEST))  # type: ignore[arg-type]


def _recurring(overall: dict[str, Any] | None, site: P.Site) -> list[dict[str, Any]]:
    """The retrospective's recurring mistakes, both records as links."""
    if overall is None:
        return []
    out = []
    for item in overall["recurring"]["items"]:
        later = site.refs.get(item["later"]["id"])
        earlier = site.refs.get(item["earlier"]["id"])
        if later and earlier:
            out.append({"later": later, "earlier": earlier, "linked": item["linked"]})
    return out


def _year_retro(
    pub_kb: Any,
    year: str,
    refs: dict[str, dict[str, Any]],
    years: list[str],
    retros: _Retros,
) -> dict[str, Any]:
    from lessons.reports.retro import build_retro

    filters = Filters(since=parse_since(year), until=parse_until(year))
    retro = build_retro(pub_kb, filters, limit=20, recurrences=retros.recurrences)
    return {
        "nav": "retro",
        "title": f"Retrospective {year}",
        "retro": retro.as_dict(),
        "refs": refs,
        "years": years,
        "year": year,
    }


def _graph_page(pub_kb: Any, site: P.Site) -> dict[str, Any]:
    from lessons.links import graph
    from lessons.site.graph import layout

    g = graph(pub_kb, Filters(), connected=True)
    nodes = [
        {**site.refs[n["id"]], "short": _short_label(site.refs[n["id"]]["title"])}
        for n in g.nodes
        if n["id"] in site.refs
    ]
    drawn = layout(nodes, g.edges)
    return {
        "nav": "graph",
        "title": "Link graph",
        "graph": drawn,
        "links": len(g.edges),
        "rels": sorted({e["rel"] for e in drawn["edges"]}),
        "rel_label": P.REL_LABEL,
    }


def _short_label(title: str, n: int = 28) -> str:
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def _search_index(kb: Any, site: P.Site, out: Output) -> bytes:
    """``search/index.json`` (returned) and the snippet files (written)."""
    from lessons.site.searchindex import build_index, snippet_shards

    custom = [f.name for f in kb.config.fields if f.type in ("text", "list", "choice")]
    for n, shard in enumerate(snippet_shards(site.records, custom)):
        text = json.dumps(shard, ensure_ascii=False, separators=(",", ":"))
        out.write(f"search/text-{n}.json", text.encode("utf-8"))
    data = build_index(
        site.records, [r["url"][len("lesson/") : -len(".html")] for r in site.refs.values()], custom
    )
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _write_data(
    kb: Any, out: Output, site: P.Site, records: list[dict[str, Any]], base_url: str
) -> None:
    """``feed.xml`` and ``lessons.json`` (the export format, for others to reuse)."""
    from lessons import interop
    from lessons.reports import kb_name
    from lessons.site.feed import atom

    pages = {rid: ref["url"] for rid, ref in site.refs.items()}
    name = kb_name(kb)
    out.write(
        "feed.xml",
        atom(
            site.records,
            pages,
            title=name,
            base_url=base_url,
            author=kb.config.site.organisation or name,
        ),
    )
    ordered = sorted(records, key=lambda r: r["id"])
    text = interop.export_text(ordered, "json", kb.config.schema, kb.config.name)
    out.write("lessons.json", text.encode("utf-8"))
    # GitHub Pages would otherwise run the folder through Jekyll.
    out.write(".nojekyll", b"")


def _write_assets(out: Output, templates: Path | None, logo: tuple[bytes, str] | None) -> None:
    for name in ASSETS:
        out.write(f"assets/{name}", (STATIC / name).read_bytes())
    if templates is not None:
        custom = templates / "style.css"
        if custom.is_file() and not custom.is_symlink():
            out.write("assets/style.css", custom.read_bytes())
    if logo is not None:
        out.write(f"assets/logo.{logo[1]}", logo[0])
