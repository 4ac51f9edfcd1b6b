"""Scores through the ASGI app: consent, 404/409, points adding up, audit before response."""

from __future__ import annotations

from store.audit import list_records
from tests.api.conftest import CORE, OTHER, SUPPLIER, UNSCORED, Env, uscc


def test_score_with_consent_is_explained_and_audited(env: Env) -> None:
    r = env.client.get(f"/v1/scores/{SUPPLIER}", headers=env.h("bank"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == "1" and body["as_of"] == "2024-06-30"
    assert body["score"] == 608.625 and body["score_display"] == 609
    total = body["base_points"] + sum(p["points"] for p in body["points"])
    assert abs(total - body["score"]) < 1e-6
    assert body["limit"] == "250000.50" and body["limit_minor"] == 25_000_050
    assert body["tier"] == 1 and body["core_firms"] == [CORE] and body["red_flags"] == []
    assert body["reasons"][0]["text_zh"] == "专利少"
    audit = list_records(env.engine, action="score.read")
    assert len(audit) == 1
    rec = audit[0].record
    assert (rec.firm_id, rec.model_version, rec.purpose) == (SUPPLIER, "1", "loan review")
    assert rec.score == 608.625 and str(rec.snapshot_as_of) == "2024-06-30"


def test_no_consent_is_403_even_for_unknown_firms(env: Env) -> None:
    for firm in (OTHER, uscc(77)):
        r = env.client.get(f"/v1/scores/{firm}", headers=env.h("bank"))
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "consent" in r.json()["detail"]
    assert list_records(env.engine, action="score.read") == []


def test_unknown_firm_404_known_without_score_409(env: Env) -> None:
    r = env.client.get(f"/v1/scores/{uscc(99)}", headers=env.h("bank"))
    assert r.status_code == 404 and r.json()["status"] == 404
    r = env.client.get(f"/v1/scores/{UNSCORED}", headers=env.h("bank"))
    assert r.status_code == 409 and "no score" in r.json()["detail"]
    r = env.client.get(f"/v1/scores/{SUPPLIER}?as_of=2023-01-31", headers=env.h("bank"))
    assert r.status_code == 409


def test_batch_scores_each_item_has_status(env: Env) -> None:
    r = env.client.post(
        "/v1/scores:batch", json={"firm_ids": [CORE, SUPPLIER, OTHER, UNSCORED]}, headers=env.h("bank")
    )
    assert r.status_code == 200, r.text
    statuses = [(i["firm_id"], i["status"]) for i in r.json()["results"]]
    assert statuses == [(CORE, 200), (SUPPLIER, 200), (OTHER, 403), (UNSCORED, 409)]
    assert r.json()["results"][0]["score"]["grade"] == "A"
    assert len(list_records(env.engine, action="score.read")) == 2
    too_many = env.client.post("/v1/scores:batch", json={"firm_ids": ["x"] * 1001}, headers=env.h("bank"))
    assert too_many.status_code == 422 and too_many.json()["errors"]


def test_withdrawn_consent_stops_scores(env: Env) -> None:
    listed = env.client.get("/v1/consents", headers=env.h("bank")).json()
    cid = next(c["id"] for c in listed if c["firm_id"] == SUPPLIER)
    r = env.client.post(f"/v1/consents/{cid}/withdraw", headers=env.h("bank2"))
    assert r.status_code == 404  # another bank cannot withdraw it
    r = env.client.post(f"/v1/consents/{cid}/withdraw", headers=env.h("bank"))
    assert r.status_code == 200 and r.json()["in_force"] is False
    assert env.client.get(f"/v1/scores/{SUPPLIER}", headers=env.h("bank")).status_code == 403


def test_consent_registration_enables_scores(env: Env) -> None:
    body = {"firm_id": OTHER, "purpose": "working capital loan", "valid_until": "2099-01-01", "evidence_ref": "e-7"}
    r = env.client.post("/v1/consents", json=body, headers=env.h("bank"))
    assert r.status_code == 201 and r.json()["bank_org"] != OTHER and r.json()["in_force"]
    r = env.client.get(f"/v1/scores/{OTHER}", headers=env.h("bank"))
    assert r.status_code == 200 and r.json()["red_flags"] == [
        {"flag": "circular_trade", "count": 1, "documents": [{"kind": "invoice", "id": "INV/2024/7"}]}]
    bad = env.client.post("/v1/consents", json={**body, "firm_id": "91500000MA0000000X"}, headers=env.h("bank"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "firm_id"


def test_key_errors_are_401_problem(env: Env) -> None:
    assert env.client.get(f"/v1/scores/{CORE}").status_code == 401
    r = env.client.get(f"/v1/scores/{CORE}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = env.client.get(f"/v1/scores/{CORE}", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    key_id = env.tokens["bank"].split("_")[1]
    assert env.client.post(f"/v1/keys/{key_id}/revoke", headers=env.h("admin")).status_code == 200
    r = env.client.get(f"/v1/scores/{CORE}", headers=env.h("bank"))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_health_ready_metrics_need_no_key(env: Env) -> None:
    assert env.client.get("/healthz").json() == {"status": "ok"}
    ready = env.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["model_version"] == "1"
    env.client.get(f"/v1/scores/{CORE}", headers=env.h("bank"))
    text = env.client.get("/metrics").text
    assert "chaincredit_scores_served_total 1.0" in text
    assert CORE not in text


def test_a_key_for_a_blank_organisation_is_a_422_problem(env: Env) -> None:
    """Found by schemathesis: {"org": "\\r"} answered 500."""
    r = env.client.post("/v1/keys", json={"role": "bank", "org": "\r"}, headers=env.h("admin"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "organisation" in r.json()["detail"]
