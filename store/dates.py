"""Calendar dates of records: the text form, the range accepted, and the check of a column.

Frames carry dates as pandas datetime64[ns], which holds 1677-09-22 to 2262-04-11 only; a date
outside that range (a `due_date` of 9999-12-31, a year typed as 0224) used to escape as an
OutOfBoundsDatetime and a 500. No trade document, firm founding or filing is dated before 1900
or after 2199, so those bounds are the business range: a date outside them is refused with the
row, the field and the range, whichever format brought it.
"""

from __future__ import annotations

import contextlib
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)
SHAPE_MESSAGE = "dates are written YYYY-MM-DD, e.g. 2024-03-31"
# A year of any length (and a sign) is recognised as a date, so that "10000-01-01" or a
# Parquet date in year -5 is told it is out of range rather than badly written.
_SHAPE = r"[+-]?[0-9]{4,}-[0-9]{2}-[0-9]{2}"


def range_message(text: str) -> str:
    return (
        f"{text} is outside the dates chaincredit accepts "
        f"({DATE_MIN.isoformat()} to {DATE_MAX.isoformat()})"
    )


def check_dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Date text -> (datetime64[ns] per value, NaT where bad; a message per value, None if good).

    Called once per distinct value of a column, so the Python work here is per distinct date.
    """
    n = len(values)
    shape = values.str.fullmatch(_SHAPE).fillna(False).to_numpy(dtype=bool)
    msgs = np.full(n, None, dtype=object)
    msgs[~shape] = SHAPE_MESSAGE
    years = np.zeros(n, dtype=np.int64)
    if shape.any():
        heads = values[shape].str.rsplit("-", n=2).str[0].tolist()
        years[shape] = [int(h) if len(h) <= 8 else 10**9 for h in heads]
    in_range = shape & (years >= DATE_MIN.year) & (years <= DATE_MAX.year)
    out_of_range = shape & ~in_range
    msgs[out_of_range] = [range_message(v) for v in values[out_of_range]]
    parsed = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if in_range.any():
        got = pd.to_datetime(values[in_range], format="%Y-%m-%d", errors="coerce")
        parsed[in_range] = pd.Series(got, dtype="datetime64[ns]").to_numpy()
    unreal = in_range & np.isnat(parsed)
    msgs[unreal] = [f"{v} is not a real calendar date" for v in values[unreal]]
    return parsed, msgs


def check_stamps(stamps: pd.Series) -> np.ndarray:
    """A message per already typed datetime outside DATE_MIN..DATE_MAX, None elsewhere."""
    low = pd.Timestamp(DATE_MIN)
    high = pd.Timestamp(DATE_MAX) + pd.Timedelta(days=1)
    outside = (stamps.notna() & ((stamps < low) | (stamps >= high))).to_numpy(dtype=bool)
    msgs = np.full(len(stamps), None, dtype=object)
    if outside.any():
        msgs[outside] = [range_message(s.date().isoformat()) for s in stamps[outside]]
    return msgs


def arrow_dates_as_text(col: pa.ChunkedArray) -> pd.Series:
    """A Parquet date or timestamp column as YYYY-MM-DD text ("" for nulls), whatever its year.

    Text goes through `check_dates` like a CSV cell, so a Parquet `due_date` of 9999-12-31 gets
    the same message as a CSV one instead of overflowing a nanosecond timestamp on the way in.
    A timestamp with a time zone gives its date in that zone.
    """
    t = col.type
    if pa.types.is_timestamp(t) and t.tz is not None:
        # a time so far out that the zone offset overflows keeps its UTC date
        with contextlib.suppress(pa.ArrowInvalid):
            col = pc.local_timestamp(col)
    per_day = _UNITS_PER_DAY[t.unit] if pa.types.is_timestamp(t) else _DATE_UNITS_PER_DAY[str(t)]
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    width = pa.int32() if pa.types.is_date32(col.type) else pa.int64()
    ticks = pc.fill_null(pc.cast(col, width), 0).to_numpy(zero_copy_only=False)
    days = np.floor_divide(ticks.astype(np.int64), per_day)
    uniques, codes = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(uniques.astype("datetime64[D]"), unit="D")
    table = pd.array(np.asarray(text, dtype=object), dtype="str")
    out = pd.Series(table.take(codes.reshape(-1)))
    return out.where(valid, "")


_UNITS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_DATE_UNITS_PER_DAY = {"date32[day]": 1, "date64[ms]": 86_400_000}
