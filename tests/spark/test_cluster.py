"""The Spark engine on a real standalone cluster (one master, two one-core workers), driven
through the command line as an operator would, gives the local engine's features."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from spark.standalone import Cluster, start_cluster
from tests.spark.parity import integer_columns, mismatches


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c
    finally:
        c.stop()


@pytest.mark.slow
def test_features_on_a_standalone_cluster_equal_the_local_engine(
    cluster: Cluster, lake: Path, local_features: pd.DataFrame, tmp_path: Path
) -> None:
    assert cluster.alive_workers() == 2
    out = tmp_path / "features"
    cmd = [sys.executable, "-m", "api.cli", "features", "--engine", "spark", "--input", str(lake),
           "--out", str(out), "--master", cluster.url, "--json"]
    env = {**os.environ, "SPARK_DRIVER_MEMORY": "1g"}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["firms"] == len(local_features)
    got = pd.read_parquet(out / "features").set_index("firm_id")
    assert mismatches(local_features, got, exact=integer_columns()) == {}
    # the work ran as an application of the cluster, on its workers
    assert cluster.completed_apps() >= 1
