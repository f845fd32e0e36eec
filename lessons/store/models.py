"""The index tables as SQLModel models: the one definition of the store's schema.

Both engines create their tables from this metadata. The SQLite adapter then
talks to them through the standard library's ``sqlite3`` (see ``store/base.py``
for why); ``tests/test_store.py`` checks that its column lists match these models.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel


class RecordRow(SQLModel, table=True):
    """One valid record, with the text columns the full-text index reads."""

    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_date", "date"),
        Index("ix_record_kind", "kind"),
        Index("ix_record_campaign", "campaign"),
        Index("ix_record_path", "path"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(Text, unique=True, nullable=False))
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
    __table_args__ = (Index("ix_file_record", "record_id"),)

    path: str = Field(sa_column=Column(Text, primary_key=True))
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
    __table_args__ = (Index("ix_tag_tag", "tag"),)

    record_id: str = Field(sa_column=Column(Text, primary_key=True))
    tag: str = Field(sa_column=Column(Text, primary_key=True))


class LinkRow(SQLModel, table=True):
    """A typed link from one record to another (the target may not exist)."""

    __tablename__ = "link"
    __table_args__ = (Index("ix_link_dst", "dst"),)

    src: str = Field(sa_column=Column(Text, primary_key=True))
    dst: str = Field(sa_column=Column(Text, primary_key=True))
    rel: str = Field(sa_column=Column(Text, primary_key=True))
    note: str | None = Field(default=None, sa_column=Column(Text))
    seq: int = 0


class ActionRow(SQLModel, table=True):
    """A follow-up action of a record."""

    __tablename__ = "action"

    record_id: str = Field(sa_column=Column(Text, primary_key=True))
    seq: int = Field(primary_key=True)
    # The record calls it `do`, a reserved word in PostgreSQL.
    task: str = Field(sa_column=Column(Text, nullable=False))
    owner: str | None = Field(default=None, sa_column=Column(Text))
    due: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(sa_column=Column(Text, nullable=False))


class MetaRow(SQLModel, table=True):
    """Settings of the index itself (schema version, configuration fingerprint)."""

    __tablename__ = "meta"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class VectorRow(SQLModel, table=True):
    """An embedding of a record's text, keyed by the hash of the model and the text: an
    unchanged text is never embedded twice, and a new model version embeds anew."""

    __tablename__ = "vector"

    digest: str = Field(sa_column=Column(Text, primary_key=True))
    # A float32 scale then int8 components (lessons/search/semantic.py writes and reads).
    vec: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RecordVectorRow(SQLModel, table=True):
    """A record's current vector (records not listed have none yet). The vector is
    copied here from ``vector``: a search reads this table alone, in one pass."""

    __tablename__ = "record_vector"

    pk: int = Field(primary_key=True)
    digest: str = Field(sa_column=Column(Text, nullable=False))
    vec: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


def create_tables(url: str) -> None:
    """Create every table from the models (the one place the schema is made)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        SQLModel.metadata.create_all(engine)
    finally:
        engine.dispose()


def drop_tables(url: str) -> None:
    """Drop every table of the models (PostgreSQL rebuild)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        SQLModel.metadata.drop_all(engine)
    finally:
        engine.dispose()
