"""The draft of a new record: checked, with its id, path and text; then written."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.errors import RecordError
from lessons.model import (
    ID_RE,
    KEY_ORDER,
    Problem,
    Schema,
    did_you_mean,
    make_id,
    parse_date,
    today,
    unique_id,
    validate,
)
from lessons.recording.editor import ERROR_MARK
from lessons.recording.flags import FLAGS
from lessons.recording.values import is_empty, mapping_or_none

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase


@dataclass
class Draft:
    """A new record ready to write."""

    record: dict[str, Any]
    text: str
    path: Path
    warnings: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The record's id."""
        return str(self.record["id"])


def taken_ids(kb: KnowledgeBase) -> Callable[[str], bool]:
    """A test for ids already used: by an indexed record, or by any entry file's name.

    The index lists every entry file, valid or not, as of the sync (done here if
    this process has not done one): at 100,000 files that is 50 ms against 0.3 s
    for another scan of the disk. A file that appears after it is still never
    written over, and a same-named file elsewhere is reported by the next sync.
    """
    if not kb.synced:
        kb.sync()
    store = kb.store
    stems = {_stem(path) for path in store.file_paths()}
    return lambda rid: rid in stems or store.get(rid) is not None


def _stem(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[0] or name


def target_path(kb: KnowledgeBase, rid: str) -> Path:
    """Where ``add`` writes record ``rid``: ``entries/`` or its configured sub-folder."""
    folder = kb.config.entries
    if kb.config.add_folder:
        folder = folder / kb.config.add_folder
    return folder / f"{rid}.yaml"


def prepare(
    kb: KnowledgeBase,
    raw: Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
    shown: str = "<input>",
    overrides: Mapping[str, Any] | None = None,
    extra_links: Sequence[Mapping[str, str]] = (),
    strip_lines: Iterable[str] = (),
) -> Draft:
    """Check a new record and give it an id, ``date`` (today unless given), ``recorded`` and
    a path. From ``raw`` (flags) the file is written in the tool's layout; from ``text``
    (the editor, ``--from``) the writer's own layout and comments are kept.

    Raises ``RecordError`` naming the field (and, for text, the line) of the first error.
    """
    if (raw is None) == (text is None):
        raise ValueError("prepare() takes raw or text")
    base: dict[str, Any]
    # Lines are counted in the text as the writer saw it; the template's comments
    # are dropped from what is written.
    seen = text
    if text is not None:
        text = strip_comment_lines(text, strip_lines)
        base = _mapping_of(seen or "", shown)
    else:
        assert raw is not None
        base = dict(raw)
    for key, value in (overrides or {}).items():
        base[key] = value
    base = _without_empties(base)
    for link in extra_links:
        base.setdefault("links", [])
        base["links"] = [*base["links"], dict(link)]
    additions = _complete(kb, base, shown, seen)
    record, problems = validate(base, kb.config.schema, stem=base["id"])
    if text is not None:
        from lessons.entries import place_problems

        place_problems(problems, seen, shown)
    errors = [p for p in problems if p.severity == "error"]
    if errors or record is None:
        first = errors[0] if errors else Problem("the record is invalid")
        raise RecordError(
            first.message,
            path=shown if text is not None else None,
            line=first.line if text is not None else None,
            field=first.field,
            hint=_field_hint(first.field) if text is None else None,
        )
    _check_link_targets(kb, record, seen, shown)
    path = target_path(kb, record["id"])
    if text is None:
        from lessons.entries import dump_record

        out = dump_record(record, kb.config.schema)
    else:
        out = _finish_text(
            text, base, additions, overrides or {}, extra_links, record, kb.config.schema
        )
    warnings = [p for p in problems if p.severity == "warning"]
    if record.get("date") and record["date"] > today():
        warnings.append(
            Problem(
                f"'date' {record['date']} is in the future (today is {today()})",
                "date",
                severity="warning",
            )
        )
    return Draft(record, out, path, warnings)


def _field_hint(key: str | None) -> str | None:
    if key in FLAGS:
        return f"check {FLAGS[key]}"
    if key:
        return f"check --{key}" if key in KEY_ORDER else f"check --field {key}=…"
    return None


def _mapping_of(text: str, shown: str) -> dict[str, Any]:
    from lessons.entries import parse_yaml

    raw, problems = parse_yaml(text.encode("utf-8"), shown)
    if problems:
        p = problems[0]
        raise RecordError(p.message, path=shown, line=p.line)
    if not isinstance(raw, dict):
        raise RecordError("a record must be a mapping of keys to values", path=shown, line=1)
    return raw


def _without_empties(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Keys left empty (as in the template) are left out; so are empty list items."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, list):
            value = [v for v in value if not is_empty(v)]
        if isinstance(value, str):
            value = value.strip("\n") if value.strip() else ""
        if not is_empty(value):
            out[key] = value
    return out


def _complete(kb: KnowledgeBase, base: dict[str, Any], shown: str, text: str | None) -> list[str]:
    """Fill in date, recorded and id; return the keys added (the text needs them too)."""
    added: list[str] = []
    if is_empty(base.get("date")):
        base["date"] = today()
        added.append("date")
    if is_empty(base.get("recorded")):
        base["recorded"] = today()
        added.append("recorded")
    taken = taken_ids(kb)
    rid = base.get("id")
    if is_empty(rid):
        title = base.get("title")
        date = parse_date(base["date"])
        base["id"] = unique_id(make_id(date, title if isinstance(title, str) else ""), taken)
        added.append("id")
    elif isinstance(rid, str) and ID_RE.fullmatch(rid) and taken(rid):
        line = None
        if text is not None:
            from lessons.entries import line_map

            line = line_map(text).get(("id",))
        raise RecordError(
            f"the id '{rid}' is taken",
            path=shown if text is not None else None,
            line=line,
            field="id",
            hint="choose another id, or leave it out to have one made from the date and title",
        )
    return added


def _check_link_targets(
    kb: KnowledgeBase, record: Mapping[str, Any], text: str | None, shown: str
) -> None:
    store = kb.store
    for i, link in enumerate(record.get("links") or []):
        if store.get(link["to"]) is None:
            line = None
            if text is not None:
                from lessons.entries import line_map

                line = line_map(text).get(("links", i))
            ids = [rid for rid, _ in store.id_titles()]
            raise RecordError(
                f"link {i + 1} points at '{link['to']}', which does not exist"
                + did_you_mean(link["to"], ids),
                path=shown if text is not None else None,
                line=line,
                field="links",
            )


def strip_comment_lines(text: str, lines: Iterable[str]) -> str:
    """``text`` without the template's own comment lines and the editor loop's error line."""
    drop = {line.rstrip() for line in lines if line.lstrip().startswith("#")}
    kept = [
        line
        for line in text.splitlines(keepends=True)
        if line.rstrip() not in drop and not line.startswith(ERROR_MARK)
    ]
    return "".join(kept).lstrip("\n")


def _finish_text(
    text: str,
    base: Mapping[str, Any],
    additions: Sequence[str],
    overrides: Mapping[str, Any],
    extra_links: Sequence[Mapping[str, str]],
    record: Mapping[str, Any],
    schema: Schema,
) -> str:
    """The writer's text with empty keys dropped and the made keys added, comments kept.

    If the result would not read back as exactly ``record`` (a layout the round
    trip cannot keep), the record is written in the tool's own layout instead.
    """
    from lessons.entries import dump_record, map_insert, round_trip_text, seq_append

    def change(doc: Any) -> None:
        for key in list(doc):
            _drop_if_empty(doc, key)
        for key, value in overrides.items():
            if key in doc:
                doc[key] = _yaml_value(key, value)
            elif not is_empty(value):
                map_insert(doc, key, _yaml_value(key, value), KEY_ORDER)
        for key in additions:
            if key in doc:  # left empty with a comment on its line
                doc[key] = _yaml_value(key, base[key])
            else:
                map_insert(doc, key, _yaml_value(key, base[key]), KEY_ORDER)
        if extra_links:
            links = doc.get("links")
            if links is None:
                from ruamel.yaml.comments import CommentedSeq

                links = CommentedSeq()
                if "links" in doc:
                    doc["links"] = links
                else:
                    map_insert(doc, "links", links, KEY_ORDER)
            for link in extra_links:
                seq_append(links, _flow_map(link))

    try:
        result = round_trip_text(text, change)
    except Exception:  # any round-trip trouble: fall back, never lose the record
        return dump_record(dict(record), schema)
    again, problems = validate(mapping_or_none(result), schema, stem=record["id"])
    if again != record or any(p.severity == "error" for p in problems):
        return dump_record(dict(record), schema)
    return result


def _yaml_value(key: str, value: Any) -> Any:
    """A value as the tool writes it into a round-trip document: dates as dates, lists of
    text as flow lists (``tags: [a, b]``), lists of mappings one flow mapping per line."""
    import datetime as dt

    from ruamel.yaml.comments import CommentedSeq

    if key in ("date", "recorded", "due") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value)
    if isinstance(value, list):
        seq = CommentedSeq()
        if all(not isinstance(v, dict | list) for v in value):
            seq.extend(value)
            seq.fa.set_flow_style()
        else:
            seq.extend(
                _flow_map({k: _yaml_value(k, v) for k, v in item.items()})
                if isinstance(item, dict)
                else item
                for item in value
            )
        return seq
    return value


def _flow_map(data: Mapping[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    node = CommentedMap(data)
    node.fa.set_flow_style()
    return node


def _drop_if_empty(doc: Any, key: Any) -> None:
    """Remove a key left empty (and empty list items); a comment on its line keeps it."""
    from lessons.entries import map_delete, seq_remove

    value = doc[key]
    if isinstance(value, list):
        for i in reversed(range(len(value))):
            if is_empty(value[i]):
                seq_remove(value, i)
    if is_empty(value.strip() if isinstance(value, str) else value):
        map_delete(doc, key)


def write(kb: KnowledgeBase, draft: Draft) -> Path:
    """Create the draft's file (atomically; never over an existing file)."""
    from lessons.entries import write_new

    write_new(draft.path, kb.root, draft.text)
    kb.synced = False  # the index is behind the files now (see ``taken_ids``)
    return draft.path
