"""Validated frames built by hand: what store.reading returns (contract 1 without `_cny`, plus
`_row`), so store tests do not depend on the parsers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from store.uscc import make_uscc


def firm_id(i: int) -> str:
    return make_uscc(f"91500000{i:09d}")


def firm_ids(n: int, start: int = 0) -> np.ndarray:
    return np.array([firm_id(i) for i in range(start, start + n)], dtype=object)


def _rows(n: int) -> np.ndarray:
    return np.arange(2, n + 2, dtype=np.int64)  # CSV line numbers: the header is row 1


def invoices(n: int = 5, *, seed: int = 0, currency: str = "CNY", start: str = "2024-01-01",
             **overrides: Any) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sellers = firm_ids(50)
    net = rng.integers(10_000, 10_000_000, n)
    tax = net * 13 // 100
    frame = pd.DataFrame(
        {
            "invoice_id": [f"INV{seed:03d}{i:08d}" for i in range(n)],
            "seller_id": sellers[np.arange(n) % len(sellers)],
            "buyer_id": sellers[(np.arange(n) + 1) % len(sellers)],
            "issue_date": pd.Timestamp(start) + pd.to_timedelta(np.arange(n) % 300, unit="D"),
            "net_minor": net,
            "tax_minor": tax,
            "total_minor": net + tax,
            "payable_minor": pd.array([None] * n, dtype="Int64"),
            "currency": currency,
            "kind": "normal",
            "original_invoice_id": None,
            "order_id": None,
            "due_date": pd.NaT,
            "line_count": pd.array([1] * n, dtype="Int64"),
            "uploaded_by": None,
            "_row": _rows(n),
        }
    )
    for k, v in overrides.items():
        frame[k] = v
    return frame


def orders(n: int = 3, **overrides: Any) -> pd.DataFrame:
    ids = firm_ids(4)
    frame = pd.DataFrame(
        {
            "order_id": [f"PO{i:06d}" for i in range(n)],
            "buyer_id": ids[np.arange(n) % 2],
            "seller_id": ids[2 + np.arange(n) % 2],
            "order_date": pd.Timestamp("2024-01-10") + pd.to_timedelta(np.arange(n) * 30, unit="D"),
            "amount_minor": np.full(n, 1_000_000, dtype=np.int64),
            "currency": "CNY",
            "payment_terms_days": np.full(n, 60, dtype=np.int64),
            "uploaded_by": None,
            "_row": _rows(n),
        }
    )
    for k, v in overrides.items():
        frame[k] = v
    return frame


def firms(n: int = 3, **overrides: Any) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "firm_id": firm_ids(n),
            "name": [f"Firm {i}" for i in range(n)],
            "region_code": "500000",
            "industry_code": "C3670",
            "cluster": None,
            "founded_on": pd.Timestamp("2015-03-01"),
            "is_core": np.arange(n) == 0,
            "external_rating": ["AA"] + [None] * (n - 1),
            "_row": _rows(n),
        }
    )
    for k, v in overrides.items():
        frame[k] = v
    return frame


def intangibles(firm: str, as_of: list[str], patents: list[int]) -> pd.DataFrame:
    n = len(as_of)
    return pd.DataFrame(
        {
            "firm_id": firm,
            "as_of": pd.to_datetime(as_of),
            "invention_patents": np.asarray(patents, dtype=np.int64),
            "utility_patents": 0,
            "design_patents": 0,
            "trademarks": 1,
            "software_copyrights": 2,
            "rd_expense_minor": 100_000,
            "revenue_minor": 5_000_000,
            "currency": "CNY",
            "tech_staff": 3,
            "total_staff": 20,
            "high_tech": False,
            "specialised_level": "none",
            "tech_sme": True,
            "_row": _rows(n),
        }
    )


def financials(firm: str, years: list[int], reported_on: list[str | None]) -> pd.DataFrame:
    n = len(years)
    return pd.DataFrame(
        {
            "firm_id": firm,
            "fiscal_year": np.asarray(years, dtype=np.int64),
            "reported_on": pd.to_datetime(pd.Series(reported_on, dtype=object)),
            "currency": "CNY",
            "revenue_minor": 10_000_000 * np.arange(1, n + 1),
            "net_profit_minor": -5_000,
            "total_assets_minor": 20_000_000,
            "total_liabilities_minor": 8_000_000,
            "current_assets_minor": 6_000_000,
            "current_liabilities_minor": 4_000_000,
            "operating_cash_flow_minor": 1_000,
            "_row": _rows(n),
        }
    )


def credit_events(firms_: list[str], dates: list[str], kind: str = "default_90dpd") -> pd.DataFrame:
    n = len(firms_)
    return pd.DataFrame(
        {
            "firm_id": firms_,
            "event_date": pd.to_datetime(dates),
            "kind": kind,
            "reported_by": None,
            "reported_on": pd.NaT,
            "_row": _rows(n),
        }
    )


def fx_rates(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rate_date": pd.to_datetime([r[0] for r in rows]),
            "currency": [r[1] for r in rows],
            "cny_per_unit": [r[2] for r in rows],
            "_row": _rows(len(rows)),
        }
    )


def bump(frame: pd.DataFrame, row: int, col: str, delta: int) -> None:
    """Add `delta` to one integer cell (a changed amount makes a changed document)."""
    values = frame[col].to_numpy(copy=True)
    values[row] += delta
    frame[col] = values


def cell(frame: pd.DataFrame, row: Any, col: str) -> Any:
    return frame.at[row, col]
