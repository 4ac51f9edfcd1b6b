"""A public-like synthetic credit data set with a known PD, for benchmarks and calibration.

Gaussian features from sklearn's make_classification (correlated, some redundant), a default
log-odds with thresholds, a saturating term, a U-shape, an interaction and a categorical effect,
and missing values, so that neither a linear scorecard nor a tree model has it for free.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.datasets import make_classification

SECTOR_EFFECT = {"A": -0.6, "B": -0.2, "C": 0.0, "D": 0.3, "E": 0.8}


def credit_data(
    n: int, seed: int = 0, *, nonlinear: bool = True
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(X, y, true_pd): y = 1 is a default drawn from true_pd (base rate about 15–20%).

    make_classification draws a new population per seed: split one call into train and test.
    """
    X, _ = make_classification(
        n_samples=n,
        n_features=10,
        n_informative=6,
        n_redundant=2,
        random_state=seed,
        shuffle=False,
    )
    rng = np.random.default_rng(seed)
    x = X[rng.permutation(n)]  # make_classification orders rows by cluster when not shuffled
    logit = -3.0 + 0.8 * x[:, 0] - 0.7 * x[:, 1] + 0.3 * x[:, 2]
    if nonlinear:
        logit += 0.9 * np.tanh(2.0 * x[:, 2]) + 0.35 * x[:, 3] ** 2
        logit += -0.8 * ((x[:, 4] > 0.5) & (x[:, 5] > 0.0)) + 0.25 * x[:, 0] * x[:, 2]
    sector = rng.choice(list(SECTOR_EFFECT), size=n, p=[0.15, 0.25, 0.3, 0.2, 0.1])
    logit += pd.Series(sector).map(SECTOR_EFFECT).to_numpy()
    true_pd = expit(logit)
    y = (rng.random(n) < true_pd).astype(int)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame.loc[rng.random(n) < 0.2, "f6"] = np.nan
    frame["sector"] = pd.Series(sector, dtype="category")
    return frame, y, true_pd
