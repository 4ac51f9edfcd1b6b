"""Stylised facts of the simulated supply chain, and the file contract it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store.records import KINDS
from store.uscc import valid_uscc_mask
from training.simulator import SimConfig, SimResult, simulate, write_simulation

N = 3000


@pytest.fixture(scope="module")
def res() -> SimResult:
    return simulate(SimConfig(n_firms=N, months=24, seed=11))


def _flow_columns(kind: str) -> list[str]:
    rk = KINDS[kind]
    cols: list[str] = []
    for f in rk.fields:
        cols += [f"{f.name}_minor", f"{f.name}_cny"] if f.name in rk.money_fields else [f.name]
    return cols


def test_frames_follow_the_flow_frame_contract(res: SimResult) -> None:
    for kind, frame in res.frames.items():
        assert list(frame.columns) == _flow_columns(kind), kind
        for col in frame.columns:
            if col.endswith("_minor"):
                assert frame[col].dtype == np.int64
            if col.endswith("_cny"):
                assert frame[col].dtype == np.float64
    inv = res.frames["invoices"]
    assert inv["issue_date"].dtype == "datetime64[ns]"
    assert str(inv["line_count"].dtype) == "Int64"
    assert set(inv["kind"].unique()) == {"normal", "credit_note"}
    assert (res.frames["orders"]["currency"] == "CNY").all()


def test_every_party_is_a_valid_uscc(res: SimResult) -> None:
    f = res.frames
    assert valid_uscc_mask(f["firms"]["firm_id"].to_numpy()).all()
    assert f["firms"]["firm_id"].is_unique
    for kind, cols in {
        "invoices": ("seller_id", "buyer_id"),
        "orders": ("buyer_id", "seller_id"),
        "shipments": ("shipper_id", "consignee_id"),
        "payments": ("payer_id", "payee_id"),
        "credit_events": ("firm_id", "reported_by"),
    }.items():
        for c in cols:
            assert valid_uscc_mask(f[kind][c].dropna().to_numpy()).all(), (kind, c)
    up = f["invoices"]["uploaded_by"].dropna()
    assert 0.15 < len(up) / len(f["invoices"]) < 0.35
    regions = f["firms"]["region_code"]
    assert regions.str.startswith("500").all()
    assert (f["firms"]["firm_id"].str.slice(2, 8) == regions).all()
    assert f["firms"]["industry_code"].str.fullmatch(r"[A-T]\d{4}").all()
    core = f["firms"][f["firms"]["is_core"]]
    assert 0.003 < len(core) / N < 0.008
    assert core["external_rating"].notna().all()
    assert f["firms"].loc[~f["firms"]["is_core"], "external_rating"].isna().all()


def test_written_files_have_exactly_the_record_fields(res: SimResult, tmp_path: Path) -> None:
    write_simulation(res, tmp_path, fmt="csv")
    for kind in ("firms", "intangibles", "financials", "orders", "invoices", "shipments",
                 "payments", "credit_events"):
        raw = pd.read_csv(tmp_path / f"{kind}.csv", dtype=str, keep_default_na=False)
        assert list(raw.columns) == list(KINDS[kind].names), kind
        assert len(raw) == len(res.frames[kind])
    inv = pd.read_csv(tmp_path / "invoices.csv", dtype=str, keep_default_na=False)
    assert inv["total"].str.fullmatch(r"-?\d+\.\d\d").all()
    assert inv["issue_date"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    firms = pd.read_csv(tmp_path / "firms.csv", dtype=str, keep_default_na=False)
    assert set(firms["is_core"]) == {"true", "false"}
    truth = pd.read_csv(tmp_path / "truth" / "pd.csv")
    assert list(truth.columns) == ["firm_id", "month_end", "pd_12m"]
    assert (tmp_path / "truth" / "fraud.csv").exists() and (tmp_path / "truth" / "events.csv").exists()


def test_invoices_add_up_and_ids_are_unique_per_issuer(res: SimResult) -> None:
    inv = res.frames["invoices"]
    assert (inv["net_minor"] + inv["tax_minor"] == inv["total_minor"]).all()
    normal = inv[inv["kind"] == "normal"]
    rate = normal["tax_minor"] / normal["net_minor"]
    assert ((rate - 0.13).abs() < 0.001).mean() > 0.8
    assert (normal["total_minor"] > 0).all()
    cn = inv[inv["kind"] == "credit_note"]
    assert len(cn) > 0 and (cn["total_minor"] < 0).all()
    assert cn["original_invoice_id"].isin(set(normal["invoice_id"])).all()
    assert not inv.duplicated(["seller_id", "kind", "invoice_id"]).any()
    assert inv["invoice_id"].str.fullmatch(r"\d{20}").all()
    assert not res.frames["orders"].duplicated(["seller_id", "order_id"]).any()
    assert not res.frames["payments"].duplicated(["payer_id", "payment_id"]).any()
    assert not res.frames["shipments"].duplicated(["shipper_id", "shipment_id"]).any()
    share_ref = normal["order_id"].notna().mean()
    assert 0.3 < share_ref < 0.7
    assert 0.5 < res.frames["payments"]["invoice_id"].notna().mean() < 0.9


def test_no_document_outside_the_period_and_trade_order(res: SimResult) -> None:
    f = res.frames
    end = pd.Timestamp(res.end)
    for kind, col in (("orders", "order_date"), ("invoices", "issue_date"),
                      ("shipments", "ship_date"), ("payments", "paid_on"),
                      ("credit_events", "event_date")):
        assert (f[kind][col] <= end).all(), kind
        assert (f[kind][col] >= pd.Timestamp(res.start)).all(), kind
    orders = f["orders"][["order_id", "order_date"]]
    sh = f["shipments"].merge(orders, on="order_id")
    assert len(sh) > 100 and (sh["order_date"] <= sh["ship_date"]).all()
    inv = f["invoices"][f["invoices"]["kind"] == "normal"]
    io = inv.merge(orders, on="order_id")
    assert (io["order_date"] <= io["issue_date"]).all()
    si = sh[["order_id", "ship_date"]].merge(io[["order_id", "issue_date"]], on="order_id")
    early = (si["ship_date"] > si["issue_date"]).mean()
    assert 0.0 < early < 0.08  # invoices before shipment only as configured noise
    pay = f["payments"].merge(inv[["invoice_id", "issue_date"]], on="invoice_id")
    assert len(pay) > 100 and (pay["issue_date"] <= pay["paid_on"]).all()
    fin = f["financials"]
    assert (fin["reported_on"] > pd.to_datetime(fin["fiscal_year"].astype(str) + "-12-31")).all()


def test_degree_tail_is_heavier_than_poisson(res: SimResult) -> None:
    inv = res.frames["invoices"]
    pairs = inv[["seller_id", "buyer_id"]].drop_duplicates()
    deg = pd.concat([pairs["seller_id"], pairs["buyer_id"]]).value_counts()
    mean = deg.mean()
    assert deg.max() > mean + 10 * np.sqrt(mean)
    assert deg.max() / mean > 15
    # Hill estimate of the tail index on the top 5%: a power law, not an exponential tail
    top = np.sort(deg.to_numpy())[::-1][: max(20, len(deg) // 20)]
    alpha = 1.0 / np.mean(np.log(top[:-1] / top[-1]))
    assert 0.5 < alpha < 3.5


def test_default_rate_within_band_and_follows_configuration(res: SimResult) -> None:
    rate = len(res.truth["events"]) / N / 2.0
    assert 0.02 <= rate <= 0.05
    harsh = simulate(SimConfig(n_firms=N, seed=11, annual_default_rate=0.05))
    assert len(harsh.truth["events"]) > 1.3 * len(res.truth["events"])
    assert len(res.frames["credit_events"]) == len(res.truth["events"])


def test_share_of_verified_trade_is_plausible(res: SimResult) -> None:
    f = res.frames
    inv = f["invoices"][f["invoices"]["kind"] == "normal"][
        ["invoice_id", "seller_id", "buyer_id", "issue_date", "total_minor"]
    ]
    inv = inv[inv["issue_date"] <= pd.Timestamp(res.end) - pd.Timedelta(days=200)]
    sh = f["shipments"].rename(columns={"shipper_id": "seller_id", "consignee_id": "buyer_id",
                                        "goods_value_minor": "total_minor"})
    m = inv.merge(sh[["seller_id", "buyer_id", "total_minor", "ship_date"]],
                  on=["seller_id", "buyer_id", "total_minor"])
    lag = (m["issue_date"] - m["ship_date"]).dt.days
    shipped = set(m.loc[(lag >= -30) & (lag <= 60), "invoice_id"])
    paid = set(f["payments"]["invoice_id"].dropna())
    verified = inv["invoice_id"].isin(shipped) & inv["invoice_id"].isin(paid)
    assert 0.4 < verified.mean() < 0.9
    fraud = set(res.truth["fraud"]["firm_id"])
    by_fraud = inv["invoice_id"].isin(shipped).groupby(inv["seller_id"].isin(fraud)).mean()
    assert by_fraud[True] < by_fraud[False] - 0.2


def test_distressed_buyers_pay_later(res: SimResult) -> None:
    f = res.frames
    inv = f["invoices"][["invoice_id", "buyer_id", "issue_date", "due_date"]].dropna()
    pay = f["payments"].merge(inv, on="invoice_id")
    pay["delay"] = (pay["paid_on"] - pay["due_date"]).dt.days
    pay["month_end"] = pay["issue_date"] + pd.offsets.MonthEnd(0)
    pdt = res.truth["pd"].rename(columns={"firm_id": "buyer_id"})
    j = pay.merge(pdt, on=["buyer_id", "month_end"])
    hi = j["pd_12m"] >= j["pd_12m"].quantile(0.9)
    lo = j["pd_12m"] <= j["pd_12m"].quantile(0.5)
    assert j.loc[hi, "delay"].mean() > j.loc[lo, "delay"].mean() + 10


def test_fraud_share_and_fraud_raises_risk(res: SimResult) -> None:
    fraud = res.truth["fraud"]
    assert abs(len(fraud) / N - 0.02) < 0.005
    assert set(fraud["fraud_type"]) == {"circular_trade", "invoice_without_shipment",
                                        "double_invoicing", "young_shell"}
    pdt = res.truth["pd"]
    is_fraud = pdt["firm_id"].isin(set(fraud["firm_id"]))
    assert pdt.loc[is_fraud, "pd_12m"].mean() > 1.5 * pdt.loc[~is_fraud, "pd_12m"].mean()
    shells = set(fraud.loc[fraud["fraud_type"] == "young_shell", "firm_id"])
    firms = res.frames["firms"].set_index("firm_id")
    assert (firms.loc[list(shells), "founded_on"] > pd.Timestamp(res.start) - pd.DateOffset(months=9)).all()


def test_truth_pd_is_calibrated_and_covers_every_living_firm(res: SimResult) -> None:
    pdt = res.truth["pd"]
    ev = res.truth["events"]
    assert pdt["pd_12m"].between(0, 1).all()
    t = pd.Timestamp(res.start) + pd.offsets.MonthEnd(12)
    snap = pdt[pdt["month_end"] == t]
    dead = set(ev.loc[ev["event_date"] <= t, "firm_id"])
    assert len(snap) + len(dead) <= N and not snap["firm_id"].isin(dead).any()
    y = snap["firm_id"].isin(set(ev.loc[(ev["event_date"] > t) &
                                        (ev["event_date"] <= t + pd.DateOffset(months=12)), "firm_id"]))
    assert 0.5 < snap["pd_12m"].mean() / y.mean() < 2.0


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    cfg = SimConfig(n_firms=800, months=6, seed=3)
    for fmt in ("csv", "parquet"):
        a = write_simulation(simulate(cfg), tmp_path / f"a_{fmt}", fmt=fmt)
        b = write_simulation(simulate(cfg), tmp_path / f"b_{fmt}", fmt=fmt)
        assert [p.name for p in a] == [p.name for p in b]
        for pa_, pb_ in zip(a, b, strict=True):
            assert pa_.read_bytes() == pb_.read_bytes(), pa_.name
    other = write_simulation(simulate(SimConfig(n_firms=800, months=6, seed=4)), tmp_path / "c")
    assert (tmp_path / "c" / "invoices.csv").read_bytes() != (tmp_path / "a_csv" / "invoices.csv").read_bytes()
    assert other


def test_parquet_holds_the_same_text_as_csv(res: SimResult, tmp_path: Path) -> None:
    write_simulation(res, tmp_path / "p", fmt="parquet")
    write_simulation(res, tmp_path / "c", fmt="csv")
    a = pd.read_parquet(tmp_path / "p" / "payments.parquet").fillna("")
    b = pd.read_csv(tmp_path / "c" / "payments.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a.astype(str), b.astype(str), check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_store_reader_accepts_every_row(res: SimResult, tmp_path: Path, fmt: str) -> None:
    from store.reading import read_paths

    write_simulation(res, tmp_path, fmt=fmt)
    uploads = read_paths(sorted(tmp_path.glob(f"*.{fmt}")))
    assert sorted(u.kind.name for u in uploads) == sorted(
        ["firms", "intangibles", "financials", "orders", "invoices", "shipments", "payments",
         "credit_events"]
    )
    for u in uploads:
        assert u.errors == [], (u.kind.name, [str(e) for e in u.errors[:5]])
        assert u.n_rows == len(res.frames[u.kind.name])
    assert res.frames["firms"]["founded_on"].notna().all()
