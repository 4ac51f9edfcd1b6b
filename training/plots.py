"""The figures a training run logs: ROC, calibration, score distribution, mean |points|.

Matplotlib's Agg backend is chosen on the figure itself (no pyplot state), so the plots work on a
server with no display and never touch a global backend another caller relies on.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FloatArray = npt.NDArray[np.float64]


def _figure(width: float = 5.5, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def roc_curve_points(y: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(FPR, TPR) at each distinct threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[ps[1:] != ps[:-1], True]
    tp = np.cumsum(ys)[last]
    fp = np.cumsum(1.0 - ys)[last]
    return np.r_[0.0, fp / max(fp[-1], 1.0)], np.r_[0.0, tp / max(tp[-1], 1.0)]


def roc_figure(y: FloatArray, curves: dict[str, FloatArray]) -> Figure:
    from training.metrics import auc

    fig = _figure()
    ax = fig.add_subplot()
    for label, p in curves.items():
        fpr, tpr = roc_curve_points(y, p)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out of time")
    ax.legend(loc="lower right")
    return fig


def calibration_table(y: FloatArray, p: FloatArray, n_bins: int = 10) -> pd.DataFrame:
    """Mean PD and observed default rate per equal-count bin (the bins ECE uses)."""
    order = np.argsort(p, kind="mergesort")
    bins = np.empty(p.size, dtype=np.intp)
    bins[order] = (np.arange(p.size) * n_bins) // p.size
    frame = pd.DataFrame({"bin": bins, "pd": p, "y": y})
    return frame.groupby("bin").agg(mean_pd=("pd", "mean"), default_rate=("y", "mean"), n=("y", "size"))


def calibration_figure(y: FloatArray, p: FloatArray, n_bins: int = 10) -> Figure:
    table = calibration_table(y, p, n_bins)
    fig = _figure()
    ax = fig.add_subplot()
    top = float(max(table["mean_pd"].max(), table["default_rate"].max())) * 1.05
    ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1)
    ax.plot(table["mean_pd"], table["default_rate"], marker="o")
    ax.set(xlabel="mean predicted PD", ylabel="observed default rate",
           title=f"Calibration, out of time ({n_bins} equal-count bins)")
    return fig


def score_distribution_figure(
    scores_train: FloatArray, scores_oot: FloatArray, y_oot: FloatArray
) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    lo = float(np.percentile(np.r_[scores_train, scores_oot], 0.5))
    hi = float(np.percentile(np.r_[scores_train, scores_oot], 99.5))
    bins = np.linspace(lo, hi, 50).tolist()
    ax.hist(scores_train, bins=bins, density=True, histtype="step", label="train")
    ax.hist(scores_oot[y_oot == 0], bins=bins, density=True, alpha=0.5, label="out of time: no default")
    ax.hist(scores_oot[y_oot == 1], bins=bins, density=True, alpha=0.5, label="out of time: default")
    ax.set(xlabel="score", ylabel="density", title="Score distribution")
    ax.legend()
    return fig


def points_figure(mean_abs_points: pd.Series, top: int = 20) -> Figure:
    shown = mean_abs_points.sort_values(ascending=False).head(top)[::-1]
    fig = _figure(6.5, 0.28 * len(shown) + 1.2)
    ax = fig.add_subplot()
    ax.barh(list(shown.index), shown.to_numpy())
    ax.set(xlabel="mean |points|", title="Points per feature (out-of-time sample)")
    return fig
