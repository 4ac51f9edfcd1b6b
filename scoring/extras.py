"""What the score response shows beside the score: tier, core firms depended on, red flags.

Serving answers from precomputed rows only (DESIGN.md §7 "Serving"), so these per-firm facts are
computed with the serving snapshot and stored as its `extras` JSON, in the shape api/serving.py
renders: `tier` (int, None when no core firm is within reach), `core_firms` (ids, the one the
firm depends on most first), `red_flags` (one entry per flag with the documents that raised it).
`core_dependence` carries the shares behind `core_firms` for whoever reads the snapshot.

The per-firm lists are cut from long tables sorted once by firm (one slice per firm), never
built by filtering the table per firm.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

MAX_DOCUMENTS_PER_FLAG = 20  # a response lists this many documents per flag, and the count


def _grouped(firms: pd.Index, keys: np.ndarray, records: list[Any]) -> list[list[Any]]:
    """records (sorted by `keys`) as one list per firm of `firms` ([] where it has none)."""
    out: list[list[Any]] = [[] for _ in range(len(firms))]
    if not records:
        return out
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    stops = np.r_[starts[1:], len(keys)]
    pos = firms.get_indexer(pd.Index(keys[starts]))
    for p, a, b in zip(pos.tolist(), starts.tolist(), stops.tolist(), strict=True):
        if p >= 0:
            out[p] = records[a:b]
    return out


def tiers(per_firm: pd.DataFrame, firms: pd.Index, max_tier: int) -> pd.Series:
    """Trade links to the nearest core firm; <NA> when out of reach or unknown."""
    t = pd.to_numeric(per_firm["tier"], errors="coerce").reindex(firms)
    t = t.where(t <= max_tier)
    return t.round().astype("Int64")


def core_lists(deps: pd.DataFrame, firms: pd.Index) -> tuple[list[list[Any]], list[list[Any]]]:
    """(core ids per firm, most depended on first; the dependence rows behind them)."""
    if deps.empty:
        empty: list[list[Any]] = [[] for _ in range(len(firms))]
        return empty, [[] for _ in range(len(firms))]
    d = deps.sort_values(["firm_id", "share", "credit"], ascending=[True, False, False],
                         kind="stable")
    keys = d["firm_id"].to_numpy(dtype=object)
    records = pd.DataFrame({
        "core_id": d["core_id"].astype(str).to_numpy(dtype=object),
        "direction": d["direction"].astype(str).to_numpy(dtype=object),
        "share": d["share"].astype("float64").round(6).to_numpy(),
        "credit": d["credit"].astype("float64").round(6).to_numpy(),
    }).to_dict("records")
    dependence = _grouped(firms, keys, records)
    first = ~d.duplicated(["firm_id", "core_id"]).to_numpy()
    ids = _grouped(firms, keys[first], d["core_id"].astype(str).to_numpy(dtype=object)[first].tolist())
    return ids, dependence


def flag_lists(flags: pd.DataFrame, firms: pd.Index, max_documents: int) -> list[list[Any]]:
    """Per firm: [{flag, count, documents: [{kind, id}, …]}] (documents capped, count exact)."""
    if flags.empty:
        return [[] for _ in range(len(firms))]
    f = flags.sort_values(["firm_id", "flag", "document_kind", "document_id"], kind="stable")
    f = f.reset_index(drop=True)
    group = f.groupby(["firm_id", "flag"], sort=False)
    rank = group.cumcount().to_numpy()
    count = group["flag"].transform("size").to_numpy()
    kept = f.loc[rank < max_documents]
    doc_records = pd.DataFrame({
        "kind": kept["document_kind"].astype(str).to_numpy(dtype=object),
        "id": kept["document_id"].astype(str).to_numpy(dtype=object),
    }).to_dict("records")
    pair = (kept["firm_id"].astype(str) + "\x00" + kept["flag"].astype(str)).to_numpy(dtype=object)
    heads = f.loc[rank == 0]
    head_keys = (heads["firm_id"].astype(str) + "\x00" + heads["flag"].astype(str))
    docs = _grouped(pd.Index(head_keys.to_numpy(dtype=object)), pair, doc_records)
    per_flag = [
        {"flag": flag, "count": int(n), "documents": d}
        for flag, n, d in zip(heads["flag"].astype(str).tolist(), count[rank == 0].tolist(), docs,
                              strict=True)
    ]
    return _grouped(firms, heads["firm_id"].to_numpy(dtype=object), per_flag)


def snapshot_extras(
    frames: Mapping[str, pd.DataFrame],
    as_of: date,
    firms: pd.Index,
    graph_params: Any = None,
    *,
    max_documents: int = MAX_DOCUMENTS_PER_FLAG,
) -> pd.DataFrame:
    """tier, core_firms, core_dependence, red_flags for every firm of `firms` (its index)."""
    from graph import GraphParams, credit_transmission, red_flags

    params = graph_params or GraphParams()
    index = pd.Index(firms.astype(str), name="firm_id")
    per_firm, deps = credit_transmission(frames, as_of, params)
    per_firm.index = per_firm.index.astype(str)
    ids, dependence = core_lists(deps, index)
    flags = red_flags(frames, as_of, params)
    return pd.DataFrame(
        {
            "tier": tiers(per_firm, index, params.max_tier),
            "core_firms": pd.Series(ids, index=index, dtype=object),
            "core_dependence": pd.Series(dependence, index=index, dtype=object),
            "red_flags": pd.Series(flag_lists(flags, index, max_documents), index=index, dtype=object),
        },
        index=index,
    )
