"""One place that builds the SparkSession and sizes it to the data.

Shuffle partitions and the broadcast threshold are chosen from the size of the input, not fixed:
a few hundred shuffle partitions on a small simulation cost more in task overhead than the
work itself, while a country of firms needs thousands. `local[*]` is the default master; any
other (a standalone cluster's `spark://host:7077`, YARN, Kubernetes) comes from `--master` or
from `spark-submit`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
# About 128 MiB of input per shuffle partition (Spark's own advisory partition size).
BYTES_PER_PARTITION = 128 << 20
MIN_PARTITIONS = 2
MAX_PARTITIONS = 20_000
# Tables up to ~1/16 of the input (at least 10 MiB, at most 512 MiB) are broadcast in joins.
MIN_BROADCAST = 10 << 20
MAX_BROADCAST = 512 << 20


@dataclass(frozen=True)
class Sizing:
    """What the input's size implies for the session's shuffle and join settings."""

    shuffle_partitions: int
    broadcast_bytes: int

    @classmethod
    def for_bytes(cls, input_bytes: int, cores: int) -> Sizing:
        by_size = -(-max(input_bytes, 1) // BYTES_PER_PARTITION)
        # at least one partition per core (every core busy), at most what the data fills
        parts = min(max(by_size * 4, cores, MIN_PARTITIONS), MAX_PARTITIONS)
        broadcast = min(max(input_bytes // 16, MIN_BROADCAST), MAX_BROADCAST)
        return cls(int(parts), int(broadcast))


def input_bytes(path: Path) -> int:
    """Bytes of the Parquet files under `path` (what the sizing is based on)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".parquet"))
    return total


def build_session(master: str | None = None, *, app_name: str = "chaincredit",
                  sizing: Sizing | None = None, local_dir: Path | None = None) -> SparkSession:
    """A SparkSession on `master` (None: the one spark-submit gave, else local[*]).

    Executors run the same Python as the driver (the cluster's machines must have chaincredit
    installed at the same path, as a standalone cluster started from this virtualenv does).
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master(os.environ.get("SPARK_MASTER", DEFAULT_MASTER))
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Arrow batches of 64-bit offsets: large string columns never hit the 2 GiB limit.
        "spark.sql.execution.arrow.useLargeVarTypes": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executorEnv.PYSPARK_PYTHON": sys.executable,
        # in local mode the executors live in the driver's JVM
        "spark.driver.memory": os.environ.get("SPARK_DRIVER_MEMORY", "3g"),
    }
    if local_dir is not None:
        conf["spark.local.dir"] = str(local_dir)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if sizing is not None:
        apply_sizing(spark, sizing)
    return spark


def apply_sizing(spark: SparkSession, sizing: Sizing) -> None:
    spark.conf.set("spark.sql.shuffle.partitions", str(sizing.shuffle_partitions))
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", str(sizing.broadcast_bytes))


def size_for(spark: SparkSession, path: Path) -> Sizing:
    """Size the session for the Parquet input under `path` and apply it."""
    cores = max(spark.sparkContext.defaultParallelism, 1)
    sizing = Sizing.for_bytes(input_bytes(path), cores)
    apply_sizing(spark, sizing)
    return sizing


@contextmanager
def session(master: str | None = None, **kwargs: object) -> Iterator[SparkSession]:
    """build_session(...), stopped on leaving the block unless it was already running."""
    from pyspark.sql import SparkSession

    existing = SparkSession.getActiveSession()
    spark = build_session(master, **kwargs)  # type: ignore[arg-type]
    try:
        yield spark
    finally:
        if existing is None:
            spark.stop()
