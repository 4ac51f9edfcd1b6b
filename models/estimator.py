"""CreditModel: LightGBM with monotone constraints and a Platt map on its margin.

Why this shape:
- Monotone constraints come from the feature dictionary, so a loan officer never sees "more
  verified sales cost points" for one firm and gain them for another.
- Calibration is logistic on the raw margin (PD = σ(a·margin + b)), never isotonic: log-odds of
  default stay an affine function of the tree contributions, which is what makes per-feature
  points add up exactly to the score (models/explain.py).
- The Platt map is fitted on margins of rows the trees did not see: out-of-fold margins on small
  data (every row still trains the final trees), a stratified holdout on large data (cheaper,
  and a 20% holdout of a large set is plenty).
- Small trees (15 leaves, depth ≤ 5; depth ≤ 4 on large data) and a cap on rounds keep TreeSHAP
  (`pred_contrib`), whose cost grows with trees × leaves × depth², well under a millisecond a row:
  batch scoring explains every firm, a million of them in minutes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils.validation import check_is_fitted

from common.progress import Progress  # stages: "cv", "train", "train-final", "calibrate"
from graph.dictionary import Direction, FeatureSpec
from models.scoring import GradeScale, LimitPolicy, ScoreScale

FloatArray = npt.NDArray[np.float64]

CV_MAX_ROWS = 100_000  # "auto" calibration: out-of-fold below this many rows, holdout above
# n_jobs=None: one thread below this many rows. Measured on the shared 2-core machine (load ~5)
# with 32k rows × 60 features: 7.8 s on one thread, 22 s with all cores, 85 s with two: OpenMP
# threads spin-wait for each other, and on small histograms a busy neighbour makes every
# synchronisation cost a time slice. Above it the histogram work per round outweighs that.
THREADS_MIN_ROWS = 200_000
# From this many training rows the defaults turn compact: learning rate 0.1 (half the trees for
# the same fit, and TreeSHAP in batch scoring costs in proportion to trees), 63 histogram bins
# (finer bins add nothing with min_data_in_leaf = n / 2000 but cost every split search) and
# depth 4 instead of 5 (TreeSHAP's cost per tree falls from 15·5² to about 13·4²). Measured with
# bench.model_quality on 50,000 simulated firms (275k training rows, 400 trees either way), depth
# 4 costs 0.56× in TreeSHAP; on firms held out of training AUC 0.699 vs 0.698, graph gain 0.041
# vs 0.039, ECE 0.011 vs 0.013; on all out-of-time rows 0.781 vs 0.788 (97.4% vs 98.7% of the
# oracle when no firm is held out). Depth 3 with 8 leaves (0.18×) fell to 94.9% of the oracle.
LARGE_ROWS = 200_000
LARGE_MAX_DEPTH = 4


def fallback_spec(name: str, categorical: bool = False) -> FeatureSpec:
    """Entry for a column the dictionary does not know: unconstrained, worded plainly."""
    return FeatureSpec(
        name=name,
        family="other",
        meaning_en=name,
        meaning_zh=name,
        direction=Direction.NONE,
        reason_en=f"{name} is {{value}}",
        reason_zh=f"{name}为{{value}}",
        unit="",
        categorical=categorical,
    )


def _is_categorical(col: pd.Series) -> bool:
    dt = col.dtype
    return bool(
        isinstance(dt, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_string_dtype(dt)
    )


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"expected a 2-D table of features, got an array of shape {arr.shape}. "
            "Reshape your data with array.reshape(1, -1) for a single row."
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


class CreditModel(ClassifierMixin, BaseEstimator):
    """Probability of default for firms, explainable point by point.

    Parameters are stored untouched (scikit-learn rules); see `fit` for what is derived.
    `min_child_samples=None` scales with the training size: max(20, n / 2000).
    `calibration_folds`: "auto" (5-fold out-of-fold margins below 100k rows, else a holdout of
    `validation_fraction`), an int ≥ 2 (that many folds) or 0 (holdout).
    `feature_specs=None` uses `models.features.feature_dictionary()`.
    `learning_rate=None`: 0.05 below 200k training rows, 0.1 above; `max_bin=None`: 255 below,
    63 above; `max_depth=None`: 5 below, 4 above (see LARGE_ROWS).
    `n_jobs=None`: one LightGBM thread below 200k training rows, all cores above (see
    THREADS_MIN_ROWS); prediction and TreeSHAP afterwards run with the caller's `num_threads`.
    """

    def __init__(
        self,
        *,
        learning_rate: float | None = None,
        num_leaves: int = 15,
        max_depth: int | None = None,
        n_estimators: int = 400,
        min_child_samples: int | None = None,
        reg_lambda: float = 5.0,
        colsample_bytree: float = 0.8,
        subsample: float = 0.8,
        early_stopping_rounds: int = 50,
        max_bin: int | None = None,
        calibration_folds: int | Literal["auto"] = "auto",
        validation_fraction: float = 0.2,
        feature_specs: Sequence[FeatureSpec] | None = None,
        score_scale: ScoreScale | None = None,
        grade_scale: GradeScale | None = None,
        limit_policy: LimitPolicy | None = None,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.early_stopping_rounds = early_stopping_rounds
        self.max_bin = max_bin
        self.calibration_folds = calibration_folds
        self.validation_fraction = validation_fraction
        self.feature_specs = feature_specs
        self.score_scale = score_scale
        self.grade_scale = grade_scale
        self.limit_policy = limit_policy
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- scikit-learn plumbing -------------------------------------------------------------

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        return tags

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        progress: Progress | None = None,
    ) -> CreditModel:
        frame = _as_frame(X)
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        names = [str(c) for c in frame.columns]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or y_arr.shape[0] != len(frame):
            raise ValueError(f"y must be 1-D with {len(frame)} labels, got shape {y_arr.shape}")
        if len(frame) == 0:
            raise ValueError("cannot fit on 0 rows")
        self.classes_ = np.unique(y_arr)
        if len(self.classes_) != 2:
            raise ValueError(
                f"CreditModel is a binary classifier; y has {len(self.classes_)} classes"
            )
        target = (y_arr == self.classes_[1]).astype(np.float64)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        dictionary = self._dictionary()
        self.feature_names_ = names
        self.n_features_in_ = len(names)
        self.categories_: dict[str, list[str]] = {}
        specs: dict[str, FeatureSpec] = {}
        for name, col in zip(names, frame.columns, strict=True):
            known = dictionary.get(name)
            is_cat = _is_categorical(frame[col]) or bool(known and known.categorical)
            if is_cat:
                values = frame[col].dropna().astype("string").astype(object)
                self.categories_[name] = sorted(set(values.tolist()))
            specs[name] = known if known is not None else fallback_spec(name, is_cat)
        self.feature_specs_ = specs
        self.score_scale_ = self.score_scale or ScoreScale()
        self.grade_scale_ = self.grade_scale or GradeScale()
        self.limit_policy_ = self.limit_policy or LimitPolicy()

        mat = self._matrix(frame)
        params = self._lgb_params(len(frame))
        folds = self._n_folds(target)
        if folds >= 2:
            booster, margins, cal_idx = self._fit_cross(mat, target, weight, params, folds, progress)
        else:
            booster, margins, cal_idx = self._fit_holdout(mat, target, weight, params, progress)
        self.booster_ = booster
        self.n_trees_ = booster.num_trees()
        self._fit_platt(margins, target[cal_idx], None if weight is None else weight[cal_idx])
        if progress is not None:
            progress("calibrate", 1, 1)
        return self

    def _dictionary(self) -> dict[str, FeatureSpec]:
        if self.feature_specs is None:
            from models.features import feature_dictionary

            specs: Sequence[FeatureSpec] = feature_dictionary()
        else:
            specs = self.feature_specs
        return {s.name: s for s in specs}

    def _lgb_params(self, n_rows: int) -> dict[str, Any]:
        min_child = self.min_child_samples
        if min_child is None:
            min_child = max(20, n_rows // 2000)
        cat_idx = [i for i, n in enumerate(self.feature_names_) if n in self.categories_]
        monotone = [
            0 if n in self.categories_ else int(self.feature_specs_[n].direction)
            for n in self.feature_names_
        ]
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": self._learning_rate(n_rows),
            "max_bin": self.max_bin or (255 if n_rows < LARGE_ROWS else 63),
            "num_leaves": self.num_leaves,
            "max_depth": self._max_depth(n_rows),
            "min_data_in_leaf": min_child,
            "lambda_l2": self.reg_lambda,
            "feature_fraction": self.colsample_bytree,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "cat_l2": 10.0,
            "cat_smooth": 10.0,
            "seed": self.random_state,
            "num_threads": self._threads(n_rows),
            "verbosity": -1,
        }
        self._cat_idx = cat_idx
        if any(monotone):
            params["monotone_constraints"] = monotone
            params["monotone_constraints_method"] = "intermediate"
        return params

    def _learning_rate(self, n_rows: int) -> float:
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return 0.05 if n_rows < LARGE_ROWS else 0.1

    def _max_depth(self, n_rows: int) -> int:
        if self.max_depth is not None:
            return int(self.max_depth)
        return 5 if n_rows < LARGE_ROWS else LARGE_MAX_DEPTH

    def _threads(self, n_rows: int) -> int:
        if self.n_jobs is not None and self.n_jobs != 0:
            return int(self.n_jobs) if self.n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + self.n_jobs)
        return 1 if n_rows < THREADS_MIN_ROWS else 0

    def _dataset(
        self, mat: FloatArray, target: FloatArray, weight: FloatArray | None
    ) -> lgb.Dataset:
        return lgb.Dataset(
            mat,
            target,
            weight=weight,
            categorical_feature=self._cat_idx,
            params={"verbosity": -1},
            free_raw_data=False,
        )

    def _n_folds(self, target: FloatArray) -> int:
        minority = int(min(target.sum(), len(target) - target.sum()))
        setting = self.calibration_folds
        if setting == "auto":
            folds = 5 if len(target) < CV_MAX_ROWS else 0
        elif isinstance(setting, int) and not isinstance(setting, bool) and setting >= 0:
            folds = setting
        else:
            raise ValueError(f"calibration_folds must be 'auto', 0 or >= 2, got {setting!r}")
        if folds == 1:
            raise ValueError("calibration_folds must be 'auto', 0 or >= 2, got 1")
        if folds >= 2:
            folds = min(folds, minority)
            if folds < 2:
                raise ValueError("each class needs at least 2 rows to calibrate on unseen data")
        return folds

    def _callbacks(self, stage: str, total: int, progress: Progress | None) -> list[Any]:
        cbs: list[Any] = []
        if self.early_stopping_rounds and stage != "train-final":
            cbs.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        if progress is not None:
            label = "train" if stage == "train-final" else stage

            def report(env: Any) -> None:
                progress(label, env.iteration + 1, total)

            cbs.append(report)
        return cbs

    def _fit_holdout(
        self,
        mat: FloatArray,
        target: FloatArray,
        weight: FloatArray | None,
        params: dict[str, Any],
        progress: Progress | None,
    ) -> tuple[lgb.Booster, FloatArray, npt.NDArray[np.intp]]:
        idx = np.arange(len(target))
        tr, va = train_test_split(
            idx,
            test_size=self.validation_fraction,
            stratify=target,
            random_state=self.random_state,
        )
        dtrain = self._dataset(mat[tr], target[tr], None if weight is None else weight[tr])
        dvalid = lgb.Dataset(
            mat[va],
            target[va],
            weight=None if weight is None else weight[va],
            reference=dtrain,
            categorical_feature=self._cat_idx,
        )
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dvalid],
            callbacks=self._callbacks("train", self.n_estimators, progress),
        )
        booster = _trimmed(booster, booster.best_iteration or booster.current_iteration())
        margins = np.asarray(booster.predict(mat[va], raw_score=True), dtype=np.float64)
        return booster, margins, np.asarray(va)

    def _fit_cross(
        self,
        mat: FloatArray,
        target: FloatArray,
        weight: FloatArray | None,
        params: dict[str, Any],
        n_folds: int,
        progress: Progress | None,
    ) -> tuple[lgb.Booster, FloatArray, npt.NDArray[np.intp]]:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        folds = list(splitter.split(mat, target))
        dfull = self._dataset(mat, target, weight)
        res = lgb.cv(
            params,
            dfull,
            num_boost_round=self.n_estimators,
            folds=folds,
            callbacks=self._callbacks("cv", self.n_estimators, progress),
            return_cvbooster=True,
        )
        cvb = res["cvbooster"]
        assert isinstance(cvb, lgb.CVBooster)
        best = int(cvb.best_iteration) if cvb.best_iteration > 0 else self.n_estimators
        oof = np.empty(len(target), dtype=np.float64)
        for (_, va), fold_booster in zip(folds, cvb.boosters, strict=True):
            oof[va] = fold_booster.predict(mat[va], raw_score=True, num_iteration=best)
        final = lgb.train(
            params,
            self._dataset(mat, target, weight),
            num_boost_round=best,
            callbacks=self._callbacks("train-final", best, progress),
        )
        return final, oof, np.arange(len(target))

    def _fit_platt(
        self, margins: FloatArray, target: FloatArray, weight: FloatArray | None
    ) -> None:
        if len(np.unique(target)) < 2:
            raise ValueError("the calibration rows hold a single class; use more data")
        lr = LogisticRegression(C=1e8, solver="lbfgs", max_iter=1000)
        lr.fit(margins.reshape(-1, 1), target, sample_weight=weight)
        self.platt_a_ = float(lr.coef_[0, 0])
        self.platt_b_ = float(lr.intercept_[0])

    # -- prediction ------------------------------------------------------------------------

    def _frame_for_predict(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        if isinstance(X, pd.DataFrame):
            missing = [n for n in self.feature_names_ if n not in X.columns]
            if missing:
                raise ValueError(f"X lacks features the model was trained on: {missing}")
            return X[self.feature_names_]
        frame = _as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but CreditModel is expecting "
                f"{self.n_features_in_} features as input"
            )
        frame.columns = pd.Index(self.feature_names_)
        return frame

    def _matrix(self, frame: pd.DataFrame) -> FloatArray:
        """Features as float64 (categories as their integer code, unknown/missing as NaN)."""
        cols: list[FloatArray] = []
        for name, col in zip(self.feature_names_, frame.columns, strict=True):
            s = frame[col]
            if name in self.categories_:
                known = pd.Index(self.categories_[name], dtype=object)
                found = known.get_indexer(pd.Index(s.astype("string").astype(object)))  # -1: unknown
                codes: FloatArray = np.asarray(found, dtype=np.float64)
                codes[codes < 0] = np.nan
                cols.append(codes)
            elif pd.api.types.is_bool_dtype(s.dtype):
                cols.append(np.asarray(s.to_numpy(dtype=np.float64), dtype=np.float64))
            else:
                num = pd.to_numeric(s, errors="coerce").astype("float64")
                cols.append(np.asarray(num.to_numpy(na_value=np.nan), dtype=np.float64))
        if not cols:
            return np.empty((len(frame), 0), dtype=np.float64)
        return np.column_stack(cols)

    def matrix(self, X: Any) -> FloatArray:
        """X as the float matrix the booster reads (for explain and fast scoring)."""
        return self._matrix(self._frame_for_predict(X))

    def raw_margin(self, X: Any) -> FloatArray:
        return np.asarray(self.booster_.predict(self.matrix(X), raw_score=True), dtype=np.float64)

    def decision_function(self, X: Any) -> FloatArray:
        """Calibrated log-odds of default, a·margin + b (positive means PD > 50%)."""
        check_is_fitted(self, "booster_")
        return self.platt_a_ * self.raw_margin(X) + self.platt_b_

    def predict_proba(self, X: Any) -> FloatArray:
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> npt.NDArray[Any]:
        check_is_fitted(self, "booster_")
        return np.asarray(self.classes_[(self.decision_function(X) > 0).astype(np.intp)])

    def monotone_constraints(self) -> dict[str, int]:
        """The constraint each feature was trained under (+1 risk up, −1 risk down, 0 none)."""
        check_is_fitted(self, "booster_")
        return {
            n: 0 if n in self.categories_ else int(self.feature_specs_[n].direction)
            for n in self.feature_names_
        }

    def restore(
        self,
        *,
        booster: lgb.Booster,
        feature_names: list[str],
        categories: Mapping[str, list[str]],
        feature_specs: Mapping[str, FeatureSpec],
        classes: npt.NDArray[Any],
        platt: tuple[float, float],
        score_scale: ScoreScale,
        grade_scale: GradeScale,
        limit_policy: LimitPolicy,
        feature_names_in: bool,
    ) -> CreditModel:
        """Set the fitted state from saved parts (models/persist.py); not for general use."""
        self.booster_ = booster
        self.n_trees_ = booster.num_trees()
        self.feature_names_ = list(feature_names)
        self.n_features_in_ = len(feature_names)
        if feature_names_in:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.categories_ = {k: list(v) for k, v in categories.items()}
        self.feature_specs_ = dict(feature_specs)
        self.classes_ = classes
        self.platt_a_, self.platt_b_ = platt
        self.score_scale_ = score_scale
        self.grade_scale_ = grade_scale
        self.limit_policy_ = limit_policy
        return self


def _trimmed(booster: lgb.Booster, n_iter: int) -> lgb.Booster:
    """A booster holding only the first n_iter rounds: smaller files, faster TreeSHAP."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=n_iter))
