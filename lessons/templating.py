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
