"""The trade graph: one edge seller → buyer per relationship, carrying its flows in the window.

Edges are what every network measure is computed on, and what the loan officer's picture of a
firm's neighbourhood shows. They are built with `np.bincount` over a dense edge index, so a
graph of ten million invoices is a handful of array passes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from graph.prepare import F64, I64, NAT_DAY, Prepared
from graph.verify import Verification


@dataclass
class InvoiceStats:
    """Normal invoices issued in the window, with what verification learnt about them."""

    s: I64
    b: I64
    day: I64
    amount: F64  # total in CNY (0 when no fx rate)
    level: np.ndarray
    verified: np.ndarray
    shipped: np.ndarray
    days_to_pay: F64  # NaN unless fully paid
    beyond_terms: F64  # days paid (or, if open and past due, T) minus due; NaN if not yet due
    open_amt: F64
    overdue_amt: F64
    rows: I64  # positions in prep.invoices


def invoice_stats(prep: Prepared, ver: Verification) -> InvoiceStats:
    inv = prep.invoices
    w = inv["day"][ver.inv] > prep.start
    pos = ver.inv[w]
    day = inv["day"][pos]
    paid_day = ver.paid_day[w]
    due = ver.due[w]
    paid = paid_day != NAT_DAY
    dtp = np.where(paid, (paid_day - day).astype(np.float64), np.nan)
    dbt = np.where(paid, (paid_day - due).astype(np.float64),
                   np.where(due < prep.t, (prep.t - due).astype(np.float64), np.nan))
    open_amt = np.maximum(ver.amount_due[w] - ver.allocated[w], 0.0)
    return InvoiceStats(
        s=inv["s"][pos], b=inv["b"][pos], day=day, amount=inv["total"][pos], level=ver.level[w],
        verified=ver.verified[w], shipped=ver.shipment[w] >= 0, days_to_pay=dtp,
        beyond_terms=dbt, open_amt=open_amt, overdue_amt=np.where(due < prep.t, open_amt, 0.0),
        rows=pos,
    )


def _wmean(key: I64, values: F64, weights: F64, size: int) -> F64:
    ok = ~np.isnan(values)
    wsum = np.bincount(key[ok], weights=weights[ok], minlength=size)
    vsum = np.bincount(key[ok], weights=weights[ok] * values[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wsum > 0, vsum / np.where(wsum > 0, wsum, 1.0), np.nan)


def edge_table(prep: Prepared, ver: Verification, st: InvoiceStats) -> pd.DataFrame:
    """Edges with integer endpoints `s`, `b` and float flows (internal form of build_edges)."""
    n = prep.n
    inv, orders, ships, pays = prep.invoices, prep.orders, prep.shipments, prep.payments
    win = {k: d["day"] > prep.start for k, d in
           (("inv", inv), ("ord", orders), ("sh", ships), ("pay", pays))}
    cn = win["inv"] & inv["credit"]
    hist_open = np.maximum(ver.amount_due - ver.allocated, 0.0)
    open_pos = ver.inv[hist_open > 0]
    n_pairs = len(prep.pair_keys)
    c_inv = inv["pc"][st.rows]
    c_cn = inv["pc"][cn]
    c_ord = orders["pc"][win["ord"]]
    c_sh = ships["pc"][win["sh"]]
    c_pay = pays["pc"][win["pay"]]
    c_open = inv["pc"][open_pos]
    present = np.zeros(n_pairs, dtype=bool)
    for c in (c_inv, c_cn, c_ord, c_sh, c_pay, c_open):
        present[c] = True
    remap = np.cumsum(present) - 1  # dense pair code -> edge number
    e = int(present.sum())
    c_inv, c_cn, c_ord, c_sh, c_pay, c_open = (
        remap[c] for c in (c_inv, c_cn, c_ord, c_sh, c_pay, c_open))
    uniq = prep.pair_keys[present]

    def bc(c: I64, w: F64 | None = None) -> F64:
        return np.bincount(c, weights=w, minlength=e).astype(np.float64)

    first = prep.pair_first_day[present]
    invoiced = bc(c_inv, st.amount)
    verified = bc(c_inv, np.where(st.verified, st.amount, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        vshare = np.where(invoiced > 0, np.clip(verified / np.where(invoiced > 0, invoiced, 1), 0, 1), 0.0)
    open_amt = hist_open[hist_open > 0]
    overdue = np.where(ver.due[hist_open > 0] < prep.t, open_amt, 0.0)
    return pd.DataFrame({
        "s": uniq // n, "b": uniq % n,
        "invoiced_cny": invoiced,
        "invoice_count": bc(c_inv),
        "credit_note_cny": bc(c_cn, inv["total"][cn]),
        "credit_note_count": bc(c_cn),
        "ordered_cny": bc(c_ord, orders["amount"][win["ord"]]),
        "order_count": bc(c_ord),
        "shipped_cny": bc(c_sh, ships["goods_value"][win["sh"]]),
        "shipment_count": bc(c_sh),
        "paid_cny": bc(c_pay, pays["amount"][win["pay"]]),
        "payment_count": bc(c_pay),
        "first_trade_day": first,
        "payment_days": _wmean(c_inv, st.days_to_pay, st.amount, e),
        "days_beyond_terms": _wmean(c_inv, st.beyond_terms, st.amount, e),
        "verified_cny": verified,
        "verified_share": vshare,
        "outstanding_cny": bc(c_open, open_amt),
        "overdue_cny": bc(c_open, overdue),
    }, copy=False)  # fresh arrays: no need to copy them into one block


def public_edges(prep: Prepared, table: pd.DataFrame) -> pd.DataFrame:
    """The edge table with firm ids and dates, as `build_edges` returns it."""
    out = table.drop(columns=["s", "b", "first_trade_day"])
    first = table["first_trade_day"].to_numpy()
    first_dates = np.where(np.isnan(first), np.datetime64("NaT"),
                           np.nan_to_num(first).astype(np.int64).astype("datetime64[D]"))
    out.insert(0, "seller_id", prep.nodes.take(table["s"].to_numpy()).to_numpy(dtype=object))
    out.insert(1, "buyer_id", prep.nodes.take(table["b"].to_numpy()).to_numpy(dtype=object))
    out.insert(2, "first_trade", pd.Series(first_dates.astype("datetime64[ns]")))
    return out.reset_index(drop=True)


def to_networkx(edges: pd.DataFrame) -> nx.DiGraph:
    """A networkx DiGraph seller → buyer with every edge column as an attribute."""
    g: nx.DiGraph = nx.DiGraph()
    attrs = [c for c in edges.columns if c not in ("seller_id", "buyer_id")]
    records = edges[attrs].to_dict("records")
    g.add_edges_from(
        (s, b, r) for s, b, r in zip(edges["seller_id"], edges["buyer_id"], records, strict=True)
    )
    return g


def neighbourhood(
    edges: pd.DataFrame, firm_id: Hashable, depth: int = 1
) -> tuple[list[Hashable], pd.DataFrame]:
    """Firms within `depth` trade links of `firm_id` (either direction) and the edges among them."""
    seen: set[Hashable] = {firm_id}
    frontier: set[Hashable] = {firm_id}
    s, b = edges["seller_id"], edges["buyer_id"]
    for _ in range(max(depth, 0)):
        if not frontier:
            break
        fr = list(frontier)
        nxt = set(b[s.isin(fr)]) | set(s[b.isin(fr)])
        frontier = nxt - seen
        seen |= frontier
    keep = s.isin(list(seen)) & b.isin(list(seen))
    nodes: Iterable[Hashable] = sorted(seen, key=str)
    return list(nodes), edges[keep].reset_index(drop=True)


