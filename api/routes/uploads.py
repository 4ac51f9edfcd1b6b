"""Uploads of records (JSON, CSV or UBL/数电票 XML by content type), all or nothing.

Who may upload what (DESIGN.md §7 "Roles"): admins any kind; an enterprise documents to which its
own firm is a party (store.records party_fields) and its own intangibles and financials, never
firm records (they carry is_core and the external rating); a bank credit events. Rows outside
that are refused with 403 naming them, and nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
import pandas as pd
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from api.auth import Principal, forbidden
from api.deps import AppState, StateDep, UploaderDep
from api.problems import Problem, to_problem
from api.schemas import PROBLEM_RESPONSES, ProblemOut, UploadOut
from store import idempotency
from store.audit import append_records, audit_record
from store.batches import get_batch
from store.errors import RowError, error_count
from store.records import DOCUMENT_KINDS, RecordKind, kind_named

router = APIRouter(tags=["uploads"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
                "example": [{"order_id": "PO-2024-0001", "buyer_id": "91500000MA5U0000X2",
                             "seller_id": "91500000MA5U000001", "order_date": "2024-05-01",
                             "amount": "125000.00", "currency": "CNY", "payment_terms_days": 60}],
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "order_id,buyer_id,seller_id,order_date,amount,currency,payment_terms_days\n"
                "PO-2024-0001,91500000MA5U0000X2,91500000MA5U000001,2024-05-01,125000.00,CNY,60\n",
            },
            "application/xml": {"schema": {"type": "string"}, "example": "<Invoice xmlns=...>...</Invoice>"},
        },
    }
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    404: {"model": ProblemOut, "description": "Unknown record kind"},
    409: {"model": ProblemOut, "description": "A document conflicts with a stored version"},
    422: {"model": ProblemOut, "description": "Bad rows, each as {row, field, message}"},
}
MAX_LISTED = 200


def _row_numbers(frame: pd.DataFrame, mask: pd.Series) -> list[int]:
    """Rows as a person counts them: the frame's `_row` column if the parser kept one, else 1-based."""
    idx = mask[mask].index
    if "_row" in frame.columns:
        return [int(v) for v in frame.loc[idx, "_row"].tolist()]
    pos = frame.index.get_indexer(idx)
    return [int(p) + 1 for p in pos]


def authorize_rows(principal: Principal, kind: RecordKind, frame: pd.DataFrame) -> list[RowError]:
    """Rows this principal may not upload (empty: all allowed). Vectorised over the frame."""
    role, org = principal.role, principal.org
    if role == "admin":
        return []
    if role == "bank":
        if kind.name != "credit_events":
            raise forbidden(f"a bank key uploads credit events only, not {kind.name}")
        if "reported_by" not in frame.columns or frame.empty:
            return []
        reported = frame["reported_by"]
        bad = reported.notna() & (reported.astype(object) != org)
        return [
            RowError(r, "reported_by", f"a bank reports its own events: reported_by must be {org}")
            for r in _row_numbers(frame, bad)[:MAX_LISTED]
        ]
    if role != "enterprise":
        raise forbidden(f"a {role} key cannot upload records")
    if kind.name in ("firms", "fx_rates", "credit_events"):
        raise forbidden(
            f"an enterprise key cannot upload {kind.name}: "
            + ("firm records carry is_core and the external rating and are kept by admins"
               if kind.name == "firms" else "they are kept by admins and banks")
        )
    if frame.empty:
        return []
    if kind.name in ("intangibles", "financials"):
        bad = frame["firm_id"].astype(object) != org
        return [
            RowError(r, "firm_id", f"an enterprise uploads its own {kind.name} only (firm {org})")
            for r in _row_numbers(frame, bad)[:MAX_LISTED]
        ]
    assert kind.name in DOCUMENT_KINDS
    parties = frame[list(kind.party_fields)].astype(object)
    bad = ~(parties == org).any(axis=1)
    errors = [
        RowError(r, None, f"firm {org} is not a party ({', '.join(kind.party_fields)}) of this document")
        for r in _row_numbers(frame, bad)[:MAX_LISTED]
    ]
    if "uploaded_by" in frame.columns:
        claimed = frame["uploaded_by"]
        wrong = claimed.notna() & (claimed.astype(object) != org)
        errors += [
            RowError(r, "uploaded_by", f"uploaded_by must be your own firm {org}")
            for r in _row_numbers(frame, wrong)[:MAX_LISTED]
        ]
    return errors


def _ingest_sync(state: AppState, principal: Principal, kind_name: str, data: bytes,
                 content_type: str | None, replace: bool) -> tuple[int, dict[str, Any]]:
    """Parse, authorize, ingest and audit one upload; returns (status, body)."""
    from store.ingest import ingest
    from store.reading import read_upload

    parsed = read_upload(kind_name, data, filename=None, content_type=content_type)
    if parsed.errors:
        raise Problem(
            422,
            f"{error_count(parsed.errors)} bad value(s) in the {parsed.kind.name} upload; "
            "nothing was stored",
            title="Invalid upload",
            errors=parsed.errors,
        )
    denied = authorize_rows(principal, parsed.kind, parsed.frame)
    if denied:
        raise Problem(
            403,
            f"{len(denied)} row(s) are outside what key {principal.key_id} may upload; nothing was stored",
            errors=denied,
        )
    result = ingest(state.engine, parsed, uploader=principal.org, replace=replace)
    body = {k: v for k, v in result.to_dict().items() if k in UploadOut.model_fields}
    if parsed.identifiers:
        body["identifiers"] = parsed.identifiers
    append_records(state.engine, [audit_record(principal, "upload", detail={**body, "replace": replace})])
    return 201, body


def _run_upload(state: AppState, principal: Principal, kind_name: str, data: bytes,
                content_type: str | None, replace: bool, idem_key: str | None) -> tuple[int, dict[str, Any], bool]:
    """Upload with Idempotency-Key handling; returns (status, body, replayed)."""

    def attempt() -> tuple[int, dict[str, Any]]:
        try:
            return _ingest_sync(state, principal, kind_name, data, content_type, replace)
        except Exception as exc:
            problem = to_problem(exc)
            if problem is None or problem.status >= 500:
                raise
            return problem.status, problem.body()

    if idem_key is None:
        status, body = attempt()
        return status, body, False
    digest = hashlib.sha256(
        b"\0".join([kind_name.encode(), (content_type or "").encode(), str(replace).encode(), data])
    ).hexdigest()
    try:
        stored = idempotency.claim(
            state.engine, principal.org, idem_key, digest, wait_seconds=state.settings.idempotency_wait_seconds
        )
    except idempotency.KeyReused as exc:
        raise Problem(422, str(exc), title="Idempotency-Key reused") from exc
    except idempotency.StillRunning as exc:
        raise Problem(409, str(exc), title="Request in progress", headers={"Retry-After": "1"}) from exc
    if stored is not None:
        return stored.status_code, stored.body, True
    try:
        status, body = attempt()
    except BaseException:
        idempotency.release(state.engine, principal.org, idem_key)
        raise
    idempotency.finish(state.engine, principal.org, idem_key, status, body)
    return status, body, False


async def _upload(kind: str, request: Request, principal: Principal, state: AppState,
                  replace: bool, idempotency_key: str | None) -> JSONResponse:
    rk = kind_named(kind)  # 404 for an unknown kind before reading the body
    data = await request.body()
    content_type = request.headers.get("content-type")
    run: Callable[[], tuple[int, dict[str, Any], bool]] = lambda: _run_upload(  # noqa: E731
        state, principal, rk.name, data, content_type, replace, idempotency_key
    )
    status, body, replayed = await anyio.to_thread.run_sync(run)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    media = "application/json" if status < 400 else "application/problem+json"
    return JSONResponse(body, status_code=status, headers=headers, media_type=media)


IdemHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.post(
    "/v1/uploads/{kind}",
    status_code=201,
    response_model=UploadOut,
    responses=UPLOAD_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    summary="Upload records of one kind; kebab-case kinds (credit-events) are accepted",
)
async def upload(kind: str, request: Request, principal: UploaderDep, state: StateDep,
                 idempotency_key: IdemHeader = None, replace: bool = False) -> JSONResponse:
    return await _upload(kind, request, principal, state, replace, idempotency_key)


@router.post(
    "/v1/credit-events",
    status_code=201,
    response_model=UploadOut,
    responses=UPLOAD_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    summary="A bank reports credit events (same as POST /v1/uploads/credit-events)",
)
async def credit_events(request: Request, principal: UploaderDep, state: StateDep,
                        idempotency_key: IdemHeader = None, replace: bool = False) -> JSONResponse:
    return await _upload("credit_events", request, principal, state, replace, idempotency_key)


@router.get("/v1/uploads/{batch_id}", responses=UPLOAD_RESPONSES, summary="One batch's result")
async def get_upload(batch_id: str, principal: UploaderDep, state: StateDep) -> dict[str, Any]:
    row = await anyio.to_thread.run_sync(get_batch, state.engine, batch_id)
    # Another organisation's batch looks exactly like a missing one.
    if row is None or (principal.role != "admin" and row.get("uploaded_by") != principal.org):
        raise Problem(404, f"no batch {batch_id} uploaded by {principal.org}")
    return {
        "batch_id": row["batch_id"],
        "kind": row["kind"],
        "rows": row.get("n_rows"),
        "inserted": row.get("inserted"),
        "duplicates": row.get("duplicates"),
        "replaced": row.get("replaced"),
        "status": row.get("status"),
        "uploaded_by": row.get("uploaded_by"),
        "created_at": row.get("created_at"),
    }
