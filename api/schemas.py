"""Response and request bodies as the OpenAPI document shows them, with examples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The score's one declared shape lives with the code that produces scores (scoring/), which the
# command line shares; the API documents it from there.
from scoring.score_shape import DECIMAL_PATTERN, PointOut, ReasonOut, RedFlagOut, ScoreOut

__all__ = ["PointOut", "ReasonOut", "RedFlagOut", "ScoreOut"]

# Largest id a path or query parameter may carry: database integers are 64-bit.
MAX_ID = 2**62


class ProblemOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "type": "https://chaincredit.example/problems/invalid-upload", "title": "Invalid upload",
        "status": 422, "detail": "2 bad rows; nothing was stored", "instance": "/v1/uploads/invoices",
        "errors": [{"row": 3, "field": "seller_id", "message": "check character should be 'X'"}]}})

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
    model_config = ConfigDict(json_schema_extra={"example": {"firm_ids": ["91500000MA5U000001", "91500000MA5U0000X2"]}})

    firm_ids: list[str] = Field(min_length=1, max_length=1000)
    as_of: date | None = None


class BatchItemOut(BaseModel):
    firm_id: str
    status: int
    score: ScoreOut | None = None
    problem: ProblemOut | None = None


class BatchScoreOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"results": [
        {"firm_id": "91500000MA5U000001", "status": 200, "score": {"score": 611.48, "grade": "BBB"}},
        {"firm_id": "91500000MA5U0000X2", "status": 403, "problem": {
            "type": "https://chaincredit.example/problems/forbidden", "title": "Forbidden", "status": 403,
            "detail": "no consent in force from firm 91500000MA5U0000X2 for bank 91500000MB0000001"}}]}})

    results: list[BatchItemOut]


class UploadOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"batch_id": "b-7f3a", "kind": "invoices", "rows": 120, "inserted": 118, "duplicates": 2,
                                   "replaced": 0, "status": "stored"}})

    batch_id: str
    kind: str
    rows: int
    inserted: int
    duplicates: int
    replaced: int
    status: str
    identifiers: dict[str, dict[str, dict[str, int]]] | None = Field(
        default=None,
        description="XML invoices: per role (seller, buyer), how many documents carried each "
        "EN 16931 identifier business term (found) and which term named the party (used); "
        "BT-34/BT-49 electronic address, BT-30/BT-47 legal registration, BT-31/BT-48 VAT, "
        "BT-29/BT-46 party identifier, BT-27/BT-44 name, USCC a Chinese firm",
    )


class ConsentIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"firm_id": "91500000MA5U000001", "purpose": "working capital loan review",
                                   "valid_until": "2025-12-31", "evidence_ref": "signed-form-2024-118"}})

    firm_id: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=1, max_length=200)
    valid_until: date
    evidence_ref: str = Field(min_length=1, max_length=500)
    valid_from: date | None = None


class ConsentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"id": 41, "firm_id": "91500000MA5U000001", "bank_org": "91500000MB0000001",
        "purpose": "working capital loan review", "valid_from": "2024-07-01", "valid_until": "2025-12-31",
        "evidence_ref": "signed-form-2024-118", "created_at": "2024-07-01T08:00:00Z", "withdrawn_at": None,
        "in_force": True}})

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
    model_config = ConfigDict(json_schema_extra={"example": {"role": "bank", "org": "91500000MB0000001", "label": "loan system, branch 3"}})

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
    model_config = ConfigDict(json_schema_extra={"example": {
        "key_id": "k7Qx2", "role": "bank", "org": "91500000MB0000001", "label": "loan system, branch 3",
        "created_at": "2024-07-01T08:00:00Z", "expires_at": None, "revoked_at": None,
        "token": "cc_k7Qx2_<shown once>"}})

    token: str = Field(description="The key itself: shown once, only its hash is stored")


class ModelOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"champion_version": "4", "serving_version": "4", "previous_version": "3",
                                   "generation": 12, "bumped_at": "2024-07-01T08:00:00Z", "bumped_by": "key:k3"}})

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


class ScenarioIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"core_firm_ids": ["91500000MA5U0000X2"], "shock": 1.0, "limit": 100}}
    )

    core_firm_ids: list[str] = Field(min_length=1, max_length=50, description="Core firms that take the shock")
    shock: float = Field(default=1.0, ge=0.0, le=1.0, description="Share of their buffer lost; 1 = they fail")
    limit: int = Field(default=100, ge=1, le=1000, description="Most distressed firms listed")


class ScenarioFirmOut(BaseModel):
    firm_id: str
    name: str | None
    distress: float = Field(description="Share of the firm's buffer lost (DebtRank), 0..1")
    shocked: bool = Field(description="One of the core firms named in the request")
    pd_before: float | None = None
    pd_after: float | None = None
    score_before: float | None = None
    score_after: float | None = None
    score_change: float | None = None
    grade_before: str | None = None
    grade_after: str | None = None


class ScenarioOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "as_of": "2024-12-31",
                "core_firm_ids": ["91500000MA5U0000X2"],
                "shock": 1.0,
                "model_version": "3",
                "method": "distress: exact DebtRank ...; score move: ...",
                "firms_hit": 2,
                "firms_not_shown": 0,
                "firms": [
                    {"firm_id": "91500000MA5U0000X2", "name": "Core Motor Co.", "distress": 1.0,
                     "shocked": True},
                    {"firm_id": "91500000MA5U000001", "name": "Supplier A", "distress": 0.42,
                     "shocked": False, "pd_before": 0.021, "pd_after": 0.057, "score_before": 611.5,
                     "score_after": 582.4, "score_change": -29.1, "grade_before": "BBB",
                     "grade_after": "BB"},
                ],
            }
        }
    )

    as_of: date
    core_firm_ids: list[str]
    shock: float
    model_version: str | None = Field(description="Model that re-scored the firms; null: distress only")
    method: str
    firms_hit: int = Field(description="Firms with distress > 0, the shocked core firms included")
    firms_not_shown: int = Field(description="Hit firms left out: beyond `limit`, or without the bank's consent")
    firms: list[ScenarioFirmOut]


class GraphNodeOut(BaseModel):
    firm_id: str
    name: str | None


Money = Annotated[str, Field(pattern=DECIMAL_PATTERN, description="Decimal string in `currency`")]
Minor = Annotated[int, Field(description="The same amount in minor units (fen for CNY)")]


class GraphEdgeOut(BaseModel):
    """One seller → buyer relationship over the snapshot's window: its flows as money (a decimal
    string and its minor units, never a float) and its verification."""

    seller_id: str
    buyer_id: str
    first_trade: date | None
    currency: str = Field(description="Currency of every amount of the edge (the graph's: CNY)")
    invoiced: Money
    invoiced_minor: Minor
    invoice_count: int
    credit_note: Money = Field(description="Red-letter reversals (negative)")
    credit_note_minor: Minor
    credit_note_count: int
    ordered: Money
    ordered_minor: Minor
    order_count: int
    shipped: Money
    shipped_minor: Minor
    shipment_count: int
    paid: Money
    paid_minor: Minor
    payment_count: int
    payment_days: float | None = Field(description="Days from invoice to payment, amount-weighted")
    days_beyond_terms: float | None
    verified: Money = Field(description="Invoiced amount matched by an order, a shipment and a payment")
    verified_minor: Minor
    verified_share: float
    outstanding: Money = Field(description="Invoiced and not yet paid at the snapshot date")
    outstanding_minor: Minor
    overdue: Money = Field(description="Outstanding past its due date")
    overdue_minor: Minor


_EDGE_EXAMPLE: dict[str, Any] = {
    "seller_id": "91500000MA5U000001", "buyer_id": "91500000MA5U0000X2", "first_trade": "2023-02-14",
    "currency": "CNY", "invoiced": "125149004.47", "invoiced_minor": 12514900447, "invoice_count": 212,
    "credit_note": "-30000.00", "credit_note_minor": -3000000, "credit_note_count": 1,
    "ordered": "126000000.00", "ordered_minor": 12600000000, "order_count": 40,
    "shipped": "125149004.47", "shipped_minor": 12514900447, "shipment_count": 212,
    "paid": "98000000.00", "paid_minor": 9800000000, "payment_count": 180,
    "payment_days": 61.5, "days_beyond_terms": 1.5,
    "verified": "110000000.00", "verified_minor": 11000000000, "verified_share": 0.879,
    "outstanding": "27149004.47", "outstanding_minor": 2714900447,
    "overdue": "300000.00", "overdue_minor": 30000000,
}


class GraphOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "firm_id": "91500000MA5U000001",
                "as_of": "2024-12-31",
                "depth": 1,
                "nodes": [{"firm_id": "91500000MA5U000001", "name": "Supplier A"},
                          {"firm_id": "91500000MA5U0000X2", "name": "Core Motor Co."}],
                "edges": [_EDGE_EXAMPLE],
            }
        }
    )

    firm_id: str
    as_of: date
    depth: int
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut] = Field(description="One row per seller → buyer relationship among the nodes")
