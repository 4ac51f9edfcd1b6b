"""The master scale that turns a core firm's external rating into a credit quality in [0, 1].

Credit transmission needs a number, and external ratings arrive as letters. The scale is the
long-term issuer scale used by the Chinese rating agencies (AAA down to C, with + / - notches
from AA to B), which is also the shape of the S&P and Moody's-equivalent scales. Quality falls
by an equal step per notch, so one notch costs the same everywhere on the scale; a bank that
prefers PD-based qualities passes its own scale in `GraphParams.rating_scale`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

RATING_GRADES: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C",
)  # fmt: skip

# Equal steps: AAA = 1.0, C = 1/19, a default (D) would be 0.
MASTER_SCALE: tuple[tuple[str, float], ...] = tuple(
    (g, round(1.0 - i / len(RATING_GRADES), 6)) for i, g in enumerate(RATING_GRADES)
)


def normalise_rating(text: object) -> str | None:
    """Accept the spellings seen in uploads: lower case, spaces, full-width plus/minus signs."""
    if text is None or (isinstance(text, float) and text != text):
        return None
    s = str(text).strip().upper().replace(" ", "").replace("＋", "+").replace("－", "-")
    return s or None


def rating_quality(
    ratings: Iterable[object] | pd.Series,
    scale: tuple[tuple[str, float], ...] = MASTER_SCALE,
) -> npt.NDArray[np.float64]:
    """Credit quality per rating; NaN for an absent or unknown rating (the caller decides)."""
    table = dict(scale)
    values = pd.Series(list(ratings) if not isinstance(ratings, pd.Series) else ratings, dtype=object)
    if values.empty:
        return np.zeros(0, dtype=np.float64)
    codes, uniq = pd.factorize(values, use_na_sentinel=True)  # a handful of distinct spellings
    q = np.array([table.get(normalise_rating(u) or "", np.nan) for u in uniq], dtype=np.float64)
    return np.where(codes >= 0, q[np.maximum(codes, 0)] if q.size else np.nan, np.nan)
