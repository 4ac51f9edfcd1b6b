"""Feature snapshots: load the flows as of T from the store, build the features, save them.

`chaincredit features` and `chaincredit train` both come through here, and serving reads what is
saved, so the vector a firm is scored on is the one the model was trained on (DESIGN.md §7).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.progress import Progress, report
from store.pointintime import frames_as_of, latest_month_end

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def default_as_of(engine: Engine) -> date:
    from store.loaders import latest_document_date

    last = latest_document_date(engine)
    if last is None:
        raise ValueError("the database holds no documents; run `chaincredit load` first")
    return latest_month_end(last)


def _load(engine: Engine, as_of: date, as_known_at: datetime | None) -> dict[str, pd.DataFrame]:
    from store.loaders import load_flows

    # The loader already cuts at T; cutting again costs little and keeps the guarantee local.
    return frames_as_of(load_flows(engine, as_of, as_known_at=as_known_at), as_of)


def compute_snapshot(
    engine: Engine,
    as_of: date,
    *,
    graph_params: Any = None,
    as_known_at: datetime | None = None,
) -> pd.DataFrame:
    """Features as of `as_of` from the database (nothing saved)."""
    from models.features import build_feature_frame

    return build_feature_frame(_load(engine, as_of, as_known_at), as_of, graph_params)


def build_snapshot(
    engine: Engine,
    as_of: date,
    *,
    graph_params: Any = None,
    as_known_at: datetime | None = None,
    extras: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Compute the snapshot for `as_of` and replace the stored one; returns the features.

    With `extras` (the serving snapshot of `chaincredit features`) each firm's tier, the core
    firms it depends on and its red flags are stored beside its features (scoring.extras), so
    the score response can show them without touching the graph. Training snapshots skip them.
    """
    from models.features import build_feature_frame
    from scoring.extras import snapshot_extras
    from store.feature_snapshots import save_snapshot

    report(progress, "loading flows", 0, 1)
    frames = _load(engine, as_of, as_known_at)
    report(progress, "loading flows", 1, 1)
    features = build_feature_frame(frames, as_of, graph_params, progress)
    if extras:
        report(progress, "extras: tiers, core firms, red flags", 0, 1)
        extra = snapshot_extras(frames, as_of, features.index, graph_params)
        report(progress, "extras: tiers, core firms, red flags", 1, 1)
    report(progress, "saving snapshot", 0, 1)
    save_snapshot(engine, as_of, features, extra if extras else None)
    report(progress, "saving snapshot", 1, 1)
    return features
