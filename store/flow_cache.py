"""Flow frames for many snapshot dates from one database read.

A training set needs the flows as of every month end T1…Tk. Reading them from the database
for each T repeats the same rows k times (the documents dated ≤ T1 are read k times over), and
the read, not the feature computation, dominated `chaincredit train`. Documents, credit events
and the firm registry are therefore read once, as of the last date wanted, and cut per T in
memory by `store.pointintime.frames_as_of`, which applies the same date rules as the loader.

Profiles are the exception: the loader keeps each firm's latest intangibles and financials known
by T, and a read as of the last date would have dropped the versions that were latest at an
earlier T. They are small (one row per firm and year), so they are read per T through the same
public loader, which keeps its selection rules in one place.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine

from store.loaders import FLOW_KINDS, load_flows, with_id_only_firms
from store.pointintime import frames_as_of

DOCUMENTS = ("orders", "invoices", "shipments", "payments", "credit_events")
PROFILES = ("intangibles", "financials")


class FlowCache:
    """The flows as of any T ≤ `upto`, from one read of the documents."""

    def __init__(self, engine: Engine, upto: date) -> None:
        self.engine = engine
        self.upto = upto
        self._docs = load_flows(engine, upto, kinds=DOCUMENTS)
        self._registry = load_flows(engine, upto, kinds=("firms",))["firms"]

    def as_of(self, t: date) -> dict[str, pd.DataFrame]:
        """What load_flows(engine, t) followed by frames_as_of(…, t) gives, without the read."""
        if pd.Timestamp(t) > pd.Timestamp(self.upto):
            raise ValueError(f"{t} is after {self.upto}, the date the documents were read as of")
        cut = frames_as_of(self._docs, t)
        frames: dict[str, pd.DataFrame] = {**cut, **load_flows(self.engine, t, kinds=PROFILES)}
        frames["firms"] = with_id_only_firms(self._registry, frames)
        return frames_as_of({k: frames[k] for k in FLOW_KINDS}, t)
