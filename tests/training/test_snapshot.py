"""Snapshot dates and reuse of stored snapshots (the full load → build → save path runs in the
end-to-end CLI check; see the report)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from training.snapshot import ensure_snapshot, latest_month_end


def test_latest_month_end() -> None:
    assert latest_month_end(date(2024, 12, 31)) == date(2024, 12, 31)
    assert latest_month_end(date(2024, 12, 30)) == date(2024, 11, 30)
    assert latest_month_end(date(2024, 3, 1)) == date(2024, 2, 29)


def test_stored_snapshot_is_reused_and_missing_one_needs_documents(tmp_path: Path) -> None:
    from store.db import make_engine, upgrade
    from store.snapshots import save_snapshot

    engine = make_engine(f"sqlite:///{tmp_path / 'cc.db'}")
    upgrade(engine)
    stored = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, float("nan")]},
                          index=pd.Index(["F1", "F2"], name="firm_id"))
    save_snapshot(engine, date(2024, 1, 31), stored)
    # The database holds no documents: only a reused snapshot can come back.
    got = ensure_snapshot(engine, date(2024, 1, 31))
    pd.testing.assert_frame_equal(got, stored, check_index_type=False)
    # Recomputing reads the (empty) database and replaces the stored snapshot.
    from store.snapshots import snapshot_dates

    fresh = ensure_snapshot(engine, date(2024, 1, 31), recompute=True)
    assert fresh.empty and "net_tier" in fresh.columns
    assert date(2024, 1, 31) not in snapshot_dates(engine)
