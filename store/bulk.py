"""Bulk moves between validated frames and the database: normalise, hash, stage.

At a million rows there is no room for an object per row (issue 2 measured ORM inserts at
7,000-11,000 rows/s), so everything here works on whole columns: the record hash is computed
with vectorised 64-bit hashes, PostgreSQL is fed CSV written by pyarrow straight into COPY, and
SQLite gets `executemany` over plain column lists. Work proceeds in chunks so memory stays
bounded whatever the upload size, all inside the caller's one transaction.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from store.records import FieldType, RecordKind
from store.tables import column_type, data_columns

CHUNK_ROWS = 200_000
ROW_COLUMN = "_row"
HASH_COLUMN = "record_hash"
UPLOADER_COLUMN = "uploaded_by"

_NULL_TEXT = "\x00"  # cannot occur in validated text (control characters are refused)
_NULL_INT = np.iinfo(np.int64).min
_HASH_KEYS = ("chaincredit-rec1",)
_MIX = (np.uint64(0x100000001B3), np.uint64(0x9E3779B97F4A7C15))

Progress = Callable[[int, int], None]


def storage_columns(kind: RecordKind) -> list[str]:
    """Columns staged for a kind: the spreadsheet row, the record's own columns, hash, uploader."""
    return [ROW_COLUMN, *data_columns(kind), HASH_COLUMN, UPLOADER_COLUMN]


def _field_of_column(kind: RecordKind) -> dict[str, FieldType]:
    out: dict[str, FieldType] = {
        ROW_COLUMN: FieldType.INT,
        "version": FieldType.INT,
        "is_current": FieldType.BOOL,
        "batch_id": FieldType.TEXT,
        "received_at": FieldType.TEXT,  # staged as text in the backend's timestamp format
        HASH_COLUMN: FieldType.TEXT,
        UPLOADER_COLUMN: FieldType.TEXT,
    }
    for f in kind.fields:
        if f.name != UPLOADER_COLUMN:
            out[f"{f.name}_minor" if f.type is FieldType.MONEY else f.name] = f.type
    return out


def _as_days(values: pd.Series) -> npt.NDArray[np.int64]:
    """Dates as int64 days since the epoch, NaT as INT64_MIN, whatever the datetime unit."""
    dt = pd.to_datetime(values, errors="coerce")
    arr = dt.to_numpy(dtype="datetime64[ns]")
    days = arr.astype("datetime64[D]").astype(np.int64)
    days[np.isnat(arr)] = _NULL_INT
    return days


def _as_int(values: pd.Series) -> npt.NDArray[np.int64]:
    num = pd.to_numeric(values, errors="coerce")
    return np.asarray(num.astype("Int64").fillna(_NULL_INT).to_numpy(dtype=np.int64))


def _as_text(values: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(values.astype(object).where(values.notna(), _NULL_TEXT).to_numpy(dtype=object))


def record_hashes(kind: RecordKind, frame: pd.DataFrame) -> npt.NDArray[np.str_]:
    """Hash (32 hex characters) of each normalised record: the meaning of "same content".

    The record is taken after parsing and normalisation (minor units, real dates, canonical text),
    so the same invoice sent as CSV, JSON or XML hashes the same. `uploaded_by` is not part of the
    content: the same document resent by its other party is still the same document.
    """
    n = len(frame)
    lanes = [np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64)]
    types = _field_of_column(kind)
    for col in data_columns(kind):
        ftype = types[col]
        values = frame[col] if col in frame.columns else pd.Series([None] * n, index=frame.index)
        if ftype is FieldType.DATE:
            encoded: npt.NDArray[np.generic] = _as_days(values)
        elif ftype in (FieldType.MONEY, FieldType.INT):
            encoded = _as_int(values)
        elif ftype is FieldType.BOOL:
            encoded = values.fillna(False).astype(bool).to_numpy(dtype=np.int64)
        elif ftype is FieldType.DECIMAL:
            encoded = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        else:
            encoded = _as_text(values)
        # One keyed 64-bit hash per column (no factorising: most columns are nearly unique),
        # folded into two lanes with different mixing, so 128 bits tell records apart.
        h = pd.util.hash_array(encoded, hash_key=_HASH_KEYS[0], categorize=False)
        lanes[0] = (lanes[0] * _MIX[0]) ^ h
        lanes[1] = (lanes[1] ^ ((h << np.uint64(17)) | (h >> np.uint64(47)))) * _MIX[1]
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = lanes[0]
    raw[:, 1] = lanes[1]
    hexed = raw.tobytes().hex().encode("ascii")
    return np.frombuffer(hexed, dtype="S32").astype("U32") if n else np.empty(0, dtype="U32")


def default_reported_on(fiscal_year: pd.Series) -> pd.Series:
    """DESIGN.md §7: statements are available 4 months after the fiscal year end (30 April)."""
    years = pd.to_numeric(fiscal_year, errors="coerce").astype("Int64")
    text = years.astype(str) + "-04-30"
    out = pd.to_datetime(text.where(years.notna()), errors="coerce")
    return out + pd.DateOffset(years=1)


def normalise(kind: RecordKind, frame: pd.DataFrame, *, uploader: str) -> pd.DataFrame:
    """A validated frame as the rows to store: every record column present with its storage
    dtype, defaults filled (invoice kind, financials' reported_on), hash and uploader added."""
    n = len(frame)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    src = frame.reset_index(drop=True)
    if ROW_COLUMN in src.columns:
        out[ROW_COLUMN] = pd.to_numeric(src[ROW_COLUMN]).astype(np.int64)
    else:
        out[ROW_COLUMN] = np.arange(1, n + 1, dtype=np.int64)
    types = _field_of_column(kind)
    for col in data_columns(kind):
        ftype = types[col]
        values = src[col] if col in src.columns else pd.Series([None] * n, dtype=object)
        if ftype is FieldType.DATE and values.dtype == "datetime64[ns]":
            out[col] = values
        elif ftype is FieldType.DATE:
            out[col] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
        elif ftype in (FieldType.MONEY, FieldType.INT):
            out[col] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif ftype is FieldType.BOOL:
            out[col] = values.astype("boolean")
        elif ftype is FieldType.DECIMAL:
            out[col] = pd.to_numeric(values, errors="coerce").astype(np.float64)
        elif isinstance(values.dtype, pd.StringDtype):
            out[col] = values  # already text with missing values as NA: nothing to convert
        else:
            out[col] = values.astype(object).where(values.notna(), None).astype("str")
    if kind.name == "invoices":
        out["kind"] = out["kind"].fillna("normal")
    if kind.name == "financials":
        out["reported_on"] = out["reported_on"].fillna(default_reported_on(out["fiscal_year"]))
    out[HASH_COLUMN] = record_hashes(kind, out)
    if UPLOADER_COLUMN in src.columns:
        given = src[UPLOADER_COLUMN].astype(object)
        out[UPLOADER_COLUMN] = given.where(given.notna() & (given != ""), uploader).astype("str")
    else:
        out[UPLOADER_COLUMN] = uploader
    return out


def key_columns(kind: RecordKind) -> list[str]:
    return [f"{k}_minor" if kind.field(k).type is FieldType.MONEY else k for k in kind.key]


def stage_table(
    kind: RecordKind, name: str, *, postgres: bool, keys_only: bool = False
) -> sa.Table:
    """A temporary table holding one batch (or only its keys and hashes) before set-based SQL
    decides each row's fate."""
    types = _field_of_column(kind)
    cols: list[sa.Column[object]] = [sa.Column(ROW_COLUMN, sa.BigInteger(), nullable=False)]
    cols += [sa.Column(c, column_type(types[c])) for c in
             (key_columns(kind) if keys_only else data_columns(kind))]
    cols += [sa.Column(HASH_COLUMN, sa.String(32))]
    if not keys_only:
        cols += [sa.Column(UPLOADER_COLUMN, sa.Text())]
    kwargs: dict[str, Any] = {"postgresql_on_commit": "DROP"} if postgres else {}
    return sa.Table(name, sa.MetaData(), *cols, prefixes=["TEMPORARY"], **kwargs)


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _arrow_chunk(kind: RecordKind, chunk: pd.DataFrame, names: list[str]) -> pa.Table:
    types = _field_of_column(kind)
    arrays: list[pa.Array] = []
    for col in names:
        ftype = types.get(col)
        values = chunk[col]
        if ftype is FieldType.DATE:
            arrays.append(pa.array(values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"),
                                   mask=values.isna().to_numpy(), type=pa.date32()))
        elif ftype is FieldType.BOOL:
            arrays.append(pa.array(values, type=pa.bool_(), from_pandas=True))
        elif ftype in (FieldType.MONEY, FieldType.INT):
            arrays.append(pa.array(values, type=pa.int64(), from_pandas=True))
        elif ftype is FieldType.DECIMAL:
            arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
        else:
            arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, names=names)


def copy_into_postgres(
    conn: sa.Connection,
    table_name: str,
    kind: RecordKind,
    rows: pd.DataFrame,
    names: list[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> None:
    """Stream rows into `table_name` with COPY, on the caller's connection and transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in names)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    done = 0
    with raw.cursor() as cur, cur.copy(f'COPY "{table_name}" ({quoted}) FROM STDIN (FORMAT csv)') as cp:
        for chunk in _chunks(rows, chunk_rows):
            buf = io.BytesIO()
            pacsv.write_csv(_arrow_chunk(kind, chunk, names), buf, write_options=options)
            cp.write(buf.getbuffer())
            done += len(chunk)
            if progress is not None:
                progress(done, len(rows))


def _python_columns(kind: RecordKind, chunk: pd.DataFrame, names: list[str]) -> list[list[object]]:
    """Column lists of plain Python values as the sqlite3 driver wants them (dates as ISO text,
    missing as None), converted a whole column at a time."""
    types = _field_of_column(kind)
    out: list[list[object]] = []
    for col in names:
        ftype = types.get(col)
        values = chunk[col]
        mask = values.isna().to_numpy()
        if ftype is FieldType.DATE:
            arr = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(str)
            obj = arr.astype(object)
        elif ftype is FieldType.BOOL:
            obj = values.to_numpy(dtype=bool, na_value=False).astype(object)
        elif ftype in (FieldType.MONEY, FieldType.INT):
            obj = values.to_numpy(dtype=np.int64, na_value=0).astype(object)
        elif ftype is FieldType.DECIMAL:
            obj = values.to_numpy(dtype=np.float64).astype(object)
        else:
            obj = values.to_numpy(dtype=object)
        if mask.any():
            obj = obj.copy()
            obj[mask] = None
        out.append(obj.tolist())
    return out


def executemany_into_sqlite(
    conn: sa.Connection,
    table_name: str,
    kind: RecordKind,
    rows: pd.DataFrame,
    names: list[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> None:
    """Insert rows with the driver's executemany, on the caller's connection and transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    sql = (
        f'INSERT INTO "{table_name}" ({", ".join(chr(34) + c + chr(34) for c in names)}) '
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    cur = raw.cursor()
    done = 0
    try:
        for chunk in _chunks(rows, chunk_rows):
            cur.executemany(sql, zip(*_python_columns(kind, chunk, names), strict=True))
            done += len(chunk)
            if progress is not None:
                progress(done, len(rows))
    finally:
        cur.close()


def stage_rows(
    conn: sa.Connection,
    table_name: str,
    kind: RecordKind,
    rows: pd.DataFrame,
    names: list[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> None:
    """Write `names` columns of `rows` into `table_name`: COPY on PostgreSQL, executemany
    elsewhere; both inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        copy_into_postgres(conn, table_name, kind, rows, names, chunk_rows=chunk_rows,
                           progress=progress)
    else:
        executemany_into_sqlite(conn, table_name, kind, rows, names, chunk_rows=chunk_rows,
                                progress=progress)
