from __future__ import annotations

import time

import numpy as np
import pandas as pd

from graph.dictionary import Direction, FeatureSpec
from models.explain import display_values, explain, fill_template


def test_points_add_up_to_the_score_on_many_rows(fitted, split_data) -> None:
    _, X_te, _, _ = split_data
    ex = explain(fitted, X_te)
    total = ex.summary["base_points"].to_numpy() + ex.points.sum(axis=1).to_numpy()
    # the score from the plain prediction path (raw margin, Platt, scale), not from contributions
    score = fitted.score_scale_.score_from_logit(fitted.decision_function(X_te))
    np.testing.assert_allclose(total, score, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ex.summary["score"], score, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ex.summary["pd"], fitted.predict_proba(X_te)[:, 1], atol=1e-12)
    assert ex.summary["base_points"].nunique() == 1
    assert list(ex.points.columns) == fitted.feature_names_
    assert (ex.summary["grade"] == fitted.grade_scale_.grade(ex.summary["pd"])).all()


def test_reasons_are_the_most_costly_features_worded_from_the_dictionary(fitted, split_data):
    _, X_te, _, _ = split_data
    ex = explain(fitted, X_te.iloc[:2000])
    pts = ex.points.to_numpy()
    first = ex.summary["reason_1_points"].to_numpy()
    has = ~np.isnan(first)
    np.testing.assert_allclose(first[has], pts[has].min(axis=1))
    assert (first[has] < 0).all()
    assert (np.isnan(first) == (pts.min(axis=1) >= 0)).all()
    r = ex.summary
    ordered = r[[f"reason_{k}_points" for k in range(1, 5)]].to_numpy()
    both = ~np.isnan(ordered[:, 1])
    assert (ordered[both, 0] <= ordered[both, 1]).all()
    rows = np.flatnonzero((r["reason_1_feature"] == "f0").to_numpy())
    assert len(rows) > 0
    i = rows[0]
    shown = f"{100 * X_te['f0'].iloc[i]:.0f}%"
    assert r["reason_1_en"].iloc[i] == f"{shown} of verified sales go to one core firm"
    assert r["reason_1_zh"].iloc[i] == f"{shown}的已核验销售额集中于单一核心企业"
    reasons = ex.reasons(int(i))
    assert reasons[0]["feature"] == "f0" and reasons[0]["family"] == "trade_network"
    assert 1 <= len(reasons) <= 4
    fam = ex.family_points(fitted.feature_specs_)
    np.testing.assert_allclose(fam.sum(axis=1), ex.points.sum(axis=1))


def test_chunked_explain_matches_one_pass(fitted, split_data) -> None:
    _, X_te, _, _ = split_data
    part = X_te.iloc[:1000]
    seen: list[int] = []
    a = explain(fitted, part, chunk_rows=300, progress=lambda _stage, done, total: seen.append(done))
    b = explain(fitted, part)
    assert seen == [300, 600, 900, 1000]
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.points, b.points)


def test_vectorised_display_matches_the_dictionary_display() -> None:
    values = np.array([0.734, 0.0, 12.4, 1234567.8, -0.05, np.nan, 3.0e-5])
    for unit in ("share", "days", "count", "CNY", "index", ""):
        spec = FeatureSpec("x", "f", "x", "x", Direction.NONE, "{value}", "{value}", unit)
        assert list(display_values(spec, values)) == [spec.display_value(v) for v in values]
    cats = display_values(
        FeatureSpec("s", "f", "s", "s", Direction.NONE, "{value}", "{value}", categorical=True),
        np.array([1.0, np.nan]), ["C", "D"],
    )
    assert list(cats) == ["D", "n/a"]
    out = fill_template("{value} then {value}!", np.array(["a", "b"], dtype=object))
    assert list(out) == ["a then a!", "b then b!"]


def test_pred_contrib_cost_per_row_is_reported(fitted, split_data, capsys) -> None:
    _, X_te, _, _ = split_data
    mat = fitted.matrix(X_te)
    start = time.perf_counter()
    contrib = fitted.booster_.predict(mat, pred_contrib=True, num_threads=1)
    per_row_ms = (time.perf_counter() - start) / len(mat) * 1e3
    with capsys.disabled():
        print(f"\npred_contrib: {per_row_ms:.3f} ms/row, {fitted.n_trees_} trees, 1 thread")
    assert contrib.shape == (len(mat), fitted.n_features_in_ + 1)
