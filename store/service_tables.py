"""Tables the service keeps besides the records: keys, consents, audit, snapshots, scores.

They live on SQLModel's shared metadata so that Alembic's autogenerate (and the test that
compares it with the migrations) sees them next to the record tables; the migrations create them.
Plain Core tables (not SQLModel classes) because every access path is a bulk or keyed Core
statement and the serving hot path must not pay for ORM objects.

Money (the suggested limit) is integer minor units with its currency, as everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import SQLModel

metadata: MetaData = SQLModel.metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Public part of the token: shown in listings and the audit log, useless without the secret.
    Column("key_id", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the whole token
    Column("role", String(20), nullable=False),
    Column("org", String(100), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(100), nullable=False),
    Column("bank_org", String(100), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("evidence_ref", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Index("ix_consents_bank_firm", "bank_org", "firm_id"),
    # Every API worker polls for consents created or withdrawn in the last minutes, twice a
    # second: without these each poll would read the whole table.
    Index("ix_consents_created_at", "created_at"),
    Index("ix_consents_withdrawn_at", "withdrawn_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),  # key id, or "cli:<user>" for the command line
    Column("actor_org", String(100), nullable=True),
    Column("role", String(20), nullable=True),
    Column("action", String(50), nullable=False),
    Column("firm_id", String(100), nullable=True),
    Column("purpose", String(200), nullable=True),
    Column("model_version", String(100), nullable=True),
    Column("score", Float, nullable=True),
    Column("snapshot_as_of", Date, nullable=True),
    Column("detail", Text, nullable=True),  # JSON
    Index("ix_audit_firm", "firm_id"),
    Index("ix_audit_at", "at"),
)

feature_snapshots = Table(
    "feature_snapshots",
    metadata,
    Column("firm_id", String(100), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("features", Text, nullable=False),  # JSON object feature -> float (null = NaN)
    Column("extras", Text, nullable=True),  # JSON object: tier, core_firms, red_flags
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_feature_snapshots_as_of", "as_of"),
)

scores = Table(
    "scores",
    metadata,
    Column("firm_id", String(100), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("model_version", String(100), primary_key=True),
    Column("pd", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("grade", String(10), nullable=False),
    Column("limit_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("base_points", Float, nullable=False),
    Column("points", Text, nullable=False),  # JSON list of {feature, family, value, points}
    Column("reasons", Text, nullable=False),  # JSON list of {feature, points, text_zh, text_en}
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_scores_version_as_of", "model_version", "as_of"),
)

# One row (id = 1). Workers poll `generation`; a bump makes every worker re-read the champion.
model_state = Table(
    "model_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("champion_version", String(100), nullable=True),
    Column("previous_version", String(100), nullable=True),
    Column("generation", BigInteger, nullable=False),
    Column("bumped_at", DateTime(timezone=True), nullable=False),
    Column("bumped_by", String(100), nullable=True),
)

# Idempotency-Key of an upload, claimed before the batch is ingested so that concurrent
# retries of one request wait for, then replay, the first one's answer.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org", String(100), primary_key=True),
    Column("idem_key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # null while the first request runs
    Column("response", Text, nullable=True),
    Column("done", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org", "idem_key", name="uq_idempotency_org_key"),
)

def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
