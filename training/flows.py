"""Flow frames for many snapshot dates from one database read.

A training set needs the flows as of every month end T1…Tk. Reading them from the database
for each T repeats the same rows k times (the documents dated ≤ T1 are read k times over), and
the read, not the feature computation, dominated `chaincredit train`. Documents, credit events
and the firm registry are therefore read once, as of the last date wanted, and cut per T in
memory by `training.dataset.frames_as_of`, which applies the same date rules as the loader.

Profiles are the exception: the loader keeps each firm's latest intangibles and financials known
by T, and a read as of the last date would have dropped the versions that were latest at an
earlier T. They are small (one row per firm and year), so they are read per T through the same
public loader, which keeps its selection rules in one place.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from store.records import KINDS
from training.dataset import frames_as_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DOCUMENTS = ("orders", "invoices", "shipments", "payments", "credit_events")
PROFILES = ("intangibles", "financials")
# The order store.loaders.load_flows returns its frames in.
ORDER = ("firms", "intangibles", "financials", "orders", "invoices", "shipments", "payments",
         "credit_events")


def with_id_only_firms(registry: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The registry plus every party the documents name that it lacks, known by id only (the
    same rows store.loaders.load_flows adds: is_core False, everything else absent)."""
    seen = [
        frame[col].dropna().to_numpy(dtype=object)
        for name, frame in frames.items()
        if name != "firms"
        for col in KINDS[name].party_fields
        if col in frame
    ]
    if not seen:
        return registry
    ids = pd.unique(np.concatenate(seen)).astype(str)
    extra = np.setdiff1d(ids, registry["firm_id"].to_numpy(dtype=str))
    if extra.size == 0:
        return registry
    added = pd.DataFrame(index=pd.RangeIndex(extra.size), columns=registry.columns)
    added = added.astype(registry.dtypes.to_dict())
    added["firm_id"] = pd.Series(extra, dtype=registry["firm_id"].dtype)
    added["is_core"] = False
    return pd.concat([registry, added], ignore_index=True)


class FlowCache:
    """The flows as of any T ≤ `upto`, from one read of the documents."""

    def __init__(self, engine: Engine, upto: date) -> None:
        from store.loaders import load_flows

        self.engine = engine
        self.upto = upto
        self._docs = load_flows(engine, upto, kinds=DOCUMENTS)
        self._registry = load_flows(engine, upto, kinds=("firms",))["firms"]

    def as_of(self, t: date) -> dict[str, pd.DataFrame]:
        """What load_flows(engine, t) followed by frames_as_of(…, t) gives, without the read."""
        from store.loaders import load_flows

        if pd.Timestamp(t) > pd.Timestamp(self.upto):
            raise ValueError(f"{t} is after {self.upto}, the date the documents were read as of")
        cut = frames_as_of(self._docs, t)
        frames: dict[str, pd.DataFrame] = {**cut, **load_flows(self.engine, t, kinds=PROFILES)}
        frames["firms"] = with_id_only_firms(self._registry, frames)
        return frames_as_of({k: frames[k] for k in ORDER}, t)
