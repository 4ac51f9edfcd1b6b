from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.utils import estimator_checks as ec

from models.estimator import CreditModel
from tests.models.conftest import synth_specs
from tests.models.synth import credit_data


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-frequency bins of predicted PD."""
    order = np.argsort(p)
    err = 0.0
    for idx in np.array_split(order, bins):
        err += len(idx) / len(p) * abs(p[idx].mean() - y[idx].mean())
    return err


def test_params_are_stored_untouched_and_clone_works() -> None:
    specs = synth_specs()
    m = CreditModel(num_leaves=7, feature_specs=specs, calibration_folds=3)
    assert m.get_params()["num_leaves"] == 7
    assert m.get_params()["feature_specs"] is specs
    c = clone(m)
    assert c.get_params()["num_leaves"] == 7 and c.get_params()["calibration_folds"] == 3
    assert not hasattr(c, "booster_")
    c.set_params(learning_rate=0.1)
    assert c.learning_rate == 0.1 and m.learning_rate is None  # None: chosen by size in fit


@pytest.mark.parametrize(
    "check",
    [
        ec.check_no_attributes_set_in_init,
        ec.check_parameters_default_constructible,
        ec.check_get_params_invariance,
        ec.check_set_params,
        ec.check_dont_overwrite_parameters,
        ec.check_estimators_overwrite_params,
        ec.check_fit2d_predict1d,
        ec.check_n_features_in,
        ec.check_estimators_unfitted,
        ec.check_classifiers_one_label_sample_weights,
    ],
    ids=lambda c: c.__name__,
)
def test_sklearn_checks_that_apply(check) -> None:
    check("CreditModel", CreditModel(n_estimators=20, feature_specs=(), n_jobs=1))


def test_cross_val_score(split_data) -> None:
    X_tr, _, y_tr, _ = split_data
    scores = cross_val_score(
        CreditModel(feature_specs=synth_specs(), n_estimators=150, n_jobs=1), X_tr, y_tr,
        cv=3, scoring="roc_auc",
    )
    assert scores.shape == (3,)
    assert scores.min() > 0.8


def test_fitted_model_discriminates_and_is_compact(fitted, split_data) -> None:
    _, X_te, _, y_te = split_data
    p = fitted.predict_proba(X_te)
    assert p.shape == (len(X_te), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert roc_auc_score(y_te, p[:, 1]) > 0.85
    assert set(np.unique(fitted.predict(X_te))) <= {0, 1}
    assert 1 <= fitted.n_trees_ <= 200
    assert fitted.categories_["sector"] == ["A", "B", "C", "D", "E"]


def test_monotone_constraints_respected(fitted, split_data) -> None:
    _, X_te, _, _ = split_data
    assert fitted.monotone_constraints()["f0"] == 1
    assert fitted.monotone_constraints()["f1"] == -1
    assert fitted.monotone_constraints()["sector"] == 0
    rows = X_te.iloc[:300]
    grid = np.linspace(-4, 4, 25)
    pd_up = np.column_stack(
        [fitted.predict_proba(rows.assign(f0=v))[:, 1] for v in grid]
    )
    assert (np.diff(pd_up, axis=1) >= -1e-12).all()  # RISK_UP: PD never decreases
    assert (pd_up[:, -1] > pd_up[:, 0]).mean() > 0.9  # and the feature does matter
    pd_down = np.column_stack(
        [fitted.predict_proba(rows.assign(f1=v))[:, 1] for v in grid]
    )
    assert (np.diff(pd_down, axis=1) <= 1e-12).all()  # RISK_DOWN: PD never increases


@pytest.mark.parametrize("folds", ["auto", 0])
def test_calibration_on_held_out_data(folds) -> None:
    X, y, _ = credit_data(40_000, seed=11)
    m = CreditModel(feature_specs=synth_specs(), calibration_folds=folds, n_estimators=200, n_jobs=1)
    m.fit(X.iloc[:20_000], y[:20_000])
    p = m.predict_proba(X.iloc[20_000:])[:, 1]
    assert ece(p, y[20_000:]) < 0.02
    assert m.platt_a_ > 0


def test_numpy_input_unknown_categories_and_missing_values(fitted, split_data) -> None:
    _, X_te, _, _ = split_data
    odd = X_te.iloc[:50].copy()
    odd["sector"] = pd.Series(["Z"] * 50, index=odd.index, dtype="category")
    odd.loc[odd.index[:10], "f2"] = np.nan
    p = fitted.predict_proba(odd)[:, 1]
    assert np.isfinite(p).all()
    numeric = X_te.drop(columns="sector").iloc[:200]
    m = CreditModel(feature_specs=(), n_estimators=30, n_jobs=1).fit(
        numeric.to_numpy(), np.arange(200) % 3 == 0
    )
    assert m.feature_names_ == [f"x{i}" for i in range(numeric.shape[1])]
    assert not hasattr(m, "feature_names_in_")
    assert m.predict_proba(numeric.to_numpy()).shape == (200, 2)
    with pytest.raises(ValueError, match="lacks features"):
        fitted.predict_proba(X_te.drop(columns="f3"))


def test_string_labels_and_progress() -> None:
    X, y, _ = credit_data(3_000, seed=5)
    seen: list[tuple[str, int, int]] = []
    labels = np.where(y == 1, "default", "good")
    m = CreditModel(feature_specs=synth_specs(), n_estimators=40, n_jobs=1)
    m.fit(X, labels, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert list(m.classes_) == ["default", "good"]
    assert {s for s, _, _ in seen} == {"cv", "train", "calibrate"}
    assert seen[-1] == ("calibrate", 1, 1)


def test_rejects_more_than_two_classes() -> None:
    X, _, _ = credit_data(300, seed=1)
    with pytest.raises(ValueError, match="binary"):
        CreditModel(feature_specs=()).fit(X, np.arange(300) % 3)
