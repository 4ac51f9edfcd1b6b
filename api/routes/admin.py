"""Operator endpoints: API keys and the audit log (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query

from api.deps import AdminDep, StateDep
from api.schemas import MAX_ID, PROBLEM_RESPONSES, AuditOut, KeyIn, KeyOut, NewKeyOut
from store.audit import audit_record, list_records
from store.keys import ApiKey, create_key, list_keys, revoke_key

router = APIRouter(tags=["admin"])


def _key_out(k: ApiKey) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "role": k.role,
        "org": k.org,
        "label": k.label,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "revoked_at": k.revoked_at,
    }


@router.post("/v1/keys", status_code=201, response_model=NewKeyOut, responses=PROBLEM_RESPONSES,
             summary="Create a key; the token is in this response only")
async def new_key(body: KeyIn, principal: AdminDep, state: StateDep) -> dict[str, Any]:
    made = await anyio.to_thread.run_sync(
        lambda: create_key(state.engine, role=body.role, org=body.org, created_by=principal.actor,
                           expires_at=body.expires_at, label=body.label)
    )
    await state.audit.write([audit_record(principal, "key.create",
                                          detail={"key_id": made.key.key_id, "role": body.role, "org": body.org})])
    return {**_key_out(made.key), "token": made.token}


@router.get("/v1/keys", response_model=list[KeyOut], responses=PROBLEM_RESPONSES)
async def get_keys(_p: AdminDep, state: StateDep, org: str | None = None) -> list[dict[str, Any]]:
    keys = await anyio.to_thread.run_sync(lambda: list_keys(state.engine, org=org))
    return [_key_out(k) for k in keys]


@router.post("/v1/keys/{key_id}/revoke", response_model=KeyOut, responses=PROBLEM_RESPONSES)
async def revoke(key_id: str, principal: AdminDep, state: StateDep) -> dict[str, Any]:
    key = await anyio.to_thread.run_sync(lambda: revoke_key(state.engine, key_id))
    await state.audit.write([audit_record(principal, "key.revoke", detail={"key_id": key_id})])
    return _key_out(key)


@router.get("/v1/audit", response_model=list[AuditOut], responses=PROBLEM_RESPONSES,
            summary="The audit log, newest first; page with before_id")
async def audit_log(
    _p: AdminDep,
    state: StateDep,
    firm_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    entries = await anyio.to_thread.run_sync(
        lambda: list_records(state.engine, firm_id=firm_id, actor=actor, action=action, since=since,
                             before_id=before_id, limit=limit)
    )
    return [{"id": e.id, **e.record.__dict__} for e in entries]
