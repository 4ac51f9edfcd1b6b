"""Training and batch-scoring throughput (issue 5, "How good").

`python -m bench.train [--rows 500000] [--features 60] [--score-rows 1000000] [--store]
[--chunk-rows 50000] [--workers 2]`:
1. trains CreditModel on ROWS × FEATURES synthetic rows (features named from the real dictionary,
   so monotone constraints and reason wording apply), evaluates it out of time with the ablation,
   and logs everything to a throw-away local MLflow store — target < 3 min;
2. scores SCORE_ROWS firms with points and reasons (JSON built as stored) as `chaincredit score
   --all` does, in chunks on both cores streamed to Parquet — target < 5 min; `--store` also
   spools them and saves them into a throw-away SQLite database in one transaction. It reports
   the model's size (trees, leaves, depth: TreeSHAP's cost), CPU and wall time, and the peak
   RSS of the scoring phase alone, which the chunk size bounds.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

log = logging.getLogger("bench.train")


def feature_names(k: int) -> list[str]:
    from models.features import feature_dictionary

    names = [s.name for s in feature_dictionary() if not s.categorical][:k]
    return names + [f"extra_{i}" for i in range(k - len(names))]


def synthetic(rows: int, k: int, n_dates: int, seed: int) -> pd.DataFrame:
    """(as_of, firm_id)-indexed features and a label whose log-odds use a dozen of them."""
    from models.features import feature_dictionary

    rng = np.random.default_rng(seed)
    names = feature_names(k)
    X = rng.normal(size=(rows, k)).astype(np.float64)
    X[rng.random((rows, k)) < 0.05] = np.nan
    direction = {s.name: int(s.direction) for s in feature_dictionary()}
    logit = np.full(rows, -3.3)
    for j in range(min(12, k)):
        sign = direction.get(names[j], 1) or 1
        logit += sign * (0.5 / (1 + j / 4)) * np.nan_to_num(X[:, j])
    y = (rng.random(rows) < expit(logit)).astype(np.int8)
    per = rows // n_dates
    months = pd.date_range("2023-01-31", periods=n_dates, freq="ME")
    dates = np.minimum(np.arange(rows) // per, n_dates - 1)
    as_of = months[dates]
    idx = pd.MultiIndex.from_arrays([as_of, [f"F{i:07d}" for i in range(rows)]], names=["as_of", "firm_id"])
    frame = pd.DataFrame(X, index=idx, columns=names)
    frame["label"] = y
    return frame


def main() -> None:
    from scoring.batch import CHUNK_ROWS
    from training.dataset import PointInTimeDataset
    from training.registry import log_training_run
    from training.settings import TrainingSettings
    from training.train import train_and_evaluate

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--features", type=int, default=60)
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--store", action="store_true", help="also save the scores into SQLite")
    ap.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows scored at once per worker")
    ap.add_argument("--workers", type=int, default=None, help="chunks scored at once (default: 2 cores)")
    ap.add_argument("--no-ablation", action="store_true")
    # Every synthetic row is its own firm, so holding firms out only shrinks the training set.
    ap.add_argument("--firm-holdout", type=float, default=0.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def progress(done: int, total: int, what: str) -> None:
        log.info("%s/%s %s", done, total, what)

    frame = synthetic(args.rows, args.features, 8, seed=1)
    y = frame.pop("label").astype("Int8")
    data = PointInTimeDataset(frame, y)
    result: dict[str, object] = {"rows": args.rows, "features": args.features}
    with tempfile.TemporaryDirectory() as tmp:
        settings = TrainingSettings(
            mlflow_tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}",
            mlflow_artifact_root=(Path(tmp) / "artifacts").as_uri(),
            chaincredit_data_dir=Path(tmp) / "var",
        )
        t0 = time.perf_counter()
        out = train_and_evaluate(data, oot_dates=2, ablation=not args.no_ablation,
                                 firm_holdout=args.firm_holdout, progress=progress)
        t_train = time.perf_counter() - t0
        t1 = time.perf_counter()
        logged = log_training_run(out, settings=settings, progress=progress)
        t_log = time.perf_counter() - t1
        result.update(
            train_eval_seconds=round(t_train, 1),
            mlflow_log_seconds=round(t_log, 1),
            total_train_seconds=round(t_train + t_log, 1),
            target_train_seconds=180,
            oot_auc=round(out.oot.auc, 4),
            n_trees=int(out.model.n_trees_),
            train_rows=len(out.train_data),
            fit_seconds={k: round(v, 1) for k, v in out.seconds.items()},
            version=logged.version,
        )
        log.info("train: %s", result)

        to_score = synthetic(args.score_rows, args.features, 1, seed=2).drop(columns="label")
        to_score.index = to_score.index.get_level_values("firm_id")
        result.update(model_shape(out.model), score_rows=args.score_rows, target_score_seconds=300)
        result.update(score(out.model, to_score, Path(tmp), args, progress))
    print(json.dumps(result, indent=2))


def model_shape(model: Any) -> dict[str, Any]:
    """Trees, leaves and depth: what TreeSHAP's cost grows with (trees × leaves × depth²)."""
    def depth(node: dict[str, Any]) -> int:
        if "leaf_index" in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    trees = model.booster_.dump_model()["tree_info"]
    leaves = np.array([t["num_leaves"] for t in trees])
    depths = np.array([depth(t["tree_structure"]) for t in trees])
    return {
        "model_trees": len(trees),
        "model_mean_leaves": round(float(leaves.mean()), 1),
        "model_max_depth": int(depths.max()),
        "model_treeshap_cost": int((leaves * depths**2).sum()),
    }


def _reset_peak_rss() -> bool:
    """Linux: restart the process's peak-RSS counter, so the scoring phase reports its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_gib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


def score(model: Any, to_score: pd.DataFrame, tmp: Path, args: argparse.Namespace,
          progress: Any) -> dict[str, Any]:
    """Score as `chaincredit score --all` does: chunks on both cores, streamed to Parquet and a
    compressed spool, then (--store) into SQLite in one transaction."""
    from scoring.batch import ScoreFile, score_chunks, store_scores

    chunks = score_chunks(model, to_score, chunk_rows=args.chunk_rows, workers=args.workers,
                          progress=lambda d, t, w: progress(d, t, w))
    reset = _reset_peak_rss()
    c0, t0 = time.process_time(), time.perf_counter()
    if args.store:
        from datetime import date

        from store.db import make_engine, upgrade

        engine = make_engine(f"sqlite:///{tmp / 'cc.db'}")
        upgrade(engine)
        timed = _Timed(chunks)
        n = store_scores(engine, date(2024, 12, 31), "1", timed, out=tmp / "s.parquet", spool_dir=tmp)
        t_score = timed.seconds
        t_total = time.perf_counter() - t0
        extra = {"store_sqlite_seconds": round(t_total - (timed.finished - t0), 1)}
    else:
        sink = ScoreFile(tmp / "s.parquet")
        timed = _Timed(chunks)
        n = 0
        for chunk in timed:
            sink.write(chunk)
            n += len(chunk)
        sink.close()
        t_score = timed.seconds
        t_total = time.perf_counter() - t0
        extra = {}
    return {
        "scored": n,
        "score_seconds": round(t_score, 1),
        "write_seconds": round(t_total - t_score - extra.get("store_sqlite_seconds", 0.0), 1),
        "score_total_seconds": round(t_total, 1),
        "score_cpu_seconds": round(time.process_time() - c0, 1),
        "score_us_per_row": round(1e6 * t_score / max(n, 1), 1),
        "score_peak_rss_gib": _peak_rss_gib() if reset else None,
        "chunk_rows": args.chunk_rows,
        **extra,
    }


class _Timed:
    """Iterates the scored chunks, adding up the wall time spent producing them."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self.seconds = 0.0
        self.finished = 0.0  # perf_counter when the last chunk had been consumed

    def __iter__(self) -> _Timed:
        return self

    def __next__(self) -> pd.DataFrame:
        t0 = time.perf_counter()
        try:
            return next(self._chunks)  # type: ignore[no-any-return]
        except StopIteration:
            self.finished = time.perf_counter()
            raise
        finally:
            self.seconds += time.perf_counter() - t0


if __name__ == "__main__":
    main()
