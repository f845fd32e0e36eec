"""Recording: a new record from flags, a YAML file or the editor; editing one in the editor.

The CLI gathers input (flags, prompts, the editor) and decides what to ask; this
module builds and checks the record, finds the id and the path, compares it with
the records already there, and writes it. Nothing here prints or prompts: where a
person must decide, the caller passes a callback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lessons.errors import ConflictError, LessonsError, RecordError, UsageError
from lessons.model import (
    ACTION_STATUSES,
    ID_RE,
    KEY_ORDER,
    RELATIONS,
    REQUIRED,
    Problem,
    Schema,
    did_you_mean,
    make_id,
    parse_date,
    today,
    unique_id,
    validate,
)

if TYPE_CHECKING:
    from lessons.kb import KnowledgeBase

T = TypeVar("T")

# Fields ``add`` cannot do without (the id is made), and the flag that gives each.
NEEDED = tuple(k for k in REQUIRED if k != "id")
FLAGS = {
    "title": "--title",
    "kind": "--kind",
    "summary": "--summary",
    "lesson": "--lesson",
    "date": "--date",
}
# A new record this close (0-100) to an existing one is shown before it is written.
SIMILAR_CUTOFF = 80.0
# Titles this close or closer are compared in full (a cheap first pass over all titles).
TITLE_SHORTLIST = 55.0
# Marks the line the editor loop puts at the top of a re-opened file.
ERROR_MARK = "# lessons: "


# --- from flags -------------------------------------------------------------------


def parse_link(spec: str) -> tuple[str, str]:
    """``REL:ID`` → (rel, id or id prefix); an unknown relation is an error with a hint."""
    rel, sep, ref = spec.partition(":")
    rel, ref = rel.strip(), ref.strip()
    if not sep or not ref:
        raise UsageError(
            f"--link takes REL:ID, not '{spec}'",
            hint="for example --link relates-to:2012-09-hashtags; relations: "
            + ", ".join(RELATIONS),
        )
    if rel not in RELATIONS:
        raise UsageError(
            f"unknown relation '{rel}' in --link {spec}{did_you_mean(rel, RELATIONS)}",
            hint=f"relations: {', '.join(RELATIONS)}",
        )
    return rel, ref


def parse_action(spec: str) -> dict[str, Any]:
    """``TEXT[;owner=NAME][;due=YYYY-MM-DD][;status=open|done|dropped]`` → an action."""
    parts = spec.split(";")
    action: dict[str, Any] = {}
    text: list[str] = []
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if sep and key in ("owner", "due", "status") and text:
            value = value.strip()
            if key == "due":
                due = parse_date(value)
                if due is None:
                    raise UsageError(f"--action due= must be a date YYYY-MM-DD, not '{value}'")
                value = due
            if key == "status" and value not in ACTION_STATUSES:
                raise UsageError(
                    f"--action status= must be one of {', '.join(ACTION_STATUSES)}, not '{value}'"
                )
            action[key] = value
        else:
            text.append(part)
    do = ";".join(text).strip()
    if not do:
        raise UsageError(f"--action needs the text of what is to be done: '{spec}'")
    return {"do": do, **action}


def parse_fields(specs: Iterable[str], schema: Schema) -> dict[str, Any]:
    """``--field KEY=VALUE`` (repeatable) → custom field values, typed as configured."""
    custom = {f.name: f for f in schema.fields}
    out: dict[str, Any] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise UsageError(f"--field takes KEY=VALUE, not '{spec}'")
        if key in KEY_ORDER:
            raise UsageError(
                f"'{key}' is a standard key, not a custom field",
                hint=f"use its own option, e.g. --{key}" if key in FLAGS else None,
            )
        spec_of = custom.get(key)
        if spec_of is None:
            known = ", ".join(custom) or "none are declared in lessons.yaml"
            raise UsageError(
                f"unknown field '{key}'{did_you_mean(key, custom)}",
                hint=f"custom fields: {known}",
            )
        if spec_of.type == "list":
            out.setdefault(key, []).extend(v.strip() for v in value.split(";") if v.strip())
        elif spec_of.type == "number":
            try:
                out[key] = int(value) if re.fullmatch(r"-?\d+", value) else float(value)
            except ValueError:
                raise UsageError(f"field '{key}' is a number, not '{value}'") from None
        else:
            out[key] = value
    return out


def raw_from_flags(
    kb: KnowledgeBase,
    values: Mapping[str, Any],
    *,
    links: Sequence[str] = (),
    actions: Sequence[str] = (),
    fields: Sequence[str] = (),
    public: bool = False,
    draft: bool = False,
) -> dict[str, Any]:
    """The record the flags describe (only the keys given); link ids resolved, tags normalised."""
    raw: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or value == [] or value == ():
            continue
        raw[key] = list(value) if isinstance(value, list | tuple) else value
    if raw.get("tags"):
        from lessons.tags import normalise_tags

        raw["tags"] = normalise_tags(raw["tags"], kb.config.tag_aliases)
    if links:
        raw["links"] = []
        for spec in links:
            rel, ref = parse_link(spec)
            raw["links"].append({"to": kb.resolve(ref), "rel": rel})
    if actions:
        raw["actions"] = [parse_action(a) for a in actions]
    raw.update(parse_fields(fields, kb.config.schema))
    if public:
        raw["visibility"] = "public"
    if draft:
        raw["status"] = "draft"
    return raw


def missing(raw: Mapping[str, Any]) -> list[str]:
    """The required keys ``raw`` lacks (the id is made, so never among them)."""
    return [k for k in NEEDED if _empty(raw.get(k))]


def missing_error(keys: Sequence[str]) -> UsageError:
    """The error for required fields missing where nobody can be asked."""
    names = ", ".join(keys)
    flags = " ".join(f"{FLAGS[k]} ..." for k in keys)
    return UsageError(
        f"missing required field{'s' if len(keys) > 1 else ''}: {names}",
        hint=f"give {flags} (standard input is not a terminal, so nothing was asked)",
    )


def resolve_choice(value: str, choices: Sequence[str]) -> str | None:
    """``value`` or the one choice it is a prefix of (``m`` → ``mistake``)."""
    value = value.strip().lower()
    if value in choices:
        return value
    found = [c for c in choices if value and c.startswith(value)]
    return found[0] if len(found) == 1 else None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


# --- the draft: checked, with its id, path and text --------------------------------


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
            value = [v for v in value if not _empty(v)]
        if isinstance(value, str):
            value = value.strip("\n") if value.strip() else ""
        if not _empty(value):
            out[key] = value
    return out


def _complete(kb: KnowledgeBase, base: dict[str, Any], shown: str, text: str | None) -> list[str]:
    """Fill in date, recorded and id; return the keys added (the text needs them too)."""
    added: list[str] = []
    if _empty(base.get("date")):
        base["date"] = today()
        added.append("date")
    if _empty(base.get("recorded")):
        base["recorded"] = today()
        added.append("recorded")
    taken = taken_ids(kb)
    rid = base.get("id")
    if _empty(rid):
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
            elif not _empty(value):
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
    again, problems = validate(_mapping_or_none(result), schema, stem=record["id"])
    if again != record or any(p.severity == "error" for p in problems):
        return dump_record(dict(record), schema)
    return result


def _mapping_or_none(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


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
            if _empty(value[i]):
                seq_remove(value, i)
    if _empty(value.strip() if isinstance(value, str) else value):
        map_delete(doc, key)


def write(kb: KnowledgeBase, draft: Draft) -> Path:
    """Create the draft's file (atomically; never over an existing file)."""
    from lessons.entries import write_new

    write_new(draft.path, kb.root, draft.text)
    kb.synced = False  # the index is behind the files now (see ``taken_ids``)
    return draft.path


# --- similar records --------------------------------------------------------------


@dataclass
class Similar:
    """An existing record close to a new one."""

    id: str
    title: str
    kind: str
    date: str | None
    path: str
    score: float
    title_score: float
    text_score: float


def _text_of(rec: Mapping[str, Any]) -> str:
    return " ".join(str(rec.get(k) or "") for k in ("summary", "lesson")).lower()


def similar_records(
    kb: KnowledgeBase, record: Mapping[str, Any], *, cutoff: float = SIMILAR_CUTOFF, limit: int = 3
) -> list[Similar]:
    """Existing records very close to ``record`` in title and text, closest first.

    Titles are compared first (cheap, over every record); the closest are then
    compared on summary and lesson too. The score is the mean of the two.
    """
    from rapidfuzz import fuzz, process

    title = str(record.get("title") or "").lower()
    pairs = [(rid, t) for rid, t in kb.store.id_titles() if rid != record.get("id")]
    if not title or not pairs:
        return []
    found = process.extract(
        title,
        {rid: t.lower() for rid, t in pairs},
        scorer=fuzz.token_sort_ratio,
        score_cutoff=TITLE_SHORTLIST,
        limit=20,
    )
    text = _text_of(record)
    out: list[Similar] = []
    for _, title_score, rid in found:
        other = kb.store.get(rid)
        if other is None:
            continue
        text_score = fuzz.token_set_ratio(text, _text_of(other)) if text else 0.0
        score = (title_score + text_score) / 2
        if score >= cutoff:
            out.append(
                Similar(
                    rid,
                    other["title"],
                    other["kind"],
                    other.get("date"),
                    other["path"],
                    round(score, 1),
                    round(title_score, 1),
                    round(text_score, 1),
                )
            )
    out.sort(key=lambda s: (-s.score, s.id))
    return out[:limit]


def link_for(record: Mapping[str, Any], other: Similar) -> str:
    """The relation a new record takes to a similar one: ``repeats`` for a mistake made
    again (the new one is not older), ``relates-to`` otherwise."""
    both_mistakes = record.get("kind") == "mistake" and other.kind == "mistake"
    newer = not other.date or not record.get("date") or str(record["date"]) >= other.date
    return "repeats" if both_mistakes and newer else "relates-to"


# --- the editor ---------------------------------------------------------------------


class EditorError(UsageError):
    """The editor could not be started, or it failed."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """``$EDITOR``, else ``$VISUAL``, else ``vi`` or ``nano``, whichever is installed."""
    env = os.environ if env is None else env
    for name in ("EDITOR", "VISUAL"):
        value = (env.get(name) or "").strip()
        if value:
            return shlex.split(value)
    for fallback in ("vi", "nano"):
        found = shutil.which(fallback)
        if found:
            return [found]
    raise EditorError("no editor: set $EDITOR", hint="for example: export EDITOR=nano")


def run_editor(text: str, name: str = "lesson.yaml") -> str:
    """Open ``text`` in the editor, in a temporary file that is always removed; the result."""
    command = editor_command()
    folder = tempfile.mkdtemp(prefix="lessons-edit-")
    path = Path(folder) / name
    try:
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise EditorError(
                f"cannot start the editor '{command[0]}': {exc.strerror}",
                hint="check $EDITOR",
            ) from None
        if done.returncode != 0:
            raise EditorError(
                f"the editor exited with status {done.returncode}; nothing was written"
            )
        return path.read_text(encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def is_blank(text: str) -> bool:
    """True when nothing but comments and white space is left: the writer gave up."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def with_error_line(text: str, exc: LessonsError) -> str:
    """``text`` with one comment line on top saying what is wrong (the old one replaced)."""
    body = "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(ERROR_MARK)
    )
    old = len(text.splitlines()) - len(body.splitlines())
    where = []
    if exc.line:
        # The line as counted in the re-opened text: old error lines out, this one in.
        where.append(f"line {exc.line - old + 1}")
    if exc.field:
        where.append(f"field '{exc.field}'")
    place = f"{', '.join(where)}: " if where else ""
    message = " ".join(exc.message.split())
    return (
        f"{ERROR_MARK}{place}{message}. Fix it, save and close; empty the file to give up.\n" + body
    )


def edit_until_valid(
    text: str,
    check: Callable[[str], T],
    *,
    retry: Callable[[LessonsError], bool],
    edit: Callable[[str], str] = run_editor,
) -> T | None:
    """Edit, check, and on an error ask ``retry`` whether to re-open; ``None`` when abandoned.

    ``check`` turns the edited text into a result or raises ``LessonsError``
    (a ``ConflictError`` ends the loop: re-opening cannot help). An empty file
    is abandoned at once. Nothing is written here: ``check`` decides that.
    """
    while True:
        text = edit(text)
        if is_blank(text):
            return None
        try:
            return check(text)
        except ConflictError:
            raise
        except LessonsError as exc:
            if not retry(exc):
                return None
            text = with_error_line(text, exc)


# --- the template -------------------------------------------------------------------

_HELP = {
    "id": "Made from the date and the title when left empty; set it to choose your own.",
    "title": "One issue per record, in one line (at most 120 characters). Required.",
    "kind": "mistake, success or observation. Required.",
    "date": "When it happened: YYYY-MM-DD.",
    "summary": "What happened: the facts, without judgement. Required.",
    "lesson": "What we learned: the insight the next team needs before it plans.",
    "recommendations": "What to do next time: one action per item, each a '- ' line.",
    "expected": "What was supposed to happen.",
    "why": "Why it went as it did: causes and contributing factors.",
    "response": "What was done at the time.",
    "evidence": "Metrics, quotes or facts that back it up.",
    "impact": "How much it mattered: low, medium, high or critical.",
    "campaign": "The campaign, project or incident it came from.",
    "team": "The team.",
    "authors": "Who wrote it, e.g. [Ann Smith, Bo Lee].",
    "stage": "Where in the work it arose: {stages}.",
    "tags": "Lower case, hyphens for spaces, e.g. [twitter, live-chat].",
    "links": "Links to other records: - {{to: ID, rel: relates-to}}; rel is one of {rels}.",
    "actions": "Follow-ups: - {{do: TEXT, owner: NAME, due: YYYY-MM-DD}}.",
    "sources": "URLs or references, e.g. [https://example.org/post].",
    "visibility": "internal (the default) or public: only public records are published.",
    "status": "final (the default) or draft, for a record still being written.",
}
_BLOCK_KEYS = ("summary", "lesson")
_FLOW_KEYS = ("authors", "tags", "sources")


def template(
    raw: Mapping[str, Any], schema: Schema, popular_tags: Sequence[tuple[str, int]] = ()
) -> tuple[str, list[str]]:
    """The commented YAML the editor opens for a new record, the flags' values filled in.

    Returns the text and its comment lines (dropped again when the file is read back).
    The template is itself valid YAML.
    """
    comments: list[str] = [
        "# A new lesson. Fill in the values, then save and close the editor to record it.",
        "# Keys left empty are left out. To give up, empty the file, save and close.",
        "# Lines starting with '#' are comments.",
    ]
    lines: list[str] = [*comments, ""]
    stages = ", ".join(schema.stages)
    rels = ", ".join(RELATIONS)
    keys = [k for k in KEY_ORDER if k != "recorded"] + [f.name for f in schema.fields]
    custom = {f.name: f for f in schema.fields}
    for key in keys:
        if key in custom:
            spec = custom[key]
            what = f"one of {', '.join(spec.values)}" if spec.type == "choice" else spec.type
            help_text = f"Custom field ({what})."
        else:
            help_text = _HELP[key].format(stages=stages, rels=rels)
        if key == "tags" and popular_tags:
            shown = ", ".join(f"{t} ({n})" for t, n in popular_tags[:12])
            help_text += f" In use: {shown}."
        comment = f"# {help_text}"
        comments.append(comment)
        lines.append(comment)
        values = _template_value(key, raw.get(key), custom.get(key))
        comments.extend(v for v in values if v.startswith("#"))
        lines.extend(values)
    text = "\n".join(lines) + "\n"
    return text, comments


def _template_value(key: str, value: Any, custom: Any) -> list[str]:
    if key in ("visibility", "status") and value is None:
        # Left at the default unless uncommented.
        return [f"# {key}: {'public' if key == 'visibility' else 'draft'}"]
    if _empty(value):
        if key in _BLOCK_KEYS:
            return [f"{key}: |", "  "]
        if key in ("recommendations", "links", "actions") or (custom and custom.type == "list"):
            return [f"{key}:", "  - "] if key == "recommendations" else [f"{key}: []"]
        if key in _FLOW_KEYS:
            return [f"{key}: []"]
        return [f"{key}: "]
    return _dump_value(key, value).rstrip("\n").splitlines()


def _dump_value(key: str, value: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text as ``|`` blocks, as the tool writes records."""

    def text(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data.strip("\n") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    wide = 1 << 30
    if key in ("date", "recorded") and isinstance(value, str):
        return f"{key}: {value}\n"
    if key in _FLOW_KEYS or key in ("links", "actions"):
        if key in _FLOW_KEYS:
            flow = yaml.dump(
                value, Dumper=Dumper, default_flow_style=True, width=wide, allow_unicode=True
            )
            return f"{key}: {flow}"
        items = [
            "  - "
            + yaml.dump(
                item, Dumper=Dumper, default_flow_style=True, width=wide, allow_unicode=True
            )
            for item in value
        ]
        return f"{key}:\n" + "".join(items)
    return yaml.dump(
        {key: value},
        Dumper=Dumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        width=wide,
    )


# --- edit ID --------------------------------------------------------------------------


@dataclass
class Opened:
    """An existing record opened for editing: its file, text and content hash then."""

    id: str
    path: Path
    text: str
    digest: str


def open_record(kb: KnowledgeBase, ref: str) -> Opened:
    """Read the file of the record ``ref`` names, remembering its hash."""
    from lessons.entries import digest_of

    rec = kb.get(ref)
    path = kb.path_of(rec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConflictError(f"cannot read the record: {exc.strerror}", path=str(path)) from None
    return Opened(rec["id"], path, data.decode("utf-8-sig"), digest_of(data))


def check_edit(kb: KnowledgeBase, opened: Opened, text: str) -> list[Problem]:
    """Raise ``RecordError`` (file, line, field) if ``text`` is not a valid record for the
    file; new links must point at records that exist. Returns the warnings."""
    from lessons.entries import load_file

    shown = _shown(kb, opened.path)
    loaded = load_file(opened.path, shown, kb.config.schema, data=text.encode("utf-8"))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors or loaded.record is None:
        first = errors[0] if errors else Problem("the record is invalid")
        raise RecordError(first.message, path=shown, line=first.line, field=first.field)
    before = _mapping_or_none(opened.text)
    old_links = {
        (link.get("to"), link.get("rel", "relates-to"))
        for link in (before.get("links") or [] if isinstance(before, dict) else [])
        if isinstance(link, dict)
    }
    new_links = [
        (i, link)
        for i, link in enumerate(loaded.record.get("links") or [])
        if (link["to"], link["rel"]) not in old_links
    ]
    store = kb.store
    for i, link in new_links:
        if store.get(link["to"]) is None and link["to"] != opened.id:
            from lessons.entries import line_map

            ids = [rid for rid, _ in store.id_titles()]
            raise RecordError(
                f"link {i + 1} points at '{link['to']}', which does not exist"
                + did_you_mean(link["to"], ids),
                path=shown,
                line=line_map(text).get(("links", i)),
                field="links",
            )
    return [p for p in loaded.problems if p.severity == "warning"]


def save_edit(kb: KnowledgeBase, opened: Opened, text: str) -> Path:
    """Replace the record's file with ``text`` if the file is as it was when opened.

    If it changed meanwhile, the edit is kept in ``.lessons/recovered/`` and
    ``ConflictError`` says where: no word typed is lost.
    """
    from lessons.entries import keep_recovered, replace_file

    text = strip_comment_lines(text, ())
    try:
        replace_file(opened.path, kb.root, kb.config.schema, text, expected_digest=opened.digest)
    except ConflictError as exc:
        keep = keep_recovered(kb.root, opened.id, text)
        raise ConflictError(
            "the file changed on disk while you edited it; it was not overwritten",
            path=exc.path,
            hint=f"your edit is kept in {keep}; compare and run `lessons edit` again",
        ) from None
    return opened.path


def _shown(kb: KnowledgeBase, path: Path) -> str:
    try:
        return str(path.relative_to(kb.root))
    except ValueError:
        return str(path)
