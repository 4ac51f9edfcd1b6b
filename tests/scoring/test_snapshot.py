"""Feature snapshots from the database: the date a snapshot defaults to, and a rebuild that
replaces what was stored (the full load → build → save path runs in the end-to-end CLI check)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from scoring.snapshot import build_snapshot, default_as_of
from store.feature_snapshots import load_snapshot, save_snapshot, snapshot_dates


def test_without_documents_there_is_no_default_date(engine: Engine) -> None:
    with pytest.raises(ValueError, match="chaincredit load"):
        default_as_of(engine)


def test_build_replaces_the_stored_snapshot(engine: Engine) -> None:
    stored = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, float("nan")]},
                          index=pd.Index(["F1", "F2"], name="firm_id"))
    save_snapshot(engine, date(2024, 1, 31), stored)
    pd.testing.assert_frame_equal(load_snapshot(engine, date(2024, 1, 31)), stored, check_index_type=False)
    # The database holds no documents: the rebuilt snapshot is empty and replaces the stored one.
    fresh = build_snapshot(engine, date(2024, 1, 31), extras=False)
    assert fresh.empty and "net_tier" in fresh.columns
    assert date(2024, 1, 31) not in snapshot_dates(engine)
