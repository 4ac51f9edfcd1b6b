"""The engine on the simulator's regional supply chain: values exist, stay in range, and the
planted frauds raise more red flags than honest firms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graph
from training.simulator import SimConfig, simulate

SHARES = [f.name for f in graph.FEATURES if f.unit == "share"]
# payment behaviour is undefined for a firm with no paid or due invoice on that side
MAY_BE_NAN = {"pay_days_to_be_paid", "pay_dbt_as_seller", "pay_dbt_as_buyer", "pay_paydex"}


@pytest.fixture(scope="module")
def sim():
    res = simulate(SimConfig(n_firms=2000, months=24, seed=1))
    return res, graph.build_features(res.frames, res.end)


def test_every_firm_and_no_missing_values(sim) -> None:
    res, feats = sim
    assert set(res.frames["firms"]["firm_id"]) <= set(feats.index)
    must = [c for c in feats.columns if c not in MAY_BE_NAN]
    assert not feats[must].isna().any().any()
    assert np.isfinite(feats[must].to_numpy()).all()
    sellers = feats["net_invoices_issued"] > 0
    assert feats.loc[sellers, "ver_level"].between(0, 3).all()
    # a firm whose invoices were paid has a days-to-be-paid figure
    assert feats.loc[sellers, "pay_days_to_be_paid"].notna().mean() > 0.8


def test_ranges(sim) -> None:
    _, feats = sim
    for col in SHARES:
        assert feats[col].between(0, 1).all(), col
    assert feats["pay_paydex"].dropna().between(1, 100).all()
    assert feats["net_pagerank"].mean() == pytest.approx(1.0)
    assert (feats["net_tier"] >= 0).all()
    assert feats["net_chain_credit"].between(0, 1).all()
    core = feats["net_tier"] == 0
    assert core.sum() > 0 and (feats.loc[~core, "net_chain_credit"] > 0).mean() > 0.3
    # most trade in an honest simulated economy is verified by at least two flows
    assert (feats["ver_sales_share"] * feats["net_sales_cny"]).sum() > 0.6 * feats["net_sales_cny"].sum()


def test_frauds_raise_more_flags(sim) -> None:
    res, feats = sim
    fraud = res.truth["fraud"]
    assert len(fraud) > 0
    is_fraud = feats.index.isin(fraud["firm_id"])
    assert feats.loc[is_fraud, "flag_total"].mean() > 2 * feats.loc[~is_fraud, "flag_total"].mean()


def test_edges_and_verification_consistent(sim) -> None:
    res, feats = sim
    edges = graph.build_edges(res.frames, res.end)
    assert edges["verified_share"].between(0, 1).all()
    sales = edges.groupby("seller_id")["invoiced_cny"].sum()
    # gross invoiced sales on the edges are at least the sales net of reversals
    assert (sales.reindex(feats.index, fill_value=0.0) >= feats["net_sales_cny"] - 1e-3).all()
    ver = graph.verify_invoices(res.frames, res.end)
    assert set(ver["level"].unique()) <= {0, 1, 2, 3}
    assert (ver["paid_cny"] <= ver["amount_due_cny"] + 1e-6).all()
    assert pd.api.types.is_datetime64_any_dtype(ver["paid_on"])
