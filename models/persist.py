"""A fitted CreditModel as a folder: LightGBM's own text format plus one JSON file.

No pickle: a folder written today must load after a library upgrade, and a bank's reviewer can
read what the model holds (calibration, score scale, grade bands, the frozen dictionary). MLflow
wraps this folder in training/registry.py; nothing here knows about MLflow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.utils.validation import check_is_fitted

from graph.dictionary import FeatureSpec
from models.estimator import CreditModel
from models.scoring import GradeScale, LimitPolicy, ScoreScale

FORMAT = "chaincredit-model/1"
BOOSTER_FILE = "booster.txt"
META_FILE = "model.json"
# Parameters whose fitted value is saved on its own (the frozen copies), not as a parameter.
_OBJECT_PARAMS = ("feature_specs", "score_scale", "grade_scale", "limit_policy")


def save_model(model: CreditModel, folder: str | Path) -> Path:
    """Write the model into `folder` (created if needed); returns the folder."""
    check_is_fitted(model, "booster_")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / BOOSTER_FILE).write_text(model.booster_.model_to_string(), encoding="utf-8")
    params = {k: v for k, v in model.get_params().items() if k not in _OBJECT_PARAMS}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "params": params,
        "feature_names": list(model.feature_names_),
        "feature_names_in": hasattr(model, "feature_names_in_"),
        "categories": model.categories_,
        "feature_dictionary": [model.feature_specs_[n].to_dict() for n in model.feature_names_],
        "classes": np.asarray(model.classes_).tolist(),
        "platt": {"a": model.platt_a_, "b": model.platt_b_},
        "score_scale": model.score_scale_.to_dict(),
        "grade_scale": model.grade_scale_.to_dict(),
        "limit_policy": model.limit_policy_.to_dict(),
        "n_trees": model.n_trees_,
    }
    (out / META_FILE).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
    )
    return out


def load_model(folder: str | Path) -> CreditModel:
    """Read a folder written by save_model; the model gives the same points as the saved one."""
    src = Path(folder)
    meta = json.loads((src / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{src / META_FILE} is not a {FORMAT} model (format={meta.get('format')!r})")
    specs = [FeatureSpec.from_dict(d) for d in meta["feature_dictionary"]]
    score_scale = ScoreScale.from_dict(meta["score_scale"])
    grade_scale = GradeScale.from_dict(meta["grade_scale"])
    limit_policy = LimitPolicy.from_dict(meta["limit_policy"])
    model = CreditModel(
        **meta["params"],
        feature_specs=tuple(specs),
        score_scale=score_scale,
        grade_scale=grade_scale,
        limit_policy=limit_policy,
    )
    booster = lgb.Booster(model_str=(src / BOOSTER_FILE).read_text(encoding="utf-8"))
    return model.restore(
        booster=booster,
        feature_names=meta["feature_names"],
        categories=meta["categories"],
        feature_specs={s.name: s for s in specs},
        classes=np.asarray(meta["classes"]),
        platt=(float(meta["platt"]["a"]), float(meta["platt"]["b"])),
        score_scale=score_scale,
        grade_scale=grade_scale,
        limit_policy=limit_policy,
        feature_names_in=bool(meta["feature_names_in"]),
    )
