"""Database tables of the records, derived from the record contract in store/records.py.

The record tables are built from `store.records.KINDS` rather than written out by hand, so a field
added to the contract cannot be forgotten in the database (the migration is the frozen copy and a
test compares the two). They live in `SQLModel.metadata` beside the SQLModel classes of the other
store modules, so Alembic and `SQLModel.metadata.create_all` see one schema.

Every stored row carries where it came from and which version it is (DESIGN.md §7): `batch_id`,
`received_at`, `version` (1, 2, … per natural key), `is_current` and `record_hash` (the hash of the
normalised record, which is what "same content" means for duplicates). Money is integer minor
units in `<field>_minor` beside the record's `currency`; never binary float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.records import KINDS, FieldType, RecordKind

# SQLite only auto-numbers an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGINT identity.
SurrogateId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

BATCH_STATUSES = ("accepted",)

# Columns every record table has besides the record's own fields.
META_COLUMNS = ("id", "batch_id", "received_at", "version", "is_current", "record_hash", "uploaded_by")


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
        sa.Column("id", SurrogateId, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("record_hash", sa.String(32), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
    ]
    for f in kind.fields:
        if f.name == "uploaded_by":
            continue
        name = f"{f.name}_minor" if f.type is FieldType.MONEY else f.name
        # Key columns are never empty in storage (ingest fills defaults such as invoice kind).
        nullable = not f.required and f.name not in kind.key
        cols.append(sa.Column(name, column_type(f.type), nullable=nullable))
    key_cols = [f"{k}_minor" if kind.field(k).type is FieldType.MONEY else k for k in kind.key]
    indexes = [
        # One row per (key, version). It also serves every lookup by key (current or history) and
        # is what refuses a second version 1 (or a second version n+1) when two uploads of the
        # same document race: one of them fails and is reported, so at most one is current.
        # A separate partial unique index on current rows would say the same at twice the cost
        # per stored row (measured on PostgreSQL: each index adds about the time of a bare COPY).
        sa.Index(f"uq_{kind.name}_key_version", *key_cols, "version", unique=True),
    ]
    if kind.date_field is not None:
        indexes.append(sa.Index(f"ix_{kind.name}_{kind.date_field}", kind.date_field))
    return sa.Table(kind.name, metadata, *cols, *indexes)


def _build_record_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    return {
        name: metadata.tables[name] if name in metadata.tables else _record_table(kind, metadata)
        for name, kind in KINDS.items()
    }


RECORD_TABLES: dict[str, sa.Table] = _build_record_tables(SQLModel.metadata)


def record_table(kind: RecordKind | str) -> sa.Table:
    return RECORD_TABLES[kind if isinstance(kind, str) else kind.name]
