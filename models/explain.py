"""Points per feature and the reasons a loan officer reads, from LightGBM's pred_contrib.

TreeSHAP splits each row's raw margin exactly: margin = bias + Σ contrib_i. The Platt map gives
PD = σ(a·margin + b), so ln(odds of good) = −(a·margin + b) and, with the score scale,

    score = offset − factor·(a·bias + b)  +  Σ (−factor·a·contrib_i)
          = base points                   +  Σ feature points.

The identity is exact in real arithmetic; in floating point it holds to ~1e-10. Reasons are the
features with the most negative points (those that cost the most), worded from the model's own
frozen copy of the feature dictionary, so a reloaded model words them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from common.progress import Progress, report
from graph.dictionary import FeatureSpec
from models.estimator import CreditModel
from models.scoring import suggested_limit

FloatArray = npt.NDArray[np.float64]
REASON_FIELDS = ("feature", "family", "points", "value", "en", "zh")


@dataclass(frozen=True)
class Explanation:
    """summary: one row per input row (pd, score, grade, limit, base points, reasons);
    points: the feature points, same index, one column per model feature."""

    summary: pd.DataFrame
    points: pd.DataFrame
    top_n: int

    def reasons(self, row: int) -> list[dict[str, Any]]:
        """The reasons of the row at position `row`, most costly first."""
        r = self.summary.iloc[row]
        out: list[dict[str, Any]] = []
        for k in range(1, self.top_n + 1):
            feature = r[f"reason_{k}_feature"]
            if not isinstance(feature, str):
                break
            out.append({f: r[f"reason_{k}_{f}"] for f in REASON_FIELDS})
        return out

    def family_points(self, specs: dict[str, FeatureSpec]) -> pd.DataFrame:
        """Points summed per family (trade network, intangibles, financials, …)."""
        families = [specs[c].family if c in specs else "other" for c in self.points.columns]
        return self.points.T.groupby(families, sort=True).sum().T


def explain(
    model: CreditModel,
    X: pd.DataFrame,
    *,
    top_n: int = 4,
    chunk_rows: int = 200_000,
    progress: Progress | None = None,
    num_threads: int = 0,
) -> Explanation:
    """PD, score, grade, suggested limit, points and top reasons for every row of X.

    `num_threads` > 0 overrides the booster's thread count for TreeSHAP: batch scoring wants
    every core, while a request-time call must stay on one thread (a second thread next to a
    busy process costs far more than it gives)."""
    n = len(X)
    summaries: list[pd.DataFrame] = []
    points: list[pd.DataFrame] = []
    for start in range(0, max(n, 1), chunk_rows):
        part = X.iloc[start : start + chunk_rows]
        s, p = _explain_chunk(model, part, top_n, num_threads)
        summaries.append(s)
        points.append(p)
        report(progress, "explain", min(start + chunk_rows, n), n)
    return Explanation(pd.concat(summaries), pd.concat(points), top_n)


def feature_points(
    model: CreditModel, mat: FloatArray, num_threads: int = 0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(points n×k, base points n, raw margin n) for the booster matrix `mat`."""
    booster = model.booster_
    raw = (
        booster.predict(mat, pred_contrib=True, num_threads=num_threads)
        if num_threads > 0
        else booster.predict(mat, pred_contrib=True)
    )
    contrib = np.asarray(raw, dtype=np.float64)
    scale = model.score_scale_
    a, b = model.platt_a_, model.platt_b_
    pts = (-scale.factor * a) * contrib[:, :-1]
    base = scale.offset - scale.factor * (a * contrib[:, -1] + b)
    return pts, base, contrib.sum(axis=1)


@dataclass(frozen=True)
class ScoredBlock:
    """What explaining a block of rows yields, as plain arrays (no per-row objects).

    Batch scoring writes its JSON straight from these; `explain` turns them into frames.
    `reason_features[i, r]` is the index (into `feature_names_`) of row i's (r+1)-th costliest
    feature, −1 where fewer features cost points; `reason_points` holds their points (NaN there).
    """

    matrix: FloatArray
    points: FloatArray
    base_points: FloatArray
    pd: FloatArray
    score: FloatArray
    grade: npt.NDArray[np.object_]
    limit_minor: npt.NDArray[np.int64]
    reason_features: npt.NDArray[np.intp]
    reason_points: FloatArray


def score_block(
    model: CreditModel, X: pd.DataFrame, *, top_n: int = 4, num_threads: int = 0
) -> ScoredBlock:
    """PD, score, grade, limit, points and the top reasons' positions for every row of X."""
    mat = model.matrix(X)
    pts, base, margin = feature_points(model, mat, num_threads)
    logit = model.platt_a_ * margin + model.platt_b_
    pd_ = expit(logit)
    take = min(top_n, pts.shape[1])
    # Stable, so that equal points keep the features' order and the reasons are reproducible.
    order = np.argsort(pts, axis=1, kind="stable")[:, :take]
    chosen = np.take_along_axis(pts, order, axis=1)
    costly = chosen < 0.0
    return ScoredBlock(
        matrix=mat,
        points=pts,
        base_points=base,
        pd=pd_,
        score=model.score_scale_.score_from_logit(logit),
        grade=model.grade_scale_.grade(pd_),
        limit_minor=suggested_limit(X, pd_, grades=model.grade_scale_, policy=model.limit_policy_),
        reason_features=np.where(costly, order, -1).astype(np.intp),
        reason_points=np.where(costly, chosen, np.nan),
    )


def _explain_chunk(
    model: CreditModel, X: pd.DataFrame, top_n: int, num_threads: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    block = score_block(model, X, top_n=top_n, num_threads=num_threads)
    out = pd.DataFrame(index=X.index)
    out["pd"] = block.pd
    out["score"] = block.score
    out["score_display"] = np.rint(block.score).astype(np.int64)
    out["grade"] = block.grade
    out["limit_minor"] = block.limit_minor
    out["currency"] = "CNY"
    out["base_points"] = block.base_points
    _add_reasons(out, model, block, top_n)
    return out, pd.DataFrame(block.points, index=X.index, columns=model.feature_names_)


def _add_reasons(out: pd.DataFrame, model: CreditModel, block: ScoredBlock, top_n: int) -> None:
    n = len(out)
    names = model.feature_names_
    specs = [model.feature_specs_[name] for name in names]
    take = block.reason_features.shape[1]
    for r in range(top_n):
        feature = np.full(n, None, dtype=object)
        family = np.full(n, None, dtype=object)
        value = np.full(n, None, dtype=object)
        en = np.full(n, None, dtype=object)
        zh = np.full(n, None, dtype=object)
        reason_points = np.full(n, np.nan)
        if r < take:
            col = block.reason_features[:, r]
            reason_points = block.reason_points[:, r].copy()
            for j in np.unique(col[col >= 0]):
                rows = np.flatnonzero(col == j)
                spec = specs[j]
                shown = display_values(spec, block.matrix[rows, j], model.categories_.get(names[j]))
                feature[rows] = spec.name
                family[rows] = spec.family
                value[rows] = shown
                en[rows] = fill_template(spec.reason_en, shown)
                zh[rows] = fill_template(spec.reason_zh, shown)
        prefix = f"reason_{r + 1}_"
        out[prefix + "feature"] = feature
        out[prefix + "family"] = family
        out[prefix + "points"] = reason_points
        out[prefix + "value"] = value
        out[prefix + "en"] = en
        out[prefix + "zh"] = zh


def display_values(
    spec: FeatureSpec, values: FloatArray, categories: list[str] | None = None
) -> npt.NDArray[np.object_]:
    """Vectorised FeatureSpec.display_value (categories shown by name)."""
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    safe = np.where(missing, 0.0, v)
    if categories is not None:
        cats = np.asarray(categories, dtype=object)
        shown = cats[np.clip(safe.astype(np.int64), 0, max(len(cats) - 1, 0))]
    elif spec.unit == "share":
        shown = np.char.add(np.char.mod("%.0f", 100.0 * safe), "%")
    elif spec.unit in ("days", "count"):
        shown = np.char.mod("%.0f", safe)
    elif spec.unit == "CNY":
        plain = pd.Series(np.char.mod("%.0f", safe), dtype=object)
        shown = plain.str.replace(r"(\d)(?=(\d{3})+$)", r"\1,", regex=True).to_numpy()
    else:
        shown = np.char.mod("%.3g", safe)
    result = np.array(shown, dtype=object)  # a copy: pandas may hand back read-only data
    result[missing] = "n/a"
    return result


def fill_template(template: str, shown: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """template.format(value=…) for many values at once (`{value}` may appear several times)."""
    parts = template.split("{value}")
    text = pd.Series(np.full(len(shown), parts[0], dtype=object), dtype=object)
    values = pd.Series(shown, dtype=object)
    for part in parts[1:]:
        text = text + values + part
    return text.to_numpy(dtype=object)
