"""`chaincredit export`: the store's flows as of a date, streamed to a Parquet lake.

A chunk of one kind is read (`store.streaming`), typed to the lake's Arrow schema and handed to
Arrow's dataset writer, which files it under its month; nothing holds more than a chunk per
kind, so a country's billions of documents export in the memory of one chunk. The lake is the
input of the Spark engine (`chaincredit features --engine spark --input DIR`), and any lake laid
out the same way (spark/layout.py) can be read instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from common.progress import Progress, report
from spark.layout import KINDS_IN_LAKE, MONTH, SEQ, Manifest, arrow_schema, date_field

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

ROWS_PER_FILE = 2_000_000


@dataclass(frozen=True)
class ExportResult:
    out: Path
    as_of: date
    rows: dict[str, int]


def to_arrow(chunk: pd.DataFrame, kind_name: str) -> pa.Table:
    """One chunk of flow frame in the lake's schema, with its month column when dated."""
    schema = arrow_schema(kind_name)
    arrays = []
    for f in schema:
        col = chunk[f.name]
        if pa.types.is_date32(f.type):
            arr = pa.array(col.dt.date if len(col) else [], type=pa.date32(), from_pandas=True)
        elif pa.types.is_large_string(f.type):
            values = col.astype(object).where(col.notna(), None)
            arr = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        else:
            arr = pa.array(col.to_numpy(dtype=object, na_value=None) if col.isna().any()
                           else col.to_numpy(), type=f.type, from_pandas=True)
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, schema=schema)
    dcol = date_field(kind_name)
    if dcol is None:
        return table
    month = pc.strftime(pc.cast(table[dcol], pa.timestamp("s")), format="%Y-%m")
    month = pc.if_else(pc.is_null(month), pa.scalar("none", pa.large_string()),
                       pc.cast(month, pa.large_string()))
    return table.append_column(pa.field(MONTH, pa.large_string()), month)


def _batches(engine: Engine, kind_name: str, as_of: date, chunk_rows: int,
             rates: pd.DataFrame, counter: list[int], progress: Progress | None
             ) -> Iterator[pa.RecordBatch]:
    from store.streaming import count_rows, iter_flow_chunks

    total = count_rows(engine, kind_name, as_of) if progress is not None else 0
    report(progress, f"export: {kind_name}", 0, total)
    for chunk in iter_flow_chunks(engine, kind_name, as_of, chunk_rows=chunk_rows, rates=rates):
        table = to_arrow(chunk, kind_name)
        seq = pa.array(range(counter[0], counter[0] + table.num_rows), type=pa.int64())
        table = table.append_column(pa.field(SEQ, pa.int64()), seq)
        counter[0] += table.num_rows
        report(progress, f"export: {kind_name}", counter[0], total)
        yield from table.to_batches()


def export_lake(engine: Engine, as_of: date, out: Path, *, chunk_rows: int = 200_000,
                progress: Progress | None = None, replace: bool = False) -> ExportResult:
    """Write every flow kind as of `as_of` under `out` (which must be new or empty, unless
    `replace`); returns the rows written per kind. The manifest is written last, so a lake
    without one is an export that did not finish."""
    from store.streaming import fx_rates

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not replace:
            raise FileExistsError(f"{out} is not empty; pass --replace to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    rates = fx_rates(engine, as_of)
    rows: dict[str, int] = {}
    for kind_name in KINDS_IN_LAKE:
        counter = [0]
        schema = arrow_schema(kind_name).append(pa.field(SEQ, pa.int64()))
        dated = date_field(kind_name) is not None
        if dated:
            schema = schema.append(pa.field(MONTH, pa.large_string()))
        ds.write_dataset(
            _batches(engine, kind_name, as_of, chunk_rows, rates, counter, progress),
            out / kind_name, schema=schema, format="parquet",
            partitioning=ds.partitioning(pa.schema([(MONTH, pa.large_string())]), flavor="hive")
            if dated else None,
            basename_template="part-{i}.parquet", max_rows_per_file=ROWS_PER_FILE,
            max_rows_per_group=min(ROWS_PER_FILE, 1 << 20), existing_data_behavior="overwrite_or_ignore",
        )
        rows[kind_name] = counter[0]
    Manifest(as_of=as_of, rows=rows, sequenced=True).write(out)
    return ExportResult(out, as_of, rows)
