"""JSON (a list of objects, or one) and JSONL (one object per line)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lessons.errors import LessonsError

if TYPE_CHECKING:
    pass
from lessons.interop.source import ReadOptions, RowProblem, Source, object_rows, records_at


def read_json(text: str, shown: str, options: ReadOptions | None = None) -> Source:
    """A list of objects, or one; ``--records`` finds the list inside a document."""
    options = options or ReadOptions()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # One object per line in a file named .json: read it as JSONL.
            return read_jsonl(text, shown, options)
        raise LessonsError(f"not valid JSON: {exc.msg}", path=shown, line=exc.lineno) from None
    except RecursionError:
        raise LessonsError("JSON nested too deep; refused", path=shown) from None
    if options.records:
        return records_at(Source(shown, "json"), data, options.records)
    items = data if isinstance(data, list) else [data]
    return object_rows(
        Source(shown, "json"), ((f"{shown}, item {i}", v) for i, v in enumerate(items, 1))
    )


def read_jsonl(text: str, shown: str, options: ReadOptions | None = None) -> Source:
    """One object per line; with ``--records``, the records inside each line's object."""
    options = options or ReadOptions()
    source = Source(shown, "jsonl")
    items: list[tuple[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            source.blank += 1
            continue
        where = f"{shown}, line {n}"
        try:
            items.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            source.unreadable.append(RowProblem(where, f"not valid JSON: {exc.msg}"))
        except RecursionError:
            source.unreadable.append(RowProblem(where, "JSON nested too deep"))
    if options.records:
        for where, item in items:
            records_at(source, item, options.records, where)
        return source
    return object_rows(source, items)
