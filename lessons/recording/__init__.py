"""Recording: a new record from flags, a YAML file or the editor; editing one in the editor.

The CLI gathers input (flags, prompts, the editor) and decides what to ask; this
package builds and checks the record, finds the id and the path, compares it with
the records already there, and writes it. Nothing here prints or prompts: where a
person must decide, the caller passes a callback.

``flags`` turns command-line values into a record; ``draft`` checks a new record
and writes it; ``similar`` finds records close to it; ``template`` is the text the
editor opens; ``editor`` runs ``$EDITOR`` and the re-open loop; ``edit`` is
``lessons edit ID`` on an existing file.
"""

from lessons.recording.draft import (
    Draft,
    prepare,
    strip_comment_lines,
    taken_ids,
    target_path,
    write,
)
from lessons.recording.edit import Opened, check_edit, open_record, save_edit
from lessons.recording.editor import (
    ERROR_MARK,
    EditorError,
    edit_until_valid,
    editor_command,
    is_blank,
    run_editor,
    with_error_line,
)
from lessons.recording.flags import (
    FLAGS,
    NEEDED,
    missing,
    missing_error,
    parse_action,
    parse_fields,
    parse_link,
    raw_from_flags,
    resolve_choice,
)
from lessons.recording.questions import FieldQuestion, complete_value, field_questions
from lessons.recording.similar import SIMILAR_CUTOFF, Similar, link_for, similar_records
from lessons.recording.template import template

__all__ = [
    "ERROR_MARK",
    "FLAGS",
    "NEEDED",
    "SIMILAR_CUTOFF",
    "Draft",
    "EditorError",
    "FieldQuestion",
    "Opened",
    "Similar",
    "check_edit",
    "complete_value",
    "edit_until_valid",
    "editor_command",
    "field_questions",
    "is_blank",
    "link_for",
    "missing",
    "missing_error",
    "open_record",
    "parse_action",
    "parse_fields",
    "parse_link",
    "prepare",
    "raw_from_flags",
    "resolve_choice",
    "run_editor",
    "save_edit",
    "similar_records",
    "strip_comment_lines",
    "taken_ids",
    "target_path",
    "template",
    "with_error_line",
    "write",
]
