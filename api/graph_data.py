"""The trade graph as the API sees it: the edge table of one snapshot date, built once per worker.

Building edges means loading every flow document up to T and running the graph engine, seconds
for a large book, so a worker keeps the edges of the latest date it was asked for and the firm
names beside them. The neighbourhood view and the core-default scenario read the same table, so
what a bank sees around a firm is what the scenario propagates over.

The graph computes flows as floats in CNY (they are model inputs); a response carries them as
money, a decimal string and integer fen per flow, converted here once (store.money.float_to_minor).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from api.problems import Problem
from store.money import float_to_minor, format_minor

GRAPH_CURRENCY = "CNY"  # the graph converts every flow to CNY
_MONEY_SUFFIX = "_cny"


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


def edge_rows(edges: pd.DataFrame) -> list[dict[str, Any]]:
    """Edges as the graph endpoint returns them: each `<flow>_cny` float as `<flow>` (decimal
    string) and `<flow>_minor` (fen), counts as integers, missing numbers and dates as None."""
    out = pd.DataFrame(index=edges.index)
    for col in edges.columns:
        values = edges[col]
        if col.endswith(_MONEY_SUFFIX):
            name = col[: -len(_MONEY_SUFFIX)]
            minor = pd.Series(float_to_minor(values.to_numpy(dtype=np.float64), GRAPH_CURRENCY),
                              index=edges.index)
            out[name] = format_minor(minor, pd.Series(GRAPH_CURRENCY, index=edges.index)).to_numpy()
            out[f"{name}_minor"] = minor
        elif col.endswith("_count"):
            out[col] = values.round().astype("int64")
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[col] = values.dt.date.astype(object).where(values.notna(), None)
        else:
            out[col] = values.astype(object).where(values.notna(), None)
    out["currency"] = GRAPH_CURRENCY
    return [{str(k): v for k, v in r.items()} for r in out.to_dict("records")]
