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
from store.cell_checks import checker
from store.dates import DATE_MAX, DATE_MIN, check_stamps
from store.errors import ERRORS_LISTED, RowError, limit_errors, more_errors
from store.invoice_rules import invoice_rules
from store.money import NO_CURRENCY_MESSAGE, digit_table, to_minor
from store.parties import MAX_PARTY_ID_LENGTH, split_scoped
from store.pointintime import default_reported_on
from store.records import Field, FieldType, RecordKind
from store.text import CONTROL_MESSAGE, CONTROL_PATTERN, identifier_problems

DOC_ID_MAX = 100
# Every cell has a length limit, so one field of a megabyte is one clear error and not work
# for every check after it: text its declared max_length (200 for names), document ids 100,
# party ids 330 (a foreign id part 100), every other field 40 characters.
OTHER_MAX = 40
_VALUE_SHOWN = 80


def field_limit(f: Field) -> int:
    """The most characters a cell of field `f` may have (README "Record kinds and formats")."""
    if f.type is FieldType.TEXT:
        return f.max_length
    if f.type is FieldType.DOC_ID:
        return DOC_ID_MAX
    if f.type is FieldType.PARTY:
        return MAX_PARTY_ID_LENGTH
    return OTHER_MAX


class _Errors:
    """Bad values collected column by column, turned into RowErrors once at the end.

    Only the first ERRORS_LISTED of each column are kept (rows are in file order, so those
    hold the first ERRORS_LISTED overall); the rest are counted into one MoreErrors, so a file
    with a million bad rows costs what one with a thousand does.
    """

    def __init__(self, rows: np.ndarray, order: dict[str, int]) -> None:
        self.rows = rows
        self.order = order
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        self.total = 0

    def add(self, field: str, mask: np.ndarray, message: str | np.ndarray, values: Any) -> None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        self.total += idx.size
        idx = idx[: ERRORS_LISTED + 1]
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
        listed = [t[3] for t in out[:ERRORS_LISTED]]
        if self.total > len(listed):
            first = out[ERRORS_LISTED][0] if len(out) > ERRORS_LISTED else listed[-1].row
            listed.append(more_errors(first, self.total - len(listed)))
        return listed


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


def _text_problems(f: Field, text: pd.Series, present: np.ndarray, errs: _Errors) -> np.ndarray:
    """Control characters in any text; formula leads and invisible characters in document ids.
    The mask of the cells refused."""
    if _has_control_bytes(text):
        control = text.str.contains(CONTROL_PATTERN, regex=True).to_numpy(dtype=bool) & present
    else:
        control = np.zeros(len(text), dtype=bool)
    errs.add(f.name, control, CONTROL_MESSAGE, text)
    if f.type is not FieldType.DOC_ID:
        return control
    msgs = identifier_problems(text.where(present & ~control, ""), "a document id")
    unsafe = pd.notna(msgs) & present & ~control
    errs.add(f.name, unsafe, msgs, text)
    return control | unsafe


def _too_long(f: Field, text: pd.Series, errs: _Errors) -> np.ndarray:
    """Cells longer than the field's limit, reported once; the mask of them."""
    limit = field_limit(f)
    lengths = text.str.len().fillna(0).to_numpy(dtype=np.int64)
    long = lengths > limit
    if long.any():
        msgs = np.full(len(text), None, dtype=object)
        msgs[long] = [f"at most {limit} characters, this one has {n}" for n in lengths[long]]
        errs.add(f.name, long, msgs, text)
    return long


def _blank_oversized(kind: RecordKind, texts: dict[str, pd.Series], errs: _Errors
                     ) -> dict[str, np.ndarray]:
    """Report every cell over its field's limit once and blank it, so no later check spends
    time on a megabyte or reports it again. The masks of the blanked cells, per field."""
    oversized: dict[str, np.ndarray] = {}
    for f in kind.fields:
        long = _too_long(f, texts[f.name], errs)
        if long.any():
            texts[f.name] = texts[f.name].where(~long, "")
        oversized[f.name] = long
    return oversized


def _scoped_parties(kind: RecordKind, out: dict[str, Any], bad: dict[str, np.ndarray],
                    errs: _Errors) -> None:
    """A LOCAL or NAME party means something only next to the other party of its document, so
    it must be scoped to that party (DESIGN.md §7 "Foreign parties"); nowhere else may one be."""
    pair = kind.party_fields if len(kind.party_fields) == 2 else ()
    for f in kind.fields:
        if f.type is not FieldType.PARTY or f.name not in out:
            continue
        values = out[f.name]
        scoped = values.str.startswith(("LOCAL:", "NAME:")).fillna(False).to_numpy(dtype=bool)
        if not scoped.any():
            continue
        msgs = np.full(len(values), None, dtype=object)
        other = pair[1 - pair.index(f.name)] if f.name in pair else None
        for i in np.flatnonzero(scoped):
            parts = split_scoped(values.iloc[i])
            if other is None:
                msgs[i] = f"{f.name} must name the party itself: a LOCAL or NAME party is " \
                    "only a document's counterparty"
            elif parts is not None and parts[1] != out[other].iloc[i]:
                msgs[i] = f"a {parts[0]} party is scoped to the document's other party " \
                    f"({other}), not to {parts[1]}"
        wrong = pd.notna(msgs)
        errs.add(f.name, wrong, msgs, values)
        bad[f.name] = bad[f.name] | wrong
        out[f.name] = values.where(~wrong)


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
    oversized = _blank_oversized(kind, texts, errs)

    for f in kind.fields:
        if f.type is FieldType.MONEY:
            continue  # needs the currency: done below
        text = texts[f.name]
        present = text.ne("").to_numpy(dtype=bool)
        if f.required:
            errs.add(f.name, ~present & ~oversized[f.name], f"{f.name} is required", text)
        if f.type in (FieldType.TEXT, FieldType.DOC_ID):
            col_bad = _text_problems(f, text, present, errs) | oversized[f.name]
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
            msgs: np.ndarray = check_stamps(stamps)
            codes = np.arange(n)
        else:
            codes, values, msgs = _per_unique(text, checker(f))
        problem = present & pd.notna(msgs)
        errs.add(f.name, problem, msgs, text)
        good = present & ~problem
        bad[f.name] = problem | oversized[f.name] | (~present & f.required)
        out[f.name] = _typed(f, values, codes, good, text)
    _scoped_parties(kind, out, bad, errs)

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
        m[oversized[f.name]] = None
        if f.required:
            m[~present] = None
            errs.add(f.name, ~present & ~oversized[f.name], f"{f.name} is required", text)
        problem = pd.notna(m)
        errs.add(f.name, problem, m, text)
        mv = minor.to_numpy().copy()
        good = present & ~problem & currency_ok
        if not f.signed:
            neg = good & (mv < 0)
            errs.add(f.name, neg, f"{f.name} cannot be negative", text)
            good &= ~neg
        minors[f.name] = mv
        bad[f.name] = ~good & (present | f.required | oversized[f.name])
        out[f"{f.name}_minor"] = _nullable_int(mv, good, required=f.required)

    if kind.name == "invoices":
        invoice_rules(out, minors, bad, texts, currency, digits, errs, n)
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
    return frame, limit_errors(e for _, errs in done for e in errs)


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


def _fill_reported_on(
    out: dict[str, Any], bad: dict[str, np.ndarray], errs: _Errors, n: int
) -> None:
    """Statements become known about four months after year end (PRC annual filing deadline)."""
    fy = out["fiscal_year"]
    fy_ok = fy.notna().to_numpy(dtype=bool)
    years = fy.fillna(0).to_numpy(dtype=np.int64)
    in_range = fy_ok & (years >= DATE_MIN.year) & (years <= DATE_MAX.year)
    errs.add(
        "fiscal_year",
        fy_ok & ~in_range,
        f"fiscal_year must be between {DATE_MIN.year} and {DATE_MAX.year}",
        fy.astype(str),
    )
    reported = out["reported_on"]
    fill = reported.isna().to_numpy() & in_range & ~bad["reported_on"]
    if fill.any():
        derived = default_reported_on(pd.Series(years[fill])).to_numpy(dtype="datetime64[ns]")
        values = reported.to_numpy(dtype="datetime64[ns]").copy()
        values[fill] = derived
        out["reported_on"] = pd.Series(values, dtype="datetime64[ns]")
