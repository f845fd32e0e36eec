"""YAML: one record, a list of them, or several documents; aliases refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lessons.errors import LessonsError

if TYPE_CHECKING:
    pass
from lessons.interop.source import ReadOptions, Source, object_rows, records_at


def read_yaml(text: str, shown: str, options: ReadOptions | None = None) -> Source:
    """One record, a list of them, or several documents; ``--records`` finds a list inside."""
    options = options or ReadOptions()
    if options.records:
        docs = load_yaml_documents(text, shown)
        if len(docs) != 1:
            raise LessonsError(
                f"--records needs one YAML document; this file holds {len(docs)}", path=shown
            )
        return records_at(Source(shown, "yaml"), docs[0], options.records)
    items = _nodes(text, shown, split_lists=True)
    return object_rows(
        Source(shown, "yaml"),
        ((f"{shown}, item {n} (line {line})", value) for n, (line, value) in enumerate(items, 1)),
    )


def load_yaml_documents(text: str, shown: str, line_offset: int = 0) -> list[Any]:
    """Each document of ``text``, read safely (no tags, no aliases)."""
    return [value for _, value in _nodes(text, shown, split_lists=False, line_offset=line_offset)]


def _nodes(
    text: str, shown: str, *, split_lists: bool, line_offset: int = 0
) -> list[tuple[int, Any]]:
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
                        line=mark.line + 1 + line_offset if mark else None,
                    )
        nodes = list(yaml.compose_all(text, Loader=loader_cls))
        constructor = loader_cls("")
        items: list[tuple[int, Any]] = []
        for doc in nodes:
            if doc is None:
                continue
            parts = doc.value if split_lists and isinstance(doc, yaml.SequenceNode) else [doc]
            for node in parts:
                line = node.start_mark.line + 1 + line_offset
                items.append((line, constructor.construct_document(node)))
        constructor.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LessonsError(
            f"YAML syntax error: {exc.problem or exc.context}",
            path=shown,
            line=mark.line + 1 + line_offset if mark else None,
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise LessonsError(f"YAML could not be read: {exc}", path=shown) from None
    except RecursionError:
        raise LessonsError("YAML nested too deep; refused", path=shown) from None
    return items
