"""Discrimination, calibration and stability measures for a PD model, over whole arrays.

Conventions, so that figures logged by different runs compare:
- `y` is 1 for a credit event in the label window, 0 otherwise; `p` is the predicted PD (or any
  score where larger means riskier, for AUC/KS/Gini).
- ECE uses equal-count bins (deciles of `p` by default): PDs cluster near zero, so equal-width bins
  would put almost every row in the first bin and hide miscalibration where the rows are.
  ECE = Σ_b (n_b / N) · |mean(y_b) − mean(p_b)|.
- PSI bins are the deciles of the reference (training) distribution; a value equal to a cut point
  falls in the upper bin; empty bins are floored at 1e-6 so the log stays finite.
  PSI = Σ_b (a_b − e_b) · ln(a_b / e_b), with e the reference shares and a the actual shares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

ArrayLike = npt.ArrayLike
_PSI_FLOOR = 1e-6


def _as_xy(y: ArrayLike, p: ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    ya = np.asarray(y, dtype=np.float64).ravel()
    pa = np.asarray(p, dtype=np.float64).ravel()
    if ya.shape != pa.shape:
        raise ValueError(f"y has {ya.size} values, p has {pa.size}")
    if ya.size == 0:
        raise ValueError("no rows to measure")
    if np.isnan(ya).any() or np.isnan(pa).any():
        raise ValueError("metrics need labelled rows and finite predictions (NaN found)")
    return ya, pa


def _both_classes(ya: npt.NDArray[np.float64]) -> tuple[int, int]:
    n_pos = int((ya == 1).sum())
    n_neg = int((ya == 0).sum())
    if n_pos + n_neg != ya.size:
        raise ValueError("labels must be 0 or 1")
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC and KS need both events and non-events")
    return n_pos, n_neg


def auc(y: ArrayLike, p: ArrayLike) -> float:
    """Area under the ROC curve (scikit-learn; ties count one half)."""
    ya, pa = _as_xy(y, p)
    _both_classes(ya)
    return float(roc_auc_score(ya, pa))


def gini(y: ArrayLike, p: ArrayLike) -> float:
    """Accuracy ratio, as credit people quote it: 2·AUC − 1."""
    return 2.0 * auc(y, p) - 1.0


def ks(y: ArrayLike, p: ArrayLike) -> float:
    """Kolmogorov–Smirnov: the largest gap between the cumulative score distributions of events
    and non-events (scipy's two-sample statistic; tied scores move together)."""
    ya, pa = _as_xy(y, p)
    _both_classes(ya)
    return float(ks_2samp(pa[ya == 1], pa[ya == 0]).statistic)


def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Mean squared error of the PD against the 0/1 outcome (scikit-learn)."""
    ya, pa = _as_xy(y, p)
    return float(brier_score_loss(ya, pa))


def _equal_count_bins(pa: npt.NDArray[np.float64], n_bins: int) -> npt.NDArray[np.intp]:
    """Bin index per row: rows sorted by p and cut into n_bins near-equal groups; ties may be
    split between neighbouring bins, which keeps every bin populated."""
    order = np.argsort(pa, kind="mergesort")
    bins = np.empty(pa.size, dtype=np.intp)
    bins[order] = (np.arange(pa.size) * n_bins) // pa.size
    return bins


def ece(y: ArrayLike, p: ArrayLike, n_bins: int = 10, strategy: str = "quantile") -> float:
    """Expected calibration error; `strategy` "quantile" (equal-count, default) or "uniform"
    (equal-width bins on [0, 1], the last bin closed)."""
    ya, pa = _as_xy(y, p)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    if strategy == "quantile":
        bins = _equal_count_bins(pa, n_bins)
    elif strategy == "uniform":
        bins = np.minimum((pa * n_bins).astype(np.intp), n_bins - 1)
    else:
        raise ValueError(f"unknown binning strategy {strategy!r}")
    sum_y = np.bincount(bins, weights=ya, minlength=n_bins)
    sum_p = np.bincount(bins, weights=pa, minlength=n_bins)
    # |Σy − Σp| / N per bin equals (n_b/N)·|mean y − mean p|, and empty bins add zero.
    return float(np.abs(sum_y - sum_p).sum() / pa.size)


def psi(reference: ArrayLike, actual: ArrayLike, n_bins: int = 10) -> float:
    """Population stability index of `actual` against `reference` on the reference's deciles."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    act = np.asarray(actual, dtype=np.float64).ravel()
    if ref.size == 0 or act.size == 0:
        raise ValueError("PSI needs rows in both samples")
    cuts = np.unique(np.quantile(ref, np.arange(1, n_bins) / n_bins))
    k = cuts.size + 1
    e = np.bincount(np.searchsorted(cuts, ref, side="right"), minlength=k) / ref.size
    a = np.bincount(np.searchsorted(cuts, act, side="right"), minlength=k) / act.size
    e = np.maximum(e, _PSI_FLOOR)
    a = np.maximum(a, _PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class Evaluation:
    """The out-of-time figures a run logs and a promotion compares."""

    n: int
    events: int
    auc: float
    ks: float
    gini: float
    brier: float
    ece: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def evaluate(y: ArrayLike, p: ArrayLike, n_bins: int = 10) -> Evaluation:
    ya, pa = _as_xy(y, p)
    a = auc(ya, pa)
    return Evaluation(
        n=int(ya.size),
        events=int(ya.sum()),
        auc=a,
        ks=ks(ya, pa),
        gini=2.0 * a - 1.0,
        brier=brier(ya, pa),
        ece=ece(ya, pa, n_bins=n_bins),
    )
