"""Snapshot extras: tier, core firms with shares, red flags with their documents, stored by
`chaincredit features` and returned by the score API."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from scoring import extras as ex

AS_OF = date(2024, 5, 31)


def test_core_lists_order_by_share_and_keep_every_direction() -> None:
    deps = pd.DataFrame({
        "firm_id": ["A", "A", "A", "B"],
        "core_id": ["C1", "C2", "C1", "C2"],
        "direction": ["up", "up", "down", "up"],
        "credit": [0.1, 0.5, 0.05, 0.3],
        "share": [0.2, 0.8, 1.0, 1.0],
    })
    ids, dep = ex.core_lists(deps, pd.Index(["A", "B", "Z"]))
    assert ids == [["C1", "C2"], ["C2"], []]  # C1 down carries A's largest share
    assert [d["share"] for d in dep[0]] == [1.0, 0.8, 0.2]
    assert dep[0][0] == {"core_id": "C1", "direction": "down", "share": 1.0, "credit": 0.05}
    assert dep[2] == []


def test_flag_lists_group_documents_and_cap_them() -> None:
    flags = pd.DataFrame({
        "firm_id": ["A"] * 5 + ["B"],
        "flag": ["invoice_without_shipment"] * 4 + ["circular_trade", "duplicate_invoice"],
        "document_kind": "invoice",
        "document_id": ["I4", "I1", "I3", "I2", "I9", "I7"],
    })
    out = ex.flag_lists(flags, pd.Index(["B", "A", "C"]), max_documents=3)
    assert out[2] == []
    assert out[0] == [{"flag": "duplicate_invoice", "count": 1,
                       "documents": [{"kind": "invoice", "id": "I7"}]}]
    by_flag = {f["flag"]: f for f in out[1]}
    assert by_flag["invoice_without_shipment"]["count"] == 4
    assert [d["id"] for d in by_flag["invoice_without_shipment"]["documents"]] == ["I1", "I2", "I3"]
    assert by_flag["circular_trade"]["documents"] == [{"kind": "invoice", "id": "I9"}]


def test_tiers_out_of_reach_is_none() -> None:
    per_firm = pd.DataFrame({"tier": [0.0, 2.0, 5.0]}, index=["C", "A", "B"])
    t = ex.tiers(per_firm, pd.Index(["A", "B", "C", "Z"]), max_tier=4)
    assert t.tolist()[0] == 2 and t.tolist()[2] == 0
    assert t.isna().tolist() == [False, True, False, True]


def _no_model() -> tuple[str, object]:
    raise LookupError("no champion model in this test")


def test_score_api_returns_the_snapshot_extras(loaded: Engine) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings
    from scoring.snapshot import build_snapshot
    from store import consents, keys
    from store.feature_snapshots import load_snapshot_extras
    from store.model_state import bump_model_state
    from store.scores import save_scores

    features = build_snapshot(loaded, AS_OF)
    firm_ids = features.index.astype(str)
    stored = {f: load_snapshot_extras(loaded, f, AS_OF) for f in firm_ids}
    flagged = [f for f, e in stored.items() if e["red_flags"]]
    dependent = [f for f, e in stored.items() if e["core_firms"] and e["tier"] and not e["red_flags"]]
    assert flagged and dependent, "the simulation should hold flagged and chain-dependent firms"
    firm = next(f for f in flagged if stored[f]["core_firms"]) if any(
        stored[f]["core_firms"] for f in flagged) else flagged[0]

    n = len(firm_ids)
    save_scores(loaded, AS_OF, "7", pd.DataFrame({
        "firm_id": firm_ids, "pd": 0.02, "score": 610.0, "grade": "BB", "limit_minor": 100_000,
        "base_points": 600.0, "points": "[]", "reasons": "[]",
    }, index=range(n)))
    bump_model_state(loaded, "7", by="test")
    bank = "91500000MA5UBANK0X"
    token = keys.create_key(loaded, role="bank", org=bank, created_by="test").token
    for f in (firm, dependent[0]):
        consents.grant_consent(loaded, firm_id=f, bank_org=bank, purpose="loan review",
                               valid_until=date.today() + timedelta(days=30),
                               evidence_ref="form-1", created_by="test")
    settings = ApiSettings(auth_cache_seconds=0, access_log=False, audit_flush_ms=1,
                           model_poll_seconds=0.05, rate_limit_per_second=10_000,
                           rate_limit_burst=10_000)
    app = create_app(settings, engine=loaded)
    app.state.cc.champion_lookup = lambda: "7"
    app.state.cc.model_loader = _no_model  # never the MLflow store of the working tree
    with TestClient(app) as client:
        for f in (firm, dependent[0]):
            r = client.get(f"/v1/scores/{f}", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["as_of"] == AS_OF.isoformat()
            assert body["tier"] == stored[f]["tier"]
            assert body["core_firms"] == stored[f]["core_firms"]
            assert body["red_flags"] == stored[f]["red_flags"]
        flags = client.get(f"/v1/scores/{firm}", headers={"Authorization": f"Bearer {token}"}).json()
        first = flags["red_flags"][0]
        assert first["count"] >= len(first["documents"]) >= 1
        assert {"kind", "id"} <= set(first["documents"][0])
        dep = client.get(f"/v1/scores/{dependent[0]}",
                         headers={"Authorization": f"Bearer {token}"}).json()
        assert isinstance(dep["tier"], int) and dep["tier"] >= 1 and dep["core_firms"]
    shares = [d["share"] for d in stored[dependent[0]]["core_dependence"]]
    assert shares == sorted(shares, reverse=True) and 0 < shares[0] <= 1.0
    assert json.dumps(stored[firm])  # plain JSON types only
