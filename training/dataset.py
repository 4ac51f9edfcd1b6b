"""Point-in-time training sets: one row per (firm, month end T), features as of T, label ahead.

A row's features come from frames cut at T before the feature function sees them, so nothing
dated after T can leak in, whatever the feature function does (DESIGN.md §3 "Point in time").
The label is a credit event in (T, T + horizon]; a row whose window runs past the last date of
the data is kept unlabelled (<NA>) rather than called good, and a firm with an event on or before
T is left out (it is no longer a borrower to score).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from common.progress import Progress, report
from store.pointintime import add_months, data_span, frames_as_of, month_end, month_ends_between

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

FeatureFn = Callable[[Mapping[str, pd.DataFrame], date], pd.DataFrame]
HORIZON_MONTHS = 12
LABEL = "label"


def default_snapshot_dates(
    first: date,
    last: date,
    *,
    horizon_months: int = HORIZON_MONTHS,
    min_history_months: int = 3,
) -> list[date]:
    """Month ends whose label window closes by `last`, after `min_history_months` of trade
    history (features from a month of data describe the data, not the firm)."""
    start = add_months(first, min_history_months)
    stop = add_months(month_end(last), -horizon_months)
    # A window ending after `last` is incomplete; stop is a month end, step back if it overshoots.
    dates = [d for d in month_ends_between(start, stop) if add_months(d, horizon_months) <= pd.Timestamp(last).normalize()]
    if not dates:
        raise ValueError(
            f"data from {first} to {last} has no month end with a complete "
            f"{horizon_months}-month label window after {min_history_months} months of history"
        )
    return dates


def first_event_dates(events: pd.DataFrame) -> pd.Series:
    """Each firm's first credit event date (the label only needs the first)."""
    if events.empty:
        return pd.Series(dtype="datetime64[ns]", name="first_event")
    dates = pd.to_datetime(events["event_date"], errors="coerce")
    return dates.groupby(events["firm_id"].astype(str)).min().rename("first_event")


def label_rows(
    firm_ids: pd.Index,
    as_of: date,
    first_event: pd.Series,
    last_date: date,
    *,
    horizon_months: int = HORIZON_MONTHS,
) -> tuple[npt.NDArray[np.bool_], pd.Series]:
    """(keep mask, label) for firms at T: keep drops firms whose first event is on or before T;
    label is 1/0 for an event in (T, T + horizon], <NA> when the window passes `last_date`."""
    t = pd.Timestamp(as_of).normalize()
    first = pd.Series(firm_ids.astype(str), index=firm_ids).map(first_event)
    first = pd.to_datetime(first)
    keep = ~(first <= t).to_numpy(dtype=bool)
    end = add_months(t, horizon_months)
    if end > pd.Timestamp(last_date).normalize():
        label = pd.Series(pd.NA, index=firm_ids, dtype="Int8")
    else:
        label = pd.Series((first <= end).to_numpy(dtype=np.int8), index=firm_ids, dtype="Int8")
    return keep, label



@dataclass(frozen=True)
class PointInTimeDataset:
    """Features `X` and labels `y`, both indexed by (as_of, firm_id)."""

    X: pd.DataFrame
    y: pd.Series
    horizon_months: int = HORIZON_MONTHS

    @property
    def dates(self) -> list[date]:
        return [pd.Timestamp(d).date() for d in self.X.index.get_level_values("as_of").unique().sort_values()]

    def __len__(self) -> int:
        return len(self.X)

    def take(self, mask: np.ndarray) -> PointInTimeDataset:
        """The rows where the boolean `mask` holds."""
        return PointInTimeDataset(self.X.loc[mask], self.y.loc[mask], self.horizon_months)

    def labelled(self) -> PointInTimeDataset:
        return self.take(self.y.notna().to_numpy(dtype=bool))

    def on_dates(self, dates: Iterable[date]) -> PointInTimeDataset:
        wanted = pd.DatetimeIndex([pd.Timestamp(d).normalize() for d in dates])
        return self.take(self.X.index.get_level_values("as_of").isin(wanted))

    def split_out_of_time(
        self, *, oot_dates: int | None = None, oot_fraction: float = 0.25
    ) -> tuple[PointInTimeDataset, PointInTimeDataset]:
        """Train on the earlier snapshot dates, test on the later ones (no date in both)."""
        dates = self.dates
        if len(dates) < 2:
            raise ValueError("an out-of-time split needs at least two snapshot dates")
        n_oot = oot_dates if oot_dates is not None else max(1, round(len(dates) * oot_fraction))
        n_oot = min(max(n_oot, 1), len(dates) - 1)
        return self.on_dates(dates[:-n_oot]), self.on_dates(dates[-n_oot:])

    def to_frame(self) -> pd.DataFrame:
        """One flat table (as_of, firm_id, features…, label), e.g. for Parquet."""
        return self.X.assign(**{LABEL: self.y}).reset_index()

    @classmethod
    def from_frame(cls, df: pd.DataFrame, horizon_months: int = HORIZON_MONTHS) -> PointInTimeDataset:
        df = df.copy()
        df["as_of"] = pd.to_datetime(df["as_of"])
        df = df.set_index(["as_of", "firm_id"])
        y = df.pop(LABEL).astype("Int8")
        return cls(df, y, horizon_months)


def _concat_features(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-date frames; a categorical column whose categories differ between dates would
    fall back to object dtype in concat, so it is made categorical again over the union."""
    out = pd.concat(parts, axis=0)
    for col in parts[0].columns:
        was_categorical = any(isinstance(p[col].dtype, pd.CategoricalDtype) for p in parts if col in p)
        if was_categorical and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    return out


def assemble(
    features_by_date: Iterable[tuple[date, pd.DataFrame]],
    events: pd.DataFrame,
    last_date: date,
    *,
    horizon_months: int = HORIZON_MONTHS,
    population: Callable[[date], pd.Index] | None = None,
) -> PointInTimeDataset:
    """Label per-date feature frames (firm_id index) and stack them into one dataset."""
    first_event = first_event_dates(events)
    xs: list[pd.DataFrame] = []
    ys: list[pd.Series] = []
    for as_of, feats in features_by_date:
        if population is not None:
            feats = feats.loc[feats.index.isin(population(as_of))]
        keep, label = label_rows(feats.index, as_of, first_event, last_date, horizon_months=horizon_months)
        feats = feats.loc[keep]
        label = label.loc[keep]
        idx = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex([pd.Timestamp(as_of).normalize()] * len(feats)), feats.index.astype(str)], names=["as_of", "firm_id"]
        )
        xs.append(feats.set_axis(idx, axis=0))
        ys.append(label.set_axis(idx).rename(LABEL))
    if not xs:
        raise ValueError("no snapshot dates given")
    return PointInTimeDataset(_concat_features(xs), pd.concat(ys).astype("Int8"), horizon_months)


def _default_feature_fn(graph_params: Any) -> FeatureFn:
    from models.features import build_feature_frame

    def fn(frames: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
        return build_feature_frame(frames, as_of, graph_params)

    return fn


def build_dataset(
    frames: Mapping[str, pd.DataFrame],
    dates: Sequence[date] | None = None,
    *,
    feature_fn: FeatureFn | None = None,
    graph_params: Any = None,
    horizon_months: int = HORIZON_MONTHS,
    min_history_months: int = 3,
    progress: Progress | None = None,
) -> PointInTimeDataset:
    """A dataset from in-memory flow frames (simulator output or loaded files).

    `feature_fn(frames_as_of_T, T)` defaults to models.features.build_feature_frame; it is given
    only frames cut at T. Rows are the registry firms founded by T.
    """
    fn = feature_fn or _default_feature_fn(graph_params)
    first, last = data_span(frames)
    snap = list(dates) if dates is not None else default_snapshot_dates(
        first, last, horizon_months=horizon_months, min_history_months=min_history_months
    )
    events = frames.get("credit_events", pd.DataFrame(columns=["firm_id", "event_date"]))
    populations: dict[date, pd.Index | None] = {}

    def per_date() -> Iterable[tuple[date, pd.DataFrame]]:
        for i, t in enumerate(snap):
            report(progress, f"dataset: features as of {t}", i, len(snap))
            cut = frames_as_of(frames, t)
            populations[t] = pd.Index(cut["firms"]["firm_id"].astype(str)) if "firms" in cut else None
            yield t, fn(cut, t)
        report(progress, "dataset: features done", len(snap), len(snap))

    def population(t: date) -> pd.Index:
        pop = populations.get(t)
        return pop if pop is not None else pd.Index([])

    has_firms = "firms" in frames
    return assemble(
        per_date(), events, last, horizon_months=horizon_months, population=population if has_firms else None
    )


def build_dataset_from_database(
    engine: Engine,
    dates: Sequence[date] | None = None,
    *,
    graph_params: Any = None,
    horizon_months: int = HORIZON_MONTHS,
    min_history_months: int = 3,
    recompute: bool = False,
    progress: Progress | None = None,
) -> PointInTimeDataset:
    """A dataset from the database, through the same snapshots serving reads: a stored snapshot
    for T is reused, a missing one is computed and saved first.

    The documents are read once, as of the last date missing a snapshot, and cut in memory per
    T (store.flow_cache.FlowCache): reading them again for every T cost ~9 s a date on SQLite
    for 3,000 firms, twenty times the feature computation itself. The result equals computing
    each snapshot from its own database read (tests/training/test_database_dataset.py)."""
    from store.feature_snapshots import load_snapshot, save_snapshot, snapshot_dates
    from store.flow_cache import FlowCache
    from store.loaders import document_span, latest_document_date, load_credit_events

    last = latest_document_date(engine)
    if last is None:
        raise ValueError("the database holds no documents; load some first")
    if dates is not None:
        snap = list(dates)
    else:
        first, last = document_span(engine)
        snap = default_snapshot_dates(
            first, last, horizon_months=horizon_months, min_history_months=min_history_months
        )
    events = load_credit_events(engine)
    stored = set() if recompute else set(snapshot_dates(engine))
    missing = [t for t in snap if t not in stored]
    cache = FlowCache(engine, max(missing)) if missing else None
    fn = _default_feature_fn(graph_params)

    def per_date() -> Iterable[tuple[date, pd.DataFrame]]:
        for i, t in enumerate(snap):
            report(progress, f"dataset: snapshot {t}", i, len(snap))
            if cache is None or t in stored:
                yield t, load_snapshot(engine, t)
                continue
            features = fn(cache.as_of(t), t)
            save_snapshot(engine, t, features, None)
            yield t, features
        report(progress, "dataset: snapshots done", len(snap), len(snap))

    return assemble(per_date(), events, last, horizon_months=horizon_months)
