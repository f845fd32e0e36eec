"""What a site publishes: the records the filters and the visibility rule select.

Every page, the search index, the feed and ``lessons.json`` are built from a
knowledge base that holds the published records and nothing else. When some
records stay out (internal ones, or the filters), they are copied into a
throwaway SQLite index first, so that the retrospective, the recurring
mistakes, backlinks and the graph, which read the index, cannot reach a record
that is not published: a title cannot leak through a backlink or a "repeats"
pair by construction, not by care in each page.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.errors import NoMatchError, UsageError
from lessons.filters import Filters


@dataclass
class Published:
    """The records going out, and a knowledge base whose index holds exactly them."""

    kb: Any
    records: list[dict[str, Any]]
    internal: bool
    # Links dropped because their target is not published (counted for the summary).
    hidden_links: int = 0


def wants_internal(config_internal: bool | None, asked: bool) -> bool:
    """Whether internal records go out: ``--internal``, or ``site.internal: true``.

    ``site.internal: false`` in ``lessons.yaml`` refuses ``--internal``: an
    organisation can make sure its internal records never reach a website.
    """
    if asked and config_internal is False:
        raise UsageError(
            "this knowledge base does not allow internal records on its website",
            path="lessons.yaml",
            field="site.internal",
            hint="leave out --internal, or set site.internal to true",
        )
    return asked or bool(config_internal)


@contextmanager
def published(kb: Any, filters: Filters, *, internal: bool) -> Iterator[Published]:
    """The records to publish (public ones unless ``internal``), with a knowledge base
    indexing only them; temporary files are removed on the way out."""
    # The file a record came from is the knowledge base's business, not the site's.
    records = [
        {k: v for k, v in rec.items() if k != "path"}
        for rec in kb.store.records(filters, sort="id")
    ]
    if not records and not filters.is_empty():
        raise NoMatchError(
            f"no records with {filters.describe()}: nothing to publish",
            hint="loosen the filters",
        )
    chosen = records if internal else [r for r in records if r.get("visibility") == "public"]
    if len(chosen) == kb.store.count():
        # Everything goes out: the knowledge base's own index is the published one.
        yield Published(kb, chosen, internal)
        return
    ids = {r["id"] for r in chosen}
    hidden = 0
    for rec in chosen:
        kept = [link for link in rec.get("links") or [] if link["to"] in ids]
        hidden += len(rec.get("links") or []) - len(kept)
        rec["links"] = kept
    folder = Path(tempfile.mkdtemp(prefix="lessons-site-"))
    try:
        yield Published(_indexed(kb, chosen, folder), chosen, internal, hidden)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _indexed(kb: Any, records: list[dict[str, Any]], folder: Path) -> Any:
    """A knowledge base over the same files whose (temporary) index holds ``records``."""
    from lessons.kb import KnowledgeBase

    pub = KnowledgeBase(kb.config, f"sqlite:///{folder / 'index.db'}")
    store = pub.store
    store.ensure_schema(kb.config.fingerprint)
    with store.transaction(), store.bulk():
        store.insert_records([(rec, f"{rec['id']}.yaml") for rec in records])
    pub.synced = True
    return pub
