"""The database training set reads the documents once and cuts them per date in memory; it must
equal the per-date path (one database read per snapshot date) row for row and value for value."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine


def test_cached_flows_equal_a_fresh_read(loaded: Engine) -> None:
    from store.flow_cache import FlowCache
    from store.loaders import load_flows
    from store.pointintime import frames_as_of

    cache = FlowCache(loaded, date(2024, 6, 30))
    for t in (date(2023, 5, 31), date(2023, 12, 31), date(2024, 6, 30)):
        fresh = frames_as_of(load_flows(loaded, t), t)
        cut = cache.as_of(t)
        assert list(cut) == list(fresh)
        for kind in fresh:
            pd.testing.assert_frame_equal(
                cut[kind].reset_index(drop=True), fresh[kind].reset_index(drop=True), obj=kind
            )
    assert len(cache.as_of(date(2023, 5, 31))["invoices"]) < len(cache.as_of(date(2024, 6, 30))["invoices"])
    with pytest.raises(ValueError, match="after"):
        cache.as_of(date(2024, 7, 31))


def test_dataset_equals_the_per_date_path(loaded: Engine) -> None:
    from scoring.snapshot import compute_snapshot
    from store.feature_snapshots import snapshot_dates
    from training.dataset import build_dataset_from_database

    dates = [date(2023, 4, 30), date(2023, 5, 31), date(2023, 6, 30)]
    data = build_dataset_from_database(loaded, dates, recompute=True)
    assert set(dates) <= set(snapshot_dates(loaded))
    assert data.dates == dates
    for t in dates:
        ours = data.X.xs(pd.Timestamp(t), level="as_of")
        per_date = compute_snapshot(loaded, t)  # its own database read as of t
        per_date = per_date.loc[ours.index]
        assert ours.shape[0] > 100 and list(ours.columns) == list(per_date.columns)
        pd.testing.assert_frame_equal(ours, per_date, check_names=False)
    # The stored snapshots are reused on the next call (no recompute): same rows and values.
    again = build_dataset_from_database(loaded, dates)
    np.testing.assert_array_equal(again.y.to_numpy(), data.y.to_numpy())
    num = data.X.select_dtypes("number").columns
    np.testing.assert_allclose(again.X[num].to_numpy(dtype=float), data.X[num].to_numpy(dtype=float),
                               rtol=1e-9, atol=1e-12, equal_nan=True)  # JSON keeps 15 digits
