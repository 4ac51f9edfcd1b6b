"""Scores for banks: precomputed, consent-checked, audited before they leave.

The firm's consent is checked before anything about the firm is looked up, so a bank without
consent cannot even learn whether a firm is known (403 either way).
"""

from __future__ import annotations

import json
from datetime import date

from fastapi import APIRouter, Response

from api.auth import Principal, forbidden
from api.deps import AppState, BankDep, StateDep
from api.problems import Problem, to_problem
from api.schemas import PROBLEM_RESPONSES, BatchScoreIn, BatchScoreOut, ProblemOut, ScoreOut
from api.serving import ServedScore
from store.audit import AuditRecord, audit_record

router = APIRouter(tags=["scores"])

SCORE_RESPONSES = {
    **PROBLEM_RESPONSES,
    404: {"model": ProblemOut, "description": "Unknown firm"},
    409: {"model": ProblemOut, "description": "Known firm without a score for the date asked"},
}


async def serve_one(state: AppState, principal: Principal, firm_id: str, as_of: date | None) -> tuple[ServedScore, str]:
    consent = await state.auth.consent(principal.org, firm_id, date.today())
    if consent is None:
        raise forbidden(
            f"no consent in force from firm {firm_id} for bank {principal.org}: "
            "register the firm's consent with POST /v1/consents first"
        )
    served = await state.scorer.get(firm_id, as_of)
    return served, consent.purpose


def score_record(principal: Principal, served: ServedScore, purpose: str, action: str) -> AuditRecord:
    return audit_record(principal, action, firm_id=served.firm_id, purpose=purpose,
                        model_version=served.model_version, score=served.score, snapshot_as_of=served.as_of)


@router.get(
    "/v1/scores/{firm_id}",
    response_model=ScoreOut,
    responses=SCORE_RESPONSES,
    summary="A firm's score with its points, reasons, tier, core firms and red flags",
)
async def get_score(firm_id: str, principal: BankDep, state: StateDep, as_of: date | None = None) -> Response:
    # The same answer as api.fastpath.ScoreFastPath, which serves this route when enabled.
    served, purpose = await serve_one(state, principal, firm_id, as_of)
    await state.audit.write([score_record(principal, served, purpose, "score.read")])
    state.metrics.scores_served.inc()
    return Response(served.body, media_type="application/json")


@router.post(
    "/v1/scores:batch",
    response_model=BatchScoreOut,
    responses=PROBLEM_RESPONSES,
    summary="Scores of up to 1,000 firms; each item carries its own status",
)
async def score_batch(body: BatchScoreIn, principal: BankDep, state: StateDep) -> Response:
    if len(body.firm_ids) > state.settings.max_batch_firms:
        raise Problem(422, f"at most {state.settings.max_batch_firms} firms per batch")
    parts: list[bytes] = []
    records: list[AuditRecord] = []
    for firm_id in body.firm_ids:
        head = json.dumps({"firm_id": firm_id}, ensure_ascii=False)[:-1].encode()
        try:
            served, purpose = await serve_one(state, principal, firm_id, body.as_of)
        except Exception as exc:
            problem = to_problem(exc)
            if problem is None:
                raise
            body_json = json.dumps(problem.body(), ensure_ascii=False).encode()
            parts.append(head + b',"status":' + str(problem.status).encode() + b',"problem":' + body_json + b"}")
            continue
        records.append(score_record(principal, served, purpose, "score.read"))
        parts.append(head + b',"status":200,"score":' + served.body + b"}")
    await state.audit.write(records)
    state.metrics.scores_served.inc(len(records))
    return Response(b'{"results":[' + b",".join(parts) + b"]}", media_type="application/json")
