"""The life of a record after it is written: removed (``rm``), renamed (``mv``), its
actions closed and reopened.

``records`` removes and renames, through ``batch``: changes to several files
that happen together or not at all (and are undone after a crash); ``actions``
closes and reopens follow-up actions.
"""

from lessons.lifecycle.actions import ActionChange, close_action, reopen_action, who_am_i
from lessons.lifecycle.batch import Batch, pending, recover
from lessons.lifecycle.records import (
    Doomed,
    Removal,
    Renamed,
    plan_removal,
    remove_records,
    rename_record,
    still_linked,
)

__all__ = [
    "ActionChange",
    "Batch",
    "Doomed",
    "Removal",
    "Renamed",
    "close_action",
    "pending",
    "plan_removal",
    "recover",
    "remove_records",
    "rename_record",
    "reopen_action",
    "still_linked",
    "who_am_i",
]
