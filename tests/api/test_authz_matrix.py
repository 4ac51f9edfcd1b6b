"""Every role against every endpoint: allowed roles get past auth, the others get 401/403 and
nothing is written (audit, keys, consents and records unchanged)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.conftest import CORE, SUPPLIER, Env

ROLES = (None, "admin", "bank", "enterprise", "model_owner")
ORDERS = (
    "order_id,buyer_id,seller_id,order_date,amount,currency,payment_terms_days\n"
    f"PO-1,{CORE},{SUPPLIER},2024-05-01,1.00,CNY,30\n"
).encode()
EVENTS = json.dumps([{"firm_id": SUPPLIER, "event_date": "2024-05-01", "kind": "default_90dpd"}]).encode()
FIRMS = json.dumps([{"firm_id": SUPPLIER, "name": "x", "region_code": "500000", "industry_code": "C3670",
                     "founded_on": "2020-01-01", "is_core": False}]).encode()

# (method, path, request kwargs, roles allowed)
MATRIX: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("GET", f"/v1/scores/{CORE}", {}, {"bank"}),
    ("POST", "/v1/scores:batch", {"json": {"firm_ids": [CORE]}}, {"bank"}),
    ("POST", "/v1/uploads/orders", {"content": ORDERS, "headers": {"Content-Type": "text/csv"}},
     {"admin", "enterprise"}),
    ("POST", "/v1/uploads/firms", {"content": FIRMS, "headers": {"Content-Type": "application/json"}},
     {"admin"}),
    ("POST", "/v1/uploads/credit-events", {"content": EVENTS, "headers": {"Content-Type": "application/json"}},
     {"admin", "bank"}),
    ("POST", "/v1/credit-events", {"content": EVENTS, "headers": {"Content-Type": "application/json"}},
     {"admin", "bank"}),
    ("GET", "/v1/uploads/no-such-batch", {}, {"admin", "bank", "enterprise"}),
    ("POST", "/v1/consents", {"json": {"firm_id": CORE, "purpose": "p", "valid_until": "2099-01-01",
                                       "evidence_ref": "e"}}, {"bank"}),
    ("GET", "/v1/consents", {}, {"bank", "admin"}),
    ("POST", "/v1/consents/1/withdraw", {}, {"bank"}),
    ("GET", f"/v1/firms/{SUPPLIER}/graph", {}, {"admin", "bank", "enterprise"}),
    ("POST", "/v1/scenarios/core-default", {"json": {"core_firm_ids": [CORE], "shock": 1.0}}, {"admin", "bank"}),
    ("GET", "/v1/models/current", {}, {"model_owner", "admin"}),
    ("POST", "/v1/models/reload", {}, {"model_owner", "admin"}),
    ("POST", "/v1/keys", {"json": {"role": "bank", "org": "X"}}, {"admin"}),
    ("GET", "/v1/keys", {}, {"admin"}),
    ("POST", "/v1/keys/nope/revoke", {}, {"admin"}),
    ("GET", "/v1/audit", {}, {"admin"}),
    ("GET", "/healthz", {}, {"none", "admin", "bank", "enterprise", "model_owner"}),
    ("GET", "/readyz", {}, {"none", "admin", "bank", "enterprise", "model_owner"}),
    ("GET", "/metrics", {}, {"none", "admin", "bank", "enterprise", "model_owner"}),
]

COUNTED = ("audit_log", "api_keys", "consents", "orders", "firms", "credit_events", "batches", "model_state")


def counts(env: Env) -> dict[str, Any]:
    with env.engine.connect() as conn:
        out = {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in COUNTED}
        out["withdrawn"] = conn.execute(text("select count(withdrawn_at) from consents")).scalar_one()
        out["generation"] = conn.execute(text("select generation from model_state")).scalar_one()
    return out


def test_every_api_route_is_in_the_matrix(env: Env) -> None:
    paths = env.client.get("/openapi.json").json()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    templated = {
        ("GET", "/v1/scores/{firm_id}"), ("POST", "/v1/scores:batch"), ("POST", "/v1/uploads/{kind}"),
        ("POST", "/v1/credit-events"), ("GET", "/v1/uploads/{batch_id}"), ("POST", "/v1/consents"),
        ("GET", "/v1/consents"), ("POST", "/v1/consents/{consent_id}/withdraw"),
        ("GET", "/v1/firms/{firm_id}/graph"), ("POST", "/v1/scenarios/core-default"),
        ("GET", "/v1/models/current"), ("POST", "/v1/models/reload"),
        ("POST", "/v1/keys"), ("GET", "/v1/keys"), ("POST", "/v1/keys/{key_id}/revoke"), ("GET", "/v1/audit"),
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    }
    assert routes == templated


@pytest.mark.parametrize(("method", "path", "kwargs", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_role_matrix(env: Env, method: str, path: str, kwargs: dict[str, Any], allowed: set[str]) -> None:
    for role in ROLES:
        before = counts(env)
        extra = dict(kwargs)
        headers = {**extra.pop("headers", {}), **env.h(role)}
        r = env.client.request(method, path, headers=headers, **extra)
        name = role or "none"
        if name in allowed:
            assert r.status_code not in (401, 403), (name, r.status_code, r.text)
            assert r.status_code < 500 or r.status_code == 503, (name, r.text)
        else:
            assert r.status_code == (401 if role is None else 403), (name, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["detail"]
            assert counts(env) == before, f"{name} was refused {method} {path} but something was written"
