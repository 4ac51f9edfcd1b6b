"""The vectorised engine against the plain networkx references, on small random graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import graph
from graph import reference as ref
from graph.cycles import find_cycles
from graph.ratings import rating_quality
from tests.graph.conftest import AS_OF, random_world


@pytest.fixture(scope="module", params=[3, 11])
def case(request: pytest.FixtureRequest) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    fr = random_world(request.param)
    return fr, graph.build_features(fr, AS_OF), graph.build_edges(fr, AS_OF)


def _graph(fr: dict[str, pd.DataFrame], edges: pd.DataFrame, feats: pd.DataFrame) -> nx.DiGraph:
    g = graph.to_networkx(edges)
    g.add_nodes_from(feats.index)
    return g


def _quality(fr: dict[str, pd.DataFrame]) -> dict[str, float]:
    firms = fr["firms"]
    core = firms[firms["is_core"]]
    return dict(zip(core["firm_id"], rating_quality(core["external_rating"]), strict=True))


def test_pagerank(case) -> None:
    fr, feats, edges = case
    g = _graph(fr, edges, feats)
    pr = ref.pagerank(g)
    n = len(feats)
    for firm, value in pr.items():
        assert feats.loc[firm, "net_pagerank"] == pytest.approx(value * n, abs=1e-6)


def test_hhi(case) -> None:
    fr, feats, edges = case
    g = _graph(fr, edges, feats)
    for firm in feats.index:
        assert feats.loc[firm, "net_customer_hhi"] == pytest.approx(ref.hhi(g, firm, True), abs=1e-12)
        assert feats.loc[firm, "net_supplier_hhi"] == pytest.approx(ref.hhi(g, firm, False), abs=1e-12)


@pytest.mark.parametrize("up", [True, False])
def test_transmission(case, up: bool) -> None:
    fr, feats, edges = case
    g = _graph(fr, edges, feats)
    p = graph.GraphParams()
    credit = ref.transmission(g, _quality(fr), p.transmission_decay, p.max_tier, up=up)
    col = "net_chain_credit_up" if up else "net_chain_credit_down"
    assert (feats[col] > 0).sum() > 5  # the world does transmit something
    for firm, value in credit.items():
        assert feats.loc[firm, col] == pytest.approx(value, abs=1e-12)


def test_tiers(case) -> None:
    fr, feats, edges = case
    g = _graph(fr, edges, feats)
    cores = list(_quality(fr))
    dist = ref.tiers(g, cores, graph.GraphParams().max_tier)
    for firm, value in dist.items():
        assert feats.loc[firm, "net_tier"] == value


def test_transmission_dependence_sums_to_chain_credit(case) -> None:
    fr, _, _ = case
    per_firm, deps = graph.credit_transmission(fr, AS_OF)
    for direction, col in (("up", "chain_credit_up"), ("down", "chain_credit_down")):
        sums = deps[deps["direction"] == direction].groupby("firm_id")["credit"].sum()
        noncore = per_firm[~per_firm["is_core"]]
        np.testing.assert_allclose(sums.reindex(noncore.index, fill_value=0.0), noncore[col], atol=1e-12)


def test_debtrank_exposure(case) -> None:
    fr, feats, edges = case
    g = _graph(fr, edges, feats)
    sales = edges.groupby("seller_id")["verified_cny"].sum()
    w = ref.impact_weights(g, sales.to_dict())
    cores = set(_quality(fr))
    expected = ref.exposure_to_largest_core(g, w, cores)
    assert sum(v > 0 for v in expected.values()) > 3
    for firm, value in expected.items():
        assert feats.loc[firm, "net_debtrank_exposure"] == pytest.approx(value, abs=1e-12)


def test_cycles_against_simple_cycles() -> None:
    rng = np.random.default_rng(4)
    n, m = 30, 160
    s = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    keep = s != b
    df = pd.DataFrame({"s": s[keep], "b": b[keep]}).drop_duplicates()
    df["a"] = np.round(rng.choice([100.0, 104.0, 109.0, 150.0], len(df)) * rng.uniform(0.99, 1.0, len(df)), 2)
    got = find_cycles(df["s"].to_numpy(), df["b"].to_numpy(), df["a"].to_numpy(), 0.10, 4)
    mine = {tuple(int(x) for x in row) for arr in got for row in arr}
    g = nx.DiGraph()
    g.add_weighted_edges_from(df[["s", "b", "a"]].itertuples(index=False), weight="a")
    expected = {tuple(int(x) for x in c) for c in ref.cycles(g, "a", 0.10, 4)}
    assert len(expected) > 5
    assert mine == expected
