"""`POST /v1/scenarios/core-default`: which firms a core firm's failure would hit, and how hard.

A bank sees the details (distress, score move) of the firms that consented to it only, and a
count of the others; an admin sees every firm. The arithmetic and its approximation are in
api.scenario.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from api.deps import AppState, ScenarioDep, StateDep
from api.problems import Problem
from api.scenario import (
    METHOD,
    ScenarioResult,
    UnknownCoreFirms,
    firm_rows,
    registry_model,
    run_scenario,
)
from api.schemas import PROBLEM_RESPONSES, ProblemOut, ScenarioIn, ScenarioOut
from store.audit import audit_record
from store.feature_snapshots import snapshot_dates

log = logging.getLogger("chaincredit.api")
router = APIRouter(tags=["scenarios"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    409: {"model": ProblemOut, "description": "No feature snapshot yet"},
    422: {"model": ProblemOut, "description": "A core firm is not in the trade graph"},
}


def _compute(state: AppState, body: ScenarioIn) -> tuple[ScenarioResult, dict[str, str], str]:
    dates = snapshot_dates(state.engine)
    if not dates:
        raise Problem(409, "no feature snapshot yet: run `chaincredit features`", title="No data for this date")
    data = state.graph.get(state.engine, dates[-1])
    loader = state.model_loader or registry_model
    method = METHOD
    champion: tuple[str, Any] | None
    try:
        champion = state.champion_model.get(state.scorer.state.generation, loader)
    except Exception as exc:  # no registry, no champion, tracking store down: distress only
        log.warning("no champion model for the scenario's score moves: %s", exc)
        champion = None
        method = METHOD.split("; score move")[0] + f"; no score move: no champion model could be loaded ({exc})"
    result = run_scenario(state.engine, data, body.core_firm_ids, body.shock,
                          None if champion is None else (lambda: champion))
    return result, data.names, method


@router.post(
    "/v1/scenarios/core-default",
    response_model=ScenarioOut,
    responses=RESPONSES,
    summary="Firms hit (DebtRank distress) if core firms fail, and how their scores would move",
)
async def core_default(body: ScenarioIn, principal: ScenarioDep, state: StateDep) -> dict[str, Any]:
    try:
        result, names, method = await anyio.to_thread.run_sync(_compute, state, body)
    except UnknownCoreFirms as exc:
        raise Problem(422, str(exc), title="Invalid request",
                      errors=[{"row": 0, "field": "core_firm_ids", "message": f"not in the trade graph: {f}"}
                              for f in exc.firms]) from exc
    shown: set[str] | None = None
    if principal.role == "bank":
        hit = result.distress["firm_id"].astype(str).tolist()
        shown = await state.auth.consented_firms(principal.org, hit, date.today())
    firms = firm_rows(result, names, shown, body.limit)
    await state.audit.write([audit_record(
        principal, "scenario.core_default", model_version=result.model_version, snapshot_as_of=result.as_of,
        detail={"core_firm_ids": body.core_firm_ids, "shock": body.shock, "firms_hit": len(result.distress)},
    )])
    return {
        "as_of": result.as_of,
        "core_firm_ids": body.core_firm_ids,
        "shock": body.shock,
        "model_version": result.model_version,
        "method": method,
        "firms_hit": len(result.distress),
        "firms_not_shown": len(result.distress) - len(firms),
        "firms": firms,
    }
