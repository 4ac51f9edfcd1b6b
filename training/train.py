"""Train the credit model on a point-in-time dataset and judge it out of time.

The out-of-time set (the latest snapshot dates) is what a promotion compares on, so the figures
here are the ones a model owner reads: AUC, KS, Gini, Brier, calibration error, the stability of
scores between the training and out-of-time periods, and what the graph features add (the same
model trained without them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from common.progress import Progress, report
from training.dataset import PointInTimeDataset
from training.metrics import Evaluation, auc, evaluate, psi

FloatArray = npt.NDArray[np.float64]
EXPLAIN_SAMPLE = 5_000  # rows whose points are averaged for the "mean |points|" plot
FIRM_HOLDOUT = 0.2  # share of firms kept out of training and judged out of time


def held_out_firms(firm_ids: pd.Index, share: float, seed: int = 0) -> npt.NDArray[np.bool_]:
    """A stable pseudo-random `share` of firms (by a keyed hash of the id, so a firm is in or
    out whatever else the data holds, and the same in every run with the same seed)."""
    if share <= 0:
        return np.zeros(len(firm_ids), dtype=bool)
    h = pd.util.hash_array(np.asarray(firm_ids.astype(str), dtype=object), hash_key=f"{seed:016d}")
    return np.asarray((h % np.uint64(1_000_000)) < np.uint64(round(share * 1_000_000)), dtype=bool)


def graph_feature_names(columns: pd.Index) -> list[str]:
    """Columns that come from the transaction graph (dropped for the ablation): everything that
    is not one of models' own firm-profile features (intangibles, financials, firm)."""
    from models.features import PROFILE_FEATURES

    profile = {s.name for s in PROFILE_FEATURES}
    return [c for c in columns if c not in profile]


def mean_abs_points(model: Any, X: pd.DataFrame) -> pd.Series:
    """Average absolute points per feature: points_j = −factor · a · contrib_j, because the
    score is offset − factor · (a · margin + b) and the margin is the sum of contributions."""
    contrib = np.asarray(model.booster_.predict(model.matrix(X), pred_contrib=True), dtype=np.float64)
    scale = model.score_scale_.factor * abs(model.platt_a_)
    values = scale * np.abs(contrib[:, :-1]).mean(axis=0)
    return pd.Series(values, index=list(model.feature_names_), name="mean_abs_points").sort_values(
        ascending=False
    )


def score_of(model: Any, pd_: FloatArray) -> FloatArray:
    return np.asarray(model.score_scale_.score(pd_), dtype=np.float64)


@dataclass
class TrainOutcome:
    model: Any
    ablation_model: Any | None
    train_data: PointInTimeDataset
    oot_data: PointInTimeDataset
    oot: Evaluation
    ablation_oot: Evaluation | None
    oot_all: Evaluation | None  # every out-of-time row, firms seen in training included
    train_auc: float
    psi: float
    pd_train: FloatArray
    pd_oot: FloatArray
    mean_abs_points: pd.Series
    graph_features: list[str]
    model_params: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    firm_holdout: float = 0.0

    @property
    def y_oot(self) -> FloatArray:
        return self.oot_data.y.to_numpy(dtype=np.float64)

    def metrics(self) -> dict[str, float]:
        m = {f"oot_{k}": v for k, v in self.oot.to_dict().items()}
        m["train_auc"] = self.train_auc
        m["psi_train_oot"] = self.psi
        m["n_train"] = float(len(self.train_data))
        m["train_event_rate"] = float(self.train_data.y.mean())
        m["oot_event_rate"] = float(self.oot_data.y.mean())
        m["n_features"] = float(self.train_data.X.shape[1])
        m["n_graph_features"] = float(len(self.graph_features))
        m["firm_holdout"] = float(self.firm_holdout)
        if self.oot_all is not None:
            m["oot_all_firms_auc"] = self.oot_all.auc
            m["oot_all_firms_n"] = float(self.oot_all.n)
        if self.ablation_oot is not None:
            m["ablation_oot_auc"] = self.ablation_oot.auc
            m["graph_auc_gain"] = self.oot.auc - self.ablation_oot.auc
        for k, v in self.seconds.items():
            m[f"seconds_{k}"] = v
        return m

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {f"model_{k}": v for k, v in self.model_params.items()}
        p["train_dates"] = ",".join(str(d) for d in self.train_data.dates)
        p["oot_dates"] = ",".join(str(d) for d in self.oot_data.dates)
        p["horizon_months"] = self.train_data.horizon_months
        p["n_trees"] = int(getattr(self.model, "n_trees_", 0))
        return p


def _fit(params: Mapping[str, Any], X: pd.DataFrame, y: pd.Series) -> Any:
    from models import CreditModel

    return CreditModel(**params).fit(X, y.to_numpy(dtype=np.int64))


def train_and_evaluate(
    data: PointInTimeDataset,
    *,
    model_params: Mapping[str, Any] | None = None,
    oot_dates: int | None = None,
    oot_fraction: float = 0.25,
    ablation: bool = True,
    firm_holdout: float = FIRM_HOLDOUT,
    explain_sample: int = EXPLAIN_SAMPLE,
    random_state: int = 0,
    progress: Progress | None = None,
) -> TrainOutcome:
    """Fit on the earlier dates, evaluate on the later ones; unlabelled rows are ignored.

    `firm_holdout` (default 0.2): that share of firms is left out of training altogether, and
    the out-of-time figures are measured on them only. Rows of one firm at successive month
    ends share most of their 12-month feature windows and often their label, so a model that
    saw a firm in training partly recognises it out of time, which flatters the AUC; a firm it
    has never seen is what a bank scores for a new borrower. The AUC on every out-of-time row
    is still reported (`oot_all_firms_auc`). 0 restores the plain split by date.
    """
    labelled = data.labelled()
    train, oot_every = labelled.split_out_of_time(oot_dates=oot_dates, oot_fraction=oot_fraction)
    oot = oot_every
    if firm_holdout > 0:
        train_firms = train.X.index.get_level_values("firm_id")
        oot_firms = oot_every.X.index.get_level_values("firm_id")
        train = train.take(~held_out_firms(train_firms, firm_holdout, random_state))
        oot = oot_every.take(held_out_firms(oot_firms, firm_holdout, random_state))
        if oot.y.nunique() < 2:
            raise ValueError(
                f"the {len(oot)} out-of-time rows of held-out firms need both defaults and "
                "non-defaults; use more data, a larger firm_holdout, or firm_holdout=0"
            )
    for name, part in (("training", train), ("out-of-time", oot)):
        if part.y.nunique() < 2:
            raise ValueError(f"the {name} set ({len(part)} rows) needs both defaults and non-defaults")
    params = dict(model_params or {})
    steps = 4 if ablation else 3
    seconds: dict[str, float] = {}

    report(progress, f"train: training on {len(train):,} rows", 0, steps)
    t0 = time.perf_counter()
    model = _fit(params, train.X, train.y)
    seconds["fit"] = time.perf_counter() - t0

    report(progress, f"train: evaluating on {len(oot):,} out-of-time rows", 1, steps)
    t0 = time.perf_counter()
    pd_train = np.asarray(model.predict_proba(train.X)[:, 1], dtype=np.float64)
    pd_oot = np.asarray(model.predict_proba(oot.X)[:, 1], dtype=np.float64)
    y_oot = oot.y.to_numpy(dtype=np.float64)
    oot_eval = evaluate(y_oot, pd_oot)
    oot_all = None
    if oot is not oot_every and oot_every.y.nunique() == 2:
        pd_every = np.asarray(model.predict_proba(oot_every.X)[:, 1], dtype=np.float64)
        oot_all = evaluate(oot_every.y.to_numpy(dtype=np.float64), pd_every)
    train_auc = auc(train.y.to_numpy(dtype=np.float64), pd_train)
    stability = psi(score_of(model, pd_train), score_of(model, pd_oot))
    seconds["evaluate"] = time.perf_counter() - t0

    report(progress, "train: explaining a sample", 2, steps)
    rng = np.random.default_rng(random_state)
    take = min(explain_sample, len(oot))
    rows = np.sort(rng.choice(len(oot), size=take, replace=False))
    points = mean_abs_points(model, oot.X.iloc[rows])

    graph_cols = graph_feature_names(train.X.columns)
    ablation_model = None
    ablation_eval = None
    if ablation and graph_cols and len(graph_cols) < train.X.shape[1]:
        report(progress, "train: ablation without graph features", 3, steps)
        t0 = time.perf_counter()
        ablation_model = _fit(params, train.X.drop(columns=graph_cols), train.y)
        pd_abl = ablation_model.predict_proba(oot.X.drop(columns=graph_cols))[:, 1]
        ablation_eval = evaluate(y_oot, pd_abl)
        seconds["ablation"] = time.perf_counter() - t0
    report(progress, "train: done", steps, steps)
    return TrainOutcome(
        model=model,
        ablation_model=ablation_model,
        train_data=train,
        oot_data=oot,
        oot=oot_eval,
        ablation_oot=ablation_eval,
        oot_all=oot_all,
        train_auc=train_auc,
        psi=stability,
        pd_train=pd_train,
        pd_oot=pd_oot,
        mean_abs_points=points,
        graph_features=graph_cols,
        model_params=params,
        seconds=seconds,
        firm_holdout=firm_holdout,
    )
