"""Red flags: the patterns of fabricated or fragile trade, each with the documents behind it.

A loan officer does not act on a count; they open the invoices. So every flag row names one
document, and the per-firm counts that feed the model are counts of these rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graph.cycles import find_cycles
from graph.edges import InvoiceStats
from graph.params import GraphParams
from graph.prepare import I64, NAT_DAY, Docs, Prepared, months_before
from graph.verify import Verification

FLAGS = (
    "invoice_without_shipment",
    "third_party_payment",
    "red_letter_reversal",
    "duplicate_invoice",
    "circular_trade",
    "young_firm_no_logistics",
    "no_fx_rate",
)
_DOC_KIND = {"invoices": "invoice", "orders": "order", "shipments": "shipment", "payments": "payment"}
_ID_COL = {"invoices": "invoice_id", "orders": "order_id", "shipments": "shipment_id",
           "payments": "payment_id"}


def _rows(firm: I64, flag: str, kind: str, pos: I64) -> pd.DataFrame:
    return pd.DataFrame({"firm": firm.astype(np.int64), "flag": flag, "kind": kind,
                         "pos": pos.astype(np.int64)})


def flag_rows(prep: Prepared, ver: Verification, st: InvoiceStats, params: GraphParams) -> pd.DataFrame:
    """Long table: firm code, flag, document kind, position in that kind's Docs."""
    inv, pays = prep.invoices, prep.payments
    parts: list[pd.DataFrame] = []

    # invoices whose shipment window has closed without a shipment
    closed = st.day <= prep.t - params.shipment_after_days
    miss = closed & ~st.shipped & (st.amount > 0)
    parts.append(_rows(st.s[miss], "invoice_without_shipment", "invoices", st.rows[miss]))

    # payments citing an invoice whose buyer is someone else
    tp = ver.third_party_payments
    tp = tp[pays["day"][tp] > prep.start]
    parts.append(_rows(pays["s"][tp], "third_party_payment", "payments", tp))
    parts.append(_rows(pays["b"][tp], "third_party_payment", "payments", tp))

    # red-letter reversals issued in the window
    cn = np.flatnonzero(inv["credit"] & (inv["day"] > prep.start))
    parts.append(_rows(inv["s"][cn], "red_letter_reversal", "invoices", cn))

    # the same trade invoiced twice: same parties, same amount, within a few days
    cents = np.round(st.amount * 100).astype(np.int64)
    order = same_trade_order(st.s, st.b, cents, st.day)
    ss, bb, cc, dd = st.s[order], st.b[order], cents[order], st.day[order]
    same = (ss[1:] == ss[:-1]) & (bb[1:] == bb[:-1]) & (cc[1:] == cc[:-1]) & (cc[1:] > 0)
    close = same & (dd[1:] - dd[:-1] <= params.duplicate_window_days)
    dup = np.zeros(order.size, dtype=bool)
    dup[1:] |= close
    dup[:-1] |= close
    d_idx = order[dup]
    parts.append(_rows(st.s[d_idx], "duplicate_invoice", "invoices", st.rows[d_idx]))

    parts.append(_circular(prep, st, params))

    # young firms with large invoices and no logistics
    young_since = months_before(prep.as_of, params.young_firm_months)
    f = prep.founded[st.s]
    young = (f != NAT_DAY) & (f > young_since)
    y = young & (st.amount >= params.large_invoice_cny) & ~st.shipped
    parts.append(_rows(st.s[y], "young_firm_no_logistics", "invoices", st.rows[y]))

    # documents left out of amount features for want of an fx rate
    for kind, d in prep.no_fx.items():
        pos = _positions(getattr(prep, kind), d)
        parts.append(_rows(d["s"], "no_fx_rate", kind, pos))
        parts.append(_rows(d["b"], "no_fx_rate", kind, pos))

    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates(ignore_index=True)


_MUL = np.uint64(0x9E3779B97F4A7C15)


def same_trade_order(s: I64, b: I64, cents: I64, day: I64) -> I64:
    """An order that puts invoices of the same (seller, buyer, amount) next to each other, by
    day within each group (ties: original order), like np.lexsort((day, cents, b, s)) but with
    two sorts instead of four: a radix sort on the day, then a stable sort on a 64-bit hash
    of (seller, buyer, amount). Should two groups share a hash, the exact lexsort decides."""
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = int(day.max()) - int(day.min())
    if span >= 1 << 16:
        return np.lexsort((day, cents, b, s))
    with np.errstate(over="ignore"):
        h = s.astype(np.uint64) * _MUL
        for part in (b, cents):
            h ^= h >> np.uint64(29)
            h += part.astype(np.uint64)
            h *= _MUL
        h ^= h >> np.uint64(32)
    by_day = np.argsort((day - day.min()).astype(np.uint16), kind="stable")
    order = by_day[np.argsort(h[by_day], kind="stable")]
    hh, ss, bb, cc = h[order], s[order], b[order], cents[order]
    clash = (hh[1:] == hh[:-1]) & ((ss[1:] != ss[:-1]) | (bb[1:] != bb[:-1]) | (cc[1:] != cc[:-1]))
    if clash.any():
        return np.lexsort((day, cents, b, s))
    return order


def _positions(full: Docs, sub: Docs) -> I64:
    return np.searchsorted(full.rows, sub.rows).astype(np.int64)


def _circular(prep: Prepared, st: InvoiceStats, params: GraphParams) -> pd.DataFrame:
    recent = st.day > prep.t - params.cycle_window_days
    noncore = ~prep.is_core[st.s] & ~prep.is_core[st.b] & recent & (st.amount > 0)
    n = prep.n
    key = st.s[noncore] * n + st.b[noncore]
    if key.size == 0:
        return _rows(np.zeros(0, np.int64), "circular_trade", "invoices", np.zeros(0, np.int64))
    codes, uniq = pd.factorize(key)
    amt = np.bincount(codes, weights=st.amount[noncore])
    uniq = np.asarray(uniq, dtype=np.int64)
    cycles = find_cycles(uniq // n, uniq % n, amt, params.cycle_amount_tolerance,
                         params.cycle_max_length)
    members, edges = [], []
    cid = 0
    for arr in cycles:
        if arr.size == 0:
            continue
        k, length = arr.shape
        ids = np.repeat(np.arange(cid, cid + k), length)
        members.append(pd.DataFrame({"cid": ids, "firm": arr.reshape(-1)}))
        nxt = np.roll(arr, -1, axis=1)
        edges.append(pd.DataFrame({"cid": ids, "key": (arr * n + nxt).reshape(-1)}))
        cid += k
    if not members:
        return _rows(np.zeros(0, np.int64), "circular_trade", "invoices", np.zeros(0, np.int64))
    mem = pd.concat(members, ignore_index=True)
    edg = pd.concat(edges, ignore_index=True)
    docs = pd.DataFrame({"key": key, "pos": st.rows[noncore]})
    j = mem.merge(edg, on="cid").merge(docs, on="key")
    return _rows(j["firm"].to_numpy(), "circular_trade", "invoices", j["pos"].to_numpy())


def public_flags(prep: Prepared, rows: pd.DataFrame) -> pd.DataFrame:
    """firm_id, flag, document_kind, document_id: one row per document that raised a flag."""
    parts = []
    for kind, grp in rows.groupby("kind", sort=False):
        docs: Docs = getattr(prep, str(kind))
        ids = docs.ids(_ID_COL[str(kind)], grp["pos"].to_numpy()).to_numpy(dtype=object)
        parts.append(pd.DataFrame({
            "firm_id": prep.nodes.take(grp["firm"].to_numpy()).to_numpy(dtype=object),
            "flag": grp["flag"].to_numpy(dtype=object),
            "document_kind": _DOC_KIND[str(kind)],
            "document_id": ids,
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object)
                             for c in ("firm_id", "flag", "document_kind", "document_id")})
    return pd.concat(parts, ignore_index=True).sort_values(
        ["firm_id", "flag", "document_kind", "document_id"], ignore_index=True)
