"""Shared fixtures: a synthetic credit set and a model fitted once per test session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from graph.dictionary import Direction, FeatureSpec
from models.estimator import CreditModel
from tests.models.synth import credit_data


def synth_specs() -> tuple[FeatureSpec, ...]:
    """Dictionary entries for the synthetic columns: f0 risk up, f1 risk down, f7 in CNY."""
    return (
        FeatureSpec("f0", "trade_network", "f0", "f0", Direction.RISK_UP,
                    "{value} of verified sales go to one core firm",
                    "{value}的已核验销售额集中于单一核心企业", "share"),
        FeatureSpec("f1", "intangibles", "f1", "f1", Direction.RISK_DOWN,
                    "Only {value} patents", "仅有{value}件专利", "count"),
        FeatureSpec("f7", "financials", "f7", "f7", Direction.NONE,
                    "Revenue {value} CNY", "营业收入{value}元", "CNY"),
    )


@pytest.fixture(scope="session")
def split_data() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    X, y, _ = credit_data(12_000, seed=3)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=6_000, random_state=0, stratify=y)
    return X_tr, X_te, y_tr, y_te


@pytest.fixture(scope="session")
def fitted(split_data: tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]) -> CreditModel:
    X_tr, _, y_tr, _ = split_data
    return CreditModel(feature_specs=synth_specs(), n_estimators=200, n_jobs=1).fit(X_tr, y_tr)
