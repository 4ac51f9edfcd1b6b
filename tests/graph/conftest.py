from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.graph.factory import combine, firm, frames, trade

AS_OF = date(2024, 6, 30)


def random_world(seed: int, n_firms: int = 40, n_core: int = 5, n_trades: int = 300) -> dict[str, pd.DataFrame]:
    """A small random supply chain: cores buy from suppliers, suppliers from each other."""
    rng = np.random.default_rng(seed)
    ids = [f"F{i:03d}" for i in range(n_firms)]
    ratings = ["AAA", "AA+", "AA", "A", "BBB"]
    firms_rows = [firm(f, core=i < n_core, rating=ratings[i % 5] if i < n_core else None)
                  for i, f in enumerate(ids)]
    parts: list[dict[str, list[dict[str, Any]]]] = []
    for k in range(n_trades):
        s = int(rng.integers(0, n_core)) if rng.random() < 0.2 else int(rng.integers(n_core, n_firms))
        b = int(rng.integers(0, n_firms)) if rng.random() < 0.6 else int(rng.integers(0, n_core))
        if s == b:
            continue
        day = pd.Timestamp("2023-05-01") + pd.Timedelta(days=int(rng.integers(0, 420)))
        amount = float(np.round(rng.lognormal(10, 1), 2))
        paid = None if rng.random() < 0.2 else int(rng.integers(10, 120))
        parts.append(trade(ids[s], ids[b], k, day.date().isoformat(), amount, paid_days=paid,
                           ship=rng.random() < 0.85, order=rng.random() < 0.8))
    return frames(firms=firms_rows, **combine(*parts))


@pytest.fixture(scope="module")
def world() -> dict[str, pd.DataFrame]:
    return random_world(3)
