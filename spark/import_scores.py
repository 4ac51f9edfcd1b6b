"""`chaincredit import-scores`: a Spark-produced snapshot and score set into the database.

The same replace-or-keep semantics as `chaincredit score --all`: the stored snapshot of the
date is replaced by the Spark one, and the scores of (date, model version) are replaced in one
transaction by `store`'s ScoreWriter (COPY on PostgreSQL), so serving reads the old set or the
new one, never a mix, and a failed import leaves the old set as it was. Score files are read a
row group at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.dataset as ds

from spark.features.build import read_features_manifest
from spark.score import read_scores_manifest

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class ImportResult:
    as_of: date
    model_version: str
    firms: int
    snapshot_firms: int


class BadScoresError(ValueError):
    """A score set that must not reach serving; nothing of it is stored."""


def check_chunk(chunk: pd.DataFrame, seen: set[str], offset: int) -> None:
    """Refuse what no scoring run produces: a firm twice, a PD outside [0, 1], a score or limit
    that is not a finite number, an empty firm id. A folder is only as trustworthy as whoever
    could write to it, and a served score is a lending decision."""
    ids = chunk["firm_id"].astype(str)
    checks = {
        "firm_id is empty": ids.str.strip().eq("").to_numpy(),
        "pd is not in [0, 1]": ~chunk["pd"].between(0.0, 1.0).to_numpy(),
        "score is not a finite number": ~pd.Series(chunk["score"]).map(
            lambda v: v == v and abs(v) != float("inf")).to_numpy(dtype=bool),
        "limit_minor is negative or missing": ~(chunk["limit_minor"] >= 0).to_numpy(),
        "firm_id appears twice": ids.duplicated().to_numpy() | ids.isin(seen).to_numpy(),
    }
    for what, bad in checks.items():
        if bad.any():
            row = int(bad.argmax())
            raise BadScoresError(f"row {offset + row + 1} (firm {ids.iloc[row]!r}): {what}")
    seen.update(ids)


def _score_batches(path: Path, rows: int = 50_000) -> Iterator[pd.DataFrame]:
    dataset = ds.dataset(str(path), format="parquet")
    seen: set[str] = set()
    offset = 0
    for batch in dataset.to_batches(batch_size=rows):
        if batch.num_rows:
            chunk = batch.to_pandas()
            check_chunk(chunk, seen, offset)
            offset += len(chunk)
            yield chunk


def load_feature_snapshot(folder: Path) -> pd.DataFrame:
    """The Spark features as the local engine's frame: firm_id index, float features, text
    categories."""
    frame = pd.read_parquet(Path(folder) / "features")
    frame = frame.set_index("firm_id")
    frame.index = frame.index.astype(str)
    frame.index.name = "firm_id"
    return frame


def import_scores(engine: Engine, folder: Path, *, features: Path | None = None) -> ImportResult:
    """Store `folder`'s snapshot (when `features`, or `folder` itself, holds one) and its score
    set; the snapshot and the scores must be of the same date. A bad row (BadScoresError)
    rolls the whole score set back."""
    from store.feature_snapshots import save_snapshot
    from store.scores import ScoreWriter

    meta = read_scores_manifest(folder)
    day = date.fromisoformat(str(meta["as_of"]))
    version = str(meta["model_version"])
    for _chunk in _score_batches(Path(folder) / "scores"):
        pass  # a first pass refuses a bad set before the snapshot or the scores are touched
    source = features or Path(folder)
    snapshot_firms = 0
    if (Path(source) / "features").is_dir():
        fmeta = read_features_manifest(source)
        if date.fromisoformat(str(fmeta["as_of"])) != day:
            raise ValueError(f"features of {fmeta['as_of']} and scores of {day} do not match")
        snapshot_firms = save_snapshot(engine, day, load_feature_snapshot(source))
    with ScoreWriter(engine, day, version) as writer:
        for chunk in _score_batches(Path(folder) / "scores"):
            writer.append(chunk)
    return ImportResult(day, version, writer.rows, snapshot_firms)
