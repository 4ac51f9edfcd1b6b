"""Database tables of the records, derived from the record contract in store/records.py.

The record tables are built from `store.records.KINDS` rather than written out by hand, so a field
added to the contract cannot be forgotten in the database (the migration is the frozen copy and a
test compares the two). They live in `SQLModel.metadata` beside the SQLModel classes of the other
store modules, so Alembic and `SQLModel.metadata.create_all` see one schema.

Every stored row carries where it came from and which version it is (DESIGN.md §7): `batch_id`,
`received_at`, `version` (1, 2, … per natural key), `is_current` and `record_hash` (a 64-bit hash of
the normalised record, which is what "same content" means for duplicates). Money is integer minor
units in `<field>_minor` beside the record's `currency`; never binary float.

Indexes cost more than anything else when a million rows arrive at once (issue 2 measured a bare
COPY of 1M invoices at 5.8 s against 32.7 s into the table with a serial id, a multi-column text
key index and a date index), so a record table has exactly one: a BIGINT `key_hash` (a 64-bit hash
of the natural key). Lookups join on `key_hash` AND the key columns themselves, so two documents
whose keys happen to share a hash are never merged. Nothing needs a surrogate id (no foreign key
points at a record, versions are addressed by key and version), and the loaders read most of a
table at once, where a date index is not used. Uniqueness of (key, version) is kept by ingestion,
which decides and writes each kind under a lock (store.ingest), not by a unique index.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.records import KINDS, FieldType, RecordKind

BATCH_STATUSES = ("accepted",)

# Columns every record table has besides the record's own fields.
META_COLUMNS = (
    "key_hash", "batch_id", "received_at", "version", "is_current", "record_hash", "uploaded_by",
)  # fmt: skip


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Batch(SQLModel, table=True):
    """One upload: who sent what, and what became of it. Written in the same transaction as the
    records, so a batch row that says "accepted" always has its records beside it."""

    __tablename__ = "batches"

    batch_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(index=True)
    uploaded_by: str
    source: str = ""
    content_hash: str = Field(default="", index=True)
    n_rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    replaced: int = 0
    status: str = "accepted"
    created_at: datetime = Field(
        default_factory=_utcnow, sa_type=sa.DateTime(timezone=True)  # type: ignore[call-overload]
    )


def column_type(ftype: FieldType) -> sa.types.TypeEngine[Any]:
    """SQL type of a record field (money is handled by the caller: it becomes `<name>_minor`)."""
    if ftype is FieldType.DATE:
        return sa.Date()
    if ftype in (FieldType.MONEY, FieldType.INT):
        return sa.BigInteger()
    if ftype is FieldType.BOOL:
        return sa.Boolean()
    if ftype is FieldType.DECIMAL:
        return sa.Numeric(24, 12, asdecimal=False)
    return sa.Text()


def data_columns(kind: RecordKind) -> list[str]:
    """The record's own columns as stored: each money field `x` becomes `x_minor`. `uploaded_by`
    is a meta column of every table, so it is left out here even where the kind declares it."""
    out: list[str] = []
    for f in kind.fields:
        if f.name == "uploaded_by":
            continue
        out.append(f"{f.name}_minor" if f.type is FieldType.MONEY else f.name)
    return out


def _record_table(kind: RecordKind, metadata: sa.MetaData) -> sa.Table:
    cols: list[sa.Column[object]] = [
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("record_hash", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
    ]
    for f in kind.fields:
        if f.name == "uploaded_by":
            continue
        name = f"{f.name}_minor" if f.type is FieldType.MONEY else f.name
        # Key columns are never empty in storage (ingest fills defaults such as invoice kind).
        nullable = not f.required and f.name not in kind.key
        cols.append(sa.Column(name, column_type(f.type), nullable=nullable))
    indexes = [sa.Index(f"ix_{kind.name}_key_hash", "key_hash")]
    return sa.Table(kind.name, metadata, *cols, *indexes)


def _build_record_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    return {
        name: metadata.tables[name] if name in metadata.tables else _record_table(kind, metadata)
        for name, kind in KINDS.items()
    }


RECORD_TABLES: dict[str, sa.Table] = _build_record_tables(SQLModel.metadata)


def record_table(kind: RecordKind | str) -> sa.Table:
    return RECORD_TABLES[kind if isinstance(kind, str) else kind.name]
