"""Errors that name the row, the field and what is wrong, so a person can fix their file.

Domain errors carry no HTTP status: the API maps them in one handler (DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RowError:
    """One bad value. `row` is what a person sees: the spreadsheet line (header = row 1) for CSV,
    the 1-based array index for JSON and Parquet, the document number in the upload for XML;
    0 when the problem is the file itself (encoding, header, empty)."""

    row: int
    field: str | None
    message: str
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class StoreError(Exception):
    """Base of the store's domain errors."""


class BatchRejected(StoreError):
    """A batch had bad rows: nothing of it was stored. Carries every bad row, not only the first."""

    def __init__(self, errors: list[RowError], *, kind: str | None = None) -> None:
        self.errors = errors
        self.kind = kind
        super().__init__(f"{len(errors)} bad value(s); nothing was stored")


class DocumentConflict(StoreError):
    """The same document id came again with different content and the upload did not say replace."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} document(s) conflict with stored versions; nothing was stored")
