"""Jinja2 for templates lessons did not write: sandboxed, and confined to their folder.

A template may come with a cloned knowledge base or be passed with
``--template``: it may only format the data it is given. It runs in Jinja2's
immutable sandbox (no attribute starting with ``_``, no methods that change data,
so the known escapes through ``cycler.__init__.__globals__`` and the like fail),
with limits on the arithmetic that could exhaust memory, and it can include or
extend only templates of its own folder, never through a link leading out of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A string or list a template may build by multiplication, and the largest power.
MAX_PRODUCT = 1_000_000
MAX_EXPONENT = 64


class SandboxedTemplates(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` kept within bounds."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise jinja2.sandbox.SecurityError(f"power above {MAX_EXPONENT} refused")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > MAX_PRODUCT
                ):
                    raise jinja2.sandbox.SecurityError("repetition too large refused")
        return super().call_binop(context, operator, left, right)


class FolderLoader(jinja2.BaseLoader):
    """Templates of one folder; a name leading out of it (``..``, an absolute path, a
    symbolic link to elsewhere) is not found."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        path = self.folder.joinpath(*pieces)
        base = os.path.realpath(self.folder)
        real = os.path.realpath(path)
        if not real.startswith(base.rstrip("/") + "/") or not os.path.isfile(real):
            raise jinja2.TemplateNotFound(template)
        try:
            with open(real, encoding="utf-8") as handle:
                source = handle.read()
            mtime = os.path.getmtime(real)
        except (OSError, UnicodeDecodeError) as exc:
            raise jinja2.TemplateNotFound(template) from exc
        return source, str(path), lambda: os.path.getmtime(real) == mtime


def environment(folder: Path, *, html: bool, **options: Any) -> jinja2.Environment:
    """A sandboxed environment loading from ``folder``, autoescaping when ``html``."""
    return SandboxedTemplates(
        loader=FolderLoader(folder),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        **options,
    )


def render_template(
    env: jinja2.Environment, folder: Path, main: str, data: Any, *, shown: str | None = None
) -> str:
    """``main`` of ``folder`` rendered with ``data``; whatever goes wrong in a template
    (syntax, a missing include, an unknown variable, a refused operation, a runtime
    error) is a ``UsageError`` naming the template file and line."""
    from jinja2.sandbox import SecurityError

    from lessons.errors import UsageError

    shown = shown or str(folder / main)
    try:
        return env.get_template(main).render(**data)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(
            f"the template has a syntax error: {exc.message}",
            path=str(folder / exc.name) if exc.name else shown,
            line=exc.lineno,
        ) from exc
    except jinja2.TemplateNotFound as exc:
        if exc.name == main:
            raise UsageError(f"no such template: {shown}") from exc
        # An {% include %} or {% extends %} of a file that is not there (or not inside
        # the template's folder).
        message = f"the template includes '{exc.name}', which is not a file of its folder"
        hint: str | None = f"templates may include only files inside {folder}"
        caught: BaseException = exc
    except jinja2.UndefinedError as exc:
        message = f"the template uses something the report does not have: {exc.message}"
        hint = "`--format json` shows every variable a template gets"
        caught = exc
    except SecurityError as exc:
        message = f"the template tried something templates may not do: {exc}"
        hint = "a template may only format the data it is given"
        caught = exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        # A template's own mistake (iterating a number, dividing by zero, …).
        message = f"the template failed: {type(exc).__name__}: {exc}"
        hint = None
        caught = exc
    path, line = _where(caught, folder, main)
    raise UsageError(message, path=path, line=line, hint=hint) from caught


def _where(exc: BaseException, folder: Path, main: str) -> tuple[str, int | None]:
    """The template file and line an error arose on: the innermost template of
    ``folder`` in the traceback (Jinja2 rewrites tracebacks to point there)."""
    tb = exc.__traceback__
    where: tuple[str, int | None] = (str(folder / main), None)
    prefix = str(folder) + os.sep
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(prefix):
            where = (name, tb.tb_lineno)
        tb = tb.tb_next
    return where
