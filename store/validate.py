"""Whole-column validation: raw cells of one record kind -> a typed frame and every bad value.

Ingestion has to take a million invoice rows in seconds (issue 2: 150,000 rows/s into
PostgreSQL, validation included), so no check here runs Python code per row. Columns with few
distinct values (parties, dates, currencies, enums) are checked once per distinct value and the
verdicts are spread back with the factorised codes; columns of unique values (document ids,
amounts) go through pandas/pyarrow string kernels. Each bad value gets one message, and every
bad value of every row is reported, so a person fixes the whole file in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from common.threads import CHUNK_ROWS, map_row_chunks
from store.errors import RowError
from store.money import (
    CURRENCY_DIGITS,
    NO_CURRENCY_MESSAGE,
    digit_table,
    format_minor,
    to_minor,
)
from store.parties import party_problems
from store.pointintime import default_reported_on
from store.records import Field, FieldType, RecordKind
from store.text import CONTROL_MESSAGE, CONTROL_PATTERN

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
DOC_ID_MAX = 100
_VALUE_SHOWN = 80


class _Errors:
    """Bad values collected column by column, turned into RowErrors once at the end."""

    def __init__(self, rows: np.ndarray, order: dict[str, int]) -> None:
        self.rows = rows
        self.order = order
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, field: str, mask: np.ndarray, message: str | np.ndarray, values: Any) -> None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        if isinstance(message, np.ndarray):
            msgs = message[idx]
        else:
            msgs = np.full(idx.size, message, dtype=object)
        if isinstance(values, pd.Series):
            vals = values.iloc[idx].to_numpy(dtype=object)
        else:
            vals = np.asarray(values, dtype=object)[idx]
        self.parts.append((field, idx, msgs, vals))

    def result(self) -> list[RowError]:
        out: list[tuple[int, int, int, RowError]] = []
        for field, idx, msgs, vals in self.parts:
            rank = self.order.get(field, len(self.order))
            for i, m, v in zip(idx.tolist(), msgs.tolist(), vals.tolist(), strict=True):
                shown = None if v is None or v == "" else str(v)
                if shown is not None and len(shown) > _VALUE_SHOWN:
                    shown = f"{shown[:_VALUE_SHOWN]}… ({len(shown)} characters)"
                out.append(
                    (int(self.rows[i]), rank, i, RowError(int(self.rows[i]), field, m, shown))
                )
        out.sort(key=lambda t: (t[0], t[1], t[2]))
        return [t[3] for t in out]


def _cell_str(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else "NaN"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


_EDGE_SPACE = np.zeros(256, dtype=bool)
_EDGE_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160]] = True
_EDGE_SPACE[0x80:] = True  # any non-ASCII byte might belong to a Unicode space (U+3000…)
_CONTROL_BYTE = np.zeros(256, dtype=bool)
_CONTROL_BYTE[:0x20] = True
_CONTROL_BYTE[0x7F] = True


def _arrow_text(col: pd.Series) -> list[pa.Array] | None:
    """The chunks of the column's Arrow string array when pandas holds one (no copy)."""
    if not isinstance(col.dtype, pd.StringDtype) or col.dtype.storage != "pyarrow":
        return None
    arr = pa.chunked_array(pa.array(col)) if not hasattr(col.array, "__arrow_array__") else (
        col.array.__arrow_array__()
    )
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if not (pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):
        return None
    return list(arr.chunks)


def _string_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a string array's buffers, offsets relative to the data slice."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def _may_need_strip(chunks: list[pa.Array]) -> bool:
    """Could any cell start or end with white space? Only the first and last byte of each cell
    are looked at, so a clean column of a million cells is passed in milliseconds."""
    for arr in chunks:
        offsets, data = _string_bytes(arr)
        nonempty = offsets[1:] > offsets[:-1]
        if not nonempty.any():
            continue
        first = data[offsets[:-1][nonempty]]
        last = data[offsets[1:][nonempty] - 1]
        if _EDGE_SPACE[first].any() or _EDGE_SPACE[last].any():
            return True
    return False


def _has_control_bytes(text: pd.Series) -> bool:
    """Any control character anywhere in the column? One pass over the raw bytes."""
    chunks = _arrow_text(text)
    if chunks is None:
        return True  # cannot tell cheaply: let the regex look
    for arr in chunks:
        offsets, data = _string_bytes(arr)
        if len(offsets) and _CONTROL_BYTE[data[offsets[0] : offsets[-1]]].any():
            return True
    return False


def _text(col: pd.Series) -> pd.Series:
    """Cells as stripped str with "" for missing, whatever the reader handed over."""
    chunks = _arrow_text(col)
    if chunks is not None and not any(c.null_count for c in chunks) and not _may_need_strip(chunks):
        return col  # already clean text: stripping would copy a million strings for nothing
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col.dt.strftime("%Y-%m-%d").fillna("").astype(str)
    if col.dtype == object:
        return pd.Series(
            [_cell_str(v) for v in col.to_numpy()], index=col.index, dtype=str
        ).str.strip()
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.map({True: "true", False: "false"}).fillna("").astype(str)
    return col.astype(str).fillna("").str.strip()


def _per_unique(
    text: pd.Series, check: Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run `check` once per distinct value: (codes, values per unique, messages per row)."""
    codes, uniques = pd.factorize(text, sort=False)
    values, messages = check(pd.Series(np.asarray(uniques, dtype=object), dtype=str))
    return codes, np.asarray(values), np.asarray(messages, dtype=object)[codes]


def _party_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    msgs = np.asarray(party_problems(values.reset_index(drop=True)), dtype=object)
    return values.to_numpy(dtype=object), msgs


def _date_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    shape = values.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").to_numpy(dtype=bool)
    parsed = pd.to_datetime(values.where(shape), format="%Y-%m-%d", errors="coerce")
    parsed = pd.Series(parsed, dtype="datetime64[ns]")
    msgs = np.full(len(values), None, dtype=object)
    msgs[~shape] = "dates are written YYYY-MM-DD, e.g. 2024-03-31"
    unreal = shape & parsed.isna().to_numpy()
    msgs[unreal] = [f"{v} is not a real calendar date" for v in values[unreal]]
    return parsed.to_numpy(), msgs


def _int_check(signed: bool) -> Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]:
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


def _enum_check(choices: tuple[str, ...]) -> Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]:
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
) -> Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]:
    def check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        v = values.str.upper() if upper else values
        ok = v.str.fullmatch(pattern).to_numpy(dtype=bool)
        msgs = np.full(len(values), None, dtype=object)
        msgs[~ok] = message
        return v.to_numpy(dtype=object), msgs

    return check


def _set_check(
    allowed: frozenset[str], message: str, *, upper: bool
) -> Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]:
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


def _checker(f: Field) -> Callable[[pd.Series], tuple[np.ndarray, np.ndarray]]:
    t = f.type
    if t is FieldType.PARTY:
        return _party_check
    if t is FieldType.DATE:
        return _date_check
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


def _text_problems(f: Field, text: pd.Series, present: np.ndarray, errs: _Errors) -> None:
    limit = DOC_ID_MAX if f.type is FieldType.DOC_ID else f.max_length
    if _has_control_bytes(text):
        control = text.str.contains(CONTROL_PATTERN, regex=True).to_numpy(dtype=bool) & present
    else:
        control = np.zeros(len(text), dtype=bool)
    errs.add(f.name, control, CONTROL_MESSAGE, text)
    lengths = text.str.len().to_numpy()
    too_long = present & ~control & (lengths > limit)
    if too_long.any():
        msgs = np.full(len(text), None, dtype=object)
        msgs[too_long] = [
            f"at most {limit} characters, this one has {n}" for n in lengths[too_long]
        ]
        errs.add(f.name, too_long, msgs, text)


def _tolerance(digits: np.ndarray) -> np.ndarray:
    """0.01 in each row's minor units (a whole unit for currencies with fewer digits: exact)."""
    return np.where(digits >= 2, 10 ** np.maximum(digits - 2, 0), 0).astype(np.int64)


def _money_text(minor: np.ndarray, codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Amounts of rows `idx` as decimal text; `codes` are those rows' currencies."""
    return format_minor(pd.Series(minor[idx]), pd.Series(codes, dtype=object)).to_numpy()


def validate_frame(
    kind: RecordKind, raw: pd.DataFrame, rows: np.ndarray
) -> tuple[pd.DataFrame, list[RowError]]:
    """Check every cell of `raw` (columns named by field) and build the typed flow frame.

    The frame follows the flow-frame contract without the `_cny` columns (added at load time,
    when fx rates are known) and with `_row`, the source row of each record. Rows with bad
    values are kept, with those values missing, so a dry run can show what was understood.
    """
    n = len(raw)
    rows = np.asarray(rows, dtype=np.int64)
    if rows.shape != (n,):
        raise ValueError(f"rows has {rows.shape} entries for {n} records")
    order = {f.name: i for i, f in enumerate(kind.fields)}
    errs = _Errors(rows, order)
    index = pd.RangeIndex(n)
    empty = pd.Series(np.full(n, "", dtype=object), index=index, dtype=str)
    texts: dict[str, pd.Series] = {}
    for f in kind.fields:
        texts[f.name] = (
            _text(raw[f.name].reset_index(drop=True)) if f.name in raw.columns else empty
        )
    out: dict[str, Any] = {}
    bad: dict[str, np.ndarray] = {}

    for f in kind.fields:
        if f.type is FieldType.MONEY:
            continue  # needs the currency: done below
        text = texts[f.name]
        present = text.ne("").to_numpy(dtype=bool)
        if f.required:
            errs.add(f.name, ~present, f"{f.name} is required", text)
        if f.type in (FieldType.TEXT, FieldType.DOC_ID):
            before = len(errs.parts)
            _text_problems(f, text, present, errs)
            col_bad = np.zeros(n, dtype=bool)
            for part in errs.parts[before:]:
                col_bad[part[1]] = True
            bad[f.name] = col_bad | (~present & f.required)
            out[f.name] = text.where(present & ~col_bad)
            continue
        if (
            f.type is FieldType.DATE
            and f.name in raw.columns
            and pd.api.types.is_datetime64_any_dtype(raw[f.name].dtype)
        ):
            stamps = pd.Series(raw[f.name].to_numpy(), dtype="datetime64[ns]")
            values: np.ndarray = stamps.dt.normalize().to_numpy()
            msgs: np.ndarray = np.full(n, None, dtype=object)
            codes = np.arange(n)
        else:
            codes, values, msgs = _per_unique(text, _checker(f))
        problem = present & pd.notna(msgs)
        errs.add(f.name, problem, msgs, text)
        good = present & ~problem
        bad[f.name] = problem | (~present & f.required)
        out[f.name] = _typed(f, values, codes, good, text)

    currency = out.get("currency", pd.Series(np.full(n, None, dtype=object)))
    currency_ok = ~bad.get("currency", np.zeros(n, dtype=bool)) & currency.notna().to_numpy()
    # Minor digits per row, worked out once for every amount column (-1: no usable currency).
    digits = np.where(currency_ok, digit_table(currency), -1)
    minors: dict[str, np.ndarray] = {}
    for f in kind.fields:
        if f.type is not FieldType.MONEY:
            continue
        text = texts[f.name]
        present = text.ne("").to_numpy(dtype=bool)
        minor, money_msgs = to_minor(text, None, digits=digits, required=f.required)
        m = money_msgs.to_numpy(dtype=object).copy()
        m[(~currency_ok) & (m == NO_CURRENCY_MESSAGE)] = None
        if f.required:
            m[~present] = None
            errs.add(f.name, ~present, f"{f.name} is required", text)
        problem = pd.notna(m)
        errs.add(f.name, problem, m, text)
        mv = minor.to_numpy().copy()
        good = present & ~problem & currency_ok
        if not f.signed:
            neg = good & (mv < 0)
            errs.add(f.name, neg, f"{f.name} cannot be negative", text)
            good &= ~neg
        minors[f.name] = mv
        bad[f.name] = ~good & (present | f.required)
        out[f"{f.name}_minor"] = _nullable_int(mv, good, required=f.required)

    if kind.name == "invoices":
        _invoice_rules(out, minors, bad, texts, currency, digits, errs, n)
    if kind.name == "financials":
        _fill_reported_on(out, bad, errs, n)

    names = [f"{f.name}_minor" if f.type is FieldType.MONEY else f.name for f in kind.fields]
    frame = pd.DataFrame({c: out[c] for c in names}, index=index)
    frame["_row"] = rows
    return frame, errs.result()


def validate_in_chunks(
    kind: RecordKind,
    raw: pd.DataFrame,
    rows: np.ndarray,
    *,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> tuple[pd.DataFrame, list[RowError]]:
    """validate_frame over row chunks on a thread pool: the same frame and errors, sooner.
    Every check is row-local (a row's verdict never depends on another row), so chunks are
    independent."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(raw) <= chunk_rows:
        return validate_frame(kind, raw, rows)
    done = map_row_chunks(
        raw,
        lambda part, start: validate_frame(kind, part, rows[start : start + len(part)]),
        chunk_rows=chunk_rows,
        workers=workers,
    )
    frame = pd.concat([f for f, _ in done], ignore_index=True)
    return frame, [e for _, errs in done for e in errs]


def _typed(
    f: Field, uvalues: np.ndarray, codes: np.ndarray, good: np.ndarray, text: pd.Series
) -> pd.Series:
    """The output column, built from the per-unique values with one `take`."""
    t = f.type
    if t is FieldType.DATE:
        return pd.Series(uvalues[codes], dtype="datetime64[ns]").where(good)
    if t is FieldType.INT:
        return _nullable_int(np.asarray(uvalues, dtype=np.int64)[codes], good, required=f.required)
    if t is FieldType.BOOL:
        b = pd.Series(np.asarray(uvalues, dtype=bool)[codes])
        return b if good.all() else b.astype("boolean").where(good)
    if t is FieldType.DECIMAL:
        return pd.Series(np.where(good, np.asarray(uvalues, dtype=np.float64)[codes], np.nan))
    if t in (FieldType.PARTY, FieldType.REGION):
        return text.where(good)  # checked as written
    table = pd.array(np.asarray(uvalues, dtype=object), dtype="str")
    return pd.Series(table.take(codes, allow_fill=True)).where(good)


def _nullable_int(values: np.ndarray, good: np.ndarray, *, required: bool) -> pd.Series:
    if required and good.all():
        return pd.Series(values, dtype=np.int64)
    return pd.Series(pd.array(values, dtype="Int64")).where(good)


def _invoice_rules(
    out: dict[str, Any],
    minors: dict[str, np.ndarray],
    bad: dict[str, np.ndarray],
    texts: dict[str, pd.Series],
    currency: pd.Series,
    digits: np.ndarray,
    errs: _Errors,
    n: int,
) -> None:
    """Signs and totals (DESIGN.md §7): normal invoices are positive, credit notes negative."""
    kind_given = texts["kind"].ne("").to_numpy(dtype=bool)
    given = out["kind"]
    said_credit = given.eq("credit_note").fillna(False).to_numpy(dtype=bool)
    said_normal = given.eq("normal").fillna(False).to_numpy(dtype=bool)
    net, tax, total = minors["net"], minors["tax"], minors["total"]
    payable = minors.get("payable", np.zeros(n, dtype=np.int64))
    pay_ok = ~bad.get("payable", np.zeros(n, dtype=bool)) & texts["payable"].ne("").to_numpy(
        dtype=bool
    )
    amounts_ok = ~(bad["net"] | bad["tax"] | bad["total"])
    # No kind given: a negative total is a credit note when every amount agrees in sign.
    missing_kind = ~kind_given
    neg_total = missing_kind & amounts_ok & (total < 0)
    consistent = (net <= 0) & (tax <= 0) & (~pay_ok | (payable <= 0))
    errs.add(
        "kind",
        neg_total & ~consistent,
        "the total is negative but other amounts are positive: a credit note has kind "
        "credit_note and all amounts negative",
        texts["total"],
    )
    is_credit = said_credit | (neg_total & consistent)
    is_normal = said_normal | (missing_kind & ~neg_total)
    for name, values, ok in (
        ("net", net, ~bad["net"]),
        ("tax", tax, ~bad["tax"]),
        ("total", total, ~bad["total"]),
        ("payable", payable, pay_ok),
    ):
        neg = ok & is_normal & (values < 0) & ~(neg_total & ~consistent)
        errs.add(
            name,
            neg,
            f"a normal invoice cannot have a negative {name}; a credit note has kind credit_note",
            texts[name],
        )
        wrong = ok & is_credit & ((values >= 0) if name == "total" else (values > 0))
        errs.add(
            name,
            wrong,
            f"a credit note's {name} must be negative"
            if name == "total"
            else f"a credit note's {name} cannot be positive",
            texts[name],
        )
        bad[name] = bad.get(name, np.zeros(n, dtype=bool)) | neg | wrong
    checkable = amounts_ok & (digits >= 0)
    off = checkable & (np.abs(net + tax - total) > _tolerance(digits))
    idx = np.flatnonzero(off)
    if idx.size:
        msgs = np.full(n, None, dtype=object)
        codes = currency.iloc[idx].to_numpy(dtype=object)
        s_net = _money_text(net, codes, idx)
        s_tax = _money_text(tax, codes, idx)
        s_sum = _money_text(net + tax, codes, idx)
        s_tot = _money_text(total, codes, idx)
        msgs[idx] = [
            f"net {a} + tax {b} = {c}, but total is {d} (they must agree within 0.01)"
            for a, b, c, d in zip(s_net, s_tax, s_sum, s_tot, strict=True)
        ]
        errs.add("total", off, msgs, texts["total"])
    kinds = pd.array(["normal", "credit_note"], dtype="str")
    codes = np.where(is_credit, 1, np.where(is_normal, 0, -1))
    out["kind"] = pd.Series(kinds.take(codes, allow_fill=True))


def _fill_reported_on(
    out: dict[str, Any], bad: dict[str, np.ndarray], errs: _Errors, n: int
) -> None:
    """Statements become known about four months after year end (PRC annual filing deadline)."""
    fy = out["fiscal_year"]
    fy_ok = fy.notna().to_numpy(dtype=bool)
    years = fy.fillna(0).to_numpy(dtype=np.int64)
    in_range = fy_ok & (years >= 1900) & (years <= 2200)
    errs.add(
        "fiscal_year",
        fy_ok & ~in_range,
        "fiscal_year must be between 1900 and 2200",
        fy.astype(str),
    )
    reported = out["reported_on"]
    fill = reported.isna().to_numpy() & in_range & ~bad["reported_on"]
    if fill.any():
        derived = default_reported_on(pd.Series(years[fill])).to_numpy(dtype="datetime64[ns]")
        values = reported.to_numpy(dtype="datetime64[ns]").copy()
        values[fill] = derived
        out["reported_on"] = pd.Series(values, dtype="datetime64[ns]")
