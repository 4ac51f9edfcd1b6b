"""The trade graph as the API sees it: the edge table of one snapshot date, built once per worker.

Building edges means loading every flow document up to T and running the graph engine, seconds
for a large book, so a worker keeps the edges of the latest date it was asked for and the firm
names beside them. The neighbourhood view and the core-default scenario read the same table, so
what a bank sees around a firm is what the scenario propagates over.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from api.problems import Problem


@dataclass(frozen=True)
class GraphData:
    as_of: date
    edges: pd.DataFrame
    names: dict[str, str]


class GraphCache:
    def __init__(self) -> None:
        self._data: GraphData | None = None
        self._lock = threading.Lock()  # one build at a time; the others wait for it

    def get(self, engine: Engine, as_of: date) -> GraphData:
        data = self._data
        if data is not None and data.as_of == as_of:
            return data
        with self._lock:
            data = self._data
            if data is not None and data.as_of == as_of:
                return data
            data = _build(engine, as_of)
            self._data = data
            return data


def _build(engine: Engine, as_of: date) -> GraphData:
    try:
        import graph
        from store.loaders import load_flows
    except ImportError as exc:
        raise Problem(503, f"the graph view is not available in this build ({exc.name} missing)") from exc
    frames = load_flows(engine, as_of)
    edges = graph.build_edges(frames, as_of)
    firms = frames["firms"]
    names = {
        str(f): str(n)
        for f, n in zip(firms["firm_id"], firms["name"], strict=True)
        if isinstance(n, str) and n
    }
    return GraphData(as_of, edges, names)
