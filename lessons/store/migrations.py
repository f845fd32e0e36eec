"""The versions of a shared (PostgreSQL) index's schema, and how one becomes the next.

A SQLite index is private and derived: a new layout simply rebuilds it. A shared
index holds what many teams published, so a newer ``lessons`` upgrades it in place,
one step per version, and an older ``lessons`` refuses a newer index rather than
write into a layout it does not know. All of it happens in one transaction under an
exclusive advisory lock, which every publication also takes (shared): processes
that start at once on an empty database wait for the one that creates the schema,
and an upgrade waits for the publications running to finish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lessons.errors import AccessError, StoreError

if TYPE_CHECKING:
    from lessons.store.postgres import PostgresStore

# The schema version this lessons writes and reads. Bump it with a step below.
CURRENT = 3


def _ranked_index(store: PostgresStore) -> None:
    """Version 2: a RUM index over the records' text, where the server has the
    extension and this role may add it: the best few of a word that a hundred
    thousand records hold come from the index, ranked, instead of ranking every one
    of them. Without it (no extension, or no superuser to create it) search is
    exact and slower at that size; a database's owner may add it at any time
    (docs/postgres.md), and searches use it from then on."""
    available = store.one("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
    if not available:
        return
    from psycopg import errors

    store.execute("SAVEPOINT rum")
    try:
        store.execute("CREATE EXTENSION IF NOT EXISTS rum")
        store.execute(
            f"CREATE INDEX IF NOT EXISTS {RANKED_INDEX} ON record USING rum (tsv rum_tsvector_ops)"
        )
    except (AccessError, errors.FeatureNotSupported, errors.UndefinedFile):
        store.execute("ROLLBACK TO SAVEPOINT rum")
    else:
        store.execute("RELEASE SAVEPOINT rum")


RANKED_INDEX = "ix_record_rum"


def _vectors(store: PostgresStore) -> None:
    """Version 3: the tables of the records' vectors (semantic search), from the models;
    the next publication of each knowledge base fills them."""
    from lessons.store.models import shared_ddl

    for statement in shared_ddl(("vector", "record_vector")):
        store.execute(statement)


# version -> the statements that bring an index of the version before it to it. An
# index made from nothing is created at CURRENT directly from the models (_create).
STEPS: dict[int, Callable[[PostgresStore], None]] = {2: _ranked_index, 3: _vectors}


def check_version(store: PostgresStore, version: int | None) -> None:
    """Refuse an index made by a newer lessons."""
    if version is not None and version > CURRENT:
        raise StoreError(
            f"the index at {store.where_} has schema version {version}, newer than this"
            f" lessons knows ({CURRENT}); nothing was changed",
            hint="upgrade lessons (pip install -U lessons) to use this index",
        )


def migrate(store: PostgresStore) -> None:
    """Make the schema current: create it, upgrade it, or refuse it."""
    version = store._version()
    check_version(store, version)
    if version == CURRENT:
        return
    from psycopg import IsolationLevel

    from lessons.store.postgres import LOCK_CLASS, NAMESPACE

    conn = store.conn
    store._rollback()
    conn.isolation_level = IsolationLevel.READ_COMMITTED
    try:
        store.execute(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, 0)")
        # Another process may have made or upgraded it while this one waited.
        version = store._version_in_transaction()
        check_version(store, version)
        if version != CURRENT:
            if version is None:
                _guard_namespace(store)
                _create(store)
            else:
                for step in range(version + 1, CURRENT + 1):
                    STEPS[step](store)
            store.execute(f"DELETE FROM {NAMESPACE}.meta WHERE key = 'schema' AND kb = ''")
            store.execute(
                f"INSERT INTO {NAMESPACE}.meta (key, kb, value) VALUES ('schema', '', ?)",
                (str(CURRENT),),
            )
        conn.commit()
    except AccessError:
        store._rollback()
        raise _cannot(store, version) from None
    except BaseException:
        store._rollback()
        raise
    finally:
        store._read_mode()


def _cannot(store: PostgresStore, version: int | None) -> StoreError:
    role = store._role()
    if version is None:
        return StoreError(
            f"nothing has been published to the index at {store.where_} yet, and the role"
            f" '{role}' may not create it",
            hint="publish once with a role that may create schema 'lessons' in the database"
            " (docs/postgres.md, Setting up)",
        )
    return StoreError(
        f"the index at {store.where_} needs upgrading from schema version {version} to"
        f" {CURRENT}, which the role '{role}' may not do",
        hint="run `lessons index` once with the publishing role (docs/postgres.md)",
    )


def _guard_namespace(store: PostgresStore) -> None:
    """A schema named ``lessons`` that holds tables but no index of ours is someone
    else's: refuse it rather than create tables among theirs."""
    from lessons.store.postgres import NAMESPACE

    row = store.one(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ? AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
        (NAMESPACE,),
    )
    if row and row[0]:
        raise StoreError(
            f"the database of {store.where_} has a schema '{NAMESPACE}' that is not a lessons"
            " index; nothing was changed",
            hint="use another database for the index, or rename that schema",
        )


def _create(store: PostgresStore) -> None:
    """The whole schema at CURRENT, from the SQLModel models plus what they cannot say
    (the full-text column, the trigram index)."""
    from lessons.store.models import shared_ddl
    from lessons.store.postgres import NAMESPACE, TSV

    store.execute(f"CREATE SCHEMA IF NOT EXISTS {NAMESPACE}")
    _trigrams(store)
    for statement in shared_ddl():
        store.execute(statement)
    # Stored, so ranking reads it instead of re-parsing every matching record.
    store.execute(f"ALTER TABLE record ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({TSV}) STORED")
    store.execute("CREATE INDEX ix_record_tsv ON record USING gin (tsv)")
    store.execute("CREATE INDEX ix_word_trgm ON word USING gin (word gin_trgm_ops)")
    # "no record with id 'x'" names the closest ids without reading them all.
    store.execute("CREATE INDEX ix_record_id_trgm ON record USING gin (id gin_trgm_ops)")
    _ranked_index(store)


def _trigrams(store: PostgresStore) -> None:
    """pg_trgm, which typo correction needs: made here if the role may (it is a
    trusted extension: the database's owner may), else a clear request."""
    row = store.one("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if row:
        return
    from psycopg import errors

    try:
        store.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except AccessError:
        raise StoreError(
            f"the index at {store.where_} needs the pg_trgm extension, which the role"
            f" '{store._role()}' may not create",
            hint="ask the database's owner to run: CREATE EXTENSION pg_trgm;",
        ) from None
    except errors.FeatureNotSupported:  # pragma: no cover - a server without contrib
        raise StoreError(
            f"the server of the index at {store.where_} has no pg_trgm extension",
            hint="install PostgreSQL's contrib package (postgresql-contrib)",
        ) from None
