"""The one error family. Library code raises these; only the CLI renders them."""

from __future__ import annotations


class LessonsError(Exception):
    """Base of every error the tool reports to the user (exit code 2 unless set otherwise)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = path
        self.line = line
        self.field = field

    def where(self) -> str:
        """``path:line, field`` as far as it is known, or an empty string."""
        parts = []
        if self.path:
            parts.append(f"{self.path}:{self.line}" if self.line else self.path)
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


class UsageError(LessonsError):
    """The command line asked for something that cannot be done."""


class RecordError(LessonsError):
    """A record (file or imported row) is invalid."""


class NotFoundError(LessonsError):
    """An id, file or tag the user named does not exist."""


class ConflictError(LessonsError):
    """A file changed on disk since it was read, or another writer holds it."""


class NoMatchError(LessonsError):
    """A search or filter matched nothing (exit 1, not an error in the input)."""

    exit_code = 1


class StoreError(LessonsError):
    """The index store could not be opened or written."""


class AccessError(StoreError):
    """The index's server refused this role what the command needs (read-only role)."""
