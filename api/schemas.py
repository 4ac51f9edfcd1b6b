"""Response and request bodies as the OpenAPI document shows them, with examples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PointOut(BaseModel):
    feature: str
    family: str
    value: float | None
    points: float


class ReasonOut(BaseModel):
    feature: str
    points: float
    text_zh: str
    text_en: str


class ScoreOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "firm_id": "91500000MA5U000001",
                "as_of": "2024-12-31",
                "model_version": "3",
                "pd": 0.0213,
                "score": 611.482913,
                "score_display": 611,
                "grade": "BBB",
                "limit": "1250000.00",
                "limit_minor": 125000000,
                "currency": "CNY",
                "base_points": 598.1,
                "points": [{"feature": "verified_share", "family": "verification", "value": 0.82, "points": 9.7}],
                "reasons": [
                    {
                        "feature": "days_beyond_terms",
                        "points": -6.2,
                        "text_zh": "平均逾期 34 天",
                        "text_en": "Pays 34 days beyond terms on average",
                    }
                ],
                "tier": 1,
                "core_firms": ["91500000MA5U0000X2"],
                "red_flags": [],
            }
        }
    )

    firm_id: str
    as_of: date
    model_version: str
    pd: float = Field(description="Probability of default within 12 months")
    score: float = Field(description="Full precision; base_points + sum(points) equals it within 1e-6")
    score_display: int
    grade: str
    limit: str = Field(description="Suggested limit as a decimal string in `currency`")
    limit_minor: int
    currency: str
    base_points: float
    points: list[PointOut]
    reasons: list[ReasonOut]
    tier: int | None
    core_firms: list[str]
    red_flags: list[Any]


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemOut, "description": "No key, or an unknown, revoked or expired key"},
    403: {"model": ProblemOut, "description": "The key's role or organisation does not allow this"},
    429: {"model": ProblemOut, "description": "Rate limit exceeded; see Retry-After"},
}


class BatchScoreIn(BaseModel):
    firm_ids: list[str] = Field(min_length=1, max_length=1000)
    as_of: date | None = None


class BatchItemOut(BaseModel):
    firm_id: str
    status: int
    score: ScoreOut | None = None
    problem: ProblemOut | None = None


class BatchScoreOut(BaseModel):
    results: list[BatchItemOut]


class UploadOut(BaseModel):
    batch_id: str
    kind: str
    rows: int
    inserted: int
    duplicates: int
    replaced: int
    status: str


class ConsentIn(BaseModel):
    firm_id: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=1, max_length=200)
    valid_until: date
    evidence_ref: str = Field(min_length=1, max_length=500)
    valid_from: date | None = None


class ConsentOut(BaseModel):
    id: int
    firm_id: str
    bank_org: str
    purpose: str
    valid_from: date
    valid_until: date
    evidence_ref: str
    created_at: datetime
    withdrawn_at: datetime | None
    in_force: bool


class KeyIn(BaseModel):
    role: Literal["admin", "bank", "enterprise", "model_owner"]
    org: str = Field(min_length=1, max_length=100)
    expires_at: datetime | None = None
    label: str | None = Field(default=None, max_length=200)


class KeyOut(BaseModel):
    key_id: str
    role: str
    org: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    token: str = Field(description="The key itself: shown once, only its hash is stored")


class ModelOut(BaseModel):
    champion_version: str | None
    serving_version: str | None
    previous_version: str | None
    generation: int
    bumped_at: datetime | None
    bumped_by: str | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_org: str | None
    role: str | None
    action: str
    firm_id: str | None
    purpose: str | None
    model_version: str | None
    score: float | None
    snapshot_as_of: date | None
    detail: dict[str, Any] | None
