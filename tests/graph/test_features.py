"""build_features: shape, hand-worked values, red flags, point in time, simulator output."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import graph
from tests.graph.conftest import AS_OF
from tests.graph.factory import combine, firm, frames, trade


def test_contract_shape_and_dictionary(world) -> None:
    feats = graph.build_features(world, AS_OF)
    assert list(feats.columns) == [f.name for f in graph.FEATURES]
    assert len(graph.FEATURES) >= 25
    assert all(dt == np.float64 for dt in feats.dtypes)
    assert feats.index.name == "firm_id"
    assert set(world["firms"]["firm_id"]) <= set(feats.index)
    for spec in graph.FEATURES:
        assert spec.meaning_en and spec.meaning_zh and "{value}" in spec.reason_en
        assert "{value}" in spec.reason_zh
        assert spec.family in ("trade_network", "verification", "payment_behaviour")


def test_document_only_parties_get_rows_and_empty_frames_work() -> None:
    fr = frames(firms=[firm("A")], **trade("A", "NEWCO", 1, "2024-05-01", 100.0))
    feats = graph.build_features(fr, AS_OF)
    assert list(feats.index) == ["A", "NEWCO"]
    assert feats.loc["A", "net_customers"] == 1.0
    empty = graph.build_features(frames(), AS_OF)
    assert empty.empty and list(empty.columns) == list(graph.FEATURE_NAMES)
    only_firms = graph.build_features(frames(firms=[firm("A"), firm("B", True, "AA")]), AS_OF)
    assert only_firms.loc["B", "net_tier"] == 0.0
    assert only_firms.loc["A", "net_tier"] == graph.GraphParams().max_tier + 1


def test_hand_built_chain() -> None:
    # CORE (AA) buys from S1, S1 buys from S2, all trades fully verified and paid on terms.
    # Master scale: AA is the 3rd grade of 19 -> quality 1 - 2/19 = 0.894737
    # S1 sells only to CORE: up credit = (1 - 0.2) * 1.0 * 0.894737 = 0.715789
    # S2 sells only to S1:   up credit = 0.8 * 1.0 * 0.715789 = 0.572632
    fr = frames(
        firms=[firm("CORE", True, "AA"), firm("S1"), firm("S2")],
        **combine(trade("S1", "CORE", 1, "2024-03-01", 1000.0),
                  trade("S1", "CORE", 2, "2024-04-01", 3000.0),
                  trade("S2", "S1", 3, "2024-03-15", 500.0)),
    )
    f = graph.build_features(fr, AS_OF)
    q = 1 - 2 / 19
    assert f.loc["S1", "net_chain_credit_up"] == pytest.approx(0.8 * q)
    assert f.loc["S2", "net_chain_credit_up"] == pytest.approx(0.64 * q)
    assert f.loc["S2", "net_tier"] == 2.0 and f.loc["S1", "net_tier"] == 1.0
    assert f.loc["S1", "net_core_sales_share"] == 1.0
    assert f.loc["S1", "net_largest_core_share"] == 1.0
    assert f.loc["S1", "ver_sales_share"] == 1.0 and f.loc["S1", "ver_level"] == 3.0
    assert f.loc["S1", "pay_paydex"] == 80.0  # paid exactly at 30-day terms
    # S1 sells 4000 to one customer: HHI 1; buys 500 from one supplier
    assert f.loc["S1", "net_customer_hhi"] == 1.0 and f.loc["S1", "net_sales_cny"] == 4000.0
    # growth: months_before(2024-06-30, 6) = 2023-12-30, so all sales are recent -> +1
    assert f.loc["S1", "net_sales_growth"] == 1.0
    # nothing is unpaid, so failure of CORE costs S1 nothing
    assert f.loc["S1", "net_debtrank_exposure"] == 0.0


def test_debtrank_exposure_and_scenario() -> None:
    # S1 sold 1000 (paid) and 3000 (unpaid) to CORE: receivable 3000 on a buffer of verified
    # sales 4000 -> W[S1, CORE] = 0.75. S2 holds 500 unpaid on S1, buffer 500 -> W = 1.
    # Two-step exposure of S1 = 0.75; scenario: h(S1) = 0.75, h(S2) = min(1, 1 * 0.75) = 0.75
    fr = frames(
        firms=[firm("CORE", True, "AA"), firm("S1"), firm("S2")],
        **combine(trade("S1", "CORE", 1, "2024-03-01", 1000.0),
                  trade("S1", "CORE", 2, "2024-04-01", 3000.0, paid_days=None),
                  trade("S2", "S1", 3, "2024-03-15", 500.0, paid_days=None)),
    )
    f = graph.build_features(fr, AS_OF)
    assert f.loc["S1", "net_debtrank_exposure"] == pytest.approx(0.75)
    sc = graph.core_default_scenario(fr, ["CORE"], 1.0, as_of=AS_OF).set_index("firm_id")
    assert sc.loc["CORE", "distress"] == 1.0
    assert sc.loc["S1", "distress"] == pytest.approx(0.75)
    assert sc.loc["S2", "distress"] == pytest.approx(0.75)
    via_edges = graph.core_default_scenario(graph.build_edges(fr, AS_OF), ["CORE"]).set_index("firm_id")
    assert via_edges.loc["S2", "distress"] == pytest.approx(0.75)
    with pytest.raises(KeyError):
        graph.core_default_scenario(fr, ["NOPE"], as_of=AS_OF)


def test_circular_duplicate_and_young_firm_flags() -> None:
    docs = combine(
        # A -> B -> C -> A within 90 days, amounts within 10%: circular (no shipments needed)
        trade("A", "B", 1, "2024-05-01", 1000.0), trade("B", "C", 2, "2024-05-10", 1050.0),
        trade("C", "A", 3, "2024-05-20", 980.0),
        # D invoices E twice for 777.00 within 3 days: duplicate
        trade("D", "E", 4, "2024-04-01", 777.0), trade("D", "E", 5, "2024-04-03", 777.0, order=False),
        # Y founded 2024-01-01 (< 12 months before T) invoices 2M with no shipment
        trade("Y", "E", 6, "2024-04-01", 2_000_000.0, ship=False),
    )
    fr = frames(firms=[firm(x) for x in "ABCDE"] + [firm("Y", founded="2024-01-01")], **docs)
    flags = graph.red_flags(fr, AS_OF)
    circ = flags[flags["flag"] == "circular_trade"]
    assert set(circ["firm_id"]) == {"A", "B", "C"}
    assert set(circ["document_id"]) == {"I1", "I2", "I3"}
    dup = flags[flags["flag"] == "duplicate_invoice"]
    assert set(dup["document_id"]) == {"I4", "I5"}
    young = flags[flags["flag"] == "young_firm_no_logistics"]
    assert young["firm_id"].tolist() == ["Y"] and young["document_id"].tolist() == ["I6"]
    f = graph.build_features(fr, AS_OF)
    assert f.loc["A", "flag_circular_trade"] == 3.0  # the three invoices of its cycle
    assert f.loc["Y", "flag_invoice_without_shipment"] == 1.0
    assert f.loc["Y", "flag_total"] == 2.0
    # widen the band below the 7% spread (980 -> 1050): no cycle any more
    tight = graph.red_flags(fr, AS_OF, graph.GraphParams(cycle_amount_tolerance=0.05))
    assert not (tight["flag"] == "circular_trade").any()


def test_no_fx_rate_documents_are_counted_not_summed() -> None:
    fr = frames(firms=[firm("A"), firm("B")], **trade("A", "B", 1, "2024-05-01", 100.0))
    usd = frames(firms=[firm("A"), firm("B")], **trade("A", "B", 2, "2024-05-02", 100.0))["invoices"]
    usd["total_cny"] = np.nan
    usd["currency"] = "USD"
    fr["invoices"] = pd.concat([fr["invoices"], usd], ignore_index=True)
    f = graph.build_features(fr, AS_OF)
    assert f.loc["A", "net_sales_cny"] == 100.0
    assert f.loc["A", "flag_no_fx_rate"] == 1.0 and f.loc["B", "flag_no_fx_rate"] == 1.0


def test_point_in_time(world) -> None:
    """Documents and a credit event dated after T leave every feature as of T unchanged.

    The extra trades are dated from 2024-07-15, so even their orders (10 days earlier) are
    after T = 2024-06-30."""
    before = graph.build_features(world, AS_OF)
    later = {k: v.copy() for k, v in world.items()}
    extra = combine(*(trade(f"F{k % 40:03d}", f"F{(k * 7 + 3) % 40:03d}", 10_000 + k,
                            f"2024-07-{15 + k % 14:02d}", 5000.0 + k) for k in range(60)),
                    trade("F010", "BRANDNEW", 99_999, "2024-08-01", 1e6))
    extra["credit_events"] = [{"firm_id": "F007", "event_date": "2024-07-15", "kind": "default_90dpd"}]
    add = frames(**extra)
    for k in ("orders", "invoices", "shipments", "payments", "credit_events"):
        later[k] = pd.concat([later[k], add[k]], ignore_index=True)
    after = graph.build_features(later, AS_OF)
    pd.testing.assert_frame_equal(before, after)
    # and the later documents do matter at a later date
    assert not graph.build_features(later, date(2024, 9, 30)).equals(before)


def test_neighbourhood_and_networkx() -> None:
    # chain S2 -> S1 -> CORE -> D1 (seller -> buyer)
    fr = frames(
        firms=[firm("CORE", True, "AA"), firm("S1"), firm("S2"), firm("D1")],
        **combine(trade("S1", "CORE", 1, "2024-03-01", 1000.0),
                  trade("S2", "S1", 2, "2024-03-15", 500.0),
                  trade("CORE", "D1", 3, "2024-04-10", 800.0)),
    )
    edges = graph.build_edges(fr, AS_OF)
    nodes, sub = graph.neighbourhood(edges, "S1", 1)
    assert nodes == ["CORE", "S1", "S2"]
    assert set(zip(sub["seller_id"], sub["buyer_id"], strict=True)) == {("S1", "CORE"), ("S2", "S1")}
    nodes2, _ = graph.neighbourhood(edges, "S2", 3)
    assert nodes2 == ["CORE", "D1", "S1", "S2"]
    g = graph.to_networkx(edges)
    assert g.edges["S1", "CORE"]["invoiced_cny"] == 1000.0
    assert g.edges["S1", "CORE"]["first_trade"] == pd.Timestamp("2024-03-01")
