"""Exact money: decimal text in, integer minor units (fen, cents) out, and back again.

Amounts are never routed through binary floats (DESIGN.md §7 "Money"): a float cannot hold
0.10 exactly, and a ledger that drifts by a fen per million invoices is a ledger nobody trusts.
Parsing works on whole columns with pyarrow's string kernels (RE2 regexes, slicing, padding)
and integer casts, so a million amounts cost a fraction of a second and no Python loop per row.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# ISO 4217 alphabetic code -> number of minor-unit digits.
# Source: ISO 4217 "List One: Currency, fund and precious metal codes", published by the
# maintenance agency SIX Financial Information (six-group.com, list dated 2024-06-25).
# Codes with "N.A." minor units (gold, SDR, testing codes) are left out: they are not money a
# trade document is priced in.
_THREE = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_FOUR = ("CLF", "UYW")
_ZERO = (
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
)  # fmt: skip
_TWO = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
)  # fmt: skip

CURRENCY_DIGITS: dict[str, int] = {
    **{c: 0 for c in _ZERO},
    **{c: 2 for c in _TWO},
    **{c: 3 for c in _THREE},
    **{c: 4 for c in _FOUR},
}

_INT64_MAX = "9223372036854775807"
# sign, integer digits, fraction digits; at least one digit somewhere (checked separately).
_DECIMAL_RE = r"^(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?$"
# "1,234,567.89": commas only as groups of three in the integer part.
_GROUPED_RE = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"
_NAN_RE = r"(?i)^[+-]?(nan|inf|infinity)$"
# Exponent form ("1E+308", as a JSON number far out of range is shown): no invoice writes it.
_EXPONENT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]{1,9}$"
# Arrow's string -> decimal cast wraps silently past 38 digits (a 309-digit "1E308" written out
# became 0): the fast path takes only cells short enough to be exact.
_FAST_MAX_CHARS = 30
NO_CURRENCY_MESSAGE = "the currency is not an ISO 4217 code, so the amount cannot be read"


def currency_digits(code: str) -> int | None:
    """Minor digits of an ISO 4217 code (None when the code is not one)."""
    return CURRENCY_DIGITS.get(code)


def _as_text(values: pd.Series) -> pa.Array:
    """Cells as an arrow string array with missing cells as null.

    Decimal and int cells (JSON read with parse_float=Decimal, Parquet decimals) are written
    in plain positional notation so "1E+3" is read as 1000, exactly.
    """
    if values.dtype == object:

        def cell(v: object) -> str | None:
            if v is None or (isinstance(v, float) and v != v):
                return None if v is None else "NaN"
            if isinstance(v, Decimal):
                return format(v, "f")
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)

        return pa.array([cell(v) for v in values.to_numpy()], type=pa.string())
    if pd.api.types.is_string_dtype(values.dtype):
        return pc.cast(pa.array(values), pa.string())
    return pc.cast(pa.array(values), pa.string())


def digit_table(currency: pd.Series) -> np.ndarray:
    """Minor digits per row, -1 where the currency is missing or not an ISO 4217 code. One
    factorisation of the column (a file has one or two currencies), so a caller with several
    amount columns computes it once and hands it to `to_minor`."""
    codes, uniques = pd.factorize(currency, use_na_sentinel=True)
    table = np.array([CURRENCY_DIGITS.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return table[codes]  # the NA sentinel -1 picks the trailing -1


def _unscaled_int64(dec: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The unscaled integers of a decimal128 array (12.50 at scale 2 -> 1250), or None when
    one does not fit in int64. Reads the 16-byte two's-complement words directly."""
    if isinstance(dec, pa.ChunkedArray):
        dec = dec.combine_chunks()
    if dec.null_count:
        dec = pc.fill_null(dec, pa.scalar(0, dec.type))
    words = np.frombuffer(dec.buffers()[1], dtype=np.int64)
    words = words[2 * dec.offset : 2 * (dec.offset + len(dec))].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    if not np.array_equal(high, low >> 63):
        return None
    return low.copy()


def _contains_any_byte(text: pa.Array | pa.ChunkedArray, chars: bytes) -> bool:
    """Whether any cell holds one of the ASCII `chars`: one numpy pass over the UTF-8 bytes
    (a case-insensitive substring search goes through the regex engine, ten times slower)."""
    wanted = np.frombuffer(chars, dtype=np.uint8)
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    for arr in chunks:
        buf = arr.buffers()[2] if len(arr) else None
        if buf is None:
            continue
        width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
        offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
        data = np.frombuffer(buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
        if np.isin(data, wanted).any():
            return True
    return False


def _fast_minor(text: pa.Array, missing: np.ndarray, digits: np.ndarray) -> np.ndarray | None:
    """Whole-column fast path for clean columns: Arrow's exact string -> decimal cast at the
    currency's scale (it refuses to drop non-zero digits). Any doubt -> None, and the careful
    path below finds and words each problem."""
    n = len(text)
    if n == 0 or (digits < 0).any():
        return None
    if _contains_any_byte(text, b"eE"):
        return None  # exponents are not decimal text; the careful path says so
    longest = pc.max(pc.utf8_length(text)).as_py()
    if longest is not None and longest > _FAST_MAX_CHARS:
        return None
    cells = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    out = np.zeros(n, dtype=np.int64)
    groups = np.unique(digits)
    for d in groups:
        sel = None if len(groups) == 1 else np.flatnonzero(digits == d)
        part = cells if sel is None else cells.take(pa.array(sel))
        try:
            dec = pc.cast(part, pa.decimal128(38, int(d)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        ints = _unscaled_int64(dec)
        if ints is None:
            return None
        if sel is None:
            out = ints
        else:
            out[sel] = ints
    out[missing] = 0
    return out


def to_minor(
    values: pd.Series,
    currency: pd.Series | None,
    *,
    required: bool = True,
    digits: np.ndarray | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Parse decimal amounts into int64 minor units of each row's currency.

    Returns (minor, errors): `minor` is int64 (0 where the value is missing or bad), `errors`
    holds a message per bad row and None elsewhere. An empty cell is an error only when
    `required`. Extra decimals are accepted only when they are zeros ("12.500" CNY is 1250 fen;
    "12.505" CNY is an error, never rounded). Thousands separators are accepted only in the
    unambiguous form "1,234,567.89"; "1,234" is read as thousands only when the currency has
    fewer than three minor digits (otherwise it could be a decimal comma, so it is refused).
    """
    n = len(values)
    index = values.index
    text = pc.utf8_trim_whitespace(_as_text(values))
    missing = np.asarray(pc.fill_null(pc.equal(pc.fill_null(text, ""), ""), True))
    if digits is None:
        if currency is None:
            raise ValueError("to_minor needs the currency column or its digit table")
        digits = digit_table(currency.reset_index(drop=True))
    errors = np.full(n, None, dtype=object)
    fast = _fast_minor(pc.cast(text, pa.string()), missing, digits)
    if fast is not None:
        if required:
            errors[missing] = "an amount is required"
        return (
            pd.Series(fast, index=index, dtype=np.int64),
            pd.Series(errors, index=index, dtype=object),
        )

    is_nan = np.asarray(pc.fill_null(pc.match_substring_regex(text, _NAN_RE), False))
    exponent = np.asarray(pc.fill_null(pc.match_substring_regex(text, _EXPONENT_RE), False))
    grouped = np.asarray(pc.fill_null(pc.match_substring_regex(text, _GROUPED_RE), False))
    has_point = np.asarray(pc.fill_null(pc.match_substring(text, "."), False))
    has_comma = np.asarray(pc.fill_null(pc.match_substring(text, ","), False))
    comma_ok = grouped & (has_point | ((digits >= 0) & (digits < 3)))
    text = pc.replace_substring(text, ",", "")
    parts = pc.extract_regex(pc.fill_null(text, ""), _DECIMAL_RE)
    matched = np.asarray(pc.is_valid(parts))
    parts = pc.fill_null(parts, {"sign": "", "int": "", "frac": ""})
    sign = pc.struct_field(parts, "sign")
    int_part = pc.struct_field(parts, "int")
    frac = pc.struct_field(parts, "frac")
    frac_len = np.asarray(pc.utf8_length(frac))
    has_digit = (np.asarray(pc.utf8_length(int_part)) + frac_len) > 0

    bad_comma = has_comma & ~comma_ok & ~missing
    not_number = ~missing & ~is_nan & ~bad_comma & ~(matched & has_digit)
    no_currency = ~missing & (digits < 0)

    # Digits string of the amount in minor units, built per distinct minor-digit count
    # (usually one: a whole file in CNY), then put back in row order.
    too_precise = np.zeros(n, dtype=bool)
    pieces: list[pa.Array] = []
    positions: list[np.ndarray] = []
    groups = [int(d) for d in np.unique(digits)]
    for d in groups:
        sel = np.flatnonzero(digits == d)
        whole = len(groups) == 1
        f = frac if whole else frac.take(pa.array(sel))
        i = int_part if whole else int_part.take(pa.array(sel))
        if d < 0:  # unknown currency: reported below, nothing to compute
            pieces.append(pa.array(np.full(sel.size, ""), type=pa.string()))
            positions.append(sel)
            continue
        padded = pc.utf8_rpad(f, width=d, padding="0")
        kept = pc.utf8_slice_codeunits(padded, 0, d)
        rest = pc.utf8_slice_codeunits(padded, d)
        too_precise[sel] = ~np.asarray(pc.match_substring_regex(rest, "^0*$"))
        pieces.append(pc.binary_join_element_wise(i, kept, ""))
        positions.append(sel)
    if len(pieces) == 1:
        combined = pieces[0]
    elif pieces:
        order = np.argsort(np.concatenate(positions), kind="stable")
        combined = pa.concat_arrays([p.cast(pa.string()) for p in pieces]).take(pa.array(order))
    else:
        combined = pa.array([], type=pa.string())
    combined = pc.utf8_ltrim(combined, characters="0")
    clen = np.asarray(pc.utf8_length(combined))
    overflow = (clen > len(_INT64_MAX)) | (
        (clen == len(_INT64_MAX)) & np.asarray(pc.greater(combined, pa.scalar(_INT64_MAX)))
    )
    ok = ~missing & ~is_nan & ~bad_comma & ~not_number & ~no_currency & ~too_precise & ~overflow
    safe = pc.if_else(pa.array(ok & (clen > 0)), combined, pa.scalar("0"))
    minor = np.asarray(pc.cast(safe, pa.int64()), dtype=np.int64)
    negative = np.asarray(pc.equal(sign, "-"))
    minor = np.where(negative, -minor, minor)

    if required:
        errors[missing] = "an amount is required"
    errors[is_nan] = "NaN or infinity is not an amount; give a decimal number such as 1234.50"
    errors[bad_comma] = (
        "ambiguous separators: write the amount with '.' as the decimal point, e.g. 1234567.89"
    )
    errors[not_number] = "not a decimal number; give an amount such as 1234.50"
    if (exponent & not_number).any():
        errors[exponent & not_number] = [
            _exponent_message(v) for v in pc.filter(text, pa.array(exponent & not_number)).to_pylist()
        ]
    rest_rows = ~missing & ~is_nan & ~bad_comma & ~not_number
    errors[rest_rows & no_currency] = NO_CURRENCY_MESSAGE
    tp = rest_rows & ~no_currency & too_precise
    if tp.any():
        errors[tp] = [f"more decimals than the currency has ({d})" for d in digits[tp]]
    errors[rest_rows & ~no_currency & ~too_precise & overflow] = "the amount is too large"
    return (
        pd.Series(minor, index=index, dtype=np.int64),
        pd.Series(errors, index=index, dtype=object),
    )


_INT64_LIMIT = 2.0**63


def float_to_minor(amounts: npt.ArrayLike, currency: str) -> npt.NDArray[np.int64]:
    """Amounts computed as binary floats in `currency` (the graph's flows, sums in CNY) as integer
    minor units: the one place where a float amount becomes money again.

    Rounded half to even. A flow adds up amounts that were exact minor units, so its float lies
    within a tiny fraction of a unit from a whole number of them and every rule gives that number
    back; a true half unit arises only from amounts converted from another currency (DESIGN.md §7
    "Money"), and over many such sums half to even does not drift upwards as half up does. It is
    also IEEE 754's rounding, numpy's `rint`, Python's `round` and `Decimal`'s default, so the
    rule is the same whichever layer rounds. NaN, ±inf and amounts beyond int64 are refused.
    """
    digits = CURRENCY_DIGITS.get(currency)
    if digits is None:
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    scaled = np.asarray(amounts, dtype=np.float64) * 10.0**digits
    if not np.isfinite(scaled).all() or (np.abs(scaled) >= _INT64_LIMIT).any():
        raise ValueError(f"amounts that are not finite {currency} values in int64 minor units")
    return np.rint(scaled).astype(np.int64)


def _exponent_message(text: str) -> str:
    """Why an amount in exponent form is refused: too large, too precise, or only the form."""
    adjusted = Decimal(text).adjusted()
    if adjusted >= len(_INT64_MAX) - 1:
        return f"the amount {text} is too large"
    if adjusted < -4:
        return f"the amount {text} has more decimals than any currency"
    return f"write amounts as plain decimals, e.g. 1234.50, not {text}"


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    """An amount in minor units as an exact Decimal with the currency's digits ("1234.50")."""
    d = CURRENCY_DIGITS[currency]
    return Decimal(int(minor)).scaleb(-d).quantize(Decimal(1).scaleb(-d))


def format_minor(minor: pd.Series, currency: pd.Series) -> pd.Series:
    """Whole-column inverse of `to_minor`: decimal text with the currency's minor digits.

    Missing amounts (NA) give missing text, so optional amounts round-trip as empty cells.
    """
    index = minor.index
    n = len(minor)
    present = minor.notna().to_numpy()
    values = minor.fillna(0).to_numpy(dtype=np.int64)
    digits = digit_table(currency.reset_index(drop=True))
    if (digits[present] < 0).any():
        bad = sorted(set(currency[present & (digits < 0)].astype(str)))
        raise ValueError(f"not ISO 4217 currency codes: {', '.join(bad)}")
    neg = values < 0
    # The digits of |value| from the text of the value: abs() has no int64 for -2**63.
    magnitude = pc.utf8_ltrim(pc.cast(pa.array(values), pa.string()), "-")
    out = np.full(n, None, dtype=object)
    for d in np.unique(digits[present]):
        sel = np.flatnonzero(present & (digits == d))
        m = magnitude.take(pa.array(sel))
        if d == 0:
            txt = m
        else:
            padded = pc.utf8_lpad(m, width=int(d) + 1, padding="0")
            txt = pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(padded, 0, -int(d)),
                pc.utf8_slice_codeunits(padded, -int(d)),
                ".",
            )
        out[sel] = np.asarray(txt.to_numpy(zero_copy_only=False), dtype=object)
    out[present & neg] = np.char.add("-", out[present & neg].astype(str)).astype(object)
    return pd.Series(out, index=index, dtype=object)
