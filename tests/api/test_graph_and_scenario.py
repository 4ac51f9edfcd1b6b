"""The graph view and the core-default scenario over real data: a simulated supply chain loaded
through the store, a feature snapshot built by scoring.snapshot, and a CreditModel fitted on it
(scores stored by scoring.batch, as `chaincredit score --all` stores them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from store.uscc import make_uscc

BANK = make_uscc("91500000MB0000077")
FLOWS = ("invoiced", "credit_note", "ordered", "shipped", "paid", "verified", "outstanding", "overdue")


@dataclass
class World:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]
    core: str
    edges: pd.DataFrame
    as_of: date
    model: Any

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, new_sqlite: Callable[[Path], str]) -> Iterator[World]:
    import graph
    from api.app import create_app
    from api.settings import ApiSettings
    from models import CreditModel
    from scoring.batch import score_frame
    from scoring.snapshot import compute_snapshot
    from store import consents, keys
    from store.db import make_engine
    from store.feature_snapshots import save_snapshot
    from store.ingest import ingest_many
    from store.loaders import load_flows
    from store.model_state import bump_model_state
    from store.reading import read_paths
    from store.scores import save_scores
    from training.simulator import SimConfig, simulate, write_simulation

    tmp: Path = tmp_path_factory.mktemp("world")
    res = simulate(SimConfig(n_firms=120, months=12, seed=3))
    write_simulation(res, tmp / "data", fmt="csv")
    engine = make_engine(new_sqlite(tmp / "world.db"))
    ingest_many(engine, read_paths([tmp / "data"]), uploader="test")
    as_of = res.end
    # Numeric features only: store.feature_snapshots keeps float vectors (categorical columns such as
    # the industry section are not storable there yet).
    feats = compute_snapshot(engine, as_of).select_dtypes("number")
    save_snapshot(engine, as_of, feats)
    rng = np.random.default_rng(5)
    y = (rng.random(len(feats)) < 0.25).astype(np.int64)
    model = CreditModel(n_estimators=30, calibration_folds=2).fit(feats, y)
    save_scores(engine, as_of, "1", score_frame(model, feats))
    bump_model_state(engine, "1", by="test")
    edges = graph.build_edges(load_flows(engine, as_of), as_of)
    firms = res.frames["firms"]
    cores = set(firms.loc[firms["is_core"], "firm_id"])
    counts = pd.concat([edges["seller_id"], edges["buyer_id"]]).value_counts()
    core = next(f for f in counts.index if f in cores)  # the best-connected core firm
    tokens = {
        "admin": keys.create_key(engine, role="admin", org="ADMIN", created_by="t").token,
        "bank": keys.create_key(engine, role="bank", org=BANK, created_by="t").token,
        "model_owner": keys.create_key(engine, role="model_owner", org="M", created_by="t").token,
    }
    consents.grant_consent(engine, firm_id=core, bank_org=BANK, purpose="loan review", evidence_ref="e",
                           valid_until=date.today() + timedelta(days=30), created_by="t")
    settings = ApiSettings(access_log=False, audit_flush_ms=1, rate_limit_per_second=0)
    app = create_app(settings, engine=engine)
    app.state.cc.model_loader = lambda: ("1", model)
    with TestClient(app) as client:
        yield World(client, engine, tokens, core, edges, as_of, model)
    engine.dispose()


def test_graph_neighbourhood_admin_sees_depth_two(world: World) -> None:
    r = world.client.get(f"/v1/firms/{world.core}/graph?depth=2", headers=world.h("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == world.as_of.isoformat() and body["depth"] == 2
    nodes = {n["firm_id"] for n in body["nodes"]}
    direct = set(world.edges.loc[world.edges["seller_id"] == world.core, "buyer_id"]) | set(
        world.edges.loc[world.edges["buyer_id"] == world.core, "seller_id"])
    assert world.core in nodes and direct <= nodes and len(nodes) > len(direct)
    assert all(e["seller_id"] in nodes and e["buyer_id"] in nodes for e in body["edges"])
    assert any(n["name"] for n in body["nodes"])
    # Flows are money: a decimal string and integer fen, equal to the graph's float to the fen.
    ref = world.edges.set_index(["seller_id", "buyer_id"])
    for e in body["edges"]:
        row = ref.loc[(e["seller_id"], e["buyer_id"])]
        assert e["currency"] == "CNY" and not [k for k in e if k.endswith("_cny")]
        for flow in FLOWS:
            text, minor = e[flow], e[f"{flow}_minor"]
            assert isinstance(text, str) and isinstance(minor, int)
            assert Decimal(text) == Decimal(minor).scaleb(-2)
            assert minor == round(row[f"{flow}_cny"] * 100)
        assert isinstance(e["invoice_count"], int) and e["invoice_count"] == row["invoice_count"]
    assert '"invoiced":"' in r.text


def test_edge_rows_turn_float_flows_into_money() -> None:
    from api.graph_data import edge_rows

    edges = pd.DataFrame({
        "seller_id": ["S1", "S2"], "buyer_id": ["B", "B"],
        "first_trade": pd.to_datetime(["2024-01-05", None]),
        "invoiced_cny": [125149004.47000001, 0.125], "invoice_count": [3.0, 1.0],
        "overdue_cny": [-0.135, 0.0], "payment_days": [12.5, np.nan],
    })
    rows = edge_rows(edges)
    assert rows[0] == {"seller_id": "S1", "buyer_id": "B", "first_trade": date(2024, 1, 5),
                       "invoiced": "125149004.47", "invoiced_minor": 12514900447, "invoice_count": 3,
                       "overdue": "-0.14", "overdue_minor": -14, "payment_days": 12.5, "currency": "CNY"}
    # 0.125 CNY is exactly 12.5 fen: half to even gives 12; missing numbers and dates are None.
    assert rows[1]["invoiced"] == "0.12" and rows[1]["invoiced_minor"] == 12
    assert rows[1]["first_trade"] is None and rows[1]["payment_days"] is None


def test_graph_bank_sees_only_edges_of_the_consented_firm(world: World) -> None:
    r = world.client.get(f"/v1/firms/{world.core}/graph?depth=3", headers=world.h("bank"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["depth"] == 1 and body["edges"]
    assert all(world.core in (e["seller_id"], e["buyer_id"]) for e in body["edges"])
    other = next(f for f in world.edges["seller_id"] if f != world.core)
    assert world.client.get(f"/v1/firms/{other}/graph", headers=world.h("bank")).status_code == 403


def test_scenario_matches_debtrank_and_scores_only_fall(world: World) -> None:
    import graph

    expected = graph.core_default_scenario(world.edges, [world.core], 0.8).set_index("firm_id")["distress"]
    r = world.client.post("/v1/scenarios/core-default", headers=world.h("admin"),
                          json={"core_firm_ids": [world.core], "shock": 0.8, "limit": 1000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == "1" and "DebtRank" in body["method"]
    firms = body["firms"]
    hit = expected[expected > 1e-9]
    assert body["firms_hit"] == len(hit) and body["firms_not_shown"] == 0 and len(hit) >= 2
    shocked = [f for f in firms if f["shocked"]]
    assert [f["firm_id"] for f in shocked] == [world.core] and shocked[0]["distress"] == pytest.approx(0.8)
    for f in firms:
        assert f["distress"] == pytest.approx(expected[f["firm_id"]], abs=1e-12)
    moved = [f for f in firms if not f["shocked"]]
    assert moved and all(f["score_after"] is not None for f in moved)
    assert all(f["score_change"] <= 1e-9 for f in moved)  # more exposure never raises a score
    assert all(f["pd_after"] >= f["pd_before"] - 1e-12 for f in moved)
    distress = [f["distress"] for f in firms]
    assert distress == sorted(distress, reverse=True)


def test_scenario_bank_sees_consented_firms_only(world: World) -> None:
    r = world.client.post("/v1/scenarios/core-default", headers=world.h("bank"),
                          json={"core_firm_ids": [world.core]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["firm_id"] for f in body["firms"]] == [world.core]
    assert body["firms_not_shown"] == body["firms_hit"] - 1 > 0


def test_scenario_unknown_core_firm_is_422(world: World) -> None:
    stranger = make_uscc("91500000MA0999999")
    r = world.client.post("/v1/scenarios/core-default", headers=world.h("admin"),
                          json={"core_firm_ids": [stranger]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "core_firm_ids"
    assert stranger in r.json()["detail"]
    bad = world.client.post("/v1/scenarios/core-default", headers=world.h("admin"),
                            json={"core_firm_ids": [world.core], "shock": 1.5})
    assert bad.status_code == 422
    assert world.client.post("/v1/scenarios/core-default", headers=world.h("model_owner"),
                             json={"core_firm_ids": [world.core]}).status_code == 403
