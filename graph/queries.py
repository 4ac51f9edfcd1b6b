"""The questions the API and the loan officer ask of the graph, as DataFrames with firm ids.

Each takes flow frames and T like `build_features` and goes through the same coding,
verification and edge steps, so what a firm's neighbourhood shows is what its features saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph.analysis import analyse
from graph.contagion import debtrank, impact_matrix
from graph.edges import public_edges
from graph.flags import flag_rows, public_flags
from graph.params import GraphParams
from graph.transmission import core_dependence, share_matrices, transmit
from graph.verify import verify_invoices as _verify_frame

Frames = Mapping[str, pd.DataFrame]


def build_edges(frames: Frames, as_of: date, params: GraphParams | None = None) -> pd.DataFrame:
    """One row per seller → buyer relationship with its flows in the window before T."""
    a = analyse(frames, as_of, params)
    return public_edges(a.prep, a.edges)


def verify_invoices(frames: Frames, as_of: date, params: GraphParams | None = None) -> pd.DataFrame:
    """Per normal invoice of the allocation history: matched order, shipment, payment, level."""
    a = analyse(frames, as_of, params)
    return _verify_frame(a.prep, a.ver)


def red_flags(frames: Frames, as_of: date, params: GraphParams | None = None) -> pd.DataFrame:
    """firm_id, flag, document_kind, document_id: one row per document that raised a flag."""
    a = analyse(frames, as_of, params)
    return public_flags(a.prep, flag_rows(a.prep, a.ver, a.stats, a.params))


def credit_transmission(
    frames: Frames, as_of: date, params: GraphParams | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per firm: chain credit up, down, tier; long table: firm_id, core_id, direction, credit)

    The long table says which core firms a firm's chain credit comes from and how much of it
    (credit = the core's quality times the discounted shares along the paths, summed).
    """
    a = analyse(frames, as_of, params)
    p, prep, et = a.params, a.prep, a.edges
    s, b = et["s"].to_numpy(), et["b"].to_numpy()
    inv, ver = et["invoiced_cny"].to_numpy(), et["verified_cny"].to_numpy()
    tr = transmit(s, b, ver, inv, prep.is_core, prep.quality, prep.n, p.transmission_decay, p.max_tier)
    per_firm = pd.DataFrame(
        {"chain_credit_up": tr.up, "chain_credit_down": tr.down,
         "chain_credit": np.maximum(tr.up, tr.down), "tier": tr.tier,
         "is_core": prep.is_core},
        index=pd.Index(prep.nodes, name="firm_id"),
    )
    smat, pmat = share_matrices(s, b, ver, inv, prep.n)
    parts = []
    for direction, mat, total in (("up", smat, tr.up), ("down", pmat, tr.down)):
        d = core_dependence(mat, prep.is_core, prep.quality, p.transmission_decay, p.max_tier)
        tot = total[d.row]
        parts.append(pd.DataFrame({
            "firm_id": prep.nodes.take(d.row).to_numpy(dtype=object),
            "core_id": prep.nodes.take(d.col).to_numpy(dtype=object),
            "direction": direction,
            "credit": d.data,
            "share": np.where(tot > 0, d.data / np.where(tot > 0, tot, 1.0), 0.0),
        }))
    deps = pd.concat(parts, ignore_index=True)
    deps = deps[deps["credit"] > 0].sort_values(["firm_id", "direction", "credit"],
                                                ascending=[True, True, False], ignore_index=True)
    return per_firm, deps


def core_default_scenario(
    frames_or_edges: Frames | pd.DataFrame, core_ids: Iterable[str], shock: float = 1.0,
    params: GraphParams | None = None, *, as_of: date | None = None,
) -> pd.DataFrame:
    """firm_id, distress, shocked: exact DebtRank (to convergence) when the named core firms
    take `shock` (1.0 = they fail outright).

    Accepts flow frames (then `as_of` is required, and reported equity is used as a buffer
    where financials exist) or an edge table from `build_edges` (buffer: verified sales).
    W[i, j] = unpaid receivables of i on j / i's buffer. Firms not reached have distress 0.
    """
    p = params or GraphParams()
    if isinstance(frames_or_edges, pd.DataFrame):
        edges = frames_or_edges
        nodes = pd.Index(pd.unique(np.r_[edges["seller_id"].to_numpy(dtype=object),
                                         edges["buyer_id"].to_numpy(dtype=object)]))
        s = nodes.get_indexer(edges["seller_id"]).astype(np.int64)
        b = nodes.get_indexer(edges["buyer_id"]).astype(np.int64)
        outstanding = edges["outstanding_cny"].to_numpy(dtype=np.float64)
        verified = edges["verified_cny"].to_numpy(dtype=np.float64)
        equity = np.full(len(nodes), np.nan)
    else:
        if as_of is None:
            raise ValueError("as_of is required when the scenario is given flow frames")
        a = analyse(frames_or_edges, as_of, p)
        nodes, et, equity = a.prep.nodes, a.edges, a.prep.equity
        s, b = et["s"].to_numpy(), et["b"].to_numpy()
        outstanding = et["outstanding_cny"].to_numpy()
        verified = et["verified_cny"].to_numpy()
    n = len(nodes)
    verified_sales = np.bincount(s, weights=verified, minlength=n)
    buffer = np.where(np.nan_to_num(equity) > 0, equity, verified_sales)
    w: sp.csr_matrix = impact_matrix(s, b, outstanding, buffer, n)
    wanted = list(core_ids)
    codes = nodes.get_indexer(wanted)
    if (codes < 0).any():
        unknown = [c for c, k in zip(wanted, codes, strict=True) if k < 0]
        raise KeyError(f"unknown firm(s) in scenario: {unknown}")
    h1 = np.zeros(n)
    h1[codes] = shock
    h = debtrank(w, h1, linear=p.scenario_linear, steps=None, tol=p.debtrank_tol,
                 max_steps=p.debtrank_max_steps)
    return pd.DataFrame({"firm_id": nodes.to_numpy(dtype=object), "distress": h,
                         "shocked": h1 > 0}).sort_values("distress", ascending=False,
                                                          ignore_index=True, kind="stable")
