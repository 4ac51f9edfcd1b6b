"""Circular trade: short directed cycles of similar amounts among non-core firms.

Round-tripping (A invoices B, B invoices C, C invoices A, for about the same amount, within
weeks) inflates everyone's sales without any goods. Cycles of length 2..4 are found with
joins over the edge list, pruned at every hop by the amount band, so a hub with thousands of
links does not explode the search. Each cycle is reported once, starting at its smallest node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graph.prepare import F64, I64


def find_cycles(s: I64, b: I64, amount: F64, tolerance: float, max_length: int = 4) -> list[np.ndarray]:
    """Cycles as arrays of shape (k, length) of node codes, one array per length 2..max_length.

    Edges (s → b, amount > 0) must already be restricted to the window and to non-core firms.
    A cycle qualifies when max(amount) / min(amount) ≤ 1 + tolerance over its edges.
    """
    keep = (amount > 0) & (s != b)
    e = pd.DataFrame({"s": s[keep], "b": b[keep], "a": amount[keep]})
    out: list[np.ndarray] = []
    if e.empty:
        return [np.zeros((0, k), dtype=np.int64) for k in range(2, max_length + 1)]
    ratio = 1.0 + tolerance
    edge_key = pd.Index(e["s"].to_numpy() * (int(max(e["s"].max(), e["b"].max())) + 1) + e["b"].to_numpy())
    nmax = int(max(e["s"].max(), e["b"].max())) + 1
    amt_by_key = pd.Series(e["a"].to_numpy(), index=edge_key)
    amt_by_key = amt_by_key[~amt_by_key.index.duplicated()]
    # paths start at their smallest node: every later node must be larger than the first
    paths = e.rename(columns={"s": "n0", "b": "n1"}).assign(lo=e["a"], hi=e["a"]).drop(columns="a")
    paths = paths[paths["n1"] > paths["n0"]]
    for length in range(2, max_length + 1):
        last = f"n{length - 1}"
        close_key = paths[last].to_numpy() * nmax + paths["n0"].to_numpy()
        back = amt_by_key.reindex(close_key).to_numpy()
        lo = np.minimum(paths["lo"].to_numpy(), back)
        hi = np.maximum(paths["hi"].to_numpy(), back)
        ok = ~np.isnan(back) & (hi <= lo * ratio)
        cols = [f"n{i}" for i in range(length)]
        out.append(paths.loc[ok, cols].to_numpy(dtype=np.int64))
        if length == max_length:
            break
        nxt = paths.merge(e.rename(columns={"s": last, "b": f"n{length}", "a": "a2"}), on=last)
        nxt = nxt[nxt[f"n{length}"] > nxt["n0"]]
        for i in range(1, length):
            nxt = nxt[nxt[f"n{length}"] != nxt[f"n{i}"]]
        nxt = nxt.assign(lo=np.minimum(nxt["lo"], nxt["a2"]), hi=np.maximum(nxt["hi"], nxt["a2"]))
        nxt = nxt[nxt["hi"] <= nxt["lo"] * ratio].drop(columns=["a2"])
        paths = nxt
    return out
