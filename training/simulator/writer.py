"""Files in the upload format (shared contract 2), streamed in row batches.

Record files hold text exactly as a core enterprise would upload it (decimal money with two
decimals, YYYY-MM-DD, true/false, empty = absent), in CSV or in Parquet with the same text
cells, so `chaincredit load` reads both through one parser. The truth folder keeps native types
(it is for analysts, never loaded by the service). Batches bound the memory of a million-firm run.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from common.progress import Progress
from store.records import KINDS, FieldType

from .engine import RECORD_KINDS, SimResult, Source
from .tables import to_text_table

BATCH_ROWS = 2_000_000
_LOW_CARDINALITY = {
    FieldType.CURRENCY, FieldType.ENUM, FieldType.BOOL, FieldType.REGION, FieldType.INDUSTRY,
    FieldType.RATING, FieldType.DATE, FieldType.INT,
}
_CSV_OPTS = pcsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)


def _write(
    source: Source,
    path: Path,
    fmt: str,
    convert: Callable[[pa.Table], pa.Table],
    columns: list[str],
    dictionary: list[str] | None = None,
) -> None:
    """Stream `source` to `path`; only the `dictionary` columns get Parquet dictionary encoding
    (ids and amounts are nearly all distinct, where trying a dictionary only costs time)."""
    writer: pq.ParquetWriter | None = None
    with open(path, "wb") as fh:
        if fmt == "csv":
            fh.write((",".join(columns) + "\n").encode("utf-8"))
        start = 0
        while True:
            stop = min(start + BATCH_ROWS, source.rows)
            table = convert(source.build(start, stop))
            if fmt == "csv":
                pcsv.write_csv(table, fh, _CSV_OPTS)
            else:
                if writer is None:
                    writer = pq.ParquetWriter(
                        fh, table.schema, compression="zstd", use_dictionary=dictionary
                    )
                writer.write_table(table)
            start = stop
            if start >= source.rows:
                break
        if writer is not None:
            writer.close()


def write_simulation(
    res: SimResult,
    out_dir: str | Path,
    fmt: str = "csv",
    progress: Progress | None = None,
) -> list[Path]:
    """Write the eight record files and the truth folder; return the paths written."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)
    written: list[Path] = []
    total = len(RECORD_KINDS) + len(res.truth_sources)
    for i, kind in enumerate(RECORD_KINDS):
        rk = KINDS[kind]
        path = out / f"{kind}.{fmt}"
        low_card = [f.name for f in rk.fields if f.type in _LOW_CARDINALITY]
        _write(res.sources[kind], path, fmt, partial(to_text_table, rk), list(rk.names), low_card)
        written.append(path)
        report("write", i + 1, total)
    for j, (name, src) in enumerate(sorted(res.truth_sources.items())):
        tfmt = fmt if name == "pd" else "csv"
        path = out / "truth" / f"{name}.{tfmt}"
        cols = src.build(0, 0).column_names
        _write(src, path, tfmt, lambda t: t, cols, ["month_end"])
        written.append(path)
        report("write", len(RECORD_KINDS) + j + 1, total)
    return written
