"""Currency conversion for features: minor units to CNY with the admins' `fx_rates`.

Features and limits are in CNY (DESIGN.md §7). A document in another currency is converted with
the latest rate on or before its own date; with no such rate its CNY value is NaN — the document
is kept, the amount features leave it out and a flag counts it. Whole columns at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from store.money import currency_digits

BASE_CURRENCY = "CNY"

def minor_digits(currency: pd.Series) -> npt.NDArray[np.int64]:
    """Number of minor-unit digits of each row's currency (2 unless ISO 4217 says otherwise)."""
    codes = pd.Series(currency, copy=False).astype(object)
    uniques = pd.unique(codes.dropna())
    table = {c: currency_digits(str(c)) for c in uniques}  # a handful of currencies, not rows
    mapped = codes.map(table)
    return np.asarray(pd.to_numeric(mapped).fillna(2).to_numpy(dtype=np.int64))


def cny_per_unit(
    currency: pd.Series, dates: pd.Series, rates: pd.DataFrame | None
) -> npt.NDArray[np.float64]:
    """CNY per unit of each row's currency on its date: 1 for CNY, the latest known rate on or
    before the date otherwise, NaN where there is none. `rates` has rate_date, currency,
    cny_per_unit (the fx_rates record kind)."""
    n = len(currency)
    out = np.full(n, np.nan)
    cur = currency.to_numpy(dtype=object)
    is_cny = cur == BASE_CURRENCY
    out[is_cny] = 1.0
    when = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    need = ~is_cny & ~np.isnat(when) & pd.notna(cur)
    if not need.any() or rates is None or rates.empty:
        return out
    pos = np.flatnonzero(need)
    left = pd.DataFrame(
        {"_pos": pos, "_date": when[pos], "_cur": cur[pos].astype(str)}
    ).sort_values("_date", kind="stable")
    right = pd.DataFrame(
        {
            "_date": pd.to_datetime(rates["rate_date"]).to_numpy(dtype="datetime64[ns]"),
            "_cur": rates["currency"].astype(str).to_numpy(),
            "_rate": pd.to_numeric(rates["cny_per_unit"], errors="coerce").to_numpy(dtype=float),
        }
    ).dropna(subset=["_date", "_rate"]).sort_values("_date", kind="stable")
    merged = pd.merge_asof(left, right, on="_date", by="_cur", direction="backward")
    out[merged["_pos"].to_numpy()] = merged["_rate"].to_numpy(dtype=float)
    return out


def to_cny(
    amount_minor: pd.Series, currency: pd.Series, dates: pd.Series, rates: pd.DataFrame | None
) -> pd.Series:
    """Amounts in minor units of their currency as float CNY (NaN where no rate is known)."""
    minor = pd.to_numeric(amount_minor, errors="coerce").astype("Float64").to_numpy(
        dtype=float, na_value=np.nan
    )
    major = minor / np.power(10.0, minor_digits(currency))
    return pd.Series(
        major * cny_per_unit(currency, dates, rates), index=amount_minor.index, dtype=np.float64
    )
