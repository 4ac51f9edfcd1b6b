"""Firm-by-firm comparison of two feature (or score) frames, as the issue states parity."""

from __future__ import annotations

import numpy as np
import pandas as pd

REL = 1e-9


def integer_columns() -> set[str]:
    from models.features import feature_dictionary

    return {s.name for s in feature_dictionary() if s.unit == "count"}


def mismatches(expected: pd.DataFrame, got: pd.DataFrame, *, rel: float = REL,
               exact: set[str] | None = None) -> dict[str, list[str]]:
    """Column -> firms whose values differ: beyond `rel` relative (both missing counts as
    equal), exactly for the `exact` columns, by text for text columns."""
    exact = exact or set()
    out: dict[str, list[str]] = {}
    got = got.reindex(expected.index)
    for col in expected.columns:
        a, b = expected[col], got[col]
        if not pd.api.types.is_numeric_dtype(a.dtype) or not pd.api.types.is_numeric_dtype(b.dtype):
            x, y = a.astype(object), b.astype(object)
            bad = ~((x == y) | (x.isna() & y.isna()))
        else:
            x = a.to_numpy(dtype=np.float64, na_value=np.nan)
            y = b.to_numpy(dtype=np.float64, na_value=np.nan)
            both_nan = np.isnan(x) & np.isnan(y)
            if col in exact:
                ok = (x == y) | both_nan
            else:
                ok = (np.abs(x - y) <= rel * np.maximum(np.abs(x), np.abs(y))) | both_nan
            bad = pd.Series(~ok, index=expected.index)
        if bad.any():
            out[col] = list(expected.index[bad.to_numpy(dtype=bool)][:5])
    return out
