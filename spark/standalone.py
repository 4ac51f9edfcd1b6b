"""A Spark standalone cluster on this machine: one master and N workers started from the pip
package's `bin/spark-class` (it ships no `sbin/` start scripts), on free ports.

The cluster test and `bench/spark.py` use it; it is also the quickest way to try `--master
spark://…` without a cluster. Processes are started and stopped by their own handles.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class Cluster:
    url: str
    ui: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def state(self) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as r:
            data: dict[str, object] = json.load(r)
        return data

    def alive_workers(self) -> int:
        return int(str(self.state().get("aliveworkers", 0)))

    def completed_apps(self) -> int:
        apps = self.state().get("completedapps", [])
        return len(apps) if isinstance(apps, list) else 0

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_cluster(root: Path, workers: int = 2, cores: int = 1, memory: str = "2g",
                  timeout: float = 180.0) -> Cluster:
    home = spark_home()
    root.mkdir(parents=True, exist_ok=True)
    cls = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_LOG_DIR": str(root / "logs"),
           "SPARK_WORKER_DIR": str(root / "work")}
    port, ui_port = free_port(), free_port()
    url, ui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}"
    cluster = Cluster(url, ui)
    log = (root / "cluster.log").open("ab")
    cluster.procs.append(subprocess.Popen(
        [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(ui_port)], env=env, stdout=log, stderr=subprocess.STDOUT))
    for i in range(workers):
        cluster.procs.append(subprocess.Popen(
            [cls, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", str(cores),
             "--memory", memory, "--webui-port", str(free_port()), "--work-dir", str(root / f"work{i}"),
             url], env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cluster.alive_workers() >= workers:
                return cluster
        except OSError:
            pass
        if any(p.poll() is not None for p in cluster.procs):
            break
        time.sleep(1.0)
    cluster.stop()
    raise RuntimeError(f"the standalone cluster did not come up; see {root / 'cluster.log'}")
