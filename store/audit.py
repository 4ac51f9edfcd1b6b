"""The audit log: append-only, one row per score served and per write.

This module offers appending and reading only; migration 0002 adds database triggers that
refuse UPDATE and DELETE on the table, so not even a bug elsewhere can rewrite history.
Appends take many records at once: the API's group-commit writer hands over a batch.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, insert, select

from store.rows import row_reader
from store.service_tables import as_utc, audit_log, utcnow
from store.writers import write_transaction


@dataclass(frozen=True)
class AuditRecord:
    actor: str
    action: str
    actor_org: str | None = None
    role: str | None = None
    firm_id: str | None = None
    purpose: str | None = None
    model_version: str | None = None
    score: float | None = None
    snapshot_as_of: date | None = None
    detail: dict[str, Any] | None = None
    at: datetime = field(default_factory=utcnow)

    def to_row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "actor_org": self.actor_org,
            "role": self.role,
            "action": self.action,
            "firm_id": self.firm_id,
            "purpose": self.purpose,
            "model_version": self.model_version,
            "score": self.score,
            "snapshot_as_of": self.snapshot_as_of,
            "detail": None if self.detail is None else json.dumps(self.detail, default=str),
        }


class Actor(Protocol):
    """Who did something, as the log names them: a request's principal (api.auth.Principal),
    or the command line (`Operator`)."""

    @property
    def actor(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def org(self) -> str | None: ...


def cli_actor() -> str:
    """"cli:<operating-system user>", the command line's identity in the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


@dataclass(frozen=True)
class Operator:
    """The command line: it acts as admin and is recorded as `cli_actor()` unless named."""

    actor: str = field(default_factory=cli_actor)
    role: str = "admin"
    org: str | None = None


def audit_record(
    who: Actor,
    action: str,
    *,
    firm_id: str | None = None,
    purpose: str | None = None,
    model_version: str | None = None,
    score: float | None = None,
    snapshot_as_of: date | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """The record of `action` done by `who`, with what it touched: the one way it is built."""
    return AuditRecord(
        actor=who.actor,
        actor_org=who.org,
        role=who.role,
        action=action,
        firm_id=firm_id,
        purpose=purpose,
        model_version=model_version,
        score=score,
        snapshot_as_of=snapshot_as_of,
        detail=detail,
    )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    record: AuditRecord


def append_records(target: Engine | Connection, records: Sequence[AuditRecord]) -> None:
    """Append in one statement; with an Engine in its own transaction, with a Connection in the
    caller's (so a write and its audit commit together)."""
    if not records:
        return
    rows = [r.to_row() for r in records]
    if isinstance(target, Engine):
        with write_transaction(target) as conn:
            conn.execute(insert(audit_log), rows)
    else:
        target.execute(insert(audit_log), rows)


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_record_from_row = row_reader(AuditRecord, detail=_json_or_none, at=lambda at: as_utc(at) or utcnow())


def list_records(
    engine: Engine,
    *,
    firm_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; page with `before_id` = the smallest id of the previous page."""
    stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if firm_id is not None:
        stmt = stmt.where(audit_log.c.firm_id == firm_id)
    if actor is not None:
        stmt = stmt.where(audit_log.c.actor == actor)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    with engine.connect() as conn:
        return [AuditEntry(int(row._mapping["id"]), _record_from_row(row)) for row in conn.execute(stmt)]
