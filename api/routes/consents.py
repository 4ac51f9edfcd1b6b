"""Consents a bank registers before it may read a firm's score; the bank is the caller's org."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path

from api.auth import Principal
from api.deps import BankDep, ConsentDep, StateDep
from api.problems import Problem
from api.schemas import MAX_ID, PROBLEM_RESPONSES, ConsentIn, ConsentOut
from store.audit import AuditRecord, audit_record
from store.consents import Consent, grant_consent, list_consents, withdraw_consent
from store.parties import party_problem

router = APIRouter(tags=["consents"])


def _out(c: Consent) -> dict[str, Any]:
    return {**c.__dict__, "in_force": c.in_force(date.today())}


def _audit(principal: Principal, action: str, c: Consent) -> AuditRecord:
    return audit_record(
        principal, action, firm_id=c.firm_id, purpose=c.purpose,
        detail={"consent_id": c.id, "valid_until": c.valid_until.isoformat(), "evidence_ref": c.evidence_ref},
    )


@router.post("/v1/consents", status_code=201, response_model=ConsentOut, responses=PROBLEM_RESPONSES)
async def create_consent(body: ConsentIn, principal: BankDep, state: StateDep) -> dict[str, Any]:
    problem = party_problem(body.firm_id)
    if problem:
        raise Problem(422, f"firm_id {body.firm_id!r}: {problem}", title="Invalid request",
                      errors=[{"row": 0, "field": "firm_id", "message": problem}])
    consent = await anyio.to_thread.run_sync(
        lambda: grant_consent(
            state.engine,
            firm_id=body.firm_id,
            bank_org=principal.org,
            purpose=body.purpose,
            valid_until=body.valid_until,
            valid_from=body.valid_from,
            evidence_ref=body.evidence_ref,
            created_by=principal.actor,
        )
    )
    await state.audit.write([_audit(principal, "consent.create", consent)])
    state.auth.consent_changed(consent)
    return _out(consent)


@router.get("/v1/consents", response_model=list[ConsentOut], responses=PROBLEM_RESPONSES)
async def get_consents(principal: ConsentDep, state: StateDep, firm_id: str | None = None) -> list[dict[str, Any]]:
    bank = None if principal.role == "admin" else principal.org
    found = await anyio.to_thread.run_sync(
        lambda: list_consents(state.engine, bank_org=bank, firm_id=firm_id)
    )
    return [_out(c) for c in found]


@router.post("/v1/consents/{consent_id}/withdraw", response_model=ConsentOut, responses=PROBLEM_RESPONSES)
async def withdraw(consent_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: BankDep, state: StateDep) -> dict[str, Any]:
    consent = await anyio.to_thread.run_sync(
        lambda: withdraw_consent(state.engine, consent_id, bank_org=principal.org)
    )
    state.auth.consent_changed(consent)  # withdrawn: stop serving before answering
    await state.audit.write([_audit(principal, "consent.withdraw", consent)])
    return _out(consent)
