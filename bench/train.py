"""Training and batch-scoring throughput (issue 5, "How good").

`python -m bench.train [--rows 500000] [--features 60] [--score-rows 1000000] [--store]`:
1. trains CreditModel on ROWS × FEATURES synthetic rows (features named from the real dictionary,
   so monotone constraints and reason wording apply), evaluates it out of time with the ablation,
   and logs everything to a throw-away local MLflow store — target < 3 min;
2. scores SCORE_ROWS firms with points and reasons (JSON built as stored) and writes Parquet —
   target < 5 min; `--store` also saves them into a throw-away SQLite database.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

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
    from training.batch_score import score_frame
    from training.dataset import PointInTimeDataset
    from training.registry import log_training_run
    from training.settings import TrainingSettings
    from training.train import train_and_evaluate

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--features", type=int, default=60)
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--store", action="store_true", help="also save the scores into SQLite")
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
        t0 = time.perf_counter()
        scores = score_frame(out.model, to_score, progress=progress)
        t_score = time.perf_counter() - t0
        t1 = time.perf_counter()
        scores.loc[:, ["firm_id", "pd", "score", "grade", "limit", "reasons"]].to_parquet(Path(tmp) / "s.parquet")
        t_write = time.perf_counter() - t1
        result.update(
            score_rows=args.score_rows,
            score_seconds=round(t_score, 1),
            write_parquet_seconds=round(t_write, 1),
            target_score_seconds=300,
            score_us_per_row=round(1e6 * t_score / args.score_rows, 1),
        )
        if args.store:
            from datetime import date

            from store.db import make_engine, upgrade
            from store.snapshots import save_scores

            engine = make_engine(f"sqlite:///{Path(tmp) / 'cc.db'}")
            upgrade(engine)
            t1 = time.perf_counter()
            save_scores(engine, date(2024, 12, 31), "1", scores)
            result["store_sqlite_seconds"] = round(time.perf_counter() - t1, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
