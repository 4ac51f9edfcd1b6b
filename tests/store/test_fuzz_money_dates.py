"""Property-based: money, dates, party ids and spreadsheet text, on any input (issue 16).

Each property says what a right answer is, not only that nothing raised: an amount accepted is
the exact decimal the text wrote, a date accepted is the calendar date written and inside the
range, a neutralised cell never starts a formula.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from store.dates import DATE_MAX, DATE_MIN, arrow_dates_as_text, check_dates
from store.money import CURRENCY_DIGITS, format_minor, to_minor
from store.parties import party_problem, party_problems
from store.spreadsheet import neutralise
from store.text import FORMULA_LEADS, INVISIBLE_CATEGORIES

EXAMPLES = int(os.environ.get("CHAINCREDIT_FUZZ_EXAMPLES", "200"))
PROPS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
currencies = st.sampled_from(sorted(CURRENCY_DIGITS))
amount_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789.,-+eE ", max_size=30),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-10**17, max_value=10**17, places=4).map(str),
    st.integers(-(2**70), 2**70).map(str),
)


@PROPS
@given(values=st.lists(amount_text, min_size=1, max_size=8), currency=currencies)
def test_amounts_are_exact_or_refused(values: list[str], currency: str) -> None:
    minor, errors = to_minor(pd.Series(values, dtype=object), pd.Series([currency] * len(values)))
    digits = CURRENCY_DIGITS[currency]
    for text, m, e in zip(values, minor.tolist(), errors.tolist(), strict=True):
        assert e is None or (isinstance(e, str) and e)
        if e is not None or not text.strip():
            continue
        plain = text.strip().replace(",", "")
        exact = Decimal(plain)  # accepted text is always a plain decimal
        assert exact == Decimal(m).scaleb(-digits), (text, m)
        assert -(2**63) <= m < 2**63


@PROPS
@given(minor=st.lists(st.integers(-(2**63) + 1, 2**63 - 1), min_size=1, max_size=8),
       currency=currencies)
def test_minor_units_round_trip_through_text(minor: list[int], currency: str) -> None:
    cur = pd.Series([currency] * len(minor))
    text = format_minor(pd.Series(minor, dtype="Int64"), cur)
    back, errors = to_minor(text, cur)
    assert errors.isna().all() and back.tolist() == minor


@PROPS
@given(values=st.lists(st.one_of(st.text(max_size=14), st.dates().map(date.isoformat),
                                 st.from_regex(r"[+-]?[0-9]{4,7}-[0-9]{2}-[0-9]{2}",
                                               fullmatch=True)), min_size=1, max_size=8))
def test_dates_are_calendar_dates_in_range_or_refused(values: list[str]) -> None:
    parsed, msgs = check_dates(pd.Series(values, dtype="str"))
    for text, p, m in zip(values, parsed, msgs, strict=True):
        if m is not None:
            assert np.isnat(p) and isinstance(m, str)
            continue
        day = pd.Timestamp(p).date()
        assert day.isoformat() == text and DATE_MIN <= day <= DATE_MAX


@PROPS
@given(days=st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), min_size=1,
                     max_size=8),
       unit=st.sampled_from(["date32", "s", "ms", "us", "ns"]))
def test_any_parquet_date_becomes_checkable_text(days: list[int | None], unit: str) -> None:
    arrow_type = pa.date32() if unit == "date32" else pa.timestamp(unit)
    text = arrow_dates_as_text(pa.chunked_array([pa.array(days, type=arrow_type)]))
    assert len(text) == len(days)
    _, msgs = check_dates(text[text.ne("")])
    assert all(m is None or isinstance(m, str) for m in msgs)


@PROPS
@given(text=st.text(alphabet=st.characters(codec=None), max_size=30))
def test_neutralised_text_runs_no_formula_and_hides_nothing(text: str) -> None:
    assume(all(not 0xD800 <= ord(c) <= 0xDFFF for c in text))  # not text: refused at input
    out = neutralise(text)
    shown = "".join("\ufffd" if unicodedata.category(c) in INVISIBLE_CATEGORIES else c
                    for c in text)
    assert out in (shown, "'" + shown)  # only hidden characters and a leading apostrophe change
    if out == shown:
        assert not re.sub(r"^\s+", "", out).startswith(FORMULA_LEADS)


@PROPS
@given(values=st.lists(st.one_of(st.text(max_size=40), st.sampled_from(
    ["0088:1", "LOCAL:0088:1~a", "NAME:VAT:X~a b", "91330000142942095H", "VAT:=1"])),
    min_size=1, max_size=10))
def test_party_column_agrees_with_one_by_one(values: list[str]) -> None:
    assume(all(not any(0xD800 <= ord(c) <= 0xDFFF for c in v) for v in values))
    column = party_problems(pd.Series(values, dtype=object)).tolist()
    assert [m is None for m in column] == [party_problem(v) is None for v in values]


def test_decimal_strategy_is_what_amounts_look_like() -> None:
    """A guard on the strategy itself: some generated amounts parse, so the property above is
    about accepted values and not only refusals."""
    minor, errors = to_minor(pd.Series(["12.50", "-3", "1,234.00"]), pd.Series(["CNY"] * 3))
    assert errors.isna().all() and minor.tolist() == [1250, -300, 123400]
