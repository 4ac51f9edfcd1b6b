"""From a probability of default to what a loan officer reads: score, grade and limit.

score = offset + factor · ln(odds of good), factor = PDO / ln 2, offset chosen so that
`base_score` points mean `base_odds`:1 odds of good (default 600 points at 50:1, PDO 20). Because
the model's calibrated log-odds are linear in the tree contributions, points per feature are exact
(see models/explain.py). The PD master scale here is the bank-facing grade of a borrower; it is a
different scale from graph's external-rating scale for core firms (DESIGN §7).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScoreScale:
    base_score: float = 600.0
    base_odds: float = 50.0  # odds of good (non-default : default) at base_score
    pdo: float = 20.0  # points to double the odds

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def score_from_logit(self, logit_pd: npt.ArrayLike) -> FloatArray:
        """Score from ln(PD/(1−PD)); exact even where PD rounds to 0 or 1 in floating point."""
        return self.offset - self.factor * np.asarray(logit_pd, dtype=np.float64)

    def score(self, pd_: npt.ArrayLike) -> FloatArray:
        p = np.clip(np.asarray(pd_, dtype=np.float64), 1e-15, 1 - 1e-15)
        return self.offset + self.factor * np.log((1.0 - p) / p)

    def pd_from_score(self, score: npt.ArrayLike) -> FloatArray:
        log_odds_good = (np.asarray(score, dtype=np.float64) - self.offset) / self.factor
        return 1.0 / (1.0 + np.exp(log_odds_good))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoreScale:
        return cls(**{k: float(v) for k, v in d.items()})


# The PD master scale: each grade covers PDs up to and including its bound. Bounds follow the
# usual spacing of bank master scales (roughly ×2–3 per notch) and the long-run one-year default
# rates agencies publish for the matching letter grades; C is default-imminent. The limit
# multiplier is the share of the collateral-like base (see LimitPolicy) a bank would extend.
DEFAULT_GRADES: tuple[tuple[str, float, float], ...] = (
    ("AAA", 0.0005, 1.00),
    ("AA", 0.0010, 1.00),
    ("A", 0.0025, 0.90),
    ("BBB", 0.0075, 0.80),
    ("BB", 0.0250, 0.60),
    ("B", 0.0800, 0.40),
    ("CCC", 0.2000, 0.15),
    ("CC", 0.4000, 0.00),
    ("C", 1.0000, 0.00),
)


@dataclass(frozen=True)
class GradeScale:
    """Grades AAA…C by PD band: grade i holds PDs in (bound[i−1], bound[i]]."""

    grades: tuple[tuple[str, float, float], ...] = DEFAULT_GRADES  # (name, upper PD, multiplier)

    def __post_init__(self) -> None:
        bounds = [g[1] for g in self.grades]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds) or bounds[-1] < 1.0:
            raise ValueError("grade bounds must increase strictly and the last must be 1.0")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g[0] for g in self.grades)

    def index(self, pd_: npt.ArrayLike) -> npt.NDArray[np.intp]:
        bounds = np.asarray([g[1] for g in self.grades], dtype=np.float64)
        idx = np.searchsorted(bounds, np.asarray(pd_, dtype=np.float64), side="left")
        return np.minimum(idx, len(bounds) - 1)

    def grade(self, pd_: npt.ArrayLike) -> npt.NDArray[np.object_]:
        return np.asarray(self.names, dtype=object)[self.index(pd_)]

    def multiplier(self, pd_: npt.ArrayLike) -> FloatArray:
        return np.asarray([g[2] for g in self.grades], dtype=np.float64)[self.index(pd_)]

    def to_dict(self) -> dict[str, Any]:
        return {"grades": [list(g) for g in self.grades]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradeScale:
        return cls(tuple((str(n), float(b), float(m)) for n, b, m in d["grades"]))


@dataclass(frozen=True)
class LimitPolicy:
    """Suggested limit = multiplier(grade) · (receivable_advance · R + sales_advance · S), in fen.

    From the graph features (column names configurable):
    - S = verified sales over the 12-month window = net_sales_cny · ver_sales_share: an unsecured
      working-capital line sized on genuine, three-flow-verified turnover;
    - R = verified receivables outstanding from core firms, estimated as the core firms' verified
      turnover times the time they take to pay: net_sales_cny · net_core_sales_share ·
      pay_days_to_be_paid / 365 (`default_days` when the firm has no paid invoices yet). This is
      the book a (reverse-)factoring line is secured on, so it gets the high advance rate.
    A column given in `receivables_feature` (CNY), when present in the frame, replaces the
    estimate of R. Unknown values count as 0: no proven trade, no limit. multiplier(grade) comes
    from the GradeScale (0 for CC and C). The result is rounded down to `rounding` CNY and
    returned as int64 fen, because money is never binary float once it leaves the model.
    """

    sales_feature: str = "net_sales_cny"
    verified_share_feature: str = "ver_sales_share"
    core_share_feature: str = "net_core_sales_share"
    days_to_pay_feature: str = "pay_days_to_be_paid"
    receivables_feature: str = "verified_receivables_core_cny"
    default_days: float = 60.0
    receivable_advance: float = 0.8
    sales_advance: float = 0.1
    rounding: int = 1_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LimitPolicy:
        return cls(**d)

    def base_cny(self, features: pd.DataFrame) -> FloatArray:
        """0.8·R + 0.1·S per row, in yuan (see the class docstring)."""
        n = len(features)

        def col(name: str, missing: float = 0.0) -> FloatArray:
            if name not in features:
                return np.full(n, missing)
            v = pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=np.float64)
            v = np.where(np.isfinite(v), v, missing)
            return np.clip(v, 0.0, None)

        sales = col(self.sales_feature)
        verified_sales = sales * np.clip(col(self.verified_share_feature), 0.0, 1.0)
        if self.receivables_feature in features:
            receivables = col(self.receivables_feature)
        else:
            core_sales = sales * np.clip(col(self.core_share_feature), 0.0, 1.0)
            receivables = core_sales * col(self.days_to_pay_feature, self.default_days) / 365.0
        return self.receivable_advance * receivables + self.sales_advance * verified_sales


def suggested_limit(
    features: pd.DataFrame,
    pd_: npt.ArrayLike,
    *,
    grades: GradeScale | None = None,
    policy: LimitPolicy | None = None,
) -> npt.NDArray[np.int64]:
    """Limit in fen (int64) per row of `features`; the formula is LimitPolicy's."""
    grades = grades or GradeScale()
    policy = policy or LimitPolicy()
    yuan = grades.multiplier(pd_) * policy.base_cny(features)
    rounded = np.floor(yuan / policy.rounding) * policy.rounding
    return rounded.astype(np.int64) * 100
