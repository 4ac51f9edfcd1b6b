"""Metrics against values worked out by hand (and, where one exists, against scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from training import metrics

Y = np.array([0, 0, 1, 1, 0, 1])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])


def test_auc_by_hand() -> None:
    # Positive scores 0.35, 0.8, 0.9 vs negatives 0.1, 0.4, 0.2: pairs won 2 + 3 + 3 = 8 of 9.
    assert metrics.auc(Y, P) == pytest.approx(8 / 9)
    assert metrics.gini(Y, P) == pytest.approx(2 * 8 / 9 - 1)


def test_auc_ties_count_half() -> None:
    assert metrics.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    # One positive tied with one of two negatives, above the other: (1 + 0.5) / 2.
    assert metrics.auc([0, 0, 1], [0.2, 0.5, 0.5]) == pytest.approx(0.75)


def test_auc_matches_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 5000)
    p = np.round(rng.random(5000) + 0.3 * y, 2)  # rounding makes many ties
    assert metrics.auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_ks_by_hand() -> None:
    # Descending scores: .9(1) .8(1) .4(0) .35(1) .2(0) .1(0); TPR - FPR after each:
    # 1/3, 2/3, 2/3-1/3, 1-1/3, 1-2/3, 0 -> max 2/3.
    assert metrics.ks(Y, P) == pytest.approx(2 / 3)


def test_ks_does_not_split_ties() -> None:
    # All scores equal: no threshold separates anything.
    assert metrics.ks([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.0)


def test_brier_by_hand() -> None:
    expected = (0.01 + 0.16 + 0.4225 + 0.04 + 0.04 + 0.01) / 6
    assert metrics.brier(Y, P) == pytest.approx(expected)


def test_ece_by_hand_two_bins() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.6, 0.8])
    # Bin 1 {0.1, 0.3}: mean p 0.2, rate 0; bin 2 {0.6, 0.8}: mean p 0.7, rate 1.
    assert metrics.ece(y, p, n_bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.3)
    # Uniform bins on [0,1] with 2 bins give the same split here.
    assert metrics.ece(y, p, n_bins=2, strategy="uniform") == pytest.approx(0.25)


def test_ece_is_zero_for_perfect_calibration_and_small_for_sampled() -> None:
    assert metrics.ece([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=1) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.0, 0.2, 200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert metrics.ece(y, p) < 0.005
    assert metrics.ece(y, np.clip(p + 0.05, 0, 1)) == pytest.approx(0.05, abs=0.005)


def test_psi_by_hand() -> None:
    ref = np.arange(10, dtype=float)  # deciles cut at 0.9, 1.8, ..., one value per bin
    assert metrics.psi(ref, ref) == pytest.approx(0.0)
    # Actual: all ten values in the first bin -> a = [1, 0(floored), ...], e = 0.1 each.
    act = np.zeros(10)
    floor = 1e-6
    expected = (1 - 0.1) * math.log(1 / 0.1) + 9 * (floor - 0.1) * math.log(floor / 0.1)
    assert metrics.psi(ref, act) == pytest.approx(expected)


def test_psi_half_shift() -> None:
    ref = np.arange(100, dtype=float)
    act = np.r_[np.arange(50, dtype=float), np.arange(50, dtype=float)]  # lower half doubled
    # Bins 1-5 get 0.2 each, bins 6-10 get 0: 5·(0.1·ln2) + 5·(floor − 0.1)·ln(floor/0.1).
    floor = 1e-6
    expected = 5 * 0.1 * math.log(2) + 5 * (floor - 0.1) * math.log(floor / 0.1)
    assert metrics.psi(ref, act) == pytest.approx(expected)


def test_evaluate_bundles_and_rejects_bad_input() -> None:
    ev = metrics.evaluate(Y, P, n_bins=2)
    assert ev.n == 6 and ev.events == 3
    assert ev.gini == pytest.approx(2 * ev.auc - 1)
    with pytest.raises(ValueError, match="both"):
        metrics.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        metrics.brier([0, np.nan], [0.1, 0.2])
