"""Checks of one cell value by field type, run once per distinct value of a column.

A column of a million invoices has a few hundred distinct dates, currencies and parties, so
store.validate factorises each column and hands the distinct values here; the verdicts are
spread back to the rows with the factorised codes. Each check returns (typed values, a message
per value or None).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from store.dates import check_dates
from store.money import CURRENCY_DIGITS
from store.parties import party_problems
from store.records import Field, FieldType

Check = Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]

RATINGS = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-",
    "B+", "B", "B-", "CCC", "CC", "C", "D",
)  # fmt: skip
_TRUE = frozenset({"true", "1", "yes", "是"})
_FALSE = frozenset({"false", "0", "no", "否"})
# Words a Chinese export uses for the invoice kind (蓝字 = normal, 红字 = red-letter reversal).
_ENUM_SYNONYMS = {
    "蓝字": "normal", "蓝字发票": "normal", "正常": "normal",
    "红字": "credit_note", "红字发票": "credit_note", "creditnote": "credit_note",
}  # fmt: skip


def _party_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    msgs = np.asarray(party_problems(values.reset_index(drop=True)), dtype=object)
    return values.to_numpy(dtype=object), msgs


def _int_check(signed: bool) -> Check:
    def check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        ok = values.str.fullmatch(r"[+-]?[0-9]{1,18}(\.0*)?").to_numpy(dtype=bool)
        nums = np.zeros(len(values), dtype=np.int64)
        if ok.any():
            nums[ok] = values[ok].str.replace(r"\.0*$", "", regex=True).astype(np.int64).to_numpy()
        msgs = np.full(len(values), None, dtype=object)
        msgs[~ok] = "not a whole number"
        if not signed:
            msgs[ok & (nums < 0)] = "cannot be negative"
        return nums, msgs

    return check


def _bool_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    low = values.str.lower()
    is_true = low.isin(_TRUE).to_numpy(dtype=bool)
    is_false = low.isin(_FALSE).to_numpy(dtype=bool)
    msgs = np.full(len(values), None, dtype=object)
    msgs[~(is_true | is_false)] = "write true or false (also 1/0, yes/no, 是/否)"
    return is_true, msgs


def _enum_check(choices: tuple[str, ...]) -> Check:
    def check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        low = values.str.lower().str.replace("-", "_").str.replace(" ", "_")
        mapped = low.map(lambda v: _ENUM_SYNONYMS.get(v, v)).astype(object)
        ok = mapped.isin(choices).to_numpy(dtype=bool)
        msgs = np.full(len(values), None, dtype=object)
        msgs[~ok] = f"must be one of: {', '.join(choices)}"
        return mapped.to_numpy(dtype=object), msgs

    return check


def _pattern_check(
    pattern: str, message: str, *, upper: bool = False
) -> Check:
    def check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        v = values.str.upper() if upper else values
        ok = v.str.fullmatch(pattern).to_numpy(dtype=bool)
        msgs = np.full(len(values), None, dtype=object)
        msgs[~ok] = message
        return v.to_numpy(dtype=object), msgs

    return check


def _set_check(
    allowed: frozenset[str], message: str, *, upper: bool
) -> Check:
    def check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        v = values.str.upper() if upper else values
        ok = v.isin(allowed).to_numpy(dtype=bool)
        msgs = np.full(len(values), None, dtype=object)
        msgs[~ok] = message
        return v.to_numpy(dtype=object), msgs

    return check


def _decimal_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ok = values.str.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+").to_numpy(dtype=bool)
    nums = np.full(len(values), np.nan)
    if ok.any():
        nums[ok] = values[ok].astype(float).to_numpy()
    msgs = np.full(len(values), None, dtype=object)
    msgs[~ok] = "not a positive decimal number"
    msgs[ok & (nums <= 0)] = "must be greater than zero"
    return nums, msgs


def checker(f: Field) -> Check:
    t = f.type
    if t is FieldType.PARTY:
        return _party_check
    if t is FieldType.DATE:
        return check_dates
    if t is FieldType.INT:
        return _int_check(f.signed)
    if t is FieldType.BOOL:
        return _bool_check
    if t is FieldType.ENUM:
        return _enum_check(f.choices)
    if t is FieldType.CURRENCY:
        return _set_check(
            frozenset(CURRENCY_DIGITS), "not an ISO 4217 currency code (e.g. CNY)", upper=True
        )
    if t is FieldType.REGION:
        return _pattern_check(r"[0-9]{6}", "a GB/T 2260 region code has six digits, e.g. 500000")
    if t is FieldType.INDUSTRY:
        return _pattern_check(
            r"[A-T][0-9]{0,4}",
            "a GB/T 4754 industry code is a section letter A-T and up to four digits, e.g. C3670",
            upper=True,
        )
    if t is FieldType.RATING:
        return _set_check(
            frozenset(RATINGS), f"ratings are one of {', '.join(RATINGS)}", upper=True
        )
    if t is FieldType.DECIMAL:
        return _decimal_check
    raise ValueError(f"no per-value check for {t}")
