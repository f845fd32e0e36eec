"""The schema as this process finds it: made, upgraded or refused, and what a role may do."""

from __future__ import annotations

from lessons.errors import StoreError
from lessons.store.postgres.connect import LOCK_CLASS, LOCK_WAIT, NAMESPACE
from lessons.store.postgres.plumbing import Plumbing

WRITE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
TABLES = (
    "record",
    "file",
    "tag",
    "link",
    "action",
    "meta",
    "word",
    "term",
    "kb_total",
    "champion",
)


class Schema(Plumbing):
    """Schema version, knowledge bases, privileges."""

    def _version(self) -> int | None:
        """The schema version the index records, or None where there is no index."""
        from psycopg import errors

        try:
            row = (
                super()
                .execute(f"SELECT value FROM {NAMESPACE}.meta WHERE key = 'schema' AND kb = ''")
                .fetchone()
            )
        except errors.UndefinedTable:
            self._rollback()
            return None
        except Exception as exc:
            self._fail(exc)
        return int(row[0]) if row else None

    def _version_in_transaction(self) -> int | None:
        """``_version`` inside a transaction that must not end (it holds a lock)."""
        if self.one(f"SELECT to_regclass('{NAMESPACE}.meta')")[0] is None:
            return None
        row = self.one(f"SELECT value FROM {NAMESPACE}.meta WHERE key = 'schema' AND kb = ''")
        return int(row[0]) if row else None

    def schema_version(self) -> int | None:
        return self._version()

    def prepare(self, *, create: bool = True) -> None:
        """Make the schema current: made if absent (unless not ``create``: a read with
        nothing published), upgraded in place if older, refused if newer than this
        lessons knows. Once per process."""
        if self._schema_checked:
            return
        from lessons.store.migrations import migrate

        if not create and self._version() is None:
            raise StoreError(
                f"nothing has been published to the index at {self.where_} yet",
                hint="publish a knowledge base into it: lessons --db URL index (in its folder)",
            )
        migrate(self)
        self._schema_checked = True
        from lessons.store.migrations import RANKED_INDEX

        found = self.one(f"SELECT to_regclass('{NAMESPACE}.{RANKED_INDEX}')")
        self.ranked = found[0] is not None
        lists = self.one(f"SELECT to_regclass('{NAMESPACE}.champion')")
        self.champions = lists[0] is not None
        self.trigrams = self._has_trigrams()

    def ensure_schema(self, fingerprint: str) -> bool:
        """The schema made current; True when the home knowledge base's rows must be
        published afresh (it is new here, or its configuration changed)."""
        self.prepare()
        return self.get_meta("config") != fingerprint

    def create_schema(self) -> None:
        # Never drops the shared index: rebuilding one knowledge base is forget_kb().
        self.prepare()

    def can_publish(self) -> bool:
        """True when this role may write every table of the index."""
        checks = " AND ".join(
            f"has_table_privilege('{NAMESPACE}.{t}', '{p}')"
            for t in TABLES
            for p in WRITE_PRIVILEGES
        )
        # A record's pk comes from its sequence.
        checks += f" AND has_sequence_privilege('{NAMESPACE}.record_pk_seq', 'USAGE')"
        row = self.one(f"SELECT {checks}")
        return bool(row[0])

    def forget_kb(self) -> int:
        """Inside a transaction: delete every row of the home knowledge base; return
        how many of its files the index knew."""
        kb = self.own_kb()
        gone = self.one(f"SELECT count(*) FROM file WHERE kb = {kb}")[0]
        # Through the record table's (kb, id) index: the child tables are keyed by
        # record id first, so each goes by its own key, not by a scan for kb.
        ids = f"(SELECT id FROM record WHERE kb = {kb})"
        # Its records' vectors go with them: a pk left behind names no record.
        self.execute(
            f"DELETE FROM record_vector WHERE pk IN (SELECT pk FROM record WHERE kb = {kb})"
        )
        self.execute(f"DELETE FROM tag WHERE kb = {kb} AND record_id IN {ids}")
        self.execute(f"DELETE FROM action WHERE kb = {kb} AND record_id IN {ids}")
        self.execute(f"DELETE FROM link WHERE kb = {kb} AND src IN {ids}")
        for table in ("record", "file", "word", "term", "kb_total", "champion"):
            self.execute(f"DELETE FROM {table} WHERE kb = {kb}")
        self.execute(f"DELETE FROM meta WHERE kb = {kb}")
        self._totals = None
        return int(gone)

    def knowledge_bases(self) -> list[str]:
        rows = self.all("SELECT DISTINCT kb FROM meta WHERE key = 'config' ORDER BY kb")
        return [r[0] for r in rows]

    def _has_trigrams(self) -> bool:
        from lessons.store.migrations import TRIGRAM_INDEX

        row = self.one(
            f"SELECT to_regclass('{NAMESPACE}.{TRIGRAM_INDEX}') IS NOT NULL"
            " AND to_regclass('" + NAMESPACE + ".ix_record_id_trgm') IS NOT NULL"
        )
        return bool(row[0])

    def begin(self) -> None:
        # Shared: a migration (exclusive) waits for running publications and keeps new
        # ones out. Then the one lock of this knowledge base's name: another team's
        # publication runs alongside, and touches none of these rows.
        self.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        self.execute(f"SELECT pg_advisory_xact_lock_shared({LOCK_CLASS}, 0)")
        if self.home is not None:
            self.execute(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext(?))", (self.home,))
        from lessons.store.migrations import check_version

        # A newer lessons may have upgraded the index since this process looked.
        check_version(self, self._version_in_transaction())
