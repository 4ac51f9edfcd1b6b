from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from store.money import CURRENCY_DIGITS, float_to_minor, format_minor, minor_to_decimal, to_minor


def _minor(values, currency="CNY", **kw):
    v = pd.Series(values, dtype=object)
    c = pd.Series([currency] * len(values) if isinstance(currency, str) else currency)
    m, e = to_minor(v, c, **kw)
    return m.tolist(), e.tolist()


def test_currency_table_has_the_iso_minor_digits():
    assert CURRENCY_DIGITS["CNY"] == 2
    assert CURRENCY_DIGITS["JPY"] == 0
    assert CURRENCY_DIGITS["KWD"] == 3
    assert CURRENCY_DIGITS["CLF"] == 4
    assert "XAU" not in CURRENCY_DIGITS


def test_clean_column_is_exact_in_minor_units():
    m, e = _minor(["1234.50", "0.10", "12.500", "-3", ".5", "5.", "0"])
    assert m == [123450, 10, 1250, -300, 50, 500, 0]
    assert e == [None] * 7


def test_per_row_currency_digits():
    m, e = _minor(["1.5", "7", "0.001", "2"], ["CNY", "JPY", "KWD", "CLF"])
    assert m == [150, 7, 1, 20000]
    assert e == [None] * 4


def test_every_bad_value_gets_its_own_message():
    values = ["12.505", "NaN", "inf", "", "abc", "1e3", "99999999999999999999", "1,5", "1.5"]
    currency = ["CNY"] * 8 + ["ZZZ"]
    m, e = _minor(values, currency)
    assert e[0] == "more decimals than the currency has (2)"
    assert e[1].startswith("NaN or infinity is not an amount")
    assert e[2].startswith("NaN or infinity is not an amount")
    assert e[3] == "an amount is required"
    assert e[4].startswith("not a decimal number")
    assert e[5] == "write amounts as plain decimals, e.g. 1234.50, not 1e3"
    assert e[6] == "the amount is too large"
    assert e[7].startswith("ambiguous separators")
    assert "ISO 4217" in e[8]
    assert m == [0] * 9


def test_thousands_separators_only_when_unambiguous():
    m, e = _minor(["1,234,567.89", "1,234", "1,234", "12,34.5"], ["CNY", "CNY", "KWD", "CNY"])
    assert m[:2] == [123456789, 123400]
    assert e[:2] == [None, None]
    assert e[2].startswith("ambiguous separators")  # 1,234 KWD could be 1.234
    assert e[3].startswith("ambiguous separators")


def test_optional_empty_is_not_an_error():
    m, e = _minor(["", "1.00"], required=False)
    assert e == [None, None]
    assert m == [0, 100]


def test_decimal_and_int_cells_are_read_exactly():
    m, e = _minor([Decimal("1E+3"), Decimal("0.10"), 7, Decimal("0.105")])
    assert m == [100000, 10, 700, 0]
    assert e[:3] == [None, None, None]
    assert e[3] == "more decimals than the currency has (2)"


def test_int64_edge_is_accepted_and_one_more_is_too_large():
    m, e = _minor(["92233720368547758.07", "92233720368547758.08"])
    assert m[0] == 9223372036854775807
    assert e == [None, "the amount is too large"]


def test_fast_and_careful_paths_agree():
    rng = np.random.default_rng(3)
    cents = rng.integers(-(10**12), 10**12, 2000)
    text = [f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}" for c in cents]
    clean, _ = _minor(text)
    mixed, errs = _minor([*text, "oops"])  # one bad cell sends the column down the careful path
    assert clean == cents.tolist()
    assert mixed[:-1] == cents.tolist()
    assert errs[-1].startswith("not a decimal number")


def test_format_minor_round_trips():
    minor = pd.Series([123450, -5, 0, 7, 1, None], dtype="Int64")
    cur = pd.Series(["CNY", "CNY", "CNY", "JPY", "KWD", "CNY"])
    text = format_minor(minor, cur)
    assert text.tolist()[:5] == ["1234.50", "-0.05", "0.00", "7", "0.001"]
    assert text.iloc[5] is None
    back, errs = to_minor(text.iloc[:5], cur.iloc[:5])
    assert back.tolist() == [123450, -5, 0, 7, 1]
    assert errs.isna().all()


def test_format_minor_refuses_unknown_currency():
    with pytest.raises(ValueError, match="ZZZ"):
        format_minor(pd.Series([1]), pd.Series(["ZZZ"]))


def test_minor_to_decimal():
    assert minor_to_decimal(123450, "CNY") == Decimal("1234.50")
    assert str(minor_to_decimal(-5, "CNY")) == "-0.05"
    assert str(minor_to_decimal(7, "JPY")) == "7"
    assert str(minor_to_decimal(1, "KWD")) == "0.001"


def test_format_minor_takes_every_int64() -> None:
    extremes = pd.Series([-(2**63), 2**63 - 1])
    text = format_minor(extremes, pd.Series(["CNY", "CNY"]))
    assert text.tolist() == ["-92233720368547758.08", "92233720368547758.07"]
    assert [str(minor_to_decimal(m, "CNY")) for m in extremes] == text.tolist()


def test_float_to_minor_rounds_half_to_even_once() -> None:
    # A float sum of fen amounts comes back to its fen; true halves go to the even neighbour.
    got = float_to_minor([125149004.47000001, 0.125, 0.375, -0.125, 0.135, 0.0], "CNY")
    assert got.dtype == np.int64
    assert got.tolist() == [12514900447, 12, 38, -12, 14, 0]
    assert float_to_minor([2.5, 3.5], "JPY").tolist() == [2, 4]
    assert float_to_minor([0.0005], "KWD").tolist() == [0]
    for bad in ([float("nan")], [float("inf")], [1e17]):
        with pytest.raises(ValueError, match="not finite"):
            float_to_minor(bad, "CNY")
    with pytest.raises(ValueError, match="ISO 4217"):
        float_to_minor([1.0], "ZZZ")
