from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.scoring import GradeScale, LimitPolicy, ScoreScale, suggested_limit


def test_default_scale_is_600_at_50_to_1_with_pdo_20() -> None:
    s = ScoreScale()
    assert s.factor == pytest.approx(20 / math.log(2))
    assert s.score([1 / 51])[0] == pytest.approx(600.0)
    assert s.score([1 / 101])[0] == pytest.approx(620.0, abs=0.05)  # odds ~doubled
    assert s.score([1 / 26])[0] == pytest.approx(580.0, abs=0.05)
    p = np.array([0.001, 0.02, 0.3, 0.9])
    np.testing.assert_allclose(s.pd_from_score(s.score(p)), p, rtol=1e-10)
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(s.score_from_logit(logit), s.score(p), rtol=1e-12)


def test_scale_is_configurable_and_serialisable() -> None:
    s = ScoreScale(base_score=500, base_odds=20, pdo=40)
    assert s.score([1 / 21])[0] == pytest.approx(500.0)
    assert ScoreScale.from_dict(s.to_dict()) == s


def test_grades_follow_pd_bands() -> None:
    g = GradeScale()
    pds = np.array([0.0, 0.0005, 0.00051, 0.002, 0.005, 0.02, 0.05, 0.1, 0.3, 0.5, 1.0])
    assert list(g.grade(pds)) == [
        "AAA", "AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "C",
    ]
    idx = g.index(np.linspace(0, 1, 1001))
    assert (np.diff(idx) >= 0).all()  # higher PD never gets a better grade
    assert GradeScale.from_dict(g.to_dict()) == g
    with pytest.raises(ValueError):
        GradeScale((("A", 0.5, 1.0), ("B", 0.2, 1.0)))


def test_suggested_limit_formula() -> None:
    feats = pd.DataFrame(
        {
            "net_sales_cny": [3_650_000.0, 3_650_000.0, np.nan, 1_000_000.0],
            "ver_sales_share": [0.5, 0.5, 0.9, 1.0],
            "net_core_sales_share": [0.4, 0.4, 0.5, 0.0],
            "pay_days_to_be_paid": [90.0, np.nan, 30.0, 60.0],
        }
    )
    pds = np.array([0.001, 0.02, 0.001, 0.5])
    out = suggested_limit(feats, pds)
    assert out.dtype == np.int64
    # row 0: R = 3.65M·0.4·90/365 = 360,000; S = 1.825M; base = 288,000 + 182,500; AA ×1.0
    assert out[0] == 470_000 * 100
    # row 1: default 60 days -> R = 240,000; base = 192,000 + 182,500 = 374,500; BB ×0.6
    assert out[1] == int(np.floor(374_500 * 0.6 / 1000) * 1000) * 100
    assert out[2] == 0  # no proven sales, no limit
    assert out[3] == 0  # grade C: no limit
    explicit = feats.assign(verified_receivables_core_cny=[100_000.0, 0, 0, 0])
    assert suggested_limit(explicit, pds)[0] == (80_000 + 182_000) * 100
    assert LimitPolicy.from_dict(LimitPolicy().to_dict()) == LimitPolicy()
