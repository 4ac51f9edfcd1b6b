"""Flow frames as of a date: point in time, versions known at a time, profiles, fx, id-only firms."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from store.ingest import Upload, ingest
from store.loaders import (
    FLOW_KINDS,
    flow_columns,
    latest_document_date,
    load_credit_events,
    load_flows,
)
from store.records import KINDS
from tests.store import factories as f


def _put(engine: sa.Engine, kind: str, frame: pd.DataFrame, replace: bool = False) -> None:
    ingest(engine, Upload(kind, frame), uploader="cli", replace=replace)


def test_empty_database_gives_every_frame_with_contract_columns(engine: sa.Engine) -> None:
    flows = load_flows(engine, date(2024, 6, 30))
    assert list(flows) == list(FLOW_KINDS)
    for name, frame in flows.items():
        assert list(frame.columns) == flow_columns(KINDS[name])
        assert frame.empty
    assert latest_document_date(engine) is None


def test_documents_after_as_of_are_left_out(engine: sa.Engine) -> None:
    _put(engine, "invoices", f.invoices(10, start="2024-01-01"))
    got = load_flows(engine, date(2024, 1, 4), kinds=["invoices"])["invoices"]
    assert got["issue_date"].max() == pd.Timestamp("2024-01-04")
    assert len(got) == 4
    assert latest_document_date(engine) == date(2024, 1, 10)


def test_invoice_frame_dtypes_follow_the_contract(engine: sa.Engine) -> None:
    _put(engine, "invoices", f.invoices(3))
    inv = load_flows(engine, date(2025, 1, 1), kinds=["invoices"])["invoices"]
    assert inv["net_minor"].dtype == np.int64
    assert inv["net_cny"].dtype == np.float64
    assert inv["issue_date"].dtype == "datetime64[ns]"
    assert inv["due_date"].isna().all() and inv["due_date"].dtype == "datetime64[ns]"
    assert str(inv["payable_minor"].dtype) == "Int64"
    assert (inv["kind"] == "normal").all()
    assert inv["uploaded_by"].eq("cli").all()
    expected = f.invoices(3).sort_values("invoice_id")["net_minor"].to_numpy() / 100
    assert np.allclose(inv.sort_values("invoice_id")["net_cny"].to_numpy(), expected)


def test_as_known_at_reproduces_the_version_known_then(engine: sa.Engine) -> None:
    first = f.invoices(3)
    _put(engine, "invoices", first)
    time.sleep(0.02)
    between = datetime.now(UTC)
    time.sleep(0.02)
    changed = first.copy()
    f.bump(changed, 0, "net_minor", 500)
    changed.at[1, "issue_date"] = pd.Timestamp("2025-06-01")  # moved past as_of by the fix
    _put(engine, "invoices", changed, replace=True)
    as_of = date(2024, 12, 31)
    now = load_flows(engine, as_of, kinds=["invoices"])["invoices"].set_index("invoice_id")
    then = load_flows(engine, as_of, as_known_at=between, kinds=["invoices"])["invoices"]
    then = then.set_index("invoice_id")
    key0, key1 = f.cell(first, 0, "invoice_id"), f.cell(first, 1, "invoice_id")
    assert f.cell(now, key0, "net_minor") == f.cell(first, 0, "net_minor") + 500
    assert f.cell(then, key0, "net_minor") == f.cell(first, 0, "net_minor")
    assert key1 not in now.index and key1 in then.index
    before_any = load_flows(engine, as_of, as_known_at=datetime(2000, 1, 1, tzinfo=UTC),
                            kinds=["invoices"])["invoices"]
    assert before_any.empty


def test_latest_intangibles_and_reported_financials_per_firm(engine: sa.Engine) -> None:
    firm = f.firm_id(0)
    _put(engine, "intangibles", f.intangibles(firm, ["2023-06-30", "2023-12-31", "2024-06-30"],
                                              [1, 2, 3]))
    _put(engine, "financials", f.financials(firm, [2022, 2023], ["2023-04-30", None]))
    flows = load_flows(engine, date(2024, 3, 31), kinds=["intangibles", "financials"])
    assert flows["intangibles"]["invention_patents"].tolist() == [2]
    # FY2023 is reported (by default) on 2024-04-30, after T: FY2022 is the latest usable
    assert flows["financials"]["fiscal_year"].tolist() == [2022]
    later = load_flows(engine, date(2024, 5, 1), kinds=["financials"])["financials"]
    assert later["fiscal_year"].tolist() == [2023]
    assert later["net_profit_cny"].tolist() == [-50.0]


def test_foreign_currency_uses_latest_rate_on_or_before_the_date(engine: sa.Engine) -> None:
    inv = f.invoices(3, start="2024-01-01")
    inv["currency"] = ["USD", "USD", "EUR"]
    _put(engine, "invoices", inv)
    _put(engine, "fx_rates", f.fx_rates([("2023-12-29", "USD", 7.0), ("2024-01-02", "USD", 7.2)]))
    got = load_flows(engine, date(2024, 12, 31), kinds=["invoices"])["invoices"]
    got = got.sort_values("issue_date").reset_index(drop=True)
    net = inv["net_minor"].to_numpy() / 100
    assert f.cell(got, 0, "net_cny") == pytest.approx(net[0] * 7.0)
    assert f.cell(got, 1, "net_cny") == pytest.approx(net[1] * 7.2)
    assert np.isnan(f.cell(got, 2, "net_cny"))  # no EUR rate: kept, but no CNY value
    assert f.cell(got, 2, "net_minor") == f.cell(inv, 2, "net_minor")


def test_firms_are_the_registry_plus_parties_known_only_by_id(engine: sa.Engine) -> None:
    _put(engine, "firms", f.firms(2))
    _put(engine, "orders", f.orders(3))  # parties: firm ids 0..3
    flows = load_flows(engine, date(2024, 12, 31), kinds=["firms", "orders"])
    firms = flows["firms"].set_index("firm_id")
    assert set(firms.index) == {f.firm_id(i) for i in range(4)}
    assert firms.loc[f.firm_id(0), "is_core"] and firms.loc[f.firm_id(0), "name"] == "Firm 0"
    id_only = firms.loc[[f.firm_id(2), f.firm_id(3)]]
    assert id_only["name"].isna().all() and not id_only["is_core"].any()
    assert firms["is_core"].dtype == bool


def test_credit_events_as_of_and_all(engine: sa.Engine) -> None:
    _put(engine, "credit_events", f.credit_events([f.firm_id(1), f.firm_id(2)],
                                                  ["2024-03-01", "2024-09-01"]))
    as_of = load_flows(engine, date(2024, 6, 30), kinds=["credit_events"])["credit_events"]
    assert as_of["firm_id"].tolist() == [f.firm_id(1)]
    everything = load_credit_events(engine)
    assert sorted(everything["firm_id"]) == [f.firm_id(1), f.firm_id(2)]
    assert everything["event_date"].dtype == "datetime64[ns]"


def test_unknown_kind_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="not a flow kind"):
        load_flows(engine, date(2024, 1, 1), kinds=["invoice"])
