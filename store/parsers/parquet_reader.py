"""Parquet bytes -> a raw table; typed columns become the text a CSV would have held.

Dates become YYYY-MM-DD text (store.dates), so a Parquet date in year 9999 is refused with the
same message as a CSV one; decimals keep every digit as text.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from store.dates import arrow_dates_as_text
from store.errors import RowError
from store.parsers.tabular import MAX_COLUMNS, RawTable, empty_table, file_error, map_headers
from store.records import RecordKind


def _arrow_column_as_cells(col: pa.ChunkedArray) -> pd.Series:
    """Typed Parquet column -> text cells (dates as YYYY-MM-DD, whatever their year)."""
    t = col.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return arrow_dates_as_text(col)
    if pa.types.is_null(t):
        return pd.Series([""] * len(col), dtype=str)
    if pa.types.is_boolean(t):
        text = pc.if_else(col, pa.scalar("true"), pa.scalar("false"))
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        col.validate(full=True)  # Parquet does not promise valid UTF-8: ArrowInvalid if not
        text = col
    else:
        text = pc.cast(col, pa.string())
    filled = pc.fill_null(text, "")
    return pd.Series(filled.to_pandas(), dtype=str)


# A Parquet file can hold a billion repeated cells in a few kilobytes (run-length and
# dictionary encoding): more cells than this per byte of file is refused before decoding.
MAX_CELLS_PER_BYTE = 4
MIN_CELLS = 1_000_000


def read_parquet(kind: RecordKind, data: bytes) -> RawTable:
    """Parquet via pyarrow; row = 1-based index. Decimal columns keep every digit as text."""
    import pyarrow.parquet as pq

    if not data:
        return file_error("the file is empty")
    try:
        meta = pq.ParquetFile(io.BytesIO(data))
        header = list(meta.schema_arrow.names)
        n_rows = meta.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        return file_error(f"not a readable Parquet file: {exc}")
    if len(header) > MAX_COLUMNS:
        return file_error(
            f"the file has {len(header):,} columns; a {kind.name} file has {len(kind.fields)} "
            f"fields, and at most {MAX_COLUMNS} columns are read"
        )
    if n_rows * max(len(header), 1) > max(MIN_CELLS, MAX_CELLS_PER_BYTE * len(data)):
        return file_error(
            f"the file unpacks to {n_rows:,} rows from {len(data):,} bytes, more than "
            f"{MAX_CELLS_PER_BYTE} cells per byte: refused as a decompression bomb"
        )
    names, errors = map_headers(kind, header)
    if errors:
        return empty_table(errors)
    if n_rows == 0:
        return empty_table([RowError(0, None, "the file has no data rows")])
    cols: dict[str, pd.Series] = {}
    column = "?"
    try:
        table = meta.read(columns=[h for h, n in zip(header, names, strict=True) if n])
        for h, name in zip(header, names, strict=True):
            if name is not None:
                column = h
                cols[name] = _arrow_column_as_cells(table.column(h))
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        return file_error(f"Parquet column {column!r} could not be read: {exc}")
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return RawTable(pd.DataFrame(cols), rows, [])
