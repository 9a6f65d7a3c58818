"""Exceptions raised by services; every message tells the user what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotate.errors import AnnotateError


class ServiceError(AnnotateError):
    """A request that cannot be carried out; the message is shown to the user."""


class PermissionDenied(ServiceError):
    """The acting user's role or assignments do not allow this. ``actor`` and ``operation`` (when the
    raise site knows them) go into the audit entry of the refused attempt."""

    def __init__(self, message: str, *, actor: Any = None, operation: str | None = None) -> None:
        super().__init__(message)
        self.actor = actor
        self.operation = operation


class NotFound(ServiceError):
    """A named study, user, recording or assignment does not exist."""


class NotEnoughData(ServiceError):
    """Nothing to compute yet (e.g. no double-coded segments): a normal state, not a failure."""


class ConflictError(ServiceError):
    """The data changed since it was read (another tab or user saved first)."""


class DatabaseUnavailable(ServiceError):
    """The database refused or dropped the connection, or stayed busy (nothing of the work was kept)."""


class ReasonRequired(ServiceError):
    """Changing finished or frozen work needs a reason for the history."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row number as a spreadsheet shows it (header = row 1)
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class ImportRejected(ServiceError):
    """An all-or-nothing import found bad rows; nothing was written."""

    def __init__(self, what: str, errors: list[RowError]):
        self.errors = errors
        shown = "\n".join(f"  - {e}" for e in errors[:50])
        more = f"\n  … and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(
            f"{what}: {len(errors)} problem(s), nothing was imported. Fix these rows and "
            f"import the file again:\n{shown}{more}"
        )
