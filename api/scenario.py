"""What if core firms fail: DebtRank distress over the trade graph, and how scores would move.

Distress is graph.core_default_scenario, the exact DebtRank (run to convergence) over the edge
table of the latest snapshot date: W[i, j] = receivables firm i holds on firm j / i's buffer,
the buffer being i's verified sales over the window (DESIGN.md §7 "Graph defaults").

The score move is an approximation, stated in every response (`method`): the firm's stored
feature vector is taken as it is, its DebtRank-exposure feature (`net_debtrank_exposure`: the
distress it would take if its largest core customer failed) is raised to the scenario's
distress where that is higher, and the champion model scores both vectors. Everything else a
real failure would change (counterparty distress, overdue payables, lost sales) is left
unchanged, so the move is the model's reaction to this one feature: a lower bound on the harm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from api.graph_data import GraphData
from store.feature_snapshots import load_snapshot_rows

EXPOSURE_FEATURE = "net_debtrank_exposure"
METHOD = (
    "distress: exact DebtRank (linear, to convergence) over unpaid receivables relative to each "
    "firm's 12-month verified sales; score move: the champion re-scores the stored feature "
    f"vector with {EXPOSURE_FEATURE} raised to the scenario distress, all other features "
    "unchanged (a lower bound on the model's reaction)"
)
MIN_DISTRESS = 1e-9


class UnknownCoreFirms(LookupError):
    def __init__(self, firms: Sequence[str], as_of: date) -> None:
        super().__init__(
            f"not in the trade graph as of {as_of}: {', '.join(firms)} "
            "(a core firm needs trade documents on or before that date)"
        )
        self.firms = list(firms)


@dataclass(frozen=True)
class ScenarioResult:
    as_of: date
    distress: pd.DataFrame  # firm_id, distress, shocked: every firm hit, most distressed first
    moves: pd.DataFrame | None  # firm_id index: pd/score/grade before and after
    model_version: str | None


def _predict(model: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
    score = np.asarray(model.score_scale_.score(p), dtype=np.float64)
    grade = np.asarray(model.grade_scale_.grade(p), dtype=object)
    return p, score, grade


def score_moves(model: Any, features: pd.DataFrame, distress: pd.Series) -> pd.DataFrame:
    """pd/score/grade before and after raising the exposure feature to `distress` (same index)."""
    names = list(model.feature_names_)
    X = features.reindex(columns=names)
    after = X.copy()
    if EXPOSURE_FEATURE in after.columns:
        current = after[EXPOSURE_FEATURE].to_numpy(dtype=np.float64)
        hit = distress.reindex(after.index).fillna(0.0).to_numpy(dtype=np.float64)
        after[EXPOSURE_FEATURE] = np.fmax(current, hit)  # fmax: a missing value takes the distress
    p0, s0, g0 = _predict(model, X)
    p1, s1, g1 = _predict(model, after)
    return pd.DataFrame(
        {"pd_before": p0, "pd_after": p1, "score_before": s0, "score_after": s1,
         "score_change": s1 - s0, "grade_before": g0, "grade_after": g1},
        index=X.index,
    )


def run_scenario(
    engine: Engine,
    data: GraphData,
    core_ids: Sequence[str],
    shock: float,
    load_model: Callable[[], tuple[str, Any]] | None,
) -> ScenarioResult:
    import graph

    edges = data.edges
    known = set(edges["seller_id"]).union(edges["buyer_id"]) if len(edges) else set()
    unknown = [c for c in core_ids if c not in known]
    if unknown:
        raise UnknownCoreFirms(unknown, data.as_of)
    dist = graph.core_default_scenario(edges, list(core_ids), shock)
    hit = dist[(dist["distress"] > MIN_DISTRESS) | dist["shocked"]].reset_index(drop=True)
    moves = None
    version = None
    if load_model is not None:
        version, model = load_model()
        others = hit[~hit["shocked"]]
        feats = load_snapshot_rows(engine, others["firm_id"].tolist(), data.as_of)
        if len(feats):
            moves = score_moves(model, feats, others.set_index("firm_id")["distress"])
    return ScenarioResult(data.as_of, hit, moves, version)


def firm_rows(
    result: ScenarioResult, names: dict[str, str], shown: set[str] | None, limit: int
) -> list[dict[str, Any]]:
    """The response rows of the firms shown (None: all), most distressed first, at most `limit`."""
    d = result.distress
    if shown is not None:
        d = d[d["firm_id"].isin(list(shown))]
    d = d.head(limit).set_index("firm_id")
    if result.moves is not None:
        d = d.join(result.moves, how="left")
    d = d.astype(object).where(d.notna(), None)
    rows: list[dict[str, Any]] = []
    for firm, rec in zip(d.index, d.to_dict("records"), strict=True):
        row = {"firm_id": str(firm), "name": names.get(str(firm)), **{str(k): v for k, v in rec.items()}}
        row["shocked"] = bool(row["shocked"])
        rows.append(row)
    return rows


class ChampionCache:
    """The champion model of this worker for what-if scoring, reloaded when the generation of
    the model_state row changes (a promotion or a reload)."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._value: tuple[str, Any] | None = None
        self._lock = threading.Lock()

    def get(self, generation: int, loader: Callable[[], tuple[str, Any]]) -> tuple[str, Any]:
        with self._lock:
            if self._value is None or self._generation != generation:
                self._value = loader()
                self._generation = generation
            return self._value


def registry_model() -> tuple[str, Any]:
    """The MLflow champion (version, model) through training.registry."""
    from training.registry import load_champion

    champion = load_champion()
    return champion.version, champion.model
