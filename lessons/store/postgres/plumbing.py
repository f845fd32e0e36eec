"""Every statement through one place: driver errors become the user's, transactions
and their locks."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from lessons.errors import AccessError, ConflictError, StoreError
from lessons.store.base import Store
from lessons.store.postgres.connect import describe

if TYPE_CHECKING:
    from lessons.store.postgres.champions import Fresh


class Plumbing(Store):
    """The connection, its errors, its transactions."""

    param = "%s"
    shared = True

    def __init__(self, url: str, conn: Any) -> None:
        super().__init__(url, conn)
        self._schema_checked = False
        # A RUM index (store/migrations.py) ranks the best few of a common word.
        self.ranked = False
        # pg_trgm's index on the vocabulary (store/migrations.py): typo candidates.
        self.trigrams = False
        self._writing = False
        self._bulk: Counter[str] | None = None  # words of a publication afresh
        # Terms, records and tokens added since the statistics were last written.
        self._terms: Counter[str] = Counter()
        self._added = [0, 0]
        # What a publication changed, for its champion lists (publish.py): the terms of
        # the records it added or removed, and the ids it added.
        self._touched_terms: set[str] = set()
        self._new_ids: list[str] = []
        self._fresh: Fresh | None = None  # the new records' list entries (champions.py)
        # The champion lists (store/migrations.py, version 5): each term's best records
        # of each knowledge base, the candidates of a word too common to score every match.
        self.champions = False
        # (records, tokens) of the scope, once per process: BM25's N and average length.
        self._totals: tuple[int, int] | None = None
        # Expression -> (scores, matches) in the current read snapshot (search.py).
        self._scored_memo: dict[Any, tuple[dict[int, float], int]] = {}
        # pk -> (length, column starts, document as text) read in it (search.py).
        self._documents: dict[int, tuple[int, list[int], str]] = {}

    @property
    def where_(self) -> str:
        """``HOST/DB (masked URL)``, as messages name this index."""
        return describe(self.url)

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        try:
            return super().execute(query, params)
        except Exception as exc:
            self._fail(exc)

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            super().executemany(query, rows)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException, *, committing: bool = False) -> NoReturn:
        """Raise the error a user can act on for a driver error (others are bugs)."""
        import psycopg
        from psycopg import errors

        if not isinstance(exc, psycopg.Error):
            raise exc
        where = self.where_
        if isinstance(exc, psycopg.OperationalError) and (self.conn.broken or self.conn.closed):
            if committing:
                raise StoreError(
                    f"lost the connection to the index at {where} while committing",
                    hint="the publication may or may not have landed: run `lessons index` again",
                ) from None
            raise StoreError(
                f"lost the connection to the index at {where}; nothing was changed",
                hint="run the command again when the server answers",
            ) from None
        if isinstance(exc, errors.InsufficientPrivilege):
            raise AccessError(
                f"the role '{self._role()}' may not do this on the index at {where}:"
                f" {exc.diag.message_primary}",
                hint="publishing needs SELECT, INSERT, UPDATE and DELETE on the tables of"
                " schema 'lessons' (docs/postgres.md, Roles)",
            ) from None
        if isinstance(exc, errors.LockNotAvailable):
            raise ConflictError(
                f"another publication of '{self.home}' to the index at {where} is still running",
                hint="try again when it has finished",
            ) from None
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            raise ConflictError(
                f"the index at {where} was busy: {exc.diag.message_primary}",
                hint="try again in a moment",
            ) from None
        if isinstance(exc, errors.DiskFull | errors.OutOfMemory):
            raise StoreError(
                f"the server of the index at {where} is out of space: {exc.diag.message_primary}",
                hint="nothing was changed; free space on the server and run it again",
            ) from None
        if isinstance(exc, errors.QueryCanceled | errors.AdminShutdown):
            raise StoreError(
                f"the index at {where} stopped the query: {exc.diag.message_primary}",
                hint="nothing was changed; run the command again",
            ) from None
        raise exc

    @property
    def role(self) -> str:
        """The role this connection logged in as."""
        return self._role()

    def _role(self) -> str:
        try:
            return str(self.conn.info.user)
        except Exception:
            return "?"

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()

    def close(self) -> None:
        self._rollback()
        super().close()

    def _forget_reads(self) -> None:
        """Drop what was kept of the read snapshot that ends (search.py)."""
        self._scored_memo.clear()
        self._documents.clear()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction in read-committed mode (each statement sees what other
        publications committed); reads otherwise run in one repeatable-read snapshot."""
        from psycopg import IsolationLevel

        self._rollback()  # ends the read snapshot, if one is open
        self._forget_reads()
        self.conn.isolation_level = IsolationLevel.READ_COMMITTED
        self.conn.read_only = False
        self._writing = True
        try:
            self.begin()
            yield
            self._before_commit()
        except BaseException:
            self._rollback()
            raise
        finally:
            self._writing = False
            self._forget_reads()
            self._touched_terms, self._new_ids, self._fresh = set(), [], None
        try:
            self.conn.commit()
        except Exception as exc:
            self._fail(exc, committing=True)
        finally:
            self._read_mode()

    def _before_commit(self) -> None:
        """The last statements of a write transaction (publish.py keeps what depends on
        everything the publication changed up to date here)."""

    def _read_mode(self) -> None:
        from psycopg import IsolationLevel

        with contextlib.suppress(Exception):
            self.conn.isolation_level = IsolationLevel.REPEATABLE_READ
