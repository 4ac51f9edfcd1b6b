"""RFC 9457 problem details for every error, mapped from domain errors in one place.

Domain modules raise their own exceptions without HTTP codes (DESIGN.md §4); this module alone
decides the status. Row-level errors travel as `errors: [{row, field, message}]`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from store.consents import ConsentNotFound, InvalidConsent
from store.errors import BatchRejected, DocumentConflict, RowError
from store.feature_snapshots import SnapshotError
from store.keys import InvalidKeyRequest, InvalidRole, UnknownKey
from store.records import UnknownKindError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://chaincredit.example/problems/"
log = logging.getLogger("chaincredit.api")


class Problem(Exception):
    """An error the API answers with; raised by routes and dependencies."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str | None = None,
        errors: Sequence[RowError | dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type_ = type_ or f"{TYPE_BASE}{self.title.lower().replace(' ', '-')}"
        self.errors = [e.to_dict() if isinstance(e, RowError) else e for e in errors or ()]
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type_,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = [
                {"row": e.get("row", 0), "field": e.get("field"), "message": e.get("message", "")}
                | ({"value": e["value"]} if e.get("value") is not None else {})
                for e in self.errors
            ]
        out.update(self.extra)
        return out


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def to_problem(exc: Exception) -> Problem | None:
    """The one mapping of domain errors to HTTP; None for errors that are bugs (500)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, BatchRejected):
        return Problem(422, str(exc), title="Invalid upload", errors=exc.errors)
    if isinstance(exc, DocumentConflict):
        return Problem(
            409,
            f"{exc}; send the upload again with ?replace=true to store the new versions",
            title="Document conflict",
            errors=exc.errors,
        )
    if isinstance(exc, UnknownKindError):
        return Problem(404, str(exc), title="Unknown record kind")
    if isinstance(exc, ConsentNotFound | UnknownKey):
        return Problem(404, str(exc))
    if isinstance(exc, InvalidConsent | InvalidRole | InvalidKeyRequest):
        return Problem(422, str(exc), title="Invalid request")
    from api.audit_writer import AuditUnavailable
    from api.serving import FirmNotFound, ScoreNotReady

    if isinstance(exc, FirmNotFound):
        return Problem(404, str(exc), title="Unknown firm")
    if isinstance(exc, ScoreNotReady):
        return Problem(409, str(exc), title="No score yet")
    if isinstance(exc, AuditUnavailable):
        return Problem(503, str(exc), title="Audit unavailable", headers={"Retry-After": "1"})
    if isinstance(exc, SnapshotError):
        return Problem(409, str(exc), title="No data for this date")
    return None


def install_handlers(app: FastAPI) -> None:
    async def on_exception(request: Request, exc: Exception) -> JSONResponse:
        problem = to_problem(exc)
        if problem is None:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            problem = Problem(500, "an internal error occurred; it has been logged")
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))
        return problem_response(problem, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            row = next((int(p) + 1 for p in loc[1:] if p.isdigit()), 0)
            errors.append({"row": row, "field": ".".join(loc) or None, "message": err.get("msg", "")})
        problem = Problem(422, "the request does not match the schema", title="Invalid request", errors=errors)
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Exception, on_exception)
    app.add_exception_handler(Problem, on_exception)
    from api.audit_writer import AuditUnavailable
    from api.serving import FirmNotFound, ScoreNotReady

    for exc_type in (BatchRejected, DocumentConflict, UnknownKindError, ConsentNotFound, UnknownKey,
                     InvalidConsent, InvalidRole, InvalidKeyRequest, SnapshotError, FirmNotFound, ScoreNotReady,
                     AuditUnavailable):
        app.add_exception_handler(exc_type, on_exception)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
