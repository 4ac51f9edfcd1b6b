"""CSV, JSON and Parquet bytes -> a raw table of cells named by record field, plus row numbers.

The readers only decode and name columns; every value check lives in `store.validate`, so a
cell is judged the same whichever format brought it. Cells stay text ("NA" is a string, not a
missing value), because guessing types here would turn "0012" into 12 and 1234.50 into a float.
Every problem with the file itself comes back as a RowError with row 0, never as a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from store.errors import RowError
from store.records import RecordKind

_SPACES = re.compile(r"[\s\u3000]+")


@dataclass
class RawTable:
    """Cells by field name (text, or date objects where the format carries real dates)."""

    frame: pd.DataFrame
    rows: np.ndarray  # the row number a person sees, per frame row
    errors: list[RowError] = field(default_factory=list)
    encoding: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _empty(errors: list[RowError], encoding: str | None = None) -> RawTable:
    return RawTable(pd.DataFrame(), np.zeros(0, dtype=np.int64), errors, encoding)


def _blank(data: bytes) -> bool:
    """Only whitespace (or a lone BOM)? Looks at the start first to spare copying big files."""
    ws = b" \t\r\n\xef\xbb\xbf"
    return not data[:4096].strip(ws) and not data.strip(ws)


def _file_error(message: str) -> RawTable:
    return _empty([RowError(0, None, message)])


def _norm(header: str) -> str:
    return _SPACES.sub("", header).lower().replace("-", "").replace("_", "")


def header_lookup(kind: RecordKind) -> dict[str, str]:
    """Normalised header text -> field name, from field names and their (Chinese) aliases."""
    table: dict[str, str] = {}
    for f in kind.fields:
        for name in (f.name, *f.aliases):
            table.setdefault(_norm(name), f.name)
    return table


def map_headers(
    kind: RecordKind, headers: Iterable[str]
) -> tuple[list[str | None], list[RowError]]:
    """Field name per header (None for an empty header), and every header problem at once."""
    lookup = header_lookup(kind)
    fields: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    errors: list[RowError] = []
    for h in headers:
        text = "" if h is None else str(h)
        if _norm(text) == "":
            fields.append(None)
            continue
        name = lookup.get(_norm(text))
        if name is None:
            unknown.append(text)
            fields.append(None)
            continue
        if name in seen:
            errors.append(
                RowError(0, name, f"columns {seen[name]!r} and {text!r} both give {name}", text)
            )
        seen.setdefault(name, text)
        fields.append(name)
    if unknown:
        errors.append(
            RowError(
                0,
                None,
                f"unknown column(s) for {kind.name}: {', '.join(map(repr, unknown))}; "
                f"expected: {', '.join(kind.names)}",
                ", ".join(unknown),
            )
        )
    missing = [f.name for f in kind.fields if f.required and f.name not in seen]
    if missing:
        errors.append(
            RowError(0, None, f"missing required column(s) for {kind.name}: {', '.join(missing)}")
        )
    return fields, errors


def decode(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(text, encoding, problem): UTF-8 (with or without BOM) first, then GB18030.

    Excel in China saves "CSV" as GB18030 (its ANSI code page); anything that is neither is
    refused rather than guessed, since a wrong guess silently garbles firm names.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, None, "the file is UTF-16; save it as UTF-8 (or GB18030) and upload again"
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        return None, None, f"the file contains NUL bytes (line {line}); is it a binary file?"
    try:
        return data.decode("utf-8-sig"), "utf-8", None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030", None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return (
            None,
            None,
            f"the file is neither UTF-8 nor GB18030 (undecodable bytes on line {line})",
        )


_EOF_RE = re.compile(r"EOF inside string starting at row (\d+)")


def _fast_cells(data: bytes) -> pd.DataFrame | None:
    """Every cell as text through pyarrow's multi-threaded reader, or None when the file needs
    the careful reader: blank lines inside (pyarrow drops them, shifting row numbers), an odd
    number of quote characters (pyarrow would read an unterminated quote to the end of the
    file without complaint), ragged rows, or a field larger than a parse block."""
    import pyarrow.csv as pcsv

    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    if data.find(b"\n\n", 0, end) >= 0 or data.find(b"\n\r\n", 0, end) >= 0:
        return None
    if data.count(b'"') % 2:
        return None
    first = data[: data.find(b"\n")] if b"\n" in data[:1_000_000] else data[:1_000_000]
    width = len(next(csv.reader([first.decode("utf-8", "replace")]), []))
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width + 1)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    return table.to_pandas()


def read_csv(kind: RecordKind, data: bytes) -> RawTable:
    """Read CSV bytes; rows are spreadsheet rows (header = 1), blank lines keep their number.

    A quoted cell with line breaks is one spreadsheet row, as Excel shows it, so the records
    after it keep the row numbers a person sees when they open the file.
    """
    if _blank(data):
        return _file_error("the file is empty")
    text, encoding, problem = decode(data)
    if problem or text is None:
        return _file_error(problem or "the file could not be decoded")
    utf8 = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if encoding != "utf-8":
        utf8 = text.encode("utf-8")
    cells = _fast_cells(utf8)
    if cells is None:
        try:
            cells = pd.read_csv(
                io.BytesIO(utf8),
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
        except pd.errors.ParserError as exc:
            msg = str(exc)
            eof = _EOF_RE.search(msg)
            if eof:
                return _empty(
                    [
                        RowError(
                            int(eof.group(1)) + 1,
                            None,
                            "the file ends inside a quoted cell (an unterminated quote): "
                            "the file is truncated or a quote is not closed",
                        )
                    ],
                    encoding,
                )
            detail = msg.split("C error:")[-1].strip()
            return _empty([RowError(0, None, f"the CSV could not be read: {detail}")], encoding)
        except (pd.errors.EmptyDataError, ValueError, OverflowError) as exc:
            return _empty([RowError(0, None, f"the CSV could not be read: {exc}")], encoding)

    header = [str(h) for h in cells.iloc[0].tolist()]
    body = cells.iloc[1:].reset_index(drop=True)
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    names, errors = map_headers(kind, header)
    if errors:
        return _empty(errors, encoding)
    if len(body) == 0:
        return _empty([RowError(0, None, "the file has a header but no data rows")], encoding)
    table = _assemble(body, names, rows, encoding)
    width = _last_record_width(utf8)
    if table.frame.shape[0] and width is not None and width < len(header):
        # Quotes balance, so neither reader complains, but the last record stops short: the
        # file was cut mid-row (an interrupted download or copy). Its values cannot be trusted.
        table.errors.insert(
            0,
            RowError(
                int(table.rows[-1]),
                None,
                f"the last row has {width} of the {len(header)} columns: the file looks cut off "
                "in the middle of this row (truncated); send the complete file",
            ),
        )
    return table


def _last_record_width(utf8: bytes) -> int | None:
    """Number of cells in the file's last record, read from the tail only.

    The record starts after the last line break that is outside quotes (the parity of the quote
    characters after a break tells), so a last cell with a quoted line break is read whole.
    """
    end = len(utf8)
    while end and utf8[end - 1] in b"\r\n":
        end -= 1
    if end == 0:
        return None
    tail_quotes_odd = False
    start = end
    while True:
        nl = utf8.rfind(b"\n", 0, start)
        tail_quotes_odd ^= utf8.count(b'"', nl + 1, start) % 2 == 1
        start = nl + 1
        if nl < 0 or not tail_quotes_odd:
            break
        start = nl
    text = utf8[max(start, 0) : end].decode("utf-8", "replace")
    return len(next(csv.reader([text], strict=False), []))


def _assemble(
    body: pd.DataFrame,
    names: list[str | None],
    rows: np.ndarray,
    encoding: str | None,
) -> RawTable:
    """Keep the named columns, drop fully blank rows (keeping the others' numbers)."""
    cols: dict[str, pd.Series] = {}
    errors: list[RowError] = []
    for pos, name in enumerate(names):
        col = body.iloc[:, pos]
        if name is None:
            if col.fillna("").astype(str).str.strip().ne("").any():
                errors.append(RowError(0, None, f"column {pos + 1} has values but no header", None))
            continue
        cols[name] = col
    if errors:
        return _empty(errors, encoding)
    frame = pd.DataFrame(cols)
    # Blank rows (",,,," or empty lines): test the first column on all rows, the rest only on
    # the few rows that could still be blank.
    candidates = np.arange(len(frame))
    for name in frame.columns:
        col = frame[name].iloc[candidates]
        empty = col.fillna("").astype(str).str.strip().eq("").to_numpy(dtype=bool)
        candidates = candidates[empty]
        if candidates.size == 0:
            break
    keep = np.ones(len(frame), dtype=bool)
    keep[candidates] = False
    if not keep.any():
        return _empty([RowError(0, None, "the file has a header but no data rows")], encoding)
    frame = frame.loc[keep].reset_index(drop=True)
    return RawTable(frame, rows[keep], [], encoding)


def _json_cell(v: Any) -> Any:
    """A JSON value as cell text; dates stay objects, nested values become a marker."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else "NaN"
    if isinstance(v, (str, date, datetime)):
        return v
    if isinstance(v, (int, float)):
        return str(v)
    return _Nested(type(v).__name__)


@dataclass(frozen=True)
class _Nested:
    """A list or object where a single value belongs: reported by the validator's caller."""

    type_name: str


def records_to_raw(
    kind: RecordKind,
    records: list[Any],
    *,
    first_row: int = 1,
    rows: np.ndarray | None = None,
) -> RawTable:
    """A list of dicts (JSON objects, XML documents) -> RawTable, row = first_row + index
    unless `rows` gives each record's number (XML documents after unreadable ones)."""
    numbers = (
        np.arange(first_row, first_row + len(records), dtype=np.int64)
        if rows is None
        else np.asarray(rows, dtype=np.int64)
    )
    errors: list[RowError] = []
    keys: list[str] = []
    seen: set[str] = set()
    bad_rows: list[int] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            bad_rows.append(i)
            continue
        for k in rec:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    for i in bad_rows:
        errors.append(
            RowError(int(numbers[i]), None, "each element must be an object of field: value")
        )
    names, header_errors = map_headers(kind, keys)
    errors.extend(header_errors)
    if errors:
        return _empty(errors)
    if not records:
        return _empty([RowError(0, None, "the array is empty: no records")])
    cols: dict[str, list[Any]] = {}
    for key, name in zip(keys, names, strict=True):
        if name is None:
            continue
        cols[name] = [_json_cell(rec.get(key)) for rec in records]
    for name, values in cols.items():
        for i, v in enumerate(values):
            if isinstance(v, _Nested):
                errors.append(
                    RowError(int(numbers[i]), name, f"expected a single value, got a {v.type_name}")
                )
                values[i] = ""
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    return RawTable(frame, numbers, errors)


def read_json(kind: RecordKind, data: bytes) -> RawTable:
    """A top-level JSON array of objects; numbers are read as Decimal so money stays exact."""
    if _blank(data):
        return _file_error("the file is empty")
    text, encoding, problem = decode(data)
    if problem or text is None:
        return _file_error(problem or "the file could not be decoded")
    try:
        doc = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=lambda name: "NaN" if name == "NaN" else name,
        )
    except json.JSONDecodeError as exc:
        return _file_error(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        return _file_error("not valid JSON: nested too deeply")
    if not isinstance(doc, list):
        return _file_error("the JSON must be an array of objects, one per record")
    table = records_to_raw(kind, doc, first_row=1)
    table.encoding = encoding
    return table


def _arrow_column_as_cells(col: pa.ChunkedArray) -> pd.Series:
    """Typed Parquet column -> text cells (dates kept as datetime64, read as calendar dates)."""
    t = col.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return (
            pd.Series(col.to_pandas(), dtype="datetime64[ns]")
            if len(col)
            else pd.Series([], dtype="datetime64[ns]")
        )
    if pa.types.is_null(t):
        return pd.Series([""] * len(col), dtype=str)
    if pa.types.is_boolean(t):
        text = pc.if_else(col, pa.scalar("true"), pa.scalar("false"))
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = col
    else:
        text = pc.cast(col, pa.string())
    filled = pc.fill_null(text, "")
    return pd.Series(filled.to_pandas(), dtype=str)


def read_parquet(kind: RecordKind, data: bytes) -> RawTable:
    """Parquet via pyarrow; row = 1-based index. Decimal columns keep every digit as text."""
    import pyarrow.parquet as pq

    if not data:
        return _file_error("the file is empty")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return _file_error(f"not a readable Parquet file: {exc}")
    header = list(table.column_names)
    names, errors = map_headers(kind, header)
    if errors:
        return _empty(errors)
    if table.num_rows == 0:
        return _empty([RowError(0, None, "the file has no data rows")])
    cols: dict[str, pd.Series] = {}
    try:
        for pos, name in enumerate(names):
            if name is not None:
                cols[name] = _arrow_column_as_cells(table.column(pos))
    except (pa.ArrowException, ValueError) as exc:
        return _file_error(f"a Parquet column could not be read: {exc}")
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return RawTable(pd.DataFrame(cols), rows, [])
