"""Point-in-time datasets: labels by hand, the out-of-time split, and the guard against leaks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
import pytest

from store import pointintime as pit
from store.records import KINDS
from training import dataset as ds


def _firms(ids: list[str], founded: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "firm_id": ids,
            "founded_on": pd.to_datetime(founded or ["2015-01-01"] * len(ids)),
            "is_core": [False] * len(ids),
        }
    )


def _invoices(n: int, start: str, end: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    ids = ["A", "B", "C", "D"]
    amount = rng.integers(100_00, 10_000_00, n)
    issued = rng.choice(days, n)
    issued[-1] = days[-1]  # the data's last date is exactly `end`
    return pd.DataFrame(
        {
            "invoice_id": [f"I{seed}-{i}" for i in range(n)],
            "seller_id": rng.choice(ids, n),
            "buyer_id": rng.choice(ids, n),
            "issue_date": issued,
            "total_minor": amount,
            "total_cny": amount / 100,
            "currency": "CNY",
            "kind": "normal",
        }
    )


def _frames() -> dict[str, pd.DataFrame]:
    events = pd.DataFrame(
        {
            "firm_id": ["B", "C", "C"],
            "event_date": pd.to_datetime(pd.Series(["2023-06-15", "2022-05-10", "2023-01-01"])),
            "kind": ["default_90dpd", "default_90dpd", "bankruptcy"],
            "reported_on": pd.to_datetime(pd.Series(["2023-07-01", "2022-09-30", None])),
        }
    )
    intangibles = pd.DataFrame(
        {
            "firm_id": ["A", "A", "B"],
            "as_of": pd.to_datetime(["2022-01-31", "2023-03-31", "2022-06-30"]),
            "invention_patents": [1, 5, 2],
        }
    )
    financials = pd.DataFrame(
        {
            "firm_id": ["A", "A"],
            "fiscal_year": [2021, 2022],
            "reported_on": pd.to_datetime(pd.Series([None, "2023-02-15"])),
            "revenue_cny": [1e6, 2e6],
        }
    )
    return {
        "firms": _firms(["A", "B", "C", "D", "E"], ["2015-01-01"] * 4 + ["2022-09-01"]),
        "invoices": _invoices(400, "2022-01-01", "2024-03-31", seed=1),
        "intangibles": intangibles,
        "financials": financials,
        "credit_events": events,
    }


class Recorder:
    """A feature function that records the latest date of anything it is handed, and computes
    features from every kind so that a leak would change them."""

    def __init__(self) -> None:
        self.calls: list[tuple[date, pd.Timestamp]] = []

    def __call__(self, frames: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
        latest = pd.Timestamp.min
        for kind, df in frames.items():
            col = KINDS[kind].date_field if kind in KINDS else None
            if col and col in df and not df.empty:
                latest = max(latest, pd.to_datetime(df[col]).max())
        self.calls.append((as_of, latest))
        inv = frames["invoices"]
        firms = frames["firms"]["firm_id"]
        sales = inv.groupby("seller_id")["total_cny"].agg(["sum", "count"])
        patents = frames["intangibles"].sort_values("as_of").groupby("firm_id")["invention_patents"].last()
        revenue = frames["financials"].groupby("firm_id")["revenue_cny"].last()
        n_events = frames["credit_events"].groupby("firm_id").size()
        out = pd.DataFrame(index=pd.Index(firms.astype(str), name="firm_id"))
        out["sales"] = sales["sum"].reindex(out.index).astype(float)
        out["n_sales"] = sales["count"].reindex(out.index).astype(float)
        out["patents"] = patents.reindex(out.index).astype(float)
        out["revenue"] = revenue.reindex(out.index).astype(float)
        out["events_seen"] = n_events.reindex(out.index).astype(float)
        return out


def test_default_dates_have_complete_windows() -> None:
    dates = ds.default_snapshot_dates(date(2022, 1, 1), date(2024, 3, 31), min_history_months=3)
    assert dates[0] == date(2022, 4, 30)
    assert dates[-1] == date(2023, 3, 31)
    assert all(pit.add_months(d, 12) <= pd.Timestamp("2024-03-31") for d in dates)
    with pytest.raises(ValueError, match="complete"):
        ds.default_snapshot_dates(date(2024, 1, 1), date(2024, 6, 30))


def test_labels_exclusions_and_unlabelled_rows() -> None:
    frames = _frames()
    dates = [date(2022, 3, 31), date(2022, 6, 30), date(2023, 3, 31), date(2023, 6, 30)]
    data = ds.build_dataset(frames, dates, feature_fn=Recorder())
    y = data.y
    t = pd.Timestamp
    # B's first event 2023-06-15: inside (2022-06-30, 2023-06-30] and (2023-03-31, ...], not 2022-03-31's.
    assert y.loc[(t("2022-03-31"), "B")] == 0
    assert y.loc[(t("2022-06-30"), "B")] == 1
    # C defaulted 2022-05-10: labelled 1 at 2022-03-31, gone from every later date.
    assert y.loc[(t("2022-03-31"), "C")] == 1
    assert (t("2022-06-30"), "C") not in y.index
    # E is founded 2022-09-01: not a row before that.
    assert (t("2022-06-30"), "E") not in y.index
    assert y.loc[(t("2023-03-31"), "E")] == 0
    # 2023-06-30 + 12 months passes the last document (2024-03-31): rows kept, unlabelled.
    late = y.xs(t("2023-06-30"), level="as_of")
    assert late.isna().all() and len(late) == 3  # A, D, E (B defaulted before)
    assert data.labelled().y.notna().all()
    assert len(data.labelled()) == len(data) - 3


def test_no_feature_reads_after_its_date() -> None:
    frames = _frames()
    rec = Recorder()
    dates = ds.default_snapshot_dates(*pit.data_span(frames))
    base = ds.build_dataset(frames, dates, feature_fn=rec)
    assert [c[0] for c in rec.calls] == dates
    for as_of, latest in rec.calls:
        assert latest <= pd.Timestamp(as_of)

    # Perturb everything dated after the first date: amounts, extra documents, events, profiles.
    cut = pd.Timestamp(dates[0])
    changed = {k: v.copy() for k, v in frames.items()}
    inv = changed["invoices"]
    later = inv["issue_date"] > cut
    inv.loc[later, "total_cny"] *= 7
    changed["invoices"] = pd.concat([inv, _invoices(300, "2022-05-01", "2024-03-31", seed=9)])
    changed["intangibles"] = pd.concat(
        [changed["intangibles"], pd.DataFrame({"firm_id": ["D"], "as_of": [cut + pd.Timedelta(days=1)],
                                               "invention_patents": [99]})]
    )
    changed["financials"] = pd.concat(
        [changed["financials"], pd.DataFrame({"firm_id": ["D"], "fiscal_year": [2021],
                                              "reported_on": [cut + pd.Timedelta(days=1)],
                                              "revenue_cny": [5e9]})]
    )
    changed["credit_events"] = pd.concat(
        [changed["credit_events"], pd.DataFrame({"firm_id": ["A"], "event_date": [cut - pd.Timedelta(days=5)],
                                                 "kind": ["default_90dpd"],
                                                 "reported_on": [cut + pd.Timedelta(days=3)]})]
    )
    again = ds.build_dataset(changed, dates[:1], feature_fn=Recorder())
    first = base.X.xs(cut, level="as_of", drop_level=False)
    assert isinstance(first, pd.DataFrame)
    # A is now excluded (its late-reported event precedes T), everything else is identical.
    pd.testing.assert_frame_equal(first.drop(index=(cut, "A")), again.X)
    # ... and the perturbation is visible at later dates, so the comparison has teeth.
    moved = ds.build_dataset(changed, dates[-1:], feature_fn=Recorder())
    assert not base.X.xs(pd.Timestamp(dates[-1]), level="as_of")["sales"].equals(
        moved.X.xs(pd.Timestamp(dates[-1]), level="as_of")["sales"]
    )


def test_out_of_time_split_by_date_and_roundtrip() -> None:
    frames = _frames()
    dates = ds.default_snapshot_dates(*pit.data_span(frames))
    data = ds.build_dataset(frames, dates, feature_fn=Recorder())
    train, oot = data.split_out_of_time(oot_dates=3)
    assert oot.dates == dates[-3:]
    assert train.dates == dates[:-3]
    assert max(train.dates) < min(oot.dates)
    assert len(train) + len(oot) == len(data)
    back = ds.PointInTimeDataset.from_frame(data.to_frame())
    pd.testing.assert_frame_equal(back.X, data.X)
    pd.testing.assert_series_equal(back.y, data.y)
