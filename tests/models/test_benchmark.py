"""CreditModel against a WOE-binned logistic scorecard, the banks' traditional baseline.

The scorecard: quantile bins (10 per numeric feature, missing as its own bin, each category its
own bin), weight of evidence per bin with +0.5 smoothing, logistic regression on the WOE values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from models.estimator import CreditModel
from tests.models.synth import credit_data


class WoeScorecard:
    def __init__(self, bins: int = 10) -> None:
        self.bins = bins

    def _codes(self, name: str, col: pd.Series) -> np.ndarray:
        if name in self.cats_:
            lookup = {c: i for i, c in enumerate(self.cats_[name])}
            return col.astype(object).map(lookup).fillna(len(lookup)).to_numpy(dtype=np.int64)
        v = col.to_numpy(dtype=np.float64)
        codes = np.searchsorted(self.edges_[name], v, side="right")
        codes[np.isnan(v)] = len(self.edges_[name]) + 1
        return codes

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> WoeScorecard:
        self.cats_: dict[str, list] = {}
        self.edges_: dict[str, np.ndarray] = {}
        self.woe_: dict[str, np.ndarray] = {}
        for name in X.columns:
            col = X[name]
            if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
                self.cats_[name] = sorted(col.dropna().astype(str).unique())
            else:
                qs = np.nanquantile(col.to_numpy(dtype=np.float64), np.linspace(0, 1, self.bins + 1))
                self.edges_[name] = np.unique(qs[1:-1])
            codes = self._codes(name, col)
            size = codes.max() + 2
            bad = np.bincount(codes, weights=y, minlength=size) + 0.5
            good = np.bincount(codes, weights=1 - y, minlength=size) + 0.5
            self.woe_[name] = np.log(good / good.sum()) - np.log(bad / bad.sum())
        self.lr_ = LogisticRegression(max_iter=1000).fit(self._woe(X), y)
        return self

    def _woe(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for name in X.columns:
            table = self.woe_[name]
            cols.append(table[np.minimum(self._codes(name, X[name]), len(table) - 1)])
        return np.column_stack(cols)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.lr_.predict_proba(self._woe(X))


def _compare(n_train: int, capsys) -> tuple[float, float, float]:
    X, y, true_pd = credit_data(n_train + 20_000, seed=21)
    X_tr, X_te, y_tr, y_te, _, pd_te = train_test_split(
        X, y, true_pd, test_size=20_000, random_state=0, stratify=y
    )
    woe = roc_auc_score(y_te, WoeScorecard().fit(X_tr, y_tr).predict_proba(X_te)[:, 1])
    gbm = roc_auc_score(y_te, CreditModel(feature_specs=(), n_jobs=1).fit(X_tr, y_tr)
                        .predict_proba(X_te)[:, 1])
    oracle = roc_auc_score(y_te, pd_te)
    with capsys.disabled():
        print(f"\nn_train={n_train}: AUC CreditModel {gbm:.4f}, WOE scorecard {woe:.4f}, "
              f"oracle {oracle:.4f}")
    return gbm, woe, oracle


def test_beats_woe_scorecard_on_small_data(capsys) -> None:
    gbm, woe, oracle = _compare(3_000, capsys)
    assert gbm >= woe - 0.005
    assert gbm <= oracle + 0.01


@pytest.mark.slow
def test_beats_woe_scorecard_on_large_data(capsys) -> None:
    gbm, woe, oracle = _compare(200_000, capsys)
    assert gbm > woe + 0.005
    assert gbm >= 0.98 * oracle
