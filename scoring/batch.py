"""Score every firm of a snapshot with the champion, with points and reasons, in chunks.

Serving reads these precomputed rows (DESIGN.md §7). A run over a million firms must neither hold
every firm's JSON in memory nor leave serving a half-written set, so scoring streams: chunks of
firms are scored on both cores at once (TreeSHAP releases the GIL, and so do Arrow's string
kernels), each chunk is spooled to a compressed Arrow file and to the output file as it comes,
and the store then replaces the old set with the spooled chunks in one transaction
(`store.scores.ScoreWriter`). Spooling first keeps that transaction, and on SQLite its write
lock, as short as the insert itself instead of the whole scoring run.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from common.progress import Progress, report
from common.threads import map_ahead
from scoring.score_json import points_json, reasons_json
from scoring.score_shape import ScoreOut, score_out
from store.money import format_minor
from store.spreadsheet import write_csv

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from training.settings import TrainingSettings

# Rows scored at once by one worker: ~6 KB of JSON per firm, so a chunk holds ~300 MB of text
# and a run peaks at (workers + 2) chunks whatever the number of firms.
CHUNK_ROWS = 50_000
# Below this many rows one thread scores everything (a second costs more than it gives).
PARALLEL_MIN_ROWS = 10_000
# What a bank's batch job reads: the limit as a decimal string and in minor units, never a float.
FILE_COLUMNS = ("firm_id", "pd", "score", "grade", "limit", "limit_minor", "currency", "reasons")
SPOOL_CODEC = "lz4"  # score JSON compresses ~5× at memory speed
# The model's limits are in CNY, as its features are (DESIGN.md §7 "Money").
CURRENCY = "CNY"


def _score_chunk(model: Any, X: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """One chunk, on one thread: TreeSHAP, then the JSON text straight from the arrays."""
    from models.explain import score_block

    block = score_block(model, X, top_n=top_n, num_threads=1)
    return pd.DataFrame(
        {
            "firm_id": X.index.astype(str),
            "pd": block.pd,
            "score": block.score,
            "grade": block.grade,
            "limit_minor": block.limit_minor,  # integer fen, as the model computes it
            "base_points": block.base_points,
            # Arrow-backed text: no Python string per firm until the store needs one.
            "points": points_json(model, X, block.points).to_pandas(),
            "reasons": reasons_json(model, block).to_pandas(),
        }
    )


def score_chunk(model: Any, X: pd.DataFrame, top_n: int = 4) -> pd.DataFrame:
    """One chunk of firms scored with points and reasons: what every engine scores a chunk
    with (the Spark engine runs it on its executors), so a score is the same wherever."""
    return _score_chunk(model, X, top_n)


def _workers(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    return max(1, min(2, os.cpu_count() or 1))


def score_chunks(
    model: Any,
    features: pd.DataFrame,
    *,
    top_n: int = 4,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Scored chunks of `features` in order (columns as `score_frame`'s).

    `workers` chunks are scored at once, each on one thread (default: up to two, the cores
    batch scoring is given); at most `workers` + 1 chunks are held at any time.
    """
    n = len(features)
    if n == 0:
        raise ValueError("no firms to score")
    threads = _workers(workers) if n >= PARALLEL_MIN_ROWS else 1
    # Small runs are split so that every worker gets a share.
    size = max(1, min(chunk_rows, -(-n // threads)))
    starts = range(0, n, size)

    def score(start: int) -> pd.DataFrame:
        return _score_chunk(model, features.iloc[start : start + size], top_n)

    chunks = map(score, starts) if threads == 1 else map_ahead(score, starts, workers=threads,
                                                                 ahead=threads)
    done = 0
    for part in chunks:
        done += len(part)
        report(progress, "scoring", done, n)
        yield part


def score_frame(
    model: Any,
    features: pd.DataFrame,
    *,
    top_n: int = 4,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """firm_id, pd, score, grade, limit_minor (fen), base_points, points, reasons, for every row in
    memory at once; `score_chunks` streams the same rows."""
    parts = score_chunks(
        model, features, top_n=top_n, chunk_rows=chunk_rows, workers=workers, progress=progress
    )
    return pd.concat(list(parts), ignore_index=True)


class ScoreFile:
    """The scores a bank's batch job reads, written chunk by chunk (.csv or .parquet)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in (".csv", ".parquet"):
            raise ValueError(f"write scores to a .csv or .parquet file, not {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet: pq.ParquetWriter | None = None
        self._first = True

    def write(self, scores: pd.DataFrame) -> None:
        minor = scores["limit_minor"].reset_index(drop=True)
        currency = pd.Series(CURRENCY, index=minor.index)
        table = scores.reset_index(drop=True).assign(
            limit=format_minor(minor, currency), currency=currency
        ).loc[:, list(FILE_COLUMNS)]
        if self.suffix == ".csv":
            # A loan officer opens this in a spreadsheet: no cell may run as a formula.
            write_csv(table, self.path, append=not self._first)
        else:
            arrow = pa.Table.from_pandas(table, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, arrow.schema)
            self._parquet.write_table(arrow.cast(self._parquet.schema))
        self._first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None


def write_scores(scores: pd.DataFrame, path: Path) -> Path:
    """CSV or Parquet by extension, with the columns a bank's batch job reads."""
    sink = ScoreFile(path)
    try:
        sink.write(scores)
    finally:
        sink.close()
    return path


def _spool(chunks: Iterable[pd.DataFrame], path: Path, out: ScoreFile | None) -> int:
    """Write every chunk to an Arrow stream at `path` (and to `out`); the number of rows."""
    writer: pa.ipc.RecordBatchStreamWriter | None = None
    schema: pa.Schema | None = None
    options = pa.ipc.IpcWriteOptions(compression=SPOOL_CODEC)
    n = 0
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None or schema is None:
                schema = table.schema
                writer = pa.ipc.new_stream(str(path), schema, options=options)
            writer.write_table(table.cast(schema))
            if out is not None:
                out.write(chunk)
            n += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    return n


def _unspool(path: Path) -> Iterator[pd.DataFrame]:
    with pa.ipc.open_stream(str(path)) as reader:
        for batch in reader:
            yield batch.to_pandas()


def store_scores(
    engine: Engine,
    as_of: date,
    model_version: str,
    chunks: Iterable[pd.DataFrame],
    *,
    out: Path | None = None,
    spool_dir: Path | None = None,
) -> int:
    """Spool scored chunks (and write them to `out`), then replace the stored set of (`as_of`,
    `model_version`) with them in one transaction; the number of rows stored."""
    from store.scores import ScoreWriter

    sink = ScoreFile(out) if out is not None else None
    with tempfile.TemporaryDirectory(prefix="chaincredit-scores-", dir=spool_dir) as tmp:
        spool = Path(tmp) / "scores.arrows"
        try:
            n = _spool(chunks, spool, sink)
        finally:
            if sink is not None:
                sink.close()
        with ScoreWriter(engine, as_of, model_version, currency=CURRENCY) as writer:
            for chunk in _unspool(spool):
                writer.append(chunk)
    return n


@dataclass(frozen=True)
class BatchResult:
    as_of: date
    model_version: str
    n_firms: int
    out: Path | None


def score_all(
    engine: Engine,
    as_of: date | None = None,
    *,
    out: Path | None = None,
    settings: TrainingSettings | None = None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> BatchResult:
    """Score the snapshot of `as_of` (None: the latest) with the champion; store and write.

    Memory stays bounded by the chunk size; serving keeps reading the previous scores of the
    date and version until the store's one transaction commits the whole new set, and a run
    that fails or is killed leaves them as they were."""
    from store.feature_snapshots import load_snapshot
    from training.registry import load_champion

    champion = load_champion(settings=settings)
    features = load_snapshot(engine, as_of)
    day = as_of or features.attrs.get("as_of")
    if day is None:
        raise ValueError("the snapshot does not say its date; pass --as-of")
    chunks = score_chunks(
        champion.model, features, chunk_rows=chunk_rows, workers=workers, progress=progress
    )
    n = store_scores(engine, day, champion.version, chunks, out=out)
    return BatchResult(day, champion.version, n, out)


@dataclass(frozen=True)
class OneScore:
    response: ScoreOut  # what GET /v1/scores/{firm_id} answers for it
    stored: bool  # False: computed now from the snapshot, batch scoring has not stored it yet


def score_one(
    engine: Engine,
    firm_id: str,
    as_of: date | None = None,
    *,
    settings: TrainingSettings | None = None,
) -> OneScore:
    """One firm's explained score with the champion, in the API's shape: the stored one when
    batch scoring has run, else computed from the snapshot (same numbers, the same code path)."""
    from store.feature_snapshots import load_snapshot, load_snapshot_extras
    from store.pointintime import as_date
    from store.scores import StoredScore, get_score
    from training.registry import load_champion

    champion = load_champion(settings=settings)
    stored = get_score(engine, firm_id, champion.version, as_of)
    fresh = stored is None
    if stored is None:
        features = load_snapshot(engine, as_of)
        if firm_id not in features.index:
            raise LookupError(f"firm {firm_id} is not in the snapshot of {features.attrs.get('as_of')}")
        row = score_frame(champion.model, features.loc[[firm_id]]).iloc[0]
        stored = StoredScore(
            firm_id=firm_id, as_of=as_date(as_of or features.attrs["as_of"]),
            model_version=champion.version, pd=float(row["pd"]), score=float(row["score"]),
            grade=str(row["grade"]), limit_minor=int(row["limit_minor"]), currency=CURRENCY,
            base_points=float(row["base_points"]), points=json.loads(row["points"]),
            reasons=json.loads(row["reasons"]),
        )
    extras = load_snapshot_extras(engine, firm_id, stored.as_of)
    return OneScore(score_out(stored, extras), stored=not fresh)
