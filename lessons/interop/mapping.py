"""Which source column gives which record key: names, ``--map``, ``--map-value``, ``--default``.

A column is read as a key by its own name (``Title``, `` date ``) or by ``--map
SRC=KEY``; ``--map "A|B=summary"`` takes the first of several columns that has a
value; several columns mapped to one list key are merged. A Markdown section is
the column ``section:<heading>``, and the usual post-mortem headings map without
flags. Every ``--map`` and ``--map-value`` must name something the source holds:
a typo is an error with the closest name, never silently ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lessons.errors import UsageError
from lessons.interop.source import PARENT, Source
from lessons.interop.values import is_blank
from lessons.model import (
    ACTION_STATUSES,
    IMPACTS,
    KINDS,
    LIST_KEYS,
    STATUSES,
    VISIBILITIES,
    Schema,
    did_you_mean,
    suggest,
)

SECTION = "section:"
# The column -> key entry of a column kept under ``extra:`` (--keep-unmapped); the
# parentheses keep it apart from a column named "extra" (what export writes).
EXTRA = "(extra)"
UNMAPPED = ("error", "ignore", "keep")


def norm_name(name: str) -> str:
    """A column name as matched: lower case, trimmed, spaces and hyphens as underscores."""
    name = name.strip().lower()
    if name.startswith(SECTION):
        # A section's heading: numbering and colons do not matter.
        from lessons.interop.readers.markdown import section_name

        name = SECTION + section_name(name[len(SECTION) :])
    return re.sub(r"[\s\-_]+", "_", name.strip())


def _known_names(schema: Schema) -> dict[str, str]:
    # "extra" is not offered as a --map target, but a column of that name (export's) is it.
    return {norm_name(key): key for key in [*schema.known_keys(), "extra"]}


def _key_for(dest: str, schema: Schema, flag: str) -> str:
    known = _known_names(schema)
    key = known.get(norm_name(dest))
    if key is None:
        raise UsageError(
            f"{flag}: '{dest}' is not a record key" + did_you_mean(dest, schema.known_keys()),
            hint="the keys are listed in SPEC §2; custom ones come from fields: in lessons.yaml",
        )
    return key


def parse_maps(specs: Iterable[str], schema: Schema) -> dict[str, str | None]:
    """``--map SRC=DEST`` options: normalised source name -> record key (None drops it)."""
    maps: dict[str, str | None] = {}
    for spec in specs:
        src, eq, dest = spec.rpartition("=")
        if not eq or not src.strip():
            raise UsageError(
                f"--map takes SRC=DEST, not '{spec}'",
                hint="e.g. --map 'Lesson Learned=lesson', or --map Notes= to drop a column",
            )
        name = "|".join(norm_name(part) for part in src.split("|") if part.strip())
        maps[name] = _key_for(dest, schema, f"--map '{spec}'") if dest.strip() else None
    return maps


def parse_defaults(specs: Iterable[str], schema: Schema) -> dict[str, str]:
    """``--default KEY=VALUE`` options: record key -> value (read like a CSV cell)."""
    defaults: dict[str, str] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise UsageError(f"--default takes KEY=VALUE, not '{spec}'", hint="e.g. kind=mistake")
        defaults[_key_for(key, schema, f"--default '{spec}'")] = value
    return defaults


# Headers spreadsheets often use, and the key each most likely means. Only ever
# suggested: a column is read as a key by its own name or by --map, never by a guess.
HEADER_HINTS = {
    "type": "kind",
    "description": "summary",
    "details": "summary",
    "what_happened": "summary",
    "problem": "summary",
    "issue": "summary",
    "lessons_learned": "lesson",
    "lesson_learnt": "lesson",
    "learning": "lesson",
    "learnings": "lesson",
    "insight": "lesson",
    "takeaway": "lesson",
    "recommendation": "recommendations",
    "next_time": "recommendations",
    "root_cause": "why",
    "cause": "why",
    "reason": "why",
    "severity": "impact",
    "priority": "impact",
    "project": "campaign",
    "programme": "campaign",
    "program": "campaign",
    "incident": "campaign",
    "org": "team",
    "organisation": "team",
    "organization": "team",
    "department": "team",
    "author": "authors",
    "owner": "authors",
    "reporter": "authors",
    "raised_by": "authors",
    "phase": "stage",
    "tag": "tags",
    "label": "tags",
    "labels": "tags",
    "keywords": "tags",
    "category": "tags",
    "categories": "tags",
    "link": "sources",
    "url": "sources",
    "source": "sources",
    "source_url": "sources",
    "reference": "sources",
    "references": "sources",
    "action": "actions",
    "follow_up": "actions",
    # ProjectManager.com's free Excel template, which many registers start from.
    "win_or_issue": "kind",
    "describe_what_happened": "summary",
    "what_was_the_impact?": "evidence",
    "how_does_this_change_future_projects?": "lesson",
    "action_items": "actions",
    "lesson_learned": "lesson",
    "recommended_action": "recommendations",
    "recommendations": "recommendations",
    "company": "team",
    "start_time": "date",
    "start_date": "date",
    "started_at": "date",
    "incident_date": "date",
    "date_identified": "date",
    "subject": "title",
    "name": "title",
    "headline": "title",
}


# Headings post-mortem and lessons-learned templates use, and the key each gives.
# Unlike the column hints above these are applied: a section is read by its heading.
SECTION_KEYS = {
    "summary": "summary",
    "incident_summary": "summary",
    "executive_summary": "summary",
    "overview": "summary",
    "description": "summary",
    "what_happened": "summary",
    "what_happened?": "summary",
    "background": "summary",
    "context": "summary",
    "situation": "summary",
    "lessons_learned": "lesson",
    "lessons_learnt": "lesson",
    "lesson_learned": "lesson",
    "lessons": "lesson",
    "lesson": "lesson",
    "what_we_learned": "lesson",
    "what_did_we_learn?": "lesson",
    "learnings": "lesson",
    "key_lesson": "lesson",
    "key_takeaways": "lesson",
    "takeaways": "lesson",
    "action_items": "actions",
    "actions": "actions",
    "follow_up_actions": "actions",
    "follow_ups": "actions",
    "follow_up": "actions",
    "next_steps": "actions",
    "corrective_actions": "actions",
    "remediation": "actions",
    "recommendations": "recommendations",
    "recommendation": "recommendations",
    "root_cause": "why",
    "root_causes": "why",
    "root_cause_analysis": "why",
    "cause": "why",
    "causes": "why",
    "contributing_factors": "why",
    "why": "why",
    "why_did_it_happen?": "why",
    "resolution": "response",
    "response": "response",
    "mitigation": "response",
    "mitigations": "response",
    "what_we_did": "response",
    "expected": "expected",
    "what_was_expected": "expected",
    "what_was_supposed_to_happen?": "expected",
    "evidence": "evidence",
    "references": "sources",
    "sources": "sources",
    "links": "sources",
}


# The same, as Portuguese, Spanish and Ukrainian registers name them (accents dropped).
HEADER_HINTS.update(
    {
        **dict.fromkeys(("titulo", "assunto", "назва", "заголовок", "тема"), "title"),
        **dict.fromkeys(("tipo", "tipo_de_licao", "тип", "вид"), "kind"),
        **dict.fromkeys(("data", "fecha", "дата", "data_do_registo", "data_de_registro"), "date"),
        **dict.fromkeys(
            (
                "descricao",
                "descripcion",
                "descricao_do_problema",
                "o_que_aconteceu",
                "situacao",
                "problema",
                "опис",
                "що_сталося",
                "ситуація",
                "проблема",
            ),
            "summary",
        ),
        **dict.fromkeys(
            (
                "licao",
                "licao_aprendida",
                "licoes_aprendidas",
                "leccion_aprendida",
                "lecciones_aprendidas",
                "aprendizado",
                "урок",
                "уроки",
                "висновок",
                "висновки",
                "отриманий_урок",
            ),
            "lesson",
        ),
        **dict.fromkeys(
            (
                "recomendacao",
                "recomendacoes",
                "recomendacion",
                "recomendaciones",
                "рекомендація",
                "рекомендації",
            ),
            "recommendations",
        ),
        **dict.fromkeys(("causa", "causa_raiz", "causas", "причина", "причини"), "why"),
        **dict.fromkeys(("impacto", "gravidade", "severidade", "вплив", "критичність"), "impact"),
        **dict.fromkeys(("projeto", "proyecto", "проєкт", "проект"), "campaign"),
        **dict.fromkeys(("equipa", "equipe", "equipo", "area", "команда", "відділ"), "team"),
        **dict.fromkeys(("autor", "autores", "responsavel", "автор", "автори"), "authors"),
        **dict.fromkeys(("fase", "etapa", "етап", "фаза"), "stage"),
        **dict.fromkeys(
            (
                "categoria",
                "categorias",
                "etiquetas",
                "palavras_chave",
                "теги",
                "категорія",
                "категорії",
                "мітки",
            ),
            "tags",
        ),
        **dict.fromkeys(("acoes", "acao", "acciones", "дії", "заходи"), "actions"),
        **dict.fromkeys(("fonte", "fontes", "fuente", "джерело", "посилання"), "sources"),
        **dict.fromkeys(("estado", "situacao_do_registo", "статус"), "status"),
    }
)


def section_key(name: str) -> str | None:
    """The key a section gives by its (normalised) heading, if it is a usual one.

    ``Contributing Factors (findings)`` is read as ``Contributing Factors``.
    """
    heading = name[len(SECTION) :] if name.startswith(SECTION) else name
    found = SECTION_KEYS.get(heading)
    if found is None:
        found = SECTION_KEYS.get(re.sub(r"_*\(.*\)$", "", heading).rstrip("_"))
    return found


def _closest_key(column: str, schema: Schema, values: Sequence[object] = ()) -> str | None:
    """The record key a column's name suggests, unless its ``values`` contradict it."""
    best = _key_by_name(column, schema)
    if best and values and best not in _date_keys(schema) and _mostly_dates(values):
        # `source_fetched_at` reads like `sources` but holds timestamps: a wrong guess
        # in a mapping file is worse than none, which asks the person to choose.
        return None
    return best


def _date_keys(schema: Schema) -> set[str]:
    return {"date", "recorded"} | {f.name for f in schema.fields if f.type == "date"}


def _mostly_dates(values: Sequence[object]) -> bool:
    from lessons.interop.dates import parse_loose_date

    texts = [str(v).strip() for v in values if not is_blank(v) and not isinstance(v, (list, dict))]
    if not texts:
        return False
    sample = texts[:200]
    dated = sum(1 for t in sample if parse_loose_date(t, True)[0] is not None)
    return dated >= 0.8 * len(sample)


def _key_by_name(column: str, schema: Schema) -> str | None:
    name = norm_name(column)
    known = schema.known_keys()
    cutoff = 80.0
    if name.startswith(SECTION):
        # A heading is a phrase: only a close spelling of a key is worth suggesting.
        name, cutoff = name[len(SECTION) :], 88.0
        hinted = SECTION_KEYS.get(name) or HEADER_HINTS.get(name)
    else:
        hinted = HEADER_HINTS.get(name) or HEADER_HINTS.get(_plain(name))
    if hinted in known:
        return hinted
    return suggest(name, known, cutoff=cutoff)


def _plain(name: str) -> str:
    """``name`` without accents (``descrição`` -> ``descricao``); other scripts kept."""
    decomposed = unicodedata.normalize("NFD", name)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


@dataclass
class ColumnMap:
    """Source column -> record key, in the order that decides between columns.

    For a key that is not a list, columns mapped to it (``A|B=summary``) are tried in
    order and the first with a value wins; for a list key every column adds its items.
    ``extra`` keys keep a column under ``extra:`` by its name.
    """

    keys: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Columns of a parent record (``--records``) not taken: named in a note, not imported.
    parent_left: list[str] = field(default_factory=list)

    def columns_of(self, key: str) -> list[str]:
        """The columns that give ``key``, in order."""
        return [c for c, k in self.keys.items() if k == key]


def map_columns(
    source: Source,
    schema: Schema,
    maps: Mapping[str, str | None],
    unmapped: str = "error",
) -> tuple[dict[str, str], list[str]]:
    """Source column -> record key for the columns imported, plus notes about the rest.

    A column that names nothing known and holds a value is an error (nothing is
    dropped by accident) unless ``unmapped`` is ``ignore`` (named in a note) or
    ``keep`` (kept under ``extra:``); the message suggests the closest key and the
    --map that maps or drops it. A --map naming no column is an error too.
    """
    found = plan_columns(source, schema, maps, unmapped)
    return found.keys, found.notes


def plan_columns(
    source: Source,
    schema: Schema,
    maps: Mapping[str, str | None],
    unmapped: str = "error",
) -> ColumnMap:
    """The ``ColumnMap`` of ``source`` (see ``map_columns``)."""
    known = _known_names(schema)
    lists = set(LIST_KEYS) | {"tags"} | {f.name for f in schema.fields if f.type == "list"}
    by_name: dict[str, str] = {}
    for column in source.columns:
        by_name.setdefault(norm_name(column), column)
    out = ColumnMap()
    used_maps: set[str] = set()
    taken: set[str] = set()
    order: list[tuple[str, str]] = []
    # Columns a "A|B=KEY" map names: they may give one key between them.
    fallbacks: dict[str, set[str]] = {}
    # --map first, in the order typed: "A|B=summary" puts A before B.
    for spec, key in maps.items():
        parts = spec.split("|")
        missing = [p for p in parts if p not in by_name]
        if missing:
            raise _unknown_map(spec, missing, source, by_name)
        used_maps.add(spec)
        for part in parts:
            column = by_name[part]
            taken.add(column)
            if key is not None:
                order.append((column, key))
                if len(parts) > 1:
                    fallbacks.setdefault(key, set()).add(column)
    for column in source.columns:
        if column in taken:
            continue
        name = norm_name(column)
        if name in known:
            order.append((column, known[name]))
        elif name.startswith(SECTION) and section_key(name) in known.values():
            order.append((column, str(section_key(name))))
    owners: dict[str, list[str]] = {}
    for column, key in order:
        owners.setdefault(key, []).append(column)
    for key, columns in owners.items():
        if len(columns) < 2 or key in lists or set(columns) <= fallbacks.get(key, set()):
            continue
        if source.fmt == "md":
            # Files name one section in different words ("Root cause", "Root causes"):
            # a file holding two of them gets both texts, one after the other.
            continue
        first, second = columns[0], columns[1]
        raise UsageError(
            f"columns '{first}' and '{second}' both give '{key}'",
            hint=f"drop one with --map '{second}=', or take the first with a value: "
            f"--map '{first}|{second}={key}'",
        )
    out.keys = dict(order)
    unknown: list[str] = []
    for column in source.columns:
        if column in taken or column in out.keys:
            continue
        has_value = any(not is_blank(row.data.get(column)) for row in source.rows)
        if column.startswith(PARENT):
            if has_value:
                out.parent_left.append(column)
        elif not has_value:
            out.notes.append(f"column '{column}' is empty and not a record key; ignored")
        elif unmapped == "keep":
            out.keys[column] = EXTRA
        else:
            unknown.append(column)
    if unknown and unmapped == "ignore":
        shown = ", ".join(f"'{c}'" for c in unknown)
        out.notes.append(
            f"{len(unknown)} column{'s' if len(unknown) != 1 else ''} not imported "
            f"(--ignore-unmapped): {shown}"
        )
    elif unknown:
        raise _unmapped_error(source, schema, unknown)
    if out.parent_left:
        shown = ", ".join(out.parent_left[:12]) + (", …" if len(out.parent_left) > 12 else "")
        out.notes.append(
            f"fields of the parent record not imported: {shown} "
            "(--map 'parent.FIELD=KEY' takes one)"
        )
    kept = [c for c, k in out.keys.items() if k == EXTRA]
    if kept:
        out.notes.append(
            f"{len(kept)} column{'s' if len(kept) != 1 else ''} kept under 'extra:' "
            f"(--keep-unmapped): " + ", ".join(f"'{c}'" for c in kept)
        )
    return out


def _unknown_map(
    spec: str, missing: list[str], source: Source, by_name: Mapping[str, str]
) -> UsageError:
    lines = []
    for part in missing:
        best = suggest(part, list(by_name), cutoff=60)
        lines.append(f"'{part}'" + (f" (did you mean '{by_name[best]}'?)" if best else ""))
    shown = ", ".join(f"'{c}'" for c in source.columns[:15])
    return UsageError(
        f"--map: {source.shown} has no column " + "; ".join(lines) + "; nothing was written",
        hint=f"its columns: {shown}" + (", …" if len(source.columns) > 15 else ""),
    )


def _unmapped_error(source: Source, schema: Schema, unknown: list[str]) -> UsageError:
    lines = []
    for column in unknown:
        best = _closest_key(column, schema, [row.data.get(column) for row in source.rows])
        count = ""
        if source.fmt == "md":
            n = sum(1 for row in source.rows if not is_blank(row.data.get(column)))
            count = f" in {n} file{'s' if n != 1 else ''}"
        nested = any(
            isinstance(v := row.data.get(column), list)
            and v
            and all(isinstance(i, dict) for i in v)
            for row in source.rows
        )
        if nested:
            # A list of objects: most likely the records themselves, one level down.
            lines.append(
                f"'{column}' (a list of objects: are the records in it? --records {column})"
            )
            continue
        lines.append(
            f"'{column}'{count}"
            + (f" (did you mean '{best}'? --map '{column}={best}')" if best else "")
        )
    shown = "; ".join(lines)
    what = "column"
    return UsageError(
        f"{len(unknown)} {what}{'s' if len(unknown) != 1 else ''} of {source.shown} "
        f"{'are' if len(unknown) != 1 else 'is'} not a record key: {shown}; "
        "nothing was written",
        hint="map a column with --map 'SRC=KEY', or leave it out with --map 'SRC='; "
        "--ignore-unmapped leaves out all such columns, --keep-unmapped keeps them under "
        "extra:; --dry-run --write-mapping FILE writes all of this into a file to edit",
    )


# --- values ------------------------------------------------------------------------------


def choice_fields(schema: Schema) -> dict[str, tuple[str, ...]]:
    """Each key whose value is one of a list, with the list."""
    out: dict[str, tuple[str, ...]] = {
        "kind": KINDS,
        "impact": IMPACTS,
        "stage": tuple(schema.stages),
        "visibility": VISIBILITIES,
        "status": STATUSES,
    }
    for custom in schema.fields:
        if custom.type == "choice":
            out[custom.name] = custom.values
    return out


def value_key(text: str) -> str:
    """A value as matched by ``--map-value``: case, accents and spacing do not matter."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


@dataclass
class ValueMaps:
    """``--map-value KEY:SOURCE=VALUE``: per key, source value (matched loosely) -> value."""

    maps: dict[str, dict[str, str]] = field(default_factory=dict)
    # As typed, for messages: (key, source) -> the option's text.
    typed: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, key: str, value: str) -> str | None:
        """The value ``value`` of ``key`` maps to, if any."""
        return self.maps.get(key, {}).get(value_key(value))


def parse_value_maps(specs: Iterable[str], schema: Schema) -> ValueMaps:
    """``--map-value kind:"Lição Aprendida"=success`` options, checked against the choices."""
    choices = choice_fields(schema)
    out = ValueMaps()
    for spec in specs:
        field_name, colon, rest = spec.partition(":")
        source_value, eq, target = rest.rpartition("=")
        if not colon or not eq or not source_value.strip() or not target.strip():
            raise UsageError(
                f"--map-value takes KEY:SOURCE=VALUE, not '{spec}'",
                hint="e.g. --map-value 'kind:Lição Aprendida=success'",
            )
        key = _key_for(field_name, schema, f"--map-value '{spec}'")
        options = choices.get(key)
        if key == "actions":
            options = ACTION_STATUSES
        if options is None:
            raise UsageError(
                f"--map-value '{spec}': '{key}' takes any text; values are mapped only for "
                + ", ".join(choices),
            )
        target = target.strip().strip("'\"")
        matched = {o.casefold(): o for o in options}.get(target.casefold())
        if matched is None:
            raise UsageError(
                f"--map-value '{spec}': '{target}' is not a {key}; the {key}s are "
                + ", ".join(options)
                + did_you_mean(target, options)
            )
        source_value = source_value.strip().strip("'\"")
        out.maps.setdefault(key, {})[value_key(source_value)] = matched
        out.typed[(key, value_key(source_value))] = source_value
    return out


def distinct_values(values: Iterable[str]) -> list[tuple[str, int]]:
    """Each distinct value (as first written) with how often it occurs, most frequent first."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for value in values:
        k = value_key(value)
        first.setdefault(k, value.strip())
        counts[k] += 1
    return [(first[k], n) for k, n in counts.most_common()]
