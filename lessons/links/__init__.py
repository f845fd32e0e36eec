"""Cross-links (SPEC §3): editing them, the link graph, related records and recurrence.

``edit`` adds and removes links in record files; ``similarity`` is the TF-IDF
text similarity that ``related``, ``recurrence`` and ``duplicates`` share;
``graph`` builds the link graph and renders it.
"""

from lessons.links.duplicates import NEAR_DUPLICATE, check_similar_records, near_duplicates
from lessons.links.edit import (
    SYMMETRIC,
    LinkEdit,
    add_link,
    check_relation,
    drop_links_to,
    remove_links,
    retarget_links,
)
from lessons.links.graph import Graph, graph, mermaid_id, to_dot, to_mermaid
from lessons.links.recurrence import (
    RECURRENCE_GAP_DAYS,
    RECURRENCE_SCORE,
    Recurrence,
    Recurrences,
    recurrence,
)
from lessons.links.related import Related, related

__all__ = [
    "NEAR_DUPLICATE",
    "RECURRENCE_GAP_DAYS",
    "RECURRENCE_SCORE",
    "SYMMETRIC",
    "Graph",
    "LinkEdit",
    "Recurrence",
    "Recurrences",
    "Related",
    "add_link",
    "check_relation",
    "check_similar_records",
    "drop_links_to",
    "graph",
    "mermaid_id",
    "near_duplicates",
    "recurrence",
    "related",
    "remove_links",
    "retarget_links",
    "to_dot",
    "to_mermaid",
]
