"""YAML: one record, a list of them, or several documents; aliases refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lessons.errors import LessonsError

if TYPE_CHECKING:
    pass
from lessons.interop.source import Source, object_rows


def read_yaml(text: str, shown: str) -> Source:
    import yaml

    loader_cls: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if "&" in text and "*" in text:
            # Refuse aliases outright: a few lines of them can expand to gigabytes.
            for event in yaml.parse(text, Loader=loader_cls):
                if isinstance(event, yaml.AliasEvent):
                    mark = event.start_mark
                    raise LessonsError(
                        "YAML aliases (*name) are not accepted in imported files",
                        path=shown,
                        line=mark.line + 1 if mark else None,
                    )
        nodes = list(yaml.compose_all(text, Loader=loader_cls))
        constructor = loader_cls("")
        items: list[tuple[str, Any]] = []
        for doc in nodes:
            if doc is None:
                continue
            parts = doc.value if isinstance(doc, yaml.SequenceNode) else [doc]
            for node in parts:
                n = len(items) + 1
                where = f"{shown}, item {n} (line {node.start_mark.line + 1})"
                items.append((where, constructor.construct_document(node)))
        constructor.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LessonsError(
            f"YAML syntax error: {exc.problem or exc.context}",
            path=shown,
            line=mark.line + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise LessonsError(f"YAML could not be read: {exc}", path=shown) from None
    except RecursionError:
        raise LessonsError("YAML nested too deep; refused", path=shown) from None
    return object_rows(Source(shown, "yaml"), items)
