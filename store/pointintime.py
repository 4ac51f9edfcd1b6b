"""The point-in-time rules: what was knowable at the end of day T, and which dates T to use.

Every feature for date T uses only what a lender could have known at T (DESIGN.md §3 "Point in
time"): documents by their event date, financial statements from the day they were reported,
firms from their founding. These rules are written here once; loaders, feature snapshots,
training sets and serving all cut their frames through this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import pandas as pd

from store.records import DOCUMENT_KINDS, KINDS

# Financial statements become known some months after the fiscal year (DESIGN.md §7): the PRC
# annual filing deadline is 30 April, so a statement with no `reported_on` counts from then.
FINANCIALS_LAG_MONTHS = 4


def as_date(value: date | datetime | pd.Timestamp | str) -> date:
    """A calendar date from any of the date types the database drivers and pandas hand back."""
    ts = pd.Timestamp(value)
    return date(ts.year, ts.month, ts.day)


def _ts(d: date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(d).normalize()


def month_end(d: date | pd.Timestamp) -> pd.Timestamp:
    return _ts(d) + pd.offsets.MonthEnd(0)


def latest_month_end(last: date) -> date:
    """The last month end on or before `last` (a snapshot needs the whole month's documents)."""
    t = pd.Timestamp(last)
    end = month_end(t)
    return (end if end == t else t - pd.offsets.MonthEnd(1)).date()


def add_months(d: date | pd.Timestamp, months: int) -> pd.Timestamp:
    """Calendar months ahead, month ends staying month ends (2024-02-29 + 12 → 2025-02-28)."""
    t = _ts(d)
    moved = t + pd.DateOffset(months=months)
    return moved + pd.offsets.MonthEnd(0) if t == month_end(t) else moved


def month_ends_between(start: date | pd.Timestamp, end: date | pd.Timestamp) -> list[date]:
    """Month ends T with start <= T <= end."""
    return [t.date() for t in pd.date_range(_ts(start), _ts(end), freq="ME")]


def default_reported_on(fiscal_year: pd.Series) -> pd.Series:
    """When a statement of `fiscal_year` counts as known if it does not say: year end + 4 months."""
    years = pd.to_numeric(fiscal_year, errors="coerce").astype("Int64")
    year_end = pd.to_datetime(years.astype("string") + "-12-31", errors="coerce")
    return year_end + pd.DateOffset(months=FINANCIALS_LAG_MONTHS)


def financials_known_on(financials: pd.DataFrame) -> pd.Series:
    """When each statement became available: `reported_on`, else fiscal year end + 4 months."""
    fallback = default_reported_on(financials["fiscal_year"])
    if "reported_on" in financials:
        return pd.to_datetime(financials["reported_on"], errors="coerce").fillna(fallback)
    return fallback


def with_reported_on(financials: pd.DataFrame) -> pd.DataFrame:
    """Financials with every `reported_on` filled, the form graph/ and models/ read (they use
    `reported_on` as given and do not know the filing rule)."""
    if "reported_on" in financials and financials["reported_on"].notna().all():
        return financials
    return financials.assign(reported_on=financials_known_on(financials))


def _date_column(kind: str) -> str | None:
    rk = KINDS.get(kind)
    return rk.date_field if rk is not None else None


def frames_as_of(frames: Mapping[str, pd.DataFrame], as_of: date) -> dict[str, pd.DataFrame]:
    """Every frame cut to what was knowable at the end of day `as_of`.

    Documents by their event date; financials by when they were reported (filled where the
    statement does not say); credit events by event date and, where given, report date; firms by
    founding date (a firm founded later does not exist yet). Kinds this module does not know are
    passed through untouched.
    """
    t = _ts(as_of)
    out: dict[str, pd.DataFrame] = {}
    for kind, df in frames.items():
        keep: pd.Series | None
        if kind == "financials":
            df = with_reported_on(df)
            keep = pd.to_datetime(df["reported_on"]) <= t
        elif kind == "firms":
            founded = pd.to_datetime(df["founded_on"], errors="coerce") if "founded_on" in df else None
            keep = (founded.isna() | (founded <= t)) if founded is not None else None
        elif kind == "credit_events":
            keep = pd.to_datetime(df["event_date"], errors="coerce") <= t
            if "reported_on" in df:
                rep = pd.to_datetime(df["reported_on"], errors="coerce")
                keep &= rep.isna() | (rep <= t)
        else:
            col = _date_column(kind)
            keep = pd.to_datetime(df[col], errors="coerce") <= t if col and col in df else None
        out[kind] = df if keep is None else df.loc[keep.to_numpy(dtype=bool)]
    return out


def data_span(frames: Mapping[str, pd.DataFrame]) -> tuple[date, date]:
    """First and last document date in the frames (the dates trade data exists for)."""
    lows: list[pd.Timestamp] = []
    highs: list[pd.Timestamp] = []
    for kind in (*DOCUMENT_KINDS, "credit_events"):
        df = frames.get(kind)
        col = _date_column(kind)
        if df is None or col is None or col not in df or df.empty:
            continue
        dates = pd.to_datetime(df[col], errors="coerce")
        if dates.notna().any():
            lows.append(dates.min())
            highs.append(dates.max())
    if not lows:
        raise ValueError("the frames hold no dated documents")
    return min(lows).date(), max(highs).date()
