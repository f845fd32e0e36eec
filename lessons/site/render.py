"""Templates of the site: the sandboxed Jinja2 environment, and what it may load.

A knowledge base may bring its own templates (``site.templates`` in
``lessons.yaml``). They come from whoever wrote the knowledge base, so once it
does, every template, ours included, renders in the sandbox that every template
lessons did not write gets (``lessons.templating.SandboxedTemplates``: Jinja2's
immutable sandbox with bounded ``*`` and ``**``), with autoescaping; and the only
files a template can reach are the templates themselves: those of the knowledge
base's folder (no symlinks, no absolute paths, no ``..``, no hidden files), the
built-in ones (also as ``builtin/NAME``, to extend them) and the retrospective's
(as ``reports/NAME``)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from lessons.errors import UsageError
from lessons.hashing import digest
from lessons.model import slugify

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
# A template bigger than this is not a template.
MAX_TEMPLATE_BYTES = 1 << 20
_NAME_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def inside(root: Path, rel: str, *, what: str, field: str) -> Path:
    """``root/rel``, refused unless it is relative, names no parent, and no part of it
    below ``root`` is a symlink (a knowledge base could point one anywhere)."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts or "\\" in rel:
        raise UsageError(f"{what} must be a path inside the knowledge base", field=field)
    path = root
    for part in parts:
        path = path / part
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise UsageError(
                f"{what} not found: {rel}", path=str(root / rel), field=field
            ) from None
        if stat.S_ISLNK(info.st_mode):
            raise UsageError(
                f"{what} may not be or pass through a symlink: {rel}",
                path=str(root / rel),
                field=field,
                hint="a site is built from files inside the knowledge base only",
            )
    return path


class KnowledgeBaseLoader:
    """Loads templates from one folder of the knowledge base, and nothing else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def source(self, name: str) -> tuple[str, str] | None:
        """(text, file name) of template ``name`` in the folder, or None when it has none."""
        parts = name.split("/")
        if not all(_NAME_PART.fullmatch(p) for p in parts):
            return None
        path = self.folder
        for part in parts:
            path = path / part
            try:
                info = os.lstat(path)
            except OSError:
                return None
            if stat.S_ISLNK(info.st_mode):
                raise UsageError(
                    f"template {name} is a symlink; templates must be plain files",
                    path=str(path),
                )
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > MAX_TEMPLATE_BYTES:
            raise UsageError(f"template {name} is larger than 1 MB", path=str(path))
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read template {name}: {exc}", path=str(path)) from None


def environment(kb_templates: Path | None) -> Any:
    """The environment: the knowledge base's templates first (sandboxed), then ours."""
    import jinja2

    from lessons.templating import SandboxedTemplates

    own = KnowledgeBaseLoader(kb_templates) if kb_templates else None

    def load_kb(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        found = own.source(name) if own else None
        if found is None:
            return None
        return found[0], found[1], lambda: False

    from lessons.reports import TEMPLATES as REPORT_TEMPLATES

    builtin = jinja2.FileSystemLoader(str(TEMPLATES), followlinks=False)
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FunctionLoader(load_kb),
            jinja2.PrefixLoader(
                {
                    "builtin": builtin,
                    "reports": jinja2.FileSystemLoader(str(REPORT_TEMPLATES)),
                }
            ),
            builtin,
        ]
    )
    # Our own templates alone are trusted code and render without the sandbox's checks
    # on every attribute (a third of the build time at 10,000 records); once the
    # knowledge base brings templates, every template renders in the sandbox.
    kind = SandboxedTemplates if own else _fast_environment()
    env = kind(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "svg", "html.j2", "xml.j2", "svg.j2"),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # One build reads each template once: no stat of its file at every page.
        auto_reload=False,
    )
    from lessons.reports import pct, short, signed

    env.filters.update(
        short=short,
        pct=pct,
        signed=signed,
        link=safe_link,
        paragraphs=paragraphs,
        num=lambda n: f"{n:,}",
        plural=plural,
    )
    return env


def _fast_environment() -> type:
    import jinja2

    class FastEnvironment(jinja2.Environment):
        """Our own templates read page models (plain dicts) by key first: Jinja2 tries
        an attribute first and raises and catches an error for every ``r.title``,
        which was a third of the time of a record page."""

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return FastEnvironment


def render(env: Any, name: str, context: Mapping[str, Any]) -> str:
    """Template ``name`` with ``context``; an error in a template is a ``UsageError``
    naming the file and line."""
    import jinja2
    from jinja2.sandbox import SecurityError

    try:
        return str(env.get_template(name).render(**context))
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(
            f"the template has a syntax error: {exc.message}",
            path=exc.filename or exc.name or name,
            line=exc.lineno,
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise UsageError(f"no such template: {exc.name}", path=name) from exc
    except SecurityError as exc:
        raise UsageError(
            f"the template tried something the sandbox forbids: {exc}",
            path=_template_file(exc, env, name),
            hint="site templates may only read the variables they are given",
        ) from exc
    except jinja2.UndefinedError as exc:
        raise UsageError(
            f"the template uses something the page does not have: {exc.message}",
            path=_template_file(exc, env, name),
            line=_template_line(exc),
            hint="docs/site.md lists the variables each page gets",
        ) from exc


def _template_file(exc: BaseException, env: Any, name: str) -> str:
    line_file = _template_frame(exc)
    return line_file[0] if line_file else name


def _template_line(exc: BaseException) -> int | None:
    line_file = _template_frame(exc)
    return line_file[1] if line_file else None


def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost template file and line of an error (Jinja2 rewrites tracebacks)."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2") or name.endswith(".html"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


# --- what templates get ----------------------------------------------------------

_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
_HAS_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Whitespace, controls and the invisible format characters (zero-width, bidi
# overrides) that could make a URL look like another or hide a scheme.
_NOT_IN_URL = re.compile(
    "[\\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)


def clean(text: str) -> str:
    """Text without control characters (no HTML or XML may hold them)."""
    if _HAS_CONTROL.search(text) is None:
        return text
    return text.translate(_CONTROL)


def safe_link(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL that can be a link, else None.

    ``javascript:``, ``data:`` and every other scheme, relative references (a
    source is not a page of the site), and URLs hiding spaces or control
    characters (``java\\tscript:``) stay text.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or _NOT_IN_URL.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def paragraphs(text: Any) -> list[str]:
    """A text field as paragraphs: split at blank lines, each joined onto one line."""
    if not text:
        return []
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", clean(str(text))) if p.strip()]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def page_name(value: str) -> str:
    """A file name for a page about ``value``: the value itself when it is a slug (every
    record id is), else its slug with a short hash of it (stable, and no two values
    share one)."""
    if SAFE_NAME.fullmatch(value):
        return value
    slug = slugify(value, 60) or "x"
    return f"{slug}-{digest(value.encode('utf-8'), 4)}"


def href_path(path: str) -> str:
    """A site path as it goes into ``href`` (percent-encoded where needed)."""
    return quote(path, safe="/#?=&-._~")


def csp(external: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of every page: nothing inline may run, nothing is
    loaded from elsewhere unless ``site.external`` names the origin."""
    extra = "".join(" " + o for o in external)
    return (
        f"default-src 'self'{extra}; script-src 'self'{extra}; style-src 'self'{extra}; "
        f"img-src 'self' data:{extra}; font-src 'self'{extra}; connect-src 'self'{extra}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'none'"
    )


_CSP_META = re.compile(r"<meta\s[^>]*http-equiv=[\"']?content-security-policy", re.IGNORECASE)
_SCRIPT = re.compile(r"<script", re.IGNORECASE)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def ensure_csp(html: str, policy: str) -> str:
    """``html`` with the policy's meta tag, put first in ``<head>`` when a knowledge
    base's own template left it out."""
    found = _CSP_META.search(html)
    if found is None:
        from markupsafe import escape

        tag = f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">'
        head = _HEAD.search(html)
        at = head.end() if head else 0
        html = html[:at] + tag + html[at:]
        found = _CSP_META.search(html)
    script = _SCRIPT.search(html)
    if found is None or (script is not None and script.start() < found.start()):
        # A policy applies from where it stands: a script above it would run unchecked.
        raise UsageError(
            "a site template puts a script before the Content-Security-Policy meta tag",
            hint="the policy must come first in <head>; scripts go in files under assets/",
        )
    return html
