from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import graph
from graph.dictionary import Direction
from models import features as mf

A, B, C = "91500000MA5U000001", "91500000MA5U000002", "91500000MA5U000003"
T = date(2024, 6, 30)


def _frames() -> dict[str, pd.DataFrame]:
    firms = pd.DataFrame({
        "firm_id": [A, B],
        "industry_code": ["C3670", "f2011"],
        "founded_on": pd.to_datetime(["2014-06-30", "2025-01-01"]),
        "is_core": [False, False],
    })
    intangibles = pd.DataFrame({
        "firm_id": [A, A, A, B],
        "as_of": pd.to_datetime(["2023-12-31", "2024-03-31", "2024-09-30", "2024-01-31"]),
        "invention_patents": [1, 4, 99, 0],
        "utility_patents": [2, 4, 99, 0],
        "design_patents": [0, 2, 99, 0],
        "trademarks": [1, 3, 99, 0],
        "software_copyrights": [0, 5, 99, 1],
        "rd_expense_minor": [0, 50_000_00, 1, 0],
        "rd_expense_cny": [0.0, 50_000.0, 0.01, 0.0],
        "revenue_minor": [0, 1_000_000_00, 1, 0],
        "revenue_cny": [0.0, 1_000_000.0, 0.01, 0.0],
        "currency": ["CNY"] * 4,
        "tech_staff": [1, 20, 99, 0],
        "total_staff": [10, 50, 99, 0],
        "high_tech": [False, True, False, False],
        "specialised_level": ["none", "national", "none", "province"],
        "tech_sme": [False, True, False, True],
    })
    fin_years = [2022, 2023, 2023]
    financials = pd.DataFrame({
        "firm_id": [A, A, B],
        "fiscal_year": fin_years,
        "reported_on": pd.to_datetime(pd.Series(["2023-04-30", "2024-04-30", "2024-04-30"])),
        "currency": ["CNY"] * 3,
        **{f"{m}_minor": v for m, v in {
            "revenue": [800_000_00, 1_000_000_00, 500_00],
            "net_profit": [10_000_00, 50_000_00, -100_00],
            "total_assets": [2_000_000_00, 2_000_000_00, 1_000_00],
            "total_liabilities": [1_000_000_00, 1_200_000_00, 900_00],
            "current_assets": [300_000_00, 600_000_00, 0],
            "current_liabilities": [200_000_00, 300_000_00, 0],
            "operating_cash_flow": [0, 120_000_00, 0],
        }.items()},
    })
    return {"firms": firms, "intangibles": intangibles, "financials": financials}


def test_profile_features_use_latest_records_known_at_t() -> None:
    out = mf.profile_features(_frames(), T)
    assert list(out.columns) == [s.name for s in mf.PROFILE_FEATURES]
    a = out.loc[A]
    assert a["intang_invention_patents"] == 4  # the 2024-09-30 record is after T
    assert a["intang_patents_per_staff"] == pytest.approx(10 / 50)
    assert a["intang_rd_intensity"] == pytest.approx(0.05)
    assert a["intang_tech_staff_share"] == pytest.approx(0.4)
    assert a["intang_specialised_level"] == 2 and a["intang_high_tech"] == 1
    assert a["intang_record_age_days"] == (pd.Timestamp(T) - pd.Timestamp("2024-03-31")).days
    assert a["fin_leverage"] == pytest.approx(0.6)
    assert a["fin_current_ratio"] == pytest.approx(2.0)
    assert a["fin_roa"] == pytest.approx(0.025)
    assert a["fin_net_margin"] == pytest.approx(0.05)
    assert a["fin_ocf_to_liabilities"] == pytest.approx(0.1)
    assert a["fin_log_revenue"] == pytest.approx(np.log1p(1_000_000))
    assert a["fin_revenue_growth"] == pytest.approx(0.25)
    assert a["fin_has_financials"] == 1
    assert a["firm_age_years"] == pytest.approx(10.0, abs=0.01)
    assert a["firm_industry_section"] == "C"
    b = out.loc[B]
    # FY2023 reported on 2024-04-30 is usable at T
    assert b["fin_has_financials"] == 1 and b["fin_current_ratio"] != b["fin_current_ratio"]
    assert pd.isna(b["intang_patents_per_staff"])  # 0 staff: unknown, not infinite
    assert pd.isna(b["firm_age_years"])  # founded after T
    assert b["firm_industry_section"] == "F"
    early = mf.profile_features(_frames(), date(2024, 3, 1))
    assert early.loc[B, "fin_has_financials"] == 0
    assert early.loc[A, "fin_leverage"] == pytest.approx(0.5)  # FY2022 only
    assert pd.isna(early.loc[A, "fin_revenue_growth"])


def test_documents_after_t_do_not_change_features() -> None:
    frames = _frames()
    before = mf.profile_features(frames, T)
    later = {k: v.copy() for k, v in frames.items()}
    later["intangibles"].loc[2, "invention_patents"] = 12345
    later["financials"].loc[1, "reported_on"] = pd.Timestamp("2024-07-01")
    changed = mf.profile_features(later, T)
    pd.testing.assert_frame_equal(before.drop(index=A), changed.drop(index=A))
    assert changed.loc[A, "intang_invention_patents"] == 4
    assert changed.loc[A, "fin_leverage"] == pytest.approx(0.5)  # FY2023 not yet reported


def test_money_from_minor_units_when_no_cny_column() -> None:
    frames = _frames()
    frames["intangibles"] = frames["intangibles"].drop(columns=["rd_expense_cny", "revenue_cny"])
    out = mf.profile_features(frames, T)
    assert out.loc[A, "intang_rd_intensity"] == pytest.approx(0.05)


def test_build_feature_frame_joins_graph_features(monkeypatch) -> None:
    calls = []

    def stand_in(frames, as_of, params=None, progress=None):
        calls.append((as_of, params))
        return pd.DataFrame(
            {"net_core_sales_share": [0.7, 0.1]}, index=pd.Index([A, C], name="firm_id")
        )

    monkeypatch.setattr(graph, "build_features", stand_in)
    out = mf.build_feature_frame(_frames(), T, graph_params=None)
    assert calls == [(T, None)]
    assert out.index.name == "firm_id"
    assert set(out.index) == {A, B, C}
    assert out.loc[A, "net_core_sales_share"] == 0.7
    assert out["net_core_sales_share"].isna()[B]
    assert out.loc[C, "fin_has_financials"] == 0  # known only from documents
    assert out.columns[0] == "net_core_sales_share"


def test_feature_dictionary_is_graph_then_ours_and_well_formed() -> None:
    specs = mf.feature_dictionary()
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    graph_names = [s.name for s in getattr(graph, "FEATURES", ())]
    assert names[: len(graph_names)] == graph_names
    assert names[len(graph_names):] == [s.name for s in mf.PROFILE_FEATURES]
    for s in specs:
        assert "{value}" in s.reason_en and "{value}" in s.reason_zh, s.name
        assert s.direction in set(Direction)
    ours = {s.name: s for s in mf.PROFILE_FEATURES}
    assert ours["fin_leverage"].direction == Direction.RISK_UP
    assert ours["intang_invention_patents"].direction == Direction.RISK_DOWN
    assert ours["firm_industry_section"].categorical
