"""The index tables as SQLModel models: the one definition of the store's schema.

Both engines create their tables from this metadata. The SQLite adapter then
talks to them through the standard library's ``sqlite3`` (see ``store/base/``
for why); ``tests/test_store.py`` checks that its column lists match these models.

Every row belongs to one knowledge base (``kb``): a shared PostgreSQL index holds
many, and a sync of one touches only its own rows. The embedded SQLite index holds
one, so there ``kb`` is the constant ``''`` and its keys and indexes are those of a
single knowledge base (the ``ddl_if`` variants below): its queries never name it.
Primary keys put ``kb`` last, so that both engines look rows up by their own key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

PG = "postgresql"
SQLITE = "sqlite"


def _kb(*, key: bool = False) -> Any:
    """The knowledge base a row belongs to: ``''`` by default, in a single-KB index
    (whose SQL never names it); a shared index names it in every insert, and refuses
    a row of no knowledge base (``_named``)."""
    return Field(sa_column=Column(Text, nullable=False, server_default="", primary_key=key))


def _named(table: str) -> CheckConstraint:
    return CheckConstraint("kb <> ''", name=f"ck_{table}_kb").ddl_if(dialect=PG)


class RecordRow(SQLModel, table=True):
    """One valid record, with the text columns the full-text index reads."""

    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("id", name="uq_record_id").ddl_if(dialect=SQLITE),
        UniqueConstraint("kb", "id", name="uq_record_kb_id").ddl_if(dialect=PG),
        _named("record"),
        Index("ix_record_date", "date"),
        Index("ix_record_kind", "kind"),
        Index("ix_record_campaign", "campaign"),
        Index("ix_record_path", "path").ddl_if(dialect=SQLITE),
        Index("ix_record_kb_path", "kb", "path").ddl_if(dialect=PG),
    )

    pk: int | None = Field(default=None, primary_key=True)
    kb: str = _kb()
    id: str = Field(sa_column=Column(Text, nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    date: str | None = Field(default=None, sa_column=Column(Text))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    lesson: str | None = Field(default=None, sa_column=Column(Text))
    recommendations: str | None = Field(default=None, sa_column=Column(Text))
    impact: str | None = Field(default=None, sa_column=Column(Text))
    impact_rank: int = 0
    campaign: str | None = Field(default=None, sa_column=Column(Text))
    team: str | None = Field(default=None, sa_column=Column(Text))
    stage: str | None = Field(default=None, sa_column=Column(Text))
    visibility: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    recorded: str | None = Field(default=None, sa_column=Column(Text))
    # Space-joined tags and the remaining text fields, for full-text search.
    tags_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The whole normalised record as JSON: show/export/reports read it without the files.
    data: str = Field(sa_column=Column(Text, nullable=False))


class FileRow(SQLModel, table=True):
    """Every entry file seen, valid or not, with what the incremental sync compares."""

    __tablename__ = "file"
    # Every command lists the skipped files (record_id IS NULL): no table scan for that.
    # On a shared index the same index also lists one knowledge base's files.
    __table_args__ = (
        Index("ix_file_record", "record_id").ddl_if(dialect=SQLITE),
        Index("ix_file_kb_record", "kb", "record_id").ddl_if(dialect=PG),
        _named("file"),
    )

    path: str = Field(sa_column=Column(Text, primary_key=True))
    kb: str = _kb(key=True)
    mtime_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    digest: str = Field(sa_column=Column(Text, nullable=False))
    record_id: str | None = Field(default=None, sa_column=Column(Text))
    # JSON list of problems (errors and warnings) found when the file was read.
    problems: str | None = Field(default=None, sa_column=Column(Text))
    duplicate: bool = False


class TagRow(SQLModel, table=True):
    """A tag on a record."""

    __tablename__ = "tag"
    __table_args__ = (
        Index("ix_tag_tag", "tag").ddl_if(dialect=SQLITE),
        Index("ix_tag_tag_kb", "tag", "kb").ddl_if(dialect=PG),
        _named("tag"),
    )

    record_id: str = Field(sa_column=Column(Text, primary_key=True))
    tag: str = Field(sa_column=Column(Text, primary_key=True))
    kb: str = _kb(key=True)


class LinkRow(SQLModel, table=True):
    """A typed link from one record to another (the target may not exist).

    ``dst_kb`` is the target's knowledge base on a shared index (``KB:ID`` links
    point into another); a single-KB index keeps ``dst`` as written and ``''`` here.
    """

    __tablename__ = "link"
    __table_args__ = (Index("ix_link_dst", "dst", "dst_kb"), _named("link"))

    src: str = Field(sa_column=Column(Text, primary_key=True))
    dst: str = Field(sa_column=Column(Text, primary_key=True))
    rel: str = Field(sa_column=Column(Text, primary_key=True))
    kb: str = _kb(key=True)
    dst_kb: str = _kb(key=True)
    note: str | None = Field(default=None, sa_column=Column(Text))
    seq: int = 0


class ActionRow(SQLModel, table=True):
    """A follow-up action of a record."""

    __tablename__ = "action"
    __table_args__ = (_named("action"),)

    record_id: str = Field(sa_column=Column(Text, primary_key=True))
    seq: int = Field(primary_key=True)
    kb: str = _kb(key=True)
    # The record calls it `do`, a reserved word in PostgreSQL.
    task: str = Field(sa_column=Column(Text, nullable=False))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    due: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(sa_column=Column(Text, nullable=False))


class MetaRow(SQLModel, table=True):
    """Settings of the index (schema version: ``kb`` is ``''``) and of each knowledge
    base in it (its scan stamp, configuration fingerprint, name, publication mode)."""

    __tablename__ = "meta"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    kb: str = _kb(key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class VectorRow(SQLModel, table=True):
    """An embedding of a record's text, keyed by the hash of the model and the text: an
    unchanged text is never embedded twice, and a new model version embeds anew."""

    __tablename__ = "vector"

    digest: str = Field(sa_column=Column(Text, primary_key=True))
    # A float32 scale then int8 components (lessons/search/semantic.py writes and reads
    # them; an index written by an older `lessons` may hold several per row, or another
    # size: they are skipped).
    vec: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RecordVectorRow(SQLModel, table=True):
    """A record's current vector (records not listed have none yet). The vector is
    copied here from ``vector``: a search reads this table alone, in one pass."""

    __tablename__ = "record_vector"

    pk: int = Field(primary_key=True)
    digest: str = Field(sa_column=Column(Text, nullable=False))
    vec: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WordRow(SQLModel, table=True):
    """Shared index only: each knowledge base's words as written (no stemming) and how
    many of its records hold each; kept in step by every publication, and searched
    with trigrams for typo correction (``store/postgres/``)."""

    __tablename__ = "word"
    __table_args__ = (Index("ix_word_kb", "kb"), _named("word"))

    # Bytewise order: a prefix is a range of the key (PostgreSQL's LIKE 'x%' is not).
    word: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    kb: str = _kb(key=True)
    ndoc: int = 0


# Tables only a shared (PostgreSQL) index has.
SHARED_ONLY = ("word",)


def create_tables(url: str) -> None:
    """Create every table of a single-KB (SQLite) index from the models."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        tables = [t for name, t in SQLModel.metadata.tables.items() if name not in SHARED_ONLY]
        SQLModel.metadata.create_all(engine, tables=tables)
    finally:
        engine.dispose()


def shared_ddl(only: tuple[str, ...] = ()) -> list[str]:
    """The PostgreSQL statements that create every table and index of the models, or
    of the tables ``only`` names (run by ``store/postgres/`` on its own connection,
    inside its schema lock)."""
    from sqlalchemy import create_mock_engine

    statements: list[str] = []

    def collect(sql: Any, *_args: Any, **_kwargs: Any) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine("postgresql+psycopg://", collect)
    tables = [t for name, t in SQLModel.metadata.tables.items() if not only or name in only]
    SQLModel.metadata.create_all(engine, tables=tables, checkfirst=False)
    return statements
