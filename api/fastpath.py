"""`GET /v1/scores/{firm_id}` answered in pure ASGI, before FastAPI's router.

Profiling one worker showed FastAPI's dependency solving, routing and response classes costing
more than the score itself (a dictionary lookup of prebuilt JSON bytes). This path runs the very
same steps as the FastAPI route (key, rate limit, role, consent, score, audit before the
response) through the same functions and error mapping, and writes the cached bytes straight to
the ASGI `send`. Requests it does not recognise exactly (another method, a query other than a
plain `as_of=YYYY-MM-DD`) fall through to FastAPI, which validates and documents the route.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from starlette.types import Receive, Scope, Send

from api.deps import AppState, check_rate, check_role
from api.problems import Problem, problem_response, to_problem
from api.routes.scores import score_record, serve_one

log = logging.getLogger("chaincredit.api")

PREFIX = "/v1/scores/"
TEMPLATE = "/v1/scores/{firm_id}"
_AS_OF = re.compile(rb"as_of=(\d{4}-\d{2}-\d{2})")
_JSON = [(b"content-type", b"application/json")]
_BANK = ("bank",)


class ScoreFastPath:
    def __init__(self, state: AppState) -> None:
        self.state = state

    def match(self, scope: Scope) -> tuple[str, date | None] | None:
        """(firm_id, as_of) when this path can answer the request exactly as FastAPI would."""
        if scope.get("method") != "GET":
            return None
        path: str = scope.get("path", "")
        if not path.startswith(PREFIX):
            return None
        firm_id = path[len(PREFIX) :]
        if not firm_id or "/" in firm_id:
            return None
        query: bytes = scope.get("query_string", b"")
        if not query:
            return firm_id, None
        hit = _AS_OF.fullmatch(query)
        if hit is None:
            return None
        try:
            return firm_id, date.fromisoformat(hit.group(1).decode())
        except ValueError:
            return None  # e.g. 2024-02-30: FastAPI words the 422

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, firm_id: str, as_of: date | None
    ) -> int:
        """Answer the request; returns the status sent."""
        state = self.state
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            principal = state.auth.cached_principal(authorization)
            if principal is None:
                principal = await state.auth.principal(authorization)
            scope.setdefault("state", {})["key_id"] = principal.key_id
            await check_rate(state, principal)
            check_role(principal, _BANK)
            served, purpose = await serve_one(state, principal, firm_id, as_of)
            await state.audit.write([score_record(principal, served, purpose, "score.read")])
        except Exception as exc:
            problem = to_problem(exc)
            if problem is None:
                log.exception("unhandled error on GET %s", scope.get("path"))
                problem = Problem(500, "an internal error occurred; it has been logged")
            await problem_response(problem, scope.get("path"))(scope, receive, send)
            return problem.status
        state.metrics.scores_served.inc()
        body = served.body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return 200
