"""A mapping file: every import option in one small YAML file a team edits once.

``lessons import FILE --dry-run --write-mapping register.yaml`` writes a starting
file from what the source holds (its columns with the key each gives or most
likely means, the values of its kind/impact/stage/status columns with counts and
suggestions); ``lessons import FILE --mapping register.yaml`` reads it back.
Options typed on the command line are added to the file's (a ``--map`` for a
column the file maps too wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.errors import LessonsError
from lessons.model import did_you_mean

FILE_KEYS = (
    "columns",
    "values",
    "defaults",
    "sheet",
    "header_row",
    "records",
    "unpivot",
    "split",
    "unmapped",
    "dayfirst",
    "on_duplicate",
)


@dataclass
class MappingFile:
    """What a mapping file holds, as the command line's options would give it."""

    path: str
    maps: list[str] = field(default_factory=list)
    value_maps: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None
    records: str | None = None
    unpivot: list[str] = field(default_factory=list)
    split: str | None = None
    unmapped: str | None = None
    dayfirst: bool | None = None
    on_duplicate: str | None = None


def load_mapping(path: str) -> MappingFile:
    """Read a mapping file; a wrong key or value names the file and the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LessonsError(f"no such mapping file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonsError(f"cannot read the mapping file: {exc}", path=path) from None
    from lessons.interop.readers.yaml import load_yaml_documents

    docs = load_yaml_documents(text, path)
    data = docs[0] if docs else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LessonsError("a mapping file is a mapping of settings", path=path)
    out = MappingFile(path)

    def fail(message: str, key: str) -> LessonsError:
        return LessonsError(message, path=path, line=_line_of(text, key), field=key)

    for key in data:
        if key not in FILE_KEYS:
            raise fail(f"unknown setting '{key}'{did_you_mean(str(key), FILE_KEYS)}", str(key))
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise fail("'columns' maps a source column to a record key ('' leaves it out)", "columns")
    for column, key in columns.items():
        if key is not None and not isinstance(key, str):
            raise fail(f"columns: '{column}' must name a record key, not {key!r}", "columns")
        out.maps.append(f"{column}={key or ''}")
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise fail("'values' maps a key to {source value: value}", "values")
    for key, table in values.items():
        if not isinstance(table, dict):
            raise fail(f"values: '{key}' must map source values to values", "values")
        for source_value, target in table.items():
            if target is None or (isinstance(target, str) and not target.strip()):
                raise LessonsError(
                    f"values: {key}: '{source_value}' maps to nothing yet",
                    path=path,
                    line=_line_of(text, str(source_value)),
                    field="values",
                    hint=f"write the {key} it means after the colon",
                )
            out.value_maps.append(f"{key}:{source_value}={target}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fail("'defaults' maps a key to the value rows without one get", "defaults")
    for key, value in defaults.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            raise LessonsError(
                f"defaults: '{key}' is empty",
                path=path,
                line=_line_of(text, str(key)),
                field="defaults",
                hint="write the value rows without one get, or remove the line",
            )
        shown = ";".join(map(str, value)) if isinstance(value, list) else str(value)
        out.defaults.append(f"{key}={shown}")
    for key in ("sheet", "records", "split", "unmapped", "on_duplicate"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise fail(f"'{key}' must be text", key)
            setattr(out, key, str(value))
    if data.get("header_row") is not None:
        if not isinstance(data["header_row"], int) or isinstance(data["header_row"], bool):
            raise fail("'header_row' must be a row number", "header_row")
        out.header_row = data["header_row"]
    if data.get("dayfirst") is not None:
        if not isinstance(data["dayfirst"], bool):
            raise fail("'dayfirst' must be true or false", "dayfirst")
        out.dayfirst = data["dayfirst"]
    unpivot = data.get("unpivot") or []
    if isinstance(unpivot, str):
        unpivot = [unpivot]
    if not isinstance(unpivot, list) or not all(isinstance(u, str) for u in unpivot):
        raise fail("'unpivot' is a list of column names", "unpivot")
    out.unpivot = unpivot
    return out


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().strip("'\"")
        if stripped.startswith((f"{key}:", f"'{key}':", f'"{key}":')) or line.lstrip().startswith(
            (f"{key}:", f"'{key}'", f'"{key}"')
        ):
            return n
    return None


# Words registers use for our kinds, impacts and statuses (matched without case or
# accents). Only ever suggestions in a written mapping file, never applied unasked.
def _hints() -> dict[str, dict[str, str]]:
    from lessons.interop.mapping import value_key

    table = {
        "kind": {
            "mistake": [
                "mistake",
                "mistakes",
                "error",
                "failure",
                "problem",
                "issue",
                "incident",
                "negative",
                "went wrong",
                "what went wrong",
                "to improve",
                "needs improvement",
                "could be improved",
                "bad",
                "erro",
                "falha",
                "problema",
                "negativo",
                "a melhorar",
                "pontos a melhorar",
                "помилка",
                "проблема",
                "невдача",
                "негатив",
                "що пішло не так",
                "error",
                "fallo",
            ],
            "success": [
                "success",
                "successes",
                "good",
                "positive",
                "went well",
                "what went well",
                "best practice",
                "best practices",
                "good practice",
                "good practices",
                "win",
                "wins",
                "strength",
                "keep",
                "continue",
                "sucesso",
                "positivo",
                "boa pratica",
                "boas praticas",
                "pontos fortes",
                "успіх",
                "позитив",
                "добра практика",
                "що пішло добре",
                "exito",
                "buena practica",
            ],
            "observation": [
                "observation",
                "note",
                "info",
                "information",
                "neutral",
                "idea",
                "ideas",
                "insight",
                "observacao",
                "nota",
                "informacao",
                "alerta",
                "alerta tecnico",
                "спостереження",
                "примітка",
                "інформація",
            ],
        },
        "impact": {
            "low": ["low", "minor", "small", "trivial", "baixo", "baixa", "menor", "низький"],
            "medium": ["medium", "moderate", "normal", "medio", "media", "moderado", "середній"],
            "high": [
                "high",
                "major",
                "significant",
                "severe",
                "alto",
                "alta",
                "grave",
                "високий",
                "значний",
            ],
            "critical": ["critical", "blocker", "catastrophic", "critico", "critica", "критичний"],
        },
        "status": {
            "draft": ["draft", "open", "in progress", "in review", "rascunho", "чернетка"],
            "final": ["final", "closed", "done", "approved", "published", "fechado", "фінал"],
        },
    }
    return {
        key: {value_key(word): target for target, words in groups.items() for word in words}
        for key, groups in table.items()
    }


def suggest_value(key: str, value: str, options: tuple[str, ...]) -> str | None:
    """The choice ``value`` most likely means, if a hint or a close spelling says so."""
    from lessons.interop.mapping import value_key
    from lessons.model import suggest

    hinted = _hints().get(key, {}).get(value_key(value))
    if hinted in options:
        return hinted
    return suggest(value_key(value), options, cutoff=80)


def write_mapping(path: str, plan: Any, source: Any, schema: Any, options: Any) -> str:
    """The text of a starting mapping file for ``source`` (also written to ``path``)."""
    import yaml

    from lessons.entries import atomic_write
    from lessons.interop.mapping import (
        EXTRA,
        SECTION,
        _closest_key,
        choice_fields,
        distinct_values,
        norm_name,
    )
    from lessons.interop.values import is_blank

    columns = plan.columns.keys if plan.columns else {}
    choices = choice_fields(schema)

    def q(value: Any) -> str:
        return (
            yaml.safe_dump(value, allow_unicode=True, width=10_000)
            .strip()
            .removesuffix("\n...")
            .strip()
        )

    lines = [
        f"# How to import {source.shown} into lessons (written by --write-mapping).",
        "# Edit it, then: lessons import FILE --mapping THIS-FILE (add --dry-run to check first).",
    ]
    if source.fmt in ("xlsx", "ods") and options.get("sheet"):
        lines.append(f"sheet: {q(options['sheet'])}")
    if options.get("header_row"):
        lines.append(f"header_row: {options['header_row']}")
    if options.get("records"):
        lines.append(f"records: {q(options['records'])}")
    if options.get("unpivot"):
        lines.append("unpivot: " + q(list(options["unpivot"])))
    lines += [
        "# Each source column and the record key it gives ('' leaves it out).",
        "columns:",
    ]
    guessed: dict[str, str] = {}
    for column in source.columns:
        key = columns.get(column)
        filled = sum(1 for row in source.rows if not is_blank(row.data.get(column)))
        why = f"{filled} of {len(source.rows)} rows have a value"
        if key == EXTRA:
            key = None
        if key is None:
            best = _closest_key(column, schema, [row.data.get(column) for row in source.rows])
            if column.startswith("parent.") or not filled:
                lines.append(f"  {q(column)}: ''  # {why}; left out")
            elif best:
                guessed[column] = best
                lines.append(f"  {q(column)}: {best}  # suggested: check it ({why})")
            else:
                lines.append(f"  {q(column)}: ''  # no key like it: name one or leave it ({why})")
        else:
            how = "by its name" if norm_name(column) == norm_name(key) else "mapped"
            if column.startswith(SECTION):
                how = "by its heading"
            split = plan.splits.get(column)
            extra = f"; lists split on {split!r}" if split and split != ";" else ""
            lines.append(f"  {q(column)}: {key}  # {how} ({why}{extra})")
    value_lines: list[str] = []
    for key, options_ in choices.items():
        cols = [c for c, k in {**columns, **guessed}.items() if k == key]
        if not cols:
            continue
        held = distinct_values(
            str(row.data.get(c)).strip()
            for row in source.rows
            for c in cols
            if not is_blank(row.data.get(c))
        )
        wrong = [(v, n) for v, n in held if v.lower() not in {o.lower() for o in options_}]
        if not wrong:
            continue
        value_lines.append(f"  {key}:  # one of {', '.join(options_)}")
        for value, count in wrong:
            best = suggest_value(key, value, options_)
            target = best or "''"
            note = "suggested: check it" if best else "choose one"
            rows = f"{count} row{'s' if count != 1 else ''}"
            value_lines.append(f"    {q(value)}: {target}  # {rows}; {note}")
    if value_lines:
        lines += ["# Source values that are not ours, and the value each becomes.", "values:"]
        lines += value_lines
    given = set(columns.values()) | set(guessed.values()) | set(options.get("defaults") or {})
    missing = [k for k in ("kind", "summary") if k not in given]
    lines.append("# Filled in where a row has no value, e.g. kind: mistake")
    if "kind" in missing:
        lines += [
            "defaults:",
            "  kind: ''  # required and no column gives it: mistake, success or observation",
        ]
    else:
        lines.append("defaults: {}")
    if "summary" in missing:
        lines.append("# No column gives 'summary' (required): map one above.")
    lines += [
        "# Columns that map to no key: error (stop), ignore (leave out) or keep (under extra:).",
        "unmapped: error",
        "# List cells: auto (per column: line breaks, ;, #hashtags, commas in tags) or a",
        "# character to split on.",
        "split: auto",
        "# A second import with this file updates the records the first one wrote.",
        "on_duplicate: update",
    ]
    text = "\n".join(lines) + "\n"
    atomic_write(Path(path), text)
    return text
