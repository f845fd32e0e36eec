"""Import and export (SPEC §8): CSV, JSON, JSONL and YAML in; those and Markdown out.

Import happens in two steps. ``plan_import`` reads the source, matches its
columns to record keys, normalises values (dates, tags, lists, ids) and
validates every row, without writing anything: it is all ``--dry-run`` needs.
``apply_import`` then writes the plan (new files with ``dump_record`` and an
atomic write, existing ones through the round-trip-safe ``edit_file``) and
syncs the index once.

CSV cells of list fields hold items separated by ``;``. Inside an item ``\\;``
stands for a literal ``;`` and ``\\\\`` for a backslash; a backslash before
anything else is kept as it is. Links are ``rel:id`` or ``rel:id:note`` items;
actions are a JSON list (or plain ``;``-separated things to do).

The parts: ``source`` (what a reader gives), ``readers/`` (one per format),
``mapping`` (columns to keys), ``dates`` and ``values`` (cells), ``convert``
(a row's values), ``plan`` (validate and classify), ``apply`` (write) and
``export``.
"""

from lessons.interop.apply import PARALLEL_FROM, ImportResult, apply_import, conflict_error
from lessons.interop.dates import day_month_order, parse_loose_date
from lessons.interop.export import export_text, public_only
from lessons.interop.mapping import (
    map_columns,
    norm_name,
    parse_defaults,
    parse_maps,
    parse_value_maps,
)
from lessons.interop.mappingfile import load_mapping, suggest_value, write_mapping
from lessons.interop.plan import (
    ImportOptions,
    ImportPlan,
    Planned,
    dry_run_lines,
    first_records,
    plan_import,
    ranges,
    zone,
)
from lessons.interop.readers import open_source, read_source
from lessons.interop.source import (
    FORMATS_IN,
    FORMATS_OUT,
    ON_DUPLICATE,
    ReadOptions,
    Row,
    RowProblem,
    Source,
    decode,
    format_of,
    read_input,
)
from lessons.interop.values import LIST_SEP, first_sentence, join_list, shorten, split_list

__all__ = [
    "FORMATS_IN",
    "FORMATS_OUT",
    "LIST_SEP",
    "ON_DUPLICATE",
    "PARALLEL_FROM",
    "ImportOptions",
    "ImportPlan",
    "ImportResult",
    "Planned",
    "ReadOptions",
    "Row",
    "RowProblem",
    "Source",
    "apply_import",
    "conflict_error",
    "day_month_order",
    "decode",
    "dry_run_lines",
    "export_text",
    "first_records",
    "first_sentence",
    "format_of",
    "join_list",
    "load_mapping",
    "map_columns",
    "norm_name",
    "open_source",
    "parse_defaults",
    "parse_loose_date",
    "parse_maps",
    "parse_value_maps",
    "plan_import",
    "public_only",
    "ranges",
    "read_input",
    "read_source",
    "shorten",
    "split_list",
    "suggest_value",
    "write_mapping",
    "zone",
]
