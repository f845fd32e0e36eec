"""What the DB-API adapters need to know of the schema, without importing SQLModel.

``store/models.py`` is the definition; ``tests/test_store.py`` checks these
column lists against it, so the two cannot drift apart.
"""

# Bump when a table, column or the FTS layout changes: a SQLite index rebuilds itself.
# (A shared PostgreSQL index is upgraded in place instead: store/migrations.py.)
SCHEMA_VERSION = 7

RECORD_COLUMNS = (
    "id",
    "path",
    "title",
    "kind",
    "date",
    "summary",
    "lesson",
    "recommendations",
    "impact",
    "impact_rank",
    "campaign",
    "team",
    "stage",
    "visibility",
    "status",
    "recorded",
    "tags_text",
    "body",
    "data",
)
FILE_COLUMNS = ("path", "mtime_ns", "size", "digest", "record_id", "problems", "duplicate")
TAG_COLUMNS = ("record_id", "tag")
LINK_COLUMNS = ("src", "dst", "rel", "note", "seq")
ACTION_COLUMNS = ("record_id", "seq", "task", "owner", "due", "status")

# The full-text columns, in the order of the FTS table (bm25() weights follow it).
FTS_COLUMNS = (
    "title",
    "tags_text",
    "lesson",
    "recommendations",
    "summary",
    "campaign",
    "team",
    "body",
)
# Dropped when the index is made afresh. The ``vector`` table is not: it is a cache of
# embeddings by content hash, still good for the same texts after a schema change.
TABLES = ("record", "file", "tag", "link", "action", "meta", "record_vector")
VECTOR_COLUMNS = ("digest", "vec")
RECORD_VECTOR_COLUMNS = ("pk", "digest", "vec")

# Keys of the meta table that belong to the index as a whole (``kb = ''``); every
# other key is one knowledge base's (its scan stamp, configuration fingerprint, ...).
GLOBAL_META = ("schema",)
