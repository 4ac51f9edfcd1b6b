"""Liveness, readiness and metrics: no key needed, no firm data exposed."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import StateDep
from api.problems import Problem
from store.model_state import get_model_state

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and is migrated")
async def readyz(state: StateDep) -> dict[str, str | int | None]:
    try:
        model = await anyio.to_thread.run_sync(get_model_state, state.engine)
    except Exception as exc:
        raise Problem(
            503, f"the database is not ready: {type(exc).__name__}", headers={"Retry-After": "5"}
        ) from exc
    return {"status": "ready", "model_version": state.scorer.version, "generation": model.generation}


@router.get("/metrics", summary="Prometheus metrics of this worker", response_class=Response)
async def metrics(state: StateDep) -> Response:
    state.metrics.model_generation.set(state.scorer.state.generation)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
