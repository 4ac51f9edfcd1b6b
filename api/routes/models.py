"""The champion model: what is served, and a reload that reaches every worker.

Reload asks the registry for the current `champion` (when the training package offers it),
records it in the model_state row and bumps its generation; every worker polls that row, and
keeps serving the previous version until the new one's scores exist, so no request fails.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from api.deps import ModelsDep, StateDep
from api.problems import Problem
from api.schemas import PROBLEM_RESPONSES, ModelOut
from store.audit import audit_record
from store.model_state import ModelState, bump_model_state

router = APIRouter(tags=["models"])


def _out(state: ModelState, serving: str | None) -> dict[str, Any]:
    return {
        "champion_version": state.champion_version,
        "serving_version": serving,
        "previous_version": state.previous_version,
        "generation": state.generation,
        "bumped_at": state.bumped_at,
        "bumped_by": state.bumped_by,
    }


def registry_champion() -> str | None:
    """Load the model carrying the `champion` alias from the MLflow registry; its version."""
    try:
        from training.registry import load_champion
    except ImportError as exc:
        raise Problem(503, "the model registry (training.registry) is not available") from exc
    try:
        return load_champion().version
    except LookupError:
        return None


@router.get("/v1/models/current", response_model=ModelOut, responses=PROBLEM_RESPONSES)
async def current(_p: ModelsDep, state: StateDep) -> dict[str, Any]:
    await anyio.to_thread.run_sync(state.scorer.refresh)
    return _out(state.scorer.state, state.scorer.version)


@router.post(
    "/v1/models/reload",
    response_model=ModelOut,
    responses=PROBLEM_RESPONSES,
    summary="Re-read the MLflow champion; every worker switches once its scores exist",
)
async def reload(principal: ModelsDep, state: StateDep) -> dict[str, Any]:
    champion = await anyio.to_thread.run_sync(state.champion_lookup or registry_champion)
    if champion is None:
        raise Problem(409, "the registry has no model with the `champion` alias: promote one first")
    new_state = await anyio.to_thread.run_sync(
        lambda: bump_model_state(state.engine, champion, by=principal.actor)
    )
    await state.audit.write([audit_record(principal, "model.reload", model_version=champion,
                                          detail={"generation": new_state.generation})])
    await anyio.to_thread.run_sync(state.scorer.refresh)
    return _out(new_state, state.scorer.version)
