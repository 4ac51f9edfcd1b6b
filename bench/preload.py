"""A worker's score cache filled at start: N stored scores read and rendered into response bodies.

Run: `.venv/bin/python -m bench.preload [--firms 200000] [--runs 5] [--db PATH]`.

Builds a champion as bench.serve does, batch-scores FIRMS firms with points and reasons
(scoring.batch.score_frame), and stores the snapshot (with tier, core firms and, for one firm in
ten, red flags), the scores and the model state in SQLite; `--db PATH` keeps that database and
reuses it when it exists, so several versions of the code can be timed on the same rows. Then
`ScoreService.refresh()` (which version to serve, then every score read and rendered, as a worker
does when a version starts serving) runs RUNS times: the median and every run, in seconds and
firms per second. `CHAINCREDIT_SCORE_PRELOAD_MAX` is 200,000 by default, so that is what a worker
pays at start and at every promotion.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("bench.preload")


def extras_for(firms: pd.Index) -> pd.DataFrame:
    """Tier 1 under the first firm; every tenth firm with red flags naming two documents."""
    core = str(firms[0])
    flags: list[list[dict[str, Any]]] = [
        [{"flag": "circular_trade", "count": 2,
          "documents": [{"kind": "invoice", "id": f"INV/{i}/1"}, {"kind": "invoice", "id": f"INV/{i}/2"}]}]
        if i % 10 == 0 else []
        for i in range(len(firms))
    ]
    return pd.DataFrame(
        {"tier": [0] + [1] * (len(firms) - 1), "core_firms": [[]] + [[core]] * (len(firms) - 1),
         "red_flags": flags},
        index=firms,
    )


def build(path: Path, firms: int, train_rows: int) -> str:
    """Score `firms` firms with a fresh champion and store everything in SQLite at `path`."""
    from bench.serve import AS_OF, build_champion
    from store.db import make_engine, upgrade
    from store.feature_snapshots import save_snapshot
    from store.model_state import bump_model_state
    from store.scores import save_scores
    from training.registry import load_champion

    with tempfile.TemporaryDirectory(prefix="bench-preload-") as tmp:
        t0 = time.perf_counter()
        settings, rows, scores = build_champion(Path(tmp), firms, train_rows)
        version = load_champion(settings=settings).version
        log.info("scored %d firms in %.0f s", firms, time.perf_counter() - t0)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    save_snapshot(engine, AS_OF, rows, extras_for(rows.index))
    save_scores(engine, AS_OF, version, scores)
    bump_model_state(engine, version, by="bench")
    engine.dispose()
    return version


def time_preload(path: Path, firms: int, runs: int) -> list[float]:
    from api.serving import ScoreService
    from store.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    out = []
    for i in range(runs):
        service = ScoreService(engine, preload_max=firms)
        t0 = time.perf_counter()
        service.refresh()
        took = time.perf_counter() - t0
        bodies = len(service._cache) // 2  # each body is cached under (firm, None) and (firm, date)
        if bodies != firms:
            raise RuntimeError(f"{bodies} bodies preloaded, not {firms}")
        log.info("run %d: %.2f s, %d bodies", i + 1, took, bodies)
        out.append(took)
        del service
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firms", type=int, default=200_000)
    ap.add_argument("--train-rows", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", type=Path, help="keep the database here (and reuse it when it exists)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-preload-db-") as tmp:
        path = args.db or Path(tmp) / "preload.db"
        if not path.exists():
            build(path, args.firms, args.train_rows)
        runs = time_preload(path, args.firms, args.runs)
    median = statistics.median(runs)
    result = {"firms": args.firms, "runs": runs, "median_s": median, "firms_per_s": args.firms / median,
              "load_avg": round(os.getloadavg()[0], 2)}
    print(f"preload of {args.firms:,} scores: median {median:.2f} s over {len(runs)} runs "
          f"({args.firms / median:,.0f} firms/s); runs {', '.join(f'{r:.2f}' for r in runs)}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
