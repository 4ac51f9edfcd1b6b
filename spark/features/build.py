"""The Spark twin of `models.features.build_feature_frame`, and the `features` job around it.

Graph features for every node joined with the profile features of every registry or profile
firm, in the column order of `models.features.feature_dictionary()`, one row per firm, written
to Parquet with a manifest that says the date (`chaincredit score --engine spark` reads both).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from graph.catalog import FEATURE_NAMES
from graph.params import GraphParams
from spark.features.edges import edge_table, invoice_stats
from spark.features.network import compute
from spark.features.prepare import prepare
from spark.features.profile import NAMES as PROFILE_NAMES
from spark.features.profile import profile_features
from spark.features.verify import verify
from spark.frames import Frames, read_frames
from spark.layout import Manifest

FEATURES_MANIFEST = "_features.json"
COLUMNS = (*FEATURE_NAMES, *PROFILE_NAMES)
Progress = Callable[[str, int, int], None]


@dataclass
class StageTimes:
    """Seconds per stage, in the order they ran (bench/spark.py reports them)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = round(now - since, 3)
        return now


def build_feature_frame(spark: SparkSession, frames: Frames, params: GraphParams | None = None,
                        times: StageTimes | None = None) -> DataFrame:
    """firm_id and every feature of models.features.build_feature_frame, as a Spark frame."""
    p = params or GraphParams()
    clock = times or StageTimes()
    t0 = time.perf_counter()
    prep = prepare(spark, frames, p)
    prep.nodes = prep.nodes.localCheckpoint(eager=True)
    n = prep.nodes.count()
    t0 = clock.mark("prepare", t0)
    ver, third = verify(prep, p)
    ver = ver.localCheckpoint(eager=True)
    third = third.localCheckpoint(eager=True)
    t0 = clock.mark("verify", t0)
    st = invoice_stats(prep, ver).localCheckpoint(eager=True)
    edges = edge_table(prep, ver, st).localCheckpoint(eager=True)
    t0 = clock.mark("edges", t0)
    graph_frame = compute(prep, edges, st, third, p, n).localCheckpoint(eager=True)
    t0 = clock.mark("graph features", t0)
    profile = profile_features(frames)
    out = graph_frame.join(profile, "firm_id", "full_outer").withColumn(
        "fin_has_financials", F.coalesce(F.col("fin_has_financials"), F.lit(0.0)))
    out = out.select("firm_id", *COLUMNS).localCheckpoint(eager=True)
    clock.mark("profile features", t0)
    return out


@dataclass(frozen=True)
class FeaturesResult:
    out: Path
    as_of: date
    firms: int
    seconds: dict[str, float]


def run_features(spark: SparkSession, input_dir: Path, out_dir: Path, *, as_of: date | None = None,
                 params: GraphParams | None = None) -> FeaturesResult:
    """Read the lake, build every firm's features as of `as_of` (default: the lake's date),
    write `out_dir/features/*.parquet` and the manifest."""
    from spark.session import size_for

    lake = Manifest.read(Path(input_dir))
    day = as_of or lake.as_of
    if day > lake.as_of:
        raise ValueError(f"the lake was cut at {lake.as_of}; it cannot give features as of {day}")
    size_for(spark, Path(input_dir))
    times = StageTimes()
    t0 = time.perf_counter()
    frames = read_frames(spark, Path(input_dir), day)
    t0 = times.mark("read", t0)
    frame = build_feature_frame(spark, frames, params, times)
    t0 = time.perf_counter()
    out = Path(out_dir)
    frame.orderBy("firm_id").write.mode("overwrite").parquet(str(out / "features"))
    firms = frame.count()
    times.mark("write", t0)
    (out / FEATURES_MANIFEST).write_text(json.dumps(
        {"as_of": day.isoformat(), "firms": firms, "columns": list(COLUMNS),
         "seconds": times.seconds}, indent=2) + "\n")
    return FeaturesResult(out, day, firms, dict(times.seconds))


def read_features_manifest(path: Path) -> dict[str, object]:
    file = Path(path) / FEATURES_MANIFEST
    if not file.is_file():
        raise FileNotFoundError(f"{path} holds no Spark feature snapshot ({FEATURES_MANIFEST} is missing)")
    data: dict[str, object] = json.loads(file.read_text())
    return data
