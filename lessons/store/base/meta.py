"""The schema version and the ``meta`` table (settings kept in the index)."""

from __future__ import annotations

from lessons.store.base.connection import Connection
from lessons.store.schema import (
    GLOBAL_META,
    SCHEMA_VERSION,
)


class Meta(Connection):
    """The schema's version and the meta table."""

    def schema_version(self) -> int | None:
        """The version the index was built with, or None for an empty store."""
        raise NotImplementedError

    def create_schema(self) -> None:
        """Drop whatever is there and create the tables afresh."""
        raise NotImplementedError

    def _meta_kb(self, key: str) -> str:
        return "''" if key in GLOBAL_META else self.own_kb()

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table (the home knowledge base's, on a shared index)."""
        kb = f" AND kb = {self._meta_kb(key)}" if self.shared else ""
        row = self.one(f"SELECT value FROM meta WHERE key = ?{kb}", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        if not self.shared:
            self.execute("DELETE FROM meta WHERE key = ?", (key,))
            self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return
        kb = self._meta_kb(key)
        self.execute(f"DELETE FROM meta WHERE key = ? AND kb = {kb}", (key,))
        self.execute(f"INSERT INTO meta (key, kb, value) VALUES (?, {kb}, ?)", (key, value))

    def ensure_schema(self, fingerprint: str) -> bool:
        """Make the store current; True when it was (re)created and must be filled."""
        fresh = self.schema_version() != SCHEMA_VERSION
        if not fresh and self.get_meta("config") != fingerprint:
            fresh = True
        if fresh:
            with self.schema_lock():
                # Another process may have made it while this one waited for the lock.
                fresh = self.schema_version() != SCHEMA_VERSION
                if fresh or self.get_meta("config") != fingerprint:
                    fresh = True
                    self.create_schema()
                    with self.transaction():
                        self.set_meta("config", fingerprint)
        return fresh
