"""The index store: one class over a DB-API connection, one subclass per engine.

The tables are the SQLModel models of ``store/models.py`` and are created from
them. Reads and the incremental sync go through plain DB-API SQL: importing
SQLAlchemy and SQLModel costs about 0.35 s, more than a whole search may take,
so the hot path never pays for it (SPEC §9, issue 8). The schema is made with
SQLModel only when an index is created, rebuilt or upgraded.

``Store`` is put together from one part per concern, each a module here:
``connection`` (the DB-API connection, transactions, which knowledge bases a query
covers), ``meta`` (schema version, settings), ``sync`` (what the indexer writes),
``reading`` (records, listings, counts), ``related`` (links, shared tags,
similarity), ``search`` (candidates and statistics the ranker needs) and
``vectors``. An engine subclasses ``Store`` and overrides what it does its own way.
"""

from __future__ import annotations

from lessons.store.base.connection import split_ref, sql_text
from lessons.store.base.meta import Meta
from lessons.store.base.reading import SORTS
from lessons.store.base.related import Related
from lessons.store.base.search import Search
from lessons.store.base.sync import Sync, record_row
from lessons.store.base.vectors import Vectors


class Store(Meta, Sync, Related, Search, Vectors):
    """The index: files seen, records, tags, links and actions, plus the queries over them."""


__all__ = ["SORTS", "Store", "record_row", "split_ref", "sql_text"]
