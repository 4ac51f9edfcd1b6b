"""The one declared shape of a score: what GET /v1/scores/{firm_id} returns, what /openapi.json
documents, and what `chaincredit score FIRM_ID` prints.

The single-firm paths (a cache miss in serving, the command line) build a `ScoreOut` with
`score_out` and serialise it with pydantic; a worker's cache is filled by the column-wise renderer
of scoring.score_render, which a test proves byte for byte equal to `score_out(…).model_dump_json()`.
Money is never a binary float: the limit is a decimal string in `currency` and the same amount in
integer minor units, both from the integer fen the model computes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from store.money import minor_to_decimal
from store.scores import StoredScore

log = logging.getLogger("chaincredit.scoring")

MAX_REASONS = 4  # reasons a response lists, costliest first (a batch may store more)
# A decimal amount as text: optional minus, digits, and the currency's minor digits if it has any.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class PointOut(BaseModel):
    feature: str
    family: str
    value: float | str | None = Field(description="The feature's value: a number, a category's name, "
                                      "or null when it is not known")
    points: float = Field(description="What the feature adds to the score (negative: it costs points)")


class ReasonOut(BaseModel):
    feature: str
    family: str
    points: float = Field(description="Points the feature costs (negative)")
    value: str = Field(description="The feature's value as the texts show it")
    text_en: str
    text_zh: str


class DocumentRef(BaseModel):
    kind: str
    id: str


class RedFlagOut(BaseModel):
    flag: str
    count: int = Field(description="Documents that raised the flag; `documents` lists the first ones")
    documents: list[DocumentRef]


class SnapshotFacts(BaseModel):
    """What the feature snapshot stores beside a firm's features and a score shows (the snapshot
    stores more, such as `core_dependence`, which the score leaves out)."""

    tier: int | None = Field(default=None, description="Trade links to the nearest core firm; null: "
                             "none within reach")
    core_firms: list[str] = Field(default_factory=list, description="Core firms the firm depends on, "
                                  "the most depended on first")
    red_flags: list[RedFlagOut] = Field(default_factory=list)


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
                "points": [{"feature": "verified_share", "family": "verification", "value": 0.82,
                            "points": 9.7}],
                "reasons": [
                    {
                        "feature": "days_beyond_terms",
                        "family": "payment",
                        "points": -6.2,
                        "value": "34",
                        "text_en": "Pays 34 days beyond terms on average",
                        "text_zh": "平均逾期 34 天",
                    }
                ],
                "tier": 1,
                "core_firms": ["91500000MA5U0000X2"],
                "red_flags": [{"flag": "invoice_without_shipment", "count": 2, "documents": [
                    {"kind": "invoice", "id": "04400000-2024-118"},
                    {"kind": "invoice", "id": "04400000-2024-131"}]}],
            }
        }
    )

    firm_id: str
    as_of: date
    model_version: str
    pd: float = Field(description="Probability of default within 12 months")
    score: float = Field(description="Full precision; base_points + sum(points) equals it within 1e-6")
    score_display: int = Field(description="`score` rounded half to even")
    grade: str
    limit: str = Field(pattern=DECIMAL_PATTERN,
                       description="Suggested limit as a decimal string in `currency` (never a float)")
    limit_minor: int = Field(description="The same limit in the currency's minor units (fen for CNY)")
    currency: str = Field(description="ISO 4217 code")
    base_points: float
    points: list[PointOut]
    reasons: list[ReasonOut] = Field(description=f"At most {MAX_REASONS}, costliest first")
    tier: int | None = Field(description="Trade links to the nearest core firm; null: none within reach")
    core_firms: list[str] = Field(description="Core firms the firm depends on, the most depended on first")
    red_flags: list[RedFlagOut]


def snapshot_facts(extras: Mapping[str, Any] | None) -> SnapshotFacts:
    """The facts a score shows from a snapshot's stored extras; none when they do not have the
    declared shape (logged: the snapshot was written by something else than scoring.extras)."""
    try:
        return SnapshotFacts.model_validate(extras or {})
    except ValidationError as exc:
        log.warning("snapshot extras not shown: %s", exc.errors(include_url=False, include_input=False))
        return SnapshotFacts()


def score_out(stored: StoredScore, extras: Mapping[str, Any] | None) -> ScoreOut:
    """The response of a stored score and its snapshot's extras."""
    facts = snapshot_facts(extras)
    return ScoreOut(
        firm_id=stored.firm_id,
        as_of=stored.as_of,
        model_version=stored.model_version,
        pd=stored.pd,
        score=stored.score,
        score_display=round(stored.score),
        grade=stored.grade,
        limit=str(minor_to_decimal(stored.limit_minor, stored.currency)),
        limit_minor=stored.limit_minor,
        currency=stored.currency,
        base_points=stored.base_points,
        points=[PointOut.model_validate(p) for p in stored.points],
        reasons=[ReasonOut.model_validate(r) for r in stored.reasons[:MAX_REASONS]],
        tier=facts.tier,
        core_firms=facts.core_firms,
        red_flags=facts.red_flags,
    )
