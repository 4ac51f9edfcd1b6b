"""`chaincredit score --engine spark`: every firm of a Spark feature snapshot scored on the
executors, with points and reasons, to Parquet.

The model goes to the executors once, as a broadcast; `mapInPandas` hands each Arrow batch of
firms to the same chunk scorer batch scoring uses on one machine (passed in by the caller, so
this package needs nothing of `scoring`), so a firm's score, points and reasons are the ones
`chaincredit score --all` gives it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession

from spark.features.build import read_features_manifest

SCORES_MANIFEST = "_scores.json"
SCORE_SCHEMA = ("firm_id string, pd double, score double, grade string, limit_minor long, "
                "base_points double, points string, reasons string")
ChunkScorer = Callable[[Any, pd.DataFrame, int], pd.DataFrame]
BATCH_ROWS = 10_000  # firms per Arrow batch handed to the scorer (~60 MB of JSON out)


@dataclass(frozen=True)
class ScoresResult:
    out: Path
    as_of: date
    model_version: str
    firms: int


def run_scores(spark: SparkSession, features_dir: Path, out_dir: Path, model: Any,
               model_version: str, scorer: ChunkScorer, *, top_n: int = 4) -> ScoresResult:
    """Score `features_dir`'s snapshot with `model`; write `out_dir/scores` and the manifest."""
    meta = read_features_manifest(features_dir)
    day = date.fromisoformat(str(meta["as_of"]))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS))
    frame = spark.read.parquet(str(Path(features_dir) / "features"))
    shared = spark.sparkContext.broadcast(model)

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        m = shared.value
        for batch in batches:
            if batch.empty:
                continue
            X = batch.set_index("firm_id")
            X.index = X.index.astype(str)
            out = scorer(m, X, top_n)
            yield out[["firm_id", "pd", "score", "grade", "limit_minor", "base_points",
                       "points", "reasons"]].astype({"points": object, "reasons": object})

    scored = frame.mapInPandas(score, SCORE_SCHEMA)
    out = Path(out_dir)
    scored.write.mode("overwrite").parquet(str(out / "scores"))
    firms = spark.read.parquet(str(out / "scores")).count()
    shared.unpersist()
    (out / SCORES_MANIFEST).write_text(json.dumps(
        {"as_of": day.isoformat(), "model_version": model_version, "firms": firms}, indent=2) + "\n")
    return ScoresResult(out, day, model_version, firms)


def read_scores_manifest(path: Path) -> dict[str, Any]:
    file = Path(path) / SCORES_MANIFEST
    if not file.is_file():
        raise FileNotFoundError(f"{path} holds no Spark score set ({SCORES_MANIFEST} is missing)")
    data: dict[str, Any] = json.loads(file.read_text())
    return data
