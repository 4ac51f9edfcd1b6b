"""Trade verification on hand-built documents, answers worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

import graph
from tests.graph.factory import firm, frames

T = date(2024, 6, 30)


def _inv(iid: str, s: str, b: str, day: str, total: float, **kw: object) -> dict[str, object]:
    return {"invoice_id": iid, "seller_id": s, "buyer_id": b, "issue_date": day, "total": total, **kw}


def _by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("invoice_id")


def test_order_matching_tolerance_and_window() -> None:
    fr = frames(
        firms=[firm("A"), firm("B"), firm("C"), firm("D"), firm("E")],
        orders=[
            {"order_id": "o1", "seller_id": "A", "buyer_id": "B", "order_date": "2024-03-01", "amount": 1000.0, "payment_terms_days": 45},
            {"order_id": "o2", "seller_id": "A", "buyer_id": "C", "order_date": "2024-03-01", "amount": 1000.0},
            {"order_id": "o3", "seller_id": "A", "buyer_id": "D", "order_date": "2024-03-01", "amount": 50.0},
            {"order_id": "o4", "seller_id": "A", "buyer_id": "E", "order_date": "2023-10-01", "amount": 700.0},
            {"order_id": "o5", "seller_id": "A", "buyer_id": "E", "order_date": "2023-10-02", "amount": 800.0},
        ],
        invoices=[
            _inv("i1", "A", "B", "2024-03-10", 1009.0),  # |1009-1000| = 9 <= 1% of 1009 = 10.09
            _inv("i2", "A", "C", "2024-03-10", 1011.0),  # 11 > 10.11 and > 1 CNY: no match
            _inv("i3", "A", "D", "2024-03-10", 50.9),  # 0.9 <= 1 CNY although > 1% (0.509)
            # o4 is 182 days before, o5 181 days before 2024-03-31: both outside 180 days
            _inv("i4", "A", "E", "2024-03-31", 700.0),
            _inv("i5", "A", "E", "2024-03-30", 800.0),  # o5: 2023-10-02 -> 2024-03-30 = 180 days
        ],
    )
    v = _by_id(graph.verify_invoices(fr, T))
    assert v.loc["i1", "order_id"] == "o1" and v.loc["i1", "order_match"] == "inferred"
    assert v.loc["i2", "order_id"] is None
    assert v.loc["i3", "order_id"] == "o3"
    assert v.loc["i4", "order_id"] is None
    assert v.loc["i5", "order_id"] == "o5"
    # terms from the matched order: 2024-03-10 + 45 days = 2024-04-24; default 30 otherwise
    assert v.loc["i1", "due_date"] == pd.Timestamp("2024-04-24")
    assert v.loc["i2", "due_date"] == pd.Timestamp("2024-04-09")


def test_shipment_window_and_reference() -> None:
    fr = frames(
        firms=[firm("A"), firm("B"), firm("C"), firm("D")],
        invoices=[
            _inv("i1", "A", "B", "2024-03-01", 500.0),
            _inv("i2", "A", "C", "2024-03-01", 500.0),
            _inv("i3", "A", "D", "2024-03-01", 500.0, order_id="oX"),
        ],
        shipments=[
            # 30 days after i1: inside [-60, +30]
            {"shipment_id": "s1", "shipper_id": "A", "consignee_id": "B", "ship_date": "2024-03-31", "goods_value": 500.0},
            # 31 days after i2: outside
            {"shipment_id": "s2", "shipper_id": "A", "consignee_id": "C", "ship_date": "2024-04-01", "goods_value": 500.0},
            # cites the order i3 cites: matched by reference despite a different amount
            {"shipment_id": "s3", "shipper_id": "A", "consignee_id": "D", "order_id": "oX", "ship_date": "2024-01-01", "goods_value": 123.0},
        ],
    )
    v = _by_id(graph.verify_invoices(fr, T))
    assert v.loc["i1", "shipment_id"] == "s1"
    assert v.loc["i2", "shipment_id"] is None
    assert v.loc["i3", "shipment_id"] == "s3" and v.loc["i3", "shipment_match"] == "reference"


def test_oldest_first_allocation_with_partial_payments() -> None:
    invoices = [_inv("i1", "A", "B", "2024-01-10", 100.0), _inv("i2", "A", "B", "2024-02-10", 200.0)]
    pays = [
        {"payment_id": "p1", "payer_id": "B", "payee_id": "A", "paid_on": "2024-03-01", "amount": 150.0},
        {"payment_id": "p2", "payer_id": "B", "payee_id": "A", "paid_on": "2024-04-01", "amount": 100.0},
    ]
    fr = frames(firms=[firm("A"), firm("B")], invoices=invoices, payments=pays)
    v = _by_id(graph.verify_invoices(fr, T))
    # 250 paid: i1 takes 100 (complete on 03-01, when 150 >= 100), i2 gets the other 150 of 200
    assert v.loc["i1", "paid_cny"] == 100.0 and v.loc["i1", "paid_on"] == pd.Timestamp("2024-03-01")
    assert v.loc["i2", "paid_cny"] == 150.0 and v.loc["i2", "paid_on"] is pd.NaT
    pays.append({"payment_id": "p3", "payer_id": "B", "payee_id": "A", "paid_on": "2024-05-05", "amount": 50.0})
    fr = frames(firms=[firm("A"), firm("B")], invoices=invoices, payments=pays)
    v = _by_id(graph.verify_invoices(fr, T))
    # cumulative 150, 250, 300 reaches i2's cumulative 300 on 05-05
    assert v.loc["i2", "paid_cny"] == 200.0 and v.loc["i2", "paid_on"] == pd.Timestamp("2024-05-05")
    assert v.loc["i2", "level"] == 1 and v.loc["i2", "level_name"] == "one_flow"
    feats = graph.build_features(fr, T)
    # as seller A: i1 paid 2024-03-01 - 2024-01-10 = 51 days, i2 2024-05-05 - 2024-02-10 = 85 days
    # weighted by amount: (100*51 + 200*85) / 300 = 73.666...
    assert feats.at["A", "pay_days_to_be_paid"] == pytest.approx((100 * 51 + 200 * 85) / 300)
    # beyond 30-day terms: 21 and 55 days -> (100*21 + 200*55)/300 = 43.666...
    assert feats.at["B", "pay_dbt_as_buyer"] == pytest.approx((100 * 21 + 200 * 55) / 300)


def test_cited_payments_third_parties_and_reversals() -> None:
    fr = frames(
        firms=[firm("A"), firm("B"), firm("X")],
        invoices=[
            _inv("i1", "A", "B", "2024-01-10", 100.0),
            _inv("i2", "A", "B", "2024-02-10", 200.0),
            _inv("c2", "A", "B", "2024-02-20", -200.0, kind="credit_note", original_invoice_id="i2"),
        ],
        payments=[
            {"payment_id": "p1", "payer_id": "X", "payee_id": "A", "paid_on": "2024-02-01", "amount": 100.0, "invoice_id": "i1"},
        ],
    )
    v = _by_id(graph.verify_invoices(fr, T))
    assert v.loc["i1", "paid_on"] == pd.Timestamp("2024-02-01")
    assert v.loc["i2", "amount_due_cny"] == 0.0  # fully reversed by c2
    assert "c2" not in v.index  # credit notes are not verified as trades
    flags = graph.red_flags(fr, T)
    tp = flags[flags["flag"] == "third_party_payment"]
    assert set(tp["firm_id"]) == {"A", "X"} and set(tp["document_id"]) == {"p1"}
    rv = flags[flags["flag"] == "red_letter_reversal"]
    assert rv["firm_id"].tolist() == ["A"] and rv["document_id"].tolist() == ["c2"]
    feats = graph.build_features(fr, T)
    # net sales 100 + 200 - 200 = 100; reversed 200 of gross 300 = 2/3
    assert feats.loc["A", "net_sales_cny"] == 100.0
    assert feats.at["A", "ver_reversal_share"] == pytest.approx(200 / 300)
    assert feats.loc["A", "flag_third_party_payment"] == 1.0


def test_a_party_known_by_name_alone_is_never_evidence() -> None:
    """The same complete trade (order, shipment, payment) verifies to three flows with a buyer
    that names itself, and to none when the buyer is known by name alone (DESIGN.md §7)."""
    from tests.graph.factory import combine, trade

    unknown = "NAME:S~Café Ødegaard"
    fr = frames(
        firms=[firm("S"), firm("B")],
        **combine(trade("S", "B", 1, "2024-03-01", 1000.0),
                  trade("S", unknown, 2, "2024-03-01", 1000.0)),
    )
    v = graph.verify_invoices(fr, T).set_index("invoice_id")
    assert v.loc["I1", "level"] == 3 and bool(v.loc["I1", "verified"])
    assert v.loc["I2", "level"] == 0 and not bool(v.loc["I2", "verified"])
