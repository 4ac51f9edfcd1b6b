"""Bulk moves between validated frames and the database: normalise, hash, stage.

At a million rows there is no room for an object per row (issue 2 measured ORM inserts at
7,000-11,000 rows/s), so everything here works on whole columns: the record hash is computed
with vectorised 64-bit hashes, PostgreSQL is fed binary COPY built column-wise (store.pgbinary)
and encoded chunk by chunk while the server stores the chunk before, and SQLite gets
`executemany` over plain column lists. Work proceeds in chunks so memory stays
bounded whatever the upload size, all inside the caller's one transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter

from common.progress import Progress, report
from common.threads import map_ahead
from store import hashing, pgbinary
from store.pointintime import default_reported_on
from store.records import FieldType, RecordKind
from store.tables import data_columns

# Small enough that the server starts storing soon after the COPY opens and the last chunk's
# wait at the end is short; large enough that per-chunk overheads do not show.
CHUNK_ROWS = 50_000
ROW_COLUMN = "_row"
HASH_COLUMN = "record_hash"
UPLOADER_COLUMN = "uploaded_by"

_NULL_INT = np.iinfo(np.int64).min
KEY_HASH_COLUMN = "key_hash"



def _field_of_column(kind: RecordKind) -> dict[str, FieldType]:
    out: dict[str, FieldType] = {
        ROW_COLUMN: FieldType.INT,
        KEY_HASH_COLUMN: FieldType.INT,
        "version": FieldType.INT,
        "is_current": FieldType.BOOL,
        "batch_id": FieldType.TEXT,
        "received_at": FieldType.TEXT,  # staged as text in the backend's timestamp format
        HASH_COLUMN: FieldType.INT,
        UPLOADER_COLUMN: FieldType.TEXT,
    }
    for f in kind.fields:
        if f.name != UPLOADER_COLUMN:
            out[f"{f.name}_minor" if f.type is FieldType.MONEY else f.name] = f.type
    return out


def _column_hash(ftype: FieldType, values: pd.Series) -> hashing.U64:
    """Hash of one normalised column (storage dtypes, see `normalise`)."""
    present = values.notna().to_numpy(dtype=bool)
    if ftype is FieldType.DATE:
        arr = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
        return hashing.hash_int64(arr, present)
    if ftype in (FieldType.MONEY, FieldType.INT):
        arr = values.to_numpy(dtype=np.int64, na_value=0)
        return hashing.hash_int64(arr, present)
    if ftype is FieldType.BOOL:
        arr = values.to_numpy(dtype=bool, na_value=False).astype(np.int64)
        return hashing.hash_int64(arr, present)
    if ftype is FieldType.DECIMAL:
        arr = values.to_numpy(dtype=np.float64, na_value=0.0).view(np.int64)
        return hashing.hash_int64(arr, present)
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if _repetitive(values):
        # Parties, currencies, kinds: a few thousand distinct values in a million rows. Hash
        # each distinct value once and spread; a value's hash is the same either way.
        encoded = pc.dictionary_encode(text)
        per_value = hashing.hash_strings(encoded.dictionary)
        codes = pc.fill_null(encoded.indices, 0).to_numpy().astype(np.int64)
        out = per_value[codes] if len(per_value) else np.full(len(codes), hashing.NULL_HASH)
        if encoded.indices.null_count:
            out[~present] = hashing.NULL_HASH
        return out
    return hashing.hash_strings(text)


def _repetitive(values: pd.Series, sample: int = 4_096) -> bool:
    """Whether a text column repeats its values a lot, judged on its first rows."""
    if len(values) < 4 * sample:
        return False
    head = values.iloc[:sample]
    return bool(head.nunique(dropna=False) * 4 < sample)


ColumnHashes = dict[str, hashing.U64]


def _hashes_of(kind: RecordKind, frame: pd.DataFrame, columns: list[str],
               cache: ColumnHashes | None) -> list[hashing.U64]:
    types = _field_of_column(kind)
    out = []
    for c in columns:
        h = cache.get(c) if cache is not None else None
        if h is None:
            h = _column_hash(types[c], frame[c])
            if cache is not None:
                cache[c] = h
        out.append(h)
    return out


def record_hashes(
    kind: RecordKind, frame: pd.DataFrame, cache: ColumnHashes | None = None
) -> npt.NDArray[np.int64]:
    """64-bit hash of each normalised record: the meaning of "same content".

    The record is taken after parsing and normalisation (minor units, real dates, canonical text),
    so the same invoice sent as CSV, JSON or XML hashes the same. `uploaded_by` is not part of the
    content: the same document resent by its other party is still the same document. Only
    records with the same natural key are ever compared, so 64 bits leave a chance of about one
    in 10^19 that a changed document is taken for a duplicate. `cache` keeps the per-column
    hashes for `key_hashes`, whose columns are a subset.
    """
    parts = _hashes_of(kind, frame, data_columns(kind), cache)
    return hashing.as_signed(hashing.combine(parts, len(frame)))


def key_hashes(
    kind: RecordKind, frame: pd.DataFrame, cache: ColumnHashes | None = None
) -> npt.NDArray[np.int64]:
    """64-bit hash of each record's natural key: what the one index of a record table holds.
    Equal keys give equal hashes; equal hashes are always confirmed on the key columns."""
    parts = _hashes_of(kind, frame, key_columns(kind), cache)
    return hashing.as_signed(hashing.combine(parts, len(frame)))


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
    column_hashes: ColumnHashes = {}
    out[HASH_COLUMN] = record_hashes(kind, out, column_hashes)
    out[KEY_HASH_COLUMN] = key_hashes(kind, out, column_hashes)
    if UPLOADER_COLUMN in src.columns:
        given = src[UPLOADER_COLUMN].astype(object)
        out[UPLOADER_COLUMN] = given.where(given.notna() & (given != ""), uploader).astype("str")
    else:
        out[UPLOADER_COLUMN] = uploader
    return out


def key_columns(kind: RecordKind) -> list[str]:
    return [f"{k}_minor" if kind.field(k).type is FieldType.MONEY else k for k in kind.key]


def stage_table(name: str, columns: dict[str, sa.types.TypeEngine[Any]], *, postgres: bool) -> sa.Table:
    """A temporary table for one batch's keys, private to the connection and dropped with it
    (on PostgreSQL at commit): temporary tables are not written to the WAL."""
    cols: list[sa.Column[Any]] = [sa.Column(c, t) for c, t in columns.items()]
    kwargs: dict[str, Any] = {"postgresql_on_commit": "DROP"} if postgres else {}
    return sa.Table(name, sa.MetaData(), *cols, prefixes=["TEMPORARY"], **kwargs)


def copy_int64_binary(
    conn: sa.Connection, table_name: str, columns: dict[str, npt.NDArray[np.int64]]
) -> None:
    """COPY whole int64 columns (no nulls) in PostgreSQL's binary format, built with numpy:
    nothing to format on this side, nothing to parse on the server's."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if names else 0
    fields = [("count", ">i2")]
    for i in range(len(names)):
        fields += [(f"len{i}", ">i4"), (f"val{i}", ">i8")]
    body = np.empty(n, dtype=np.dtype(fields))
    body["count"] = len(names)
    for i, name in enumerate(names):
        body[f"len{i}"] = 8
        body[f"val{i}"] = columns[name]
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in names)
    with raw.cursor() as cur, cur.copy(
        f'COPY "{table_name}" ({quoted}) FROM STDIN (FORMAT binary)'
    ) as cp:
        cp.write(header)
        cp.write(body.tobytes())
        cp.write((-1).to_bytes(2, "big", signed=True))


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _arrow_chunk(kind: RecordKind, chunk: pd.DataFrame, names: list[str]) -> pa.Table:
    types = _field_of_column(kind)
    arrays: list[pa.Array] = []
    for col in names:
        ftype = types.get(col)
        values = chunk[col]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            arrays.append(pa.array(utc, type=pa.timestamp("us", tz="UTC")))  # ISO 8601, zone
        elif ftype is FieldType.DATE:
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


ENCODE_AHEAD = 3  # chunks encoded ahead of the one being sent (memory: a few MB each)


def _encoded_chunks(
    layout: pgbinary.Layout,
    columns: list[pd.Series],
    n: int,
    chunk_rows: int,
    order: npt.NDArray[np.int64] | None,
) -> Iterator[tuple[int, bytes | memoryview]]:
    """(rows, binary COPY body) of each chunk, in order. Picking the rows (in key-hash order, a
    gather over every column) and joining them into tuples are Arrow kernels that release the
    GIL, so two threads encode the chunks after the one being sent while the server stores it."""
    index = np.arange(n, dtype=np.int64) if order is None else order
    constant = set(layout.constants)

    def encode(start: int) -> tuple[int, bytes | memoryview]:
        part = index[start : start + chunk_rows]
        picked = [None if i in constant else c.take(part) for i, c in enumerate(columns)]
        return len(part), pgbinary.encode_chunk(layout, picked, len(part))

    yield from map_ahead(encode, range(0, n, chunk_rows), workers=2, ahead=ENCODE_AHEAD)


def copy_into_postgres(
    conn: sa.Connection,
    table_name: str,
    kind: RecordKind,
    rows: pd.DataFrame,
    names: list[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    column_types: list[sa.types.TypeEngine[Any]] | None = None,
    order: npt.NDArray[np.int64] | None = None,
) -> None:
    """Stream rows into `table_name` with COPY, on the caller's connection and transaction.

    With the target's `column_types` (and all of them encodable) the binary format is used, in
    the row `order` given; otherwise CSV written by pyarrow, in frame order.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in names)
    binary = column_types is not None and pgbinary.supported(column_types)
    layout = None
    if binary:
        assert column_types is not None
        layout = pgbinary.plan(column_types, [rows[c] for c in names])
        quoted = ", ".join(f'"{names[i]}"' for i in layout.order)
    sql = f'COPY "{table_name}" ({quoted}) FROM STDIN (FORMAT {"binary" if binary else "csv"})'
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    n = len(rows)
    done = 0
    # The queued writer sends from a thread, so the server stores chunk k while this side
    # encodes the next ones: the two cores work at once instead of taking turns.
    with raw.cursor() as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as cp:
        if layout is not None:
            cp.write(pgbinary.HEADER)
            for size, body in _encoded_chunks(layout, [rows[c] for c in names], n, chunk_rows, order):
                cp.write(body)
                done += size
                report(progress, "storing", done, n)
            cp.write(pgbinary.TRAILER)
            return
        for chunk in _chunks(rows, chunk_rows):
            buf = io.BytesIO()
            pacsv.write_csv(_arrow_chunk(kind, chunk, names), buf, write_options=options)
            cp.write(buf.getbuffer())
            done += len(chunk)
            report(progress, "storing", done, n)


def _inferred(values: pd.Series) -> FieldType | None:
    """The field type a column of unknown name is written as, from its dtype."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype) and not isinstance(
        values.dtype, pd.DatetimeTZDtype
    ):
        return FieldType.DATE
    if pd.api.types.is_bool_dtype(values.dtype):
        return FieldType.BOOL
    if pd.api.types.is_integer_dtype(values.dtype):
        return FieldType.INT
    if pd.api.types.is_float_dtype(values.dtype):
        return FieldType.DECIMAL
    return None


def _python_column(ftype: FieldType | None, values: pd.Series) -> list[object]:
    """One column as the plain Python values the sqlite3 driver binds (dates as ISO text,
    missing as None), converted a whole column at a time."""
    mask = values.isna().to_numpy()
    if ftype is None:
        ftype = _inferred(values)
    if ftype is FieldType.DATE:
        # Few distinct dates: format each once, then spread with the codes.
        codes, uniques = pd.factorize(values.to_numpy(dtype="datetime64[ns]"))
        text = pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").to_numpy(dtype=object)
        spread: list[object] = np.concatenate([text, np.array([None], dtype=object)])[
            codes
        ].tolist()
        return spread
    if ftype is FieldType.BOOL:
        obj: npt.NDArray[Any] = values.to_numpy(dtype=bool, na_value=False)
    elif ftype in (FieldType.MONEY, FieldType.INT):
        obj = values.to_numpy(dtype=np.int64, na_value=0)
    elif ftype is FieldType.DECIMAL:
        obj = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        boxed_text = values.astype(object).to_numpy(copy=True)
        boxed_text[mask] = None
        return boxed_text.tolist()  # type: ignore[no-any-return]
    if mask.any():
        boxed = obj.astype(object)
        boxed[mask] = None
        return boxed.tolist()  # type: ignore[no-any-return]
    return obj.tolist()  # type: ignore[no-any-return]


def _sql_literal(ftype: FieldType | None, value: object) -> str | None:
    """A constant column's value written into the statement, or None when it cannot be."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "NULL"
    if ftype in (FieldType.MONEY, FieldType.INT) and isinstance(value, int | np.integer):
        return str(int(value))
    if ftype is FieldType.BOOL and isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if ftype is FieldType.DATE or ftype is FieldType.DECIMAL:
        return None
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def _constant(values: pd.Series) -> tuple[bool, object]:
    """Whether every value of the column is the same (or every one missing), and which."""
    if len(values) == 0:
        return False, None
    missing = values.isna().to_numpy()
    if missing.all():
        return True, None
    if missing.any():
        return False, None
    first = values.iloc[0]
    return bool(values.eq(first).all()), first


def executemany_into_sqlite(
    conn: sa.Connection,
    table_name: str,
    kind: RecordKind,
    rows: pd.DataFrame,
    names: list[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    order: npt.NDArray[np.int64] | None = None,
) -> None:
    """Insert rows with the driver's executemany, on the caller's connection and transaction,
    in the row `order` given (frame order by default).

    Binding a value costs about a microsecond, so a column with one value for the whole chunk
    (the batch id, the stamp, the version, the uploader, a currency, an empty optional field) is
    written into the statement once instead of being bound a million times.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    types = _field_of_column(kind)
    cur = raw.cursor()
    done = 0
    index = np.arange(len(rows), dtype=np.int64) if order is None else order
    try:
        for start in range(0, len(rows), chunk_rows):
            chunk = rows.take(index[start : start + chunk_rows])
            bound: list[str] = []
            slots: list[str] = []
            for col in names:
                same, value = _constant(chunk[col])
                literal = _sql_literal(types.get(col), value) if same else None
                if literal is None:
                    bound.append(col)
                slots.append("?" if literal is None else literal)
            sql = (
                f'INSERT INTO "{table_name}" ({", ".join(chr(34) + c + chr(34) for c in names)}) '
                f"VALUES ({', '.join(slots)})"
            )
            columns = [_python_column(types.get(c), chunk[c]) for c in bound]
            if columns:
                cur.executemany(sql, zip(*columns, strict=True))
            else:
                cur.executemany(sql, ((),) * len(chunk))
            done += len(chunk)
            report(progress, "storing", done, len(rows))
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
    column_types: list[sa.types.TypeEngine[Any]] | None = None,
    order: npt.NDArray[np.int64] | None = None,
) -> None:
    """Write `names` columns of `rows` into `table_name`: COPY on PostgreSQL (binary when the
    column types are given), executemany elsewhere; rows in `order` (frame order by default),
    inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        copy_into_postgres(conn, table_name, kind, rows, names, chunk_rows=chunk_rows,
                           progress=progress, column_types=column_types, order=order)
    else:
        executemany_into_sqlite(conn, table_name, kind, rows, names, chunk_rows=chunk_rows,
                                progress=progress, order=order)
