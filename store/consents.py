"""Consents: a firm's permission for one bank to read its score, for a purpose and a period.

A bank reads a score only while a consent is in force (valid_from ≤ day ≤ valid_until and not
withdrawn). Withdrawal keeps the row, so the audit trail can still show why a past read was allowed.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, insert, select, update

from store.rows import row_reader
from store.service_tables import as_utc, consents, utcnow
from store.text import has_control
from store.writers import write_transaction


class ConsentNotFound(LookupError):
    pass


class InvalidConsent(ValueError):
    pass


@dataclass(frozen=True)
class Consent:
    id: int
    firm_id: str
    bank_org: str
    purpose: str
    valid_from: date
    valid_until: date
    evidence_ref: str
    created_at: datetime
    created_by: str
    withdrawn_at: datetime | None

    def in_force(self, day: date) -> bool:
        return self.withdrawn_at is None and self.valid_from <= day <= self.valid_until


# A consents row (any driver) as a Consent: the one place the columns are read.
consent_from_row = row_reader(Consent, id=int, created_at=as_utc, withdrawn_at=as_utc)


def grant_consent(
    engine: Engine,
    *,
    firm_id: str,
    bank_org: str,
    purpose: str,
    valid_until: date,
    evidence_ref: str,
    created_by: str,
    valid_from: date | None = None,
) -> Consent:
    start = valid_from or utcnow().date()
    if valid_until < start:
        raise InvalidConsent(f"valid_until {valid_until} is before valid_from {start}")
    if not purpose.strip() or not evidence_ref.strip():
        raise InvalidConsent("a consent needs a purpose and an evidence reference")
    if has_control(firm_id + purpose + evidence_ref):
        raise InvalidConsent(
            "firm_id, purpose and evidence_ref cannot contain control characters "
            "(line breaks, tabs, NUL)"
        )
    values = {
        "firm_id": firm_id,
        "bank_org": bank_org,
        "purpose": purpose.strip(),
        "valid_from": start,
        "valid_until": valid_until,
        "evidence_ref": evidence_ref.strip(),
        "created_at": utcnow(),
        "created_by": created_by,
        "withdrawn_at": None,
    }
    with write_transaction(engine) as conn:
        new_id = conn.execute(insert(consents).values(**values).returning(consents.c.id)).scalar_one()
        row = conn.execute(select(consents).where(consents.c.id == new_id)).one()
    return consent_from_row(row)


def withdraw_consent(engine: Engine, consent_id: int, *, bank_org: str | None = None) -> Consent:
    """Withdraw; `bank_org` restricts to the bank's own consents (a bank cannot touch another's)."""
    cond = [consents.c.id == consent_id]
    if bank_org is not None:
        cond.append(consents.c.bank_org == bank_org)
    with write_transaction(engine) as conn:
        conn.execute(
            update(consents).where(*cond, consents.c.withdrawn_at.is_(None)).values(withdrawn_at=utcnow())
        )
        row = conn.execute(select(consents).where(*cond)).first()
    if row is None:
        raise ConsentNotFound(f"no consent {consent_id} for this bank")
    return consent_from_row(row)


def consent_in_force(engine: Engine, *, firm_id: str, bank_org: str, day: date) -> Consent | None:
    """The consent in force that lasts longest, or None."""
    stmt = (
        select(consents)
        .where(
            consents.c.bank_org == bank_org,
            consents.c.firm_id == firm_id,
            consents.c.withdrawn_at.is_(None),
            consents.c.valid_from <= day,
            consents.c.valid_until >= day,
        )
        .order_by(consents.c.valid_until.desc(), consents.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else consent_from_row(row)


def list_consents(engine: Engine, *, bank_org: str | None = None, firm_id: str | None = None) -> list[Consent]:
    stmt = select(consents).order_by(consents.c.id)
    if bank_org is not None:
        stmt = stmt.where(consents.c.bank_org == bank_org)
    if firm_id is not None:
        stmt = stmt.where(consents.c.firm_id == firm_id)
    with engine.connect() as conn:
        return [consent_from_row(r) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class ConsentChanges:
    new: list[Consent]  # rows to add to an index
    withdrawn: list[tuple[int, str, str]]  # (id, bank_org, firm_id) withdrawn since the moment asked


def consent_changes(
    engine: Engine, *, after_id: int, since: datetime | None = None, seen: Set[int] = frozenset()
) -> ConsentChanges:
    """What an in-memory index of consents must apply, read in one transaction: every consent
    with an id above `after_id`; and with `since`, the consents created since then that are not
    `seen` (a PostgreSQL sequence hands out ids before commit, so a lower id can appear after a
    higher one) and the consents withdrawn since then.

    The ids created since `since` are read as ids only, and only unseen ones as whole rows: a
    poll after a bulk grant must not rebuild thousands of consents it already holds."""
    with engine.connect() as conn:
        new = [consent_from_row(r) for r in conn.execute(
            select(consents).where(consents.c.id > after_id).order_by(consents.c.id)
        )]
        if since is None:
            return ConsentChanges(new, [])
        recent = conn.execute(
            select(consents.c.id).where(consents.c.created_at >= since, consents.c.id <= after_id)
        ).scalars().all()
        late = set(recent).difference(seen)
        if late:
            new += [consent_from_row(r) for r in conn.execute(
                select(consents).where(consents.c.id.in_(sorted(late)))
            )]
        withdrawn = [
            (int(r[0]), r[1], r[2])
            for r in conn.execute(
                select(consents.c.id, consents.c.bank_org, consents.c.firm_id).where(
                    consents.c.withdrawn_at.is_not(None), consents.c.withdrawn_at >= since
                )
            )
        ]
    return ConsentChanges(new, withdrawn)
