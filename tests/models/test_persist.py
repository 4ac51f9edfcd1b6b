from __future__ import annotations

import json

import numpy as np
import pandas as pd

from models import explain, load_model, save_model
from models.scoring import ScoreScale


def test_reloaded_model_gives_identical_points(fitted, split_data, tmp_path) -> None:
    _, X_te, _, _ = split_data
    folder = save_model(fitted, tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["platt"]["a"] == fitted.platt_a_
    assert [d["name"] for d in meta["feature_dictionary"]] == fitted.feature_names_
    assert not list(folder.glob("*.pkl"))
    loaded = load_model(folder)
    a = explain(fitted, X_te)
    b = explain(loaded, X_te)
    pd.testing.assert_frame_equal(a.points, b.points, check_exact=True)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert loaded.feature_specs_ == fitted.feature_specs_
    assert loaded.categories_ == fitted.categories_
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.get_params()["num_leaves"] == fitted.get_params()["num_leaves"]


def test_scale_travels_with_the_model(fitted, split_data, tmp_path) -> None:
    _, X_te, _, _ = split_data
    m = fitted.set_params()  # same object; give it a non-default scale via a copy below
    custom = load_model(save_model(m, tmp_path / "a"))
    custom.score_scale_ = ScoreScale(base_score=500, base_odds=20, pdo=40)
    again = load_model(save_model(custom, tmp_path / "b"))
    assert again.score_scale_ == ScoreScale(base_score=500, base_odds=20, pdo=40)
    s1 = explain(custom, X_te.iloc[:100]).summary["score"]
    s2 = explain(again, X_te.iloc[:100]).summary["score"]
    pd.testing.assert_series_equal(s1, s2, check_exact=True)
    assert (s1 != explain(fitted, X_te.iloc[:100]).summary["score"]).all()
