"""The point-in-time rules: month arithmetic and when financial statements become known."""

from __future__ import annotations

from datetime import date

import pandas as pd

from store import pointintime as pit


def test_month_arithmetic() -> None:
    assert pit.add_months(date(2024, 2, 29), 12) == pd.Timestamp("2025-02-28")
    assert pit.add_months(date(2023, 2, 28), 12) == pd.Timestamp("2024-02-29")
    assert pit.add_months(date(2024, 3, 15), 12) == pd.Timestamp("2025-03-15")
    assert pit.month_ends_between(date(2024, 1, 15), date(2024, 4, 30)) == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)
    ]
    assert pit.latest_month_end(date(2024, 12, 31)) == date(2024, 12, 31)
    assert pit.latest_month_end(date(2024, 12, 30)) == date(2024, 11, 30)
    assert pit.latest_month_end(date(2024, 3, 1)) == date(2024, 2, 29)


def test_financials_without_report_date_wait_four_months() -> None:
    fin = pd.DataFrame({
        "firm_id": ["A", "B"],
        "fiscal_year": [2021, 2022],
        "reported_on": pd.to_datetime(pd.Series([None, "2023-02-15"])),
    })
    known = pit.financials_known_on(fin)
    assert known.iloc[0] == pd.Timestamp("2022-04-30")  # FY2021 + 4 months
    assert known.iloc[1] == pd.Timestamp("2023-02-15")
    assert pit.default_reported_on(fin["fiscal_year"]).tolist() == [
        pd.Timestamp("2022-04-30"), pd.Timestamp("2023-04-30")
    ]
    assert pit.frames_as_of({"financials": fin}, date(2022, 4, 29))["financials"].empty
    filled = pit.frames_as_of({"financials": fin}, date(2022, 4, 30))["financials"]
    assert filled["reported_on"].tolist() == [pd.Timestamp("2022-04-30")]
