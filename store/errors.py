"""Errors that name the row, the field and what is wrong, so a person can fix their file.

Domain errors carry no HTTP status: the API maps them in one handler (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

# A file with a million bad rows would otherwise become a million messages (gigabytes, minutes
# to build, a response nobody reads): the first ERRORS_LISTED are listed, the rest counted.
ERRORS_LISTED = 1000


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


@dataclass(frozen=True)
class MoreErrors(RowError):
    """Stands for `count` bad values that are not listed, the first of them on `row`."""

    count: int = 0


def more_errors(row: int, count: int) -> MoreErrors:
    return MoreErrors(
        row,
        None,
        f"{count:,} more bad value(s) from row {row} on are not listed; "
        "fix the ones listed and upload again to see them",
        count=count,
    )


def error_count(errors: Iterable[RowError]) -> int:
    """Bad values in `errors`, those only counted in a MoreErrors included."""
    return sum(e.count if isinstance(e, MoreErrors) else 1 for e in errors)


def limit_errors(errors: Iterable[RowError], limit: int = ERRORS_LISTED) -> list[RowError]:
    """The first `limit` errors by row (file problems first), and one MoreErrors for the rest
    (merging the MoreErrors already among them, e.g. one per validated chunk)."""
    listed: list[RowError] = []
    extra = 0
    first_unlisted: list[int] = []
    for e in errors:
        if isinstance(e, MoreErrors):
            extra += e.count
            first_unlisted.append(e.row)
        else:
            listed.append(e)
    listed.sort(key=lambda e: e.row)
    if len(listed) <= limit and not extra:
        return listed
    dropped = listed[limit:]
    count = len(dropped) + extra
    first_unlisted += [e.row for e in dropped[:1]]
    return listed[:limit] + ([more_errors(min(first_unlisted), count)] if count else [])


class ErrorList:
    """Collects errors one by one, keeping only the first `limit` and counting the others."""

    def __init__(self, limit: int = ERRORS_LISTED) -> None:
        self.limit = limit
        self.items: list[RowError] = []
        self.more = 0
        self.first_more_row: int | None = None

    def add(self, error: RowError) -> None:
        if len(self.items) < self.limit:
            self.items.append(error)
            return
        self.more += 1
        if self.first_more_row is None or error.row < self.first_more_row:
            self.first_more_row = error.row

    def __bool__(self) -> bool:
        return bool(self.items)

    def result(self) -> list[RowError]:
        if not self.more or self.first_more_row is None:
            return list(self.items)
        return [*self.items, more_errors(self.first_more_row, self.more)]


class StoreError(Exception):
    """Base of the store's domain errors."""


class BatchRejected(StoreError):
    """A batch had bad rows: nothing of it was stored. Carries every bad row, not only the first."""

    def __init__(self, errors: list[RowError], *, kind: str | None = None) -> None:
        self.errors = errors
        self.kind = kind
        super().__init__(f"{error_count(errors)} bad value(s); nothing was stored")


class DocumentConflict(StoreError):
    """The same document id came again with different content and the upload did not say replace."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} document(s) conflict with stored versions; nothing was stored")
