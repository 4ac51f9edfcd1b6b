"""Compact columns -> canonical Arrow tables -> flow frames (pandas) or file text.

The canonical table has one column per record field in store/records.py order: strings, date32,
int64, bool, and money as int64 minor units (fen). The two outputs differ only at the edge:
`to_flow_frame` gives the shared flow-frame contract (`x_minor`, `x_cny`, datetime64[ns],
nullable Int64 for optional ints); `to_text_table` gives the file contract (decimal text with
two decimals, YYYY-MM-DD, true/false, empty = absent).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from store.records import FieldType, RecordKind

STR = pd.StringDtype("pyarrow", na_value=np.nan)
_TEXTUAL = {
    FieldType.PARTY, FieldType.TEXT, FieldType.DOC_ID, FieldType.ENUM, FieldType.CURRENCY,
    FieldType.REGION, FieldType.INDUSTRY, FieldType.RATING,
}


def take_strings(values: pa.Array, idx: npt.NDArray[np.integer[Any]]) -> pa.Array:
    """values[idx] with idx < 0 as null, without a Python object per row."""
    ind = pa.array(np.maximum(idx, 0), type=pa.int64())
    out = values.take(ind)
    if (idx < 0).any():
        out = pc.if_else(pa.array(idx >= 0), out, pa.scalar(None, out.type))
    return out


def const_strings(value: str, n: int) -> pa.Array:
    return pa.array([value], type=pa.large_string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def date_col(days: npt.NDArray[np.integer[Any]]) -> pa.Array:
    d = np.asarray(days)
    return pa.array(d.astype(np.int32), type=pa.int32(), mask=d < 0).cast(pa.date32())


def int_col(values: npt.NDArray[np.integer[Any]], *, nullable: bool = False) -> pa.Array:
    v = np.asarray(values, dtype=np.int64)
    return pa.array(v, type=pa.int64(), mask=(v < 0) if nullable else None)


def canonical(kind: RecordKind, columns: dict[str, Any]) -> pa.Table:
    """Order and check the columns against the record kind (a missing field is a bug here)."""
    missing = [f for f in kind.names if f not in columns]
    if missing:
        raise KeyError(f"{kind.name}: no column for {missing}")
    return pa.table({f: columns[f] for f in kind.names})


def to_flow_frame(kind: RecordKind, table: pa.Table) -> pd.DataFrame:
    out: dict[str, Any] = {}
    money = set(kind.money_fields)
    for f in kind.fields:
        col = table.column(f.name).combine_chunks()
        if f.name in money:
            minor = col.fill_null(0).to_numpy().astype(np.int64, copy=False)
            out[f"{f.name}_minor"] = minor
            cny = minor / 100.0
            if col.null_count:
                cny[col.is_null().to_numpy(zero_copy_only=False)] = np.nan
            out[f"{f.name}_cny"] = cny
        elif f.type == FieldType.DATE:
            days = col.cast(pa.int32()).fill_null(np.iinfo(np.int32).min).to_numpy()
            arr = days.astype("datetime64[D]").astype("datetime64[ns]")
            arr[days == np.iinfo(np.int32).min] = np.datetime64("NaT")
            out[f.name] = arr
        elif f.type == FieldType.INT:
            vals = col.fill_null(0).to_numpy().astype(np.int64, copy=False)
            if f.required:
                out[f.name] = vals
            else:
                mask = col.is_null().to_numpy(zero_copy_only=False)
                out[f.name] = pd.arrays.IntegerArray(vals, mask)
        elif f.type == FieldType.BOOL:
            out[f.name] = col.to_numpy(zero_copy_only=False).astype(bool)
        else:
            out[f.name] = pd.Series(col, dtype=STR)
    return pd.DataFrame(out)


def money_text(minor: pa.Array) -> pa.Array:
    """Integer fen as decimal text with two decimals: -1234 -> "-12.34"."""
    a = pc.abs(minor)
    whole = pc.cast(pc.divide(a, 100), pa.large_string())
    frac = pc.utf8_lpad(pc.cast(pc.subtract(a, pc.multiply(pc.divide(a, 100), 100)), pa.large_string()), width=2, padding="0")
    ls = pa.large_string()
    sign = pc.if_else(pc.less(minor, 0), pa.scalar("-", ls), pa.scalar("", ls))
    return pc.binary_join_element_wise(sign, whole, pa.scalar(".", ls), frac, pa.scalar("", ls))


def _text_by_lookup(col: pa.Array) -> pa.Array:
    """Format a date or small-integer column by formatting each distinct value once.

    Dates and counts span a few thousand values over millions of rows, so one `take` from a
    table of formatted values replaces millions of string conversions.
    """
    as_int = col.cast(pa.int32()).cast(pa.int64()) if pa.types.is_date32(col.type) else col
    lo, hi = pc.min_max(as_int).values()
    if lo.as_py() is None or hi.as_py() - lo.as_py() > 200_000:
        return col.cast(pa.large_string())
    values = pa.array(np.arange(lo.as_py(), hi.as_py() + 1, dtype=np.int64))
    if pa.types.is_date32(col.type):
        values = values.cast(pa.int32()).cast(pa.date32())
    table = values.cast(pa.large_string())
    return table.take(pc.subtract(as_int, lo))


def to_text_table(kind: RecordKind, table: pa.Table) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    money = set(kind.money_fields)
    for f in kind.fields:
        col = table.column(f.name).combine_chunks()
        if f.name in money:
            cols[f.name] = money_text(col)
        elif f.type == FieldType.BOOL:
            cols[f.name] = pc.if_else(col, pa.scalar("true", pa.large_string()), pa.scalar("false", pa.large_string()))
        elif f.type in _TEXTUAL:
            cols[f.name] = col.cast(pa.large_string())
        else:  # DATE -> YYYY-MM-DD, INT -> digits, through a table of the distinct values
            cols[f.name] = _text_by_lookup(col)
    return pa.table(cols)
