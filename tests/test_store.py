"""The store: SQLModel tables are the schema; the DB-API adapters follow them; PostgreSQL works."""

from __future__ import annotations

import json

import pytest
from conftest import KB

from lessons.store import schema


def test_adapter_column_lists_match_the_sqlmodel_tables() -> None:
    from lessons.store.models import (
        ActionRow,
        FileRow,
        LinkRow,
        MetaRow,
        RecordRow,
        RecordVectorRow,
        TagRow,
        VectorRow,
    )

    def columns(model: type, *, shared: bool = True) -> list[str]:
        # The knowledge-base columns are written by the adapters apart from the rest.
        names = [c.name for c in model.__table__.columns]  # type: ignore[attr-defined]
        # Vectors belong to a record (its pk is unique across knowledge bases) or to a
        # text (the cache is shared by content): no knowledge-base column.
        assert ("kb" in names) == shared
        return [n for n in names if n not in ("kb", "dst_kb")]

    assert columns(RecordRow) == ["pk", *schema.RECORD_COLUMNS]
    assert columns(FileRow) == list(schema.FILE_COLUMNS)
    assert columns(TagRow) == list(schema.TAG_COLUMNS)
    assert columns(LinkRow) == list(schema.LINK_COLUMNS)
    assert columns(ActionRow) == list(schema.ACTION_COLUMNS)
    assert columns(MetaRow) == ["key", "value"]
    assert columns(VectorRow, shared=False) == list(schema.VECTOR_COLUMNS)
    assert columns(RecordVectorRow, shared=False) == list(schema.RECORD_VECTOR_COLUMNS)
    models = (RecordRow, FileRow, TagRow, LinkRow, ActionRow, MetaRow, RecordVectorRow)
    tables = {m.__tablename__ for m in models}
    assert tables == set(schema.TABLES)
    # The vector cache outlives a new schema: it is not among the tables dropped.
    assert VectorRow.__tablename__ not in schema.TABLES
    assert set(schema.FTS_COLUMNS) <= set(schema.RECORD_COLUMNS)


def test_sqlite_schema_version_is_in_user_version(kb: KB) -> None:
    import sqlite3

    kb.add("one")
    kb.run("index")
    conn = sqlite3.connect(kb.root / ".lessons" / "index.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"record", "file", "tag", "link", "action", "meta", "record_fts"} <= names


def test_postgres_store_indexes_lists_shows_and_syncs(kb: KB, pg_url: str) -> None:
    kb.add("cause", links=[{"to": "effect", "rel": "caused-by"}], tags=["ops"], campaign="Q1")
    kb.add("effect", kind="success", actions=[{"do": "Write it up", "due": "2020-01-01"}])
    assert kb.run("--db", pg_url, "index").stderr == "+2 added  ~0 changed  -0 removed\n"
    listed = json.loads(kb.run("--db", pg_url, "list", "--json", "--tag", "ops").stdout)
    assert [r["id"] for r in listed["results"]] == ["cause"]
    shown = json.loads(kb.run("--db", pg_url, "show", "eff", "--json").stdout)
    assert shown["backlinks"] == [
        {"from": "cause", "rel": "caused-by", "as": "caused", "title": "Title of cause"}
    ]
    (kb.entries / "cause.yaml").unlink()
    assert kb.run("--db", pg_url, "index").stderr == "+0 added  ~0 changed  -1 removed\n"
    checked = json.loads(kb.run("--db", pg_url, "check", "--json").stdout)
    assert checked["errors"] == []
    assert [w["field"] for w in checked["warnings"]] == ["actions"]
    # The SQLite index was never touched.
    assert not (kb.root / ".lessons" / "index.db").exists()


def test_postgres_url_from_environment(
    kb: KB, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.add("one")
    monkeypatch.setenv("LESSONS_DB", pg_url)
    assert kb.run("index").stderr == "+1 added  ~0 changed  -0 removed\n"
    assert not (kb.root / ".lessons" / "index.db").exists()


def test_unreachable_postgres_is_a_clear_error(kb: KB) -> None:
    kb.add("one")
    out = kb.run("--db", "postgresql://nobody@127.0.0.1:1/none", "list")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: cannot connect to the PostgreSQL index")
