"""Trade verification (三流合一): each invoice against its order, shipment and payment.

An invoice alone proves nothing: anyone can issue one. An invoice whose goods were shipped to
the buyer named on it, against an order placed before it, and which the buyer then paid, is a
trade a bank can lend against. Matching is by reference where the documents cite each other
and otherwise by the two parties, the amount (±1% or ±1 CNY) and a date window; payments are
allocated to a pair's open invoices oldest first, partial payments summed (DESIGN §7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.progress import Progress
from graph.matching import lookup_ref, match_window, pair_day_order, take, within
from graph.params import GraphParams
from graph.prepare import F64, I64, NAT_DAY, Prepared

LEVEL_NAMES = ("unverified", "one_flow", "two_flows", "three_flows")
MATCH_HOW = (None, "reference", "inferred")


@dataclass
class Verification:
    """Per normal invoice of the allocation history (positions `inv` into prep.invoices)."""

    inv: I64
    order: I64  # position in prep.orders or -1
    order_how: np.ndarray  # 0 none, 1 reference, 2 inferred
    shipment: I64
    shipment_how: np.ndarray
    due: I64
    amount_due: F64  # payable less red-letter reversals citing it
    ref_paid: F64  # paid by payments citing it (capped at amount_due)
    allocated: F64  # total paid: cited plus oldest-first allocation
    paid_day: I64  # day the invoice became fully paid, NAT_DAY if not (yet)
    level: np.ndarray  # 0..3
    verified: np.ndarray
    third_party_payments: I64  # positions in prep.payments: payer is not the invoice's buyer
    cn_target: I64  # per invoice row of prep.invoices: the normal invoice a credit note reverses

    @property
    def paid(self) -> np.ndarray:
        return self.paid_day != NAT_DAY


def verify(
    prep: Prepared, params: GraphParams, progress: Progress | None = None,
) -> Verification:
    report = progress or (lambda _stage, _done, _total: None)
    inv, orders, ships, pays = prep.invoices, prep.orders, prep.shipments, prep.payments
    rel, abs_cny = params.amount_tolerance_rel, params.amount_tolerance_cny
    hist = (inv["day"] > prep.hist_start) & ~inv["credit"]
    idx = np.flatnonzero(hist)
    s, b, day = inv["s"][idx], inv["b"][idx], inv["day"][idx]
    # an invoice to or from a party known by name alone is never evidence (DESIGN.md §7)
    unidentified = prep.unidentified_in(s, b)
    total, net, payable = inv["total"][idx], inv["net"][idx], inv["payable"][idx]
    has_amt = inv["has_amount"][idx]
    pair = inv["pc"][idx]
    total_m = np.where(has_amt, total, np.nan)
    net_m = np.where(has_amt, net, np.nan)

    report("features: verify: orders", 15, 100)
    # -- order ---------------------------------------------------------------------------
    by_pair_day = pair_day_order(pair, day)
    oid_ref = inv["oid_ref"][idx]
    o_ref = lookup_ref(s, oid_ref, orders["s"], orders["oid"])
    o_amt = np.where(orders["has_amount"], orders["amount"], np.nan)
    o_inf = _infer(o_ref < 0, by_pair_day, pair, day, (total_m, net_m), orders["pc"],
                   orders["day"], o_amt, -params.order_window_days, 0, rel, abs_cny)
    order = np.where(o_ref >= 0, o_ref, o_inf)
    order_how = np.where(o_ref >= 0, 1, np.where(o_inf >= 0, 2, 0)).astype(np.int8)
    oid = np.where(oid_ref >= 0, oid_ref, take(orders["oid"], order, -1))
    del o_ref, o_inf, o_amt, oid_ref

    report("features: verify: shipments", 25, 100)
    # -- shipment ------------------------------------------------------------------------
    sh_ref = lookup_ref(s, oid, ships["s"], ships["oid_ref"])
    sh_amt = np.where(ships["has_amount"], ships["goods_value"], np.nan)
    sh_inf = _infer(sh_ref < 0, by_pair_day, pair, day, (total_m, net_m), ships["pc"],
                    ships["day"], sh_amt, -params.shipment_before_days,
                    params.shipment_after_days, rel, abs_cny)
    shipment = np.where(sh_ref >= 0, sh_ref, sh_inf)
    shipment_how = np.where(sh_ref >= 0, 1, np.where(sh_inf >= 0, 2, 0)).astype(np.int8)
    del sh_ref, sh_inf, sh_amt, oid, total_m, net_m, total, net

    # -- due date ------------------------------------------------------------------------
    terms = take(orders["terms"], order, -1)
    terms = np.where(terms >= 0, terms, params.default_terms_days)
    due_given = inv["due"][idx]
    due = np.where(due_given != NAT_DAY, due_given, day + terms)

    # -- reversals (red-letter credit notes citing an original) ----------------------------
    inv_iid = inv["iid"][idx]
    cn_target_local = lookup_ref(inv["s"], inv["orig_ref"], s, inv_iid)
    cn_target_local = np.where(inv["credit"], cn_target_local, -1)
    reversed_amt: F64 = np.zeros(idx.size)
    cn = cn_target_local >= 0
    if cn.any():
        reversed_amt = np.bincount(cn_target_local[cn], weights=-inv["payable"][cn], minlength=idx.size)
    amount_due = np.maximum(payable - np.maximum(reversed_amt, 0.0), 0.0)
    cn_target = take(idx, cn_target_local, -1)
    del cn_target_local, reversed_amt, payable, has_amt

    report("features: verify: payments", 35, 100)
    # -- payments citing an invoice ------------------------------------------------------
    pay_in = pays["day"] > prep.hist_start
    p_amt = np.where(pay_in, np.maximum(pays["amount"], 0.0), 0.0)
    p_target = lookup_ref(pays["s"], pays["iid_ref"], s, inv_iid)
    p_target = np.where(pay_in, p_target, -1)
    cited = p_target >= 0
    third = np.flatnonzero(cited & (pays["b"] != take(b, p_target, -1)))
    ref_sum = np.bincount(p_target[cited], weights=p_amt[cited], minlength=idx.size)
    ref_paid = np.minimum(ref_sum, amount_due)
    ref_last = np.full(idx.size, NAT_DAY, dtype=np.int64)
    if cited.any():
        np.maximum.at(ref_last, p_target[cited], pays["day"][cited])

    # -- oldest-first allocation of the other payments -----------------------------------
    remaining = amount_due - ref_paid
    free = pay_in & ~cited
    del ref_sum, p_target, cited, pay_in, inv_iid, s, b
    alloc, fifo_day = _allocate(pair, day, remaining, pays["pc"][free], pays["day"][free],
                                p_amt[free], len(prep.pair_keys), rel, abs_cny, by_pair_day)
    allocated = settle(amount_due, ref_paid + alloc)
    full = (amount_due > 0) & within(amount_due, allocated, rel, abs_cny)
    by_ref = (amount_due > 0) & within(amount_due, ref_paid, rel, abs_cny)
    paid_day = np.where(by_ref, ref_last, np.where(full, np.maximum(fifo_day, ref_last), NAT_DAY))
    # a payment made before the invoice (an advance) completes it on its issue day
    paid_day = np.where(full, np.maximum(paid_day, day), NAT_DAY)

    level = ((order >= 0).astype(np.int8) + (shipment >= 0) + full).astype(np.int8)
    level[unidentified] = 0
    return Verification(
        inv=idx, order=order, order_how=order_how, shipment=shipment, shipment_how=shipment_how,
        due=due, amount_due=amount_due, ref_paid=ref_paid, allocated=allocated, paid_day=paid_day,
        level=level, verified=level >= params.verified_min_level, third_party_payments=third,
        cn_target=cn_target,
    )


def _infer(
    todo: np.ndarray, by_pair_day: I64, pair: I64, day: I64, amts: tuple[F64, ...],
    r_pair: I64, r_day: I64, r_amt: F64, lo: int, hi: int, rel: float, abs_cny: float,
) -> I64:
    """match_window for the invoices that `todo` marks (those no reference settled)."""
    out = np.full(pair.size, -1, dtype=np.int64)
    sub = np.flatnonzero(todo)
    if sub.size == 0:
        return out
    local = np.full(pair.size, -1, dtype=np.int64)
    local[sub] = np.arange(sub.size)
    order = local[by_pair_day]
    order = order[order >= 0]  # the (pair, day) order restricted to the subset
    out[sub] = match_window(pair[sub], day[sub], tuple(a[sub] for a in amts), r_pair, r_day,
                            r_amt, lo, hi, rel, abs_cny, l_order=order)
    return out


def _allocate(
    i_pair: I64, i_day: I64, due: F64, p_pair: I64, p_day: I64, p_amt: F64, n_pairs: int,
    rel: float, abs_cny: float, io: I64 | None = None,
) -> tuple[F64, I64]:
    """Oldest-first allocation per pair; returns the amount allocated to each invoice and the
    day of the payment that completed it (NAT_DAY when not completed).

    `io` is the invoices' stable (pair, day) order when the caller has it. Running totals are
    kept in whole fen (int64), so they are exact: a float running total over every pair would
    leave each pair's sums off by the rounding of all the pairs before it (phantom open amounts
    of 1e-10 CNY), and an exact one gives the same answer whatever order a distributed engine
    adds in. Payment amounts are never negative, so the running total of all payments in (pair,
    day) order rises monotonically across pairs too: the payment completing an invoice is one
    sorted search for (pair's running total before it + the invoice's cumulative due less
    tolerance).
    """
    ni, npay = i_pair.size, p_pair.size
    alloc = np.zeros(ni)
    done_day = np.full(ni, NAT_DAY, dtype=np.int64)
    if ni == 0 or npay == 0:
        return alloc, done_day
    ic, pc = i_pair, p_pair  # dense pair codes
    if io is None:
        io = pair_day_order(ic, i_day)
    ic_s = ic[io]
    due_f = fen(due[io])
    cum_i = np.cumsum(due_f)
    grp_start = np.flatnonzero(np.r_[True, ic_s[1:] != ic_s[:-1]])
    grp_len = np.diff(np.r_[grp_start, ni])
    c_incl = cum_i - np.repeat(np.r_[0, cum_i][grp_start], grp_len)
    del cum_i
    c_prev = c_incl - due_f
    # float sums of whole fen are exact below 2**53 fen (90 trillion CNY per pair)
    total_paid = np.bincount(pc, weights=fen(p_amt), minlength=n_pairs).astype(np.int64)
    alloc[io] = np.clip(total_paid[ic_s] - c_prev, 0, due_f) / 100.0
    del c_prev

    threshold = c_incl - tolerance_fen(due_f, rel, abs_cny)  # completed within tolerance
    del c_incl, due_f
    po = pair_day_order(pc, p_day)
    pc_s = pc[po]
    cum_p = np.cumsum(fen(p_amt[po]))
    # per pair: where its payments begin and end in po order, and the running total before it
    p_first = np.searchsorted(pc_s, ic_s, side="left")
    threshold += np.where(p_first > 0, cum_p[np.maximum(p_first - 1, 0)], 0)
    j = np.maximum(np.searchsorted(cum_p, threshold, side="left"), p_first)
    del threshold, p_first, cum_p
    ok = j < np.searchsorted(pc_s, ic_s, side="right")
    del pc_s, ic_s
    got = np.full(ni, NAT_DAY, dtype=np.int64)
    got[ok] = p_day[po[j[ok]]]
    done_day[io] = got
    return alloc, done_day


def fen(cny: F64) -> I64:
    """CNY amounts as whole fen (half to even), the unit allocation adds up in."""
    return np.rint(np.asarray(cny, dtype=np.float64) * 100.0).astype(np.int64)


def tolerance_fen(due_fen: I64, rel: float, abs_cny: float) -> I64:
    """The matching tolerance of an amount due, in whole fen (rounded down)."""
    return np.floor(np.maximum(rel * due_fen.astype(np.float64), abs_cny * 100.0)).astype(np.int64)


def settle(amount_due: F64, allocated: F64) -> F64:
    """`allocated`, or exactly `amount_due` where the two are within half a fen: what is left of
    an invoice below half a fen is rounding, not an open receivable."""
    return np.where(np.abs(amount_due - allocated) < HALF_FEN, amount_due, allocated)


HALF_FEN = 0.005


def verify_invoices(prep: Prepared, ver: Verification) -> pd.DataFrame:
    """Per invoice: what it was matched to, how, what was paid, and its verification level."""
    inv, orders, ships = prep.invoices, prep.orders, prep.shipments
    pos = ver.inv

    def dates(d: I64) -> pd.Series:
        arr = np.where(d == NAT_DAY, np.datetime64("NaT"), d.astype("datetime64[D]"))
        return pd.Series(arr.astype("datetime64[ns]"))

    def ids(docs_ids: pd.Series, found: I64) -> pd.Series:
        out = pd.Series([None] * found.size, dtype=object)
        hit = found >= 0
        if hit.any():
            out[hit] = docs_ids.take(found[hit]).to_numpy(dtype=object)
        return out

    return pd.DataFrame({
        "invoice_id": inv.ids("invoice_id", pos),
        "seller_id": prep.nodes.take(inv["s"][pos]).to_numpy(dtype=object),
        "buyer_id": prep.nodes.take(inv["b"][pos]).to_numpy(dtype=object),
        "issue_date": dates(inv["day"][pos]),
        "amount_due_cny": ver.amount_due,
        "order_id": ids(orders.ids("order_id"), ver.order),
        "order_match": pd.Series(np.asarray(MATCH_HOW, dtype=object)[ver.order_how]),
        "shipment_id": ids(ships.ids("shipment_id"), ver.shipment),
        "shipment_match": pd.Series(np.asarray(MATCH_HOW, dtype=object)[ver.shipment_how]),
        "paid_cny": ver.allocated,
        "paid_on": dates(ver.paid_day),
        "due_date": dates(ver.due),
        "level": ver.level.astype(np.int64),
        "level_name": pd.Series(np.asarray(LEVEL_NAMES, dtype=object)[ver.level]),
        "verified": ver.verified,
    })
