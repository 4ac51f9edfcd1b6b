"""Training and out-of-time evaluation on a synthetic dataset with a known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.factories import FAST_MODEL, synthetic_dataset
from training import metrics
from training.train import TrainOutcome, graph_feature_names, train_and_evaluate


def test_out_of_time_split_and_figures(outcome: TrainOutcome) -> None:
    assert max(outcome.train_data.dates) < min(outcome.oot_data.dates)
    assert len(outcome.oot_data.dates) == 2
    m = outcome.metrics()
    assert m["oot_auc"] > 0.75
    assert m["oot_gini"] == pytest.approx(2 * m["oot_auc"] - 1)
    assert m["oot_auc"] == pytest.approx(metrics.auc(outcome.y_oot, outcome.pd_oot))
    assert 0 <= m["oot_ece"] < 0.05
    assert m["psi_train_oot"] < 0.1  # same population every month
    assert m["oot_n"] == len(outcome.oot_data)


def test_ablation_drops_graph_features_and_loses_auc(outcome: TrainOutcome) -> None:
    assert set(outcome.graph_features) == {"chain_credit", "verified_share_sales", "verified_sales_12m_cny"}
    assert outcome.ablation_oot is not None
    assert outcome.ablation_model is not None and outcome.ablation_model.n_features_in_ == 2
    assert outcome.metrics()["graph_auc_gain"] > 0.05


def test_mean_abs_points_ranks_the_strong_feature_first(outcome: TrainOutcome) -> None:
    pts = outcome.mean_abs_points
    assert pts.index[0] == "chain_credit"
    assert (pts >= 0).all() and set(pts.index) == set(outcome.model.feature_names_)


def test_graph_names_are_everything_but_profile() -> None:
    import pandas as pd

    cols = pd.Index(["chain_credit", "fin_leverage", "firm_age_years", "hhi_customers"])
    assert graph_feature_names(cols) == ["chain_credit", "hhi_customers"]


def test_unlabelled_rows_ignored_and_single_class_rejected() -> None:
    data = synthetic_dataset(n_firms=300, n_dates=3, seed=1)
    flat = type(data)(data.X, data.y * 0)
    with pytest.raises(ValueError, match="both"):
        train_and_evaluate(flat, model_params=FAST_MODEL, oot_dates=1, ablation=False)
    blank = data.y.astype("Float64")
    blank.iloc[: len(blank) // 3] = np.nan
    partial = type(data)(data.X, blank.astype("Int8"))
    out = train_and_evaluate(partial, model_params=FAST_MODEL, oot_dates=1, ablation=False,
                             firm_holdout=0.0)
    assert len(out.train_data) + len(out.oot_data) == partial.y.notna().sum()


def test_out_of_time_firms_were_never_trained_on(outcome: TrainOutcome) -> None:
    from training.train import held_out_firms

    train_firms = set(outcome.train_data.X.index.get_level_values("firm_id"))
    oot_firms = set(outcome.oot_data.X.index.get_level_values("firm_id"))
    assert outcome.firm_holdout == 0.2
    assert not train_firms & oot_firms
    n_all = len(train_firms | oot_firms)
    assert 0.1 < len(oot_firms) / n_all < 0.3
    m = outcome.metrics()
    assert m["oot_all_firms_n"] > m["oot_n"] and 0.5 < m["oot_all_firms_auc"] <= 1.0
    ids = pd.Index([f"F{i}" for i in range(50)])
    np.testing.assert_array_equal(held_out_firms(ids, 0.3), held_out_firms(ids[::-1], 0.3)[::-1])
    assert not held_out_firms(ids, 0.0).any()
