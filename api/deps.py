"""`Annotated` dependency aliases: what a route needs, resolved from the app's state.

Role aliases (`BankDep`, `AdminDep`, ...) both authenticate and authorize, so a route's
signature says who may call it and the authorization matrix test can read it off the code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.audit_writer import AuditWriter
from api.auth import Authenticator, Principal, forbidden
from api.graph_data import GraphCache
from api.metrics import Metrics
from api.problems import Problem
from api.ratelimit import RateLimiter, TokenBucketLimiter
from api.scenario import ChampionCache
from api.serving import ScoreService
from api.settings import ApiSettings


@dataclass
class AppState:
    settings: ApiSettings
    engine: Engine
    auth: Authenticator
    audit: AuditWriter
    scorer: ScoreService
    limiter: RateLimiter
    metrics: Metrics
    # Who the champion is; None = the MLflow registry (tests put a function here).
    champion_lookup: Callable[[], str | None] | None = None
    # The champion model itself, for what-if scoring; None = training.registry (tests override).
    model_loader: Callable[[], tuple[str, Any]] | None = None
    graph: GraphCache = field(default_factory=GraphCache)
    champion_model: ChampionCache = field(default_factory=ChampionCache)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cc
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_engine(state: StateDep) -> Engine:
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_scorer(state: StateDep) -> ScoreService:
    return state.scorer


ScorerDep = Annotated[ScoreService, Depends(get_scorer)]


def get_audit(state: StateDep) -> AuditWriter:
    return state.audit


AuditDep = Annotated[AuditWriter, Depends(get_audit)]

_bearer = HTTPBearer(auto_error=False, description="An API key from `chaincredit keys create`.")


async def get_principal(
    request: Request,
    state: StateDep,
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = await state.auth.principal(request.headers.get("authorization"))
    request.scope.setdefault("state", {})["key_id"] = principal.key_id
    await check_rate(state, principal)
    return principal


async def check_rate(state: AppState, principal: Principal) -> None:
    """429 with Retry-After once the key has used up its rate (per worker, or shared in Redis)."""
    limiter = state.limiter
    if isinstance(limiter, TokenBucketLimiter):
        verdict = limiter.hit_sync(principal.key_id)  # no await on the hot path
    else:
        verdict = await limiter.hit(principal.key_id)
    if not verdict.allowed:
        state.metrics.rate_limited.inc()
        wait = max(1, int(verdict.retry_after + 0.999))
        raise Problem(
            429,
            f"rate limit of key {principal.key_id} exceeded; retry after {wait} s",
            headers={"Retry-After": str(wait)},
        )


PrincipalDep = Annotated[Principal, Depends(get_principal)]

ROLE_NAMES = {
    "admin": "an admin key",
    "bank": "a bank key",
    "enterprise": "an enterprise key",
    "model_owner": "a model owner key",
}


def check_role(principal: Principal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        allowed = " or ".join(ROLE_NAMES[r] for r in roles)
        raise forbidden(f"this endpoint needs {allowed}; key {principal.key_id} is a {principal.role} key")


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        check_role(principal, roles)
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return check


AdminDep = Annotated[Principal, Depends(require("admin"))]
BankDep = Annotated[Principal, Depends(require("bank"))]
ModelsDep = Annotated[Principal, Depends(require("model_owner", "admin"))]
UploaderDep = Annotated[Principal, Depends(require("admin", "enterprise", "bank"))]
GraphReaderDep = Annotated[Principal, Depends(require("admin", "bank", "enterprise"))]
ScenarioDep = Annotated[Principal, Depends(require("admin", "bank"))]
ConsentDep = Annotated[Principal, Depends(require("bank", "admin"))]
