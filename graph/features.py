"""All graph features for every firm as of T, in one call.

One row per firm (registry firms and every party seen in a document dated on or before T), one
float64 column per entry of FEATURES, in that order. Every step is a column operation: bincounts
over the edge list, sparse matrix products for transmission, PageRank and DebtRank.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from common.progress import Progress
from graph.analysis import Analysis, analyse
from graph.catalog import FEATURE_NAMES
from graph.contagion import exposure_to, impact_matrix
from graph.flags import FLAGS, flag_rows
from graph.pagerank import pagerank
from graph.params import GraphParams
from graph.prepare import F64, I64, months_before
from graph.transmission import transmit


def _ratio(num: F64, den: F64, fill: float = 0.0) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), fill)


def _wmean(key: I64, values: F64, weights: F64, n: int) -> F64:
    ok = ~np.isnan(values) & (weights > 0)
    w = np.bincount(key[ok], weights=weights[ok], minlength=n)
    v = np.bincount(key[ok], weights=weights[ok] * values[ok], minlength=n)
    return _ratio(v, w, np.nan)


def largest_core_customer(s: I64, b: I64, amount: F64, is_core: np.ndarray, n: int,
                          nodes: pd.Index | None = None) -> I64:
    """Per firm, the core buyer it invoiced most (ties: the smallest firm id, as the reference
    and the Spark engine break them; by code when `nodes` is not given); -1 when none."""
    m = is_core[b] & (amount > 0) & (s != b)
    target = np.full(n, -1, dtype=np.int64)
    if m.any():
        order = np.lexsort((b[m], -amount[m], s[m]))
        ss, bb, aa = s[m][order], b[m][order], amount[m][order]
        first = np.r_[True, ss[1:] != ss[:-1]]
        target[ss[first]] = bb[first]
        best = np.maximum.accumulate(np.where(first, np.arange(ss.size), 0))  # group's first row
        tied = ~first & (aa == aa[best])
        if nodes is not None and tied.any():
            for g in np.unique(best[tied]).tolist():
                rows = np.flatnonzero((best == g) & (aa == aa[g]))
                ids = nodes.take(bb[rows]).astype(str)
                target[ss[g]] = bb[rows[int(np.argmin(ids.to_numpy(dtype=object)))]]
    return target


def compute(a: Analysis, progress: Progress | None = None) -> pd.DataFrame:
    p, prep, st, et = a.params, a.prep, a.stats, a.edges
    report = progress or (lambda _stage, _done, _total: None)
    n, t = prep.n, prep.t
    s, b = et["s"].to_numpy(), et["b"].to_numpy()
    inv_amt = et["invoiced_cny"].to_numpy()
    ver_amt = et["verified_cny"].to_numpy()
    out: dict[str, F64] = {}
    report("features: volumes", 50, 100)

    # -- volumes, counts, concentration ----------------------------------------------------
    sales = np.bincount(s, weights=inv_amt, minlength=n)
    purchases = np.bincount(b, weights=inv_amt, minlength=n)
    pos = inv_amt > 0
    out["net_customers"] = np.bincount(s[pos], minlength=n).astype(float)
    out["net_suppliers"] = np.bincount(b[pos], minlength=n).astype(float)
    out["net_customer_hhi"] = np.bincount(s, weights=_ratio(inv_amt, sales[s]) ** 2, minlength=n)
    out["net_supplier_hhi"] = np.bincount(b, weights=_ratio(inv_amt, purchases[b]) ** 2, minlength=n)
    out["net_invoices_issued"] = np.bincount(st.s, minlength=n).astype(float)
    out["net_invoices_received"] = np.bincount(st.b, minlength=n).astype(float)
    cn = et["credit_note_cny"].to_numpy()  # negative
    out["net_sales_cny"] = np.maximum(sales + np.bincount(s, weights=cn, minlength=n), 0.0)
    out["net_purchases_cny"] = np.maximum(purchases + np.bincount(b, weights=cn, minlength=n), 0.0)
    recent = st.day > months_before(prep.as_of, p.growth_months)
    r = np.bincount(st.s[recent], weights=st.amount[recent], minlength=n)
    e = np.bincount(st.s[~recent], weights=st.amount[~recent], minlength=n)
    out["net_sales_growth"] = _ratio(r - e, r + e)
    age = (t - et["first_trade_day"].to_numpy()).clip(min=0)
    age = np.where(np.isnan(age), 0.0, age)
    out["net_relationship_tenure_days"] = _ratio(
        np.bincount(s, weights=age * inv_amt, minlength=n) + np.bincount(b, weights=age * inv_amt, minlength=n),
        sales + purchases,
    )
    report("features: transmission", 60, 100)

    # -- core firms and transmission --------------------------------------------------------
    tr = transmit(s, b, ver_amt, inv_amt, prep.is_core, prep.quality, n,
                  p.transmission_decay, p.max_tier)
    out["net_tier"] = tr.tier
    out["net_chain_credit_up"] = tr.up
    out["net_chain_credit_down"] = tr.down
    out["net_chain_credit"] = np.maximum(tr.up, tr.down)
    to_core = prep.is_core[b]
    core_ver = np.where(to_core, ver_amt, 0.0)
    out["net_core_sales_share"] = np.clip(_ratio(np.bincount(s, weights=core_ver, minlength=n), sales), 0, 1)
    largest = np.zeros(n)
    share = np.clip(_ratio(core_ver, sales[s]), 0, 1)
    np.maximum.at(largest, s, share)
    out["net_largest_core_share"] = largest
    touch = np.r_[s[prep.is_core[b]], b[prep.is_core[s]]]
    other = np.r_[b[prep.is_core[b]], s[prep.is_core[s]]]
    pairs = np.unique(touch * n + other) if touch.size else np.zeros(0, np.int64)
    out["net_core_counterparties"] = np.bincount(pairs // max(n, 1), minlength=n).astype(float)

    # -- network position and contagion -----------------------------------------------------
    pr = pagerank(b, s, inv_amt, n, damping=p.pagerank_damping, tol=p.pagerank_tol,
                  max_iter=p.pagerank_max_iter)
    out["net_pagerank"] = pr * n
    report("features: contagion", 70, 100)
    verified_sales = np.bincount(s, weights=ver_amt, minlength=n)
    buffer = np.where(np.nan_to_num(prep.equity) > 0, prep.equity, verified_sales)
    w = impact_matrix(s, b, et["outstanding_cny"].to_numpy(), buffer, n)
    target = largest_core_customer(s, b, inv_amt, prep.is_core, n, prep.nodes)
    out["net_debtrank_exposure"] = exposure_to(w, target, p.feature_debtrank_steps)

    ev = prep.events
    recent_ev = (ev["firm"] >= 0) & (ev["day"] > months_before(prep.as_of, p.default_lookback_months))
    defaulted = np.zeros(n, dtype=bool)
    defaulted[ev["firm"][recent_ev]] = True
    weight = np.maximum.reduce([inv_amt, et["shipped_cny"].to_numpy(), et["ordered_cny"].to_numpy(),
                                et["paid_cny"].to_numpy()])
    tw = np.bincount(s, weights=weight, minlength=n) + np.bincount(b, weights=weight, minlength=n)
    dw = (np.bincount(s, weights=weight * defaulted[b], minlength=n)
          + np.bincount(b, weights=weight * defaulted[s], minlength=n))
    out["net_neighbour_default_share"] = np.clip(_ratio(dw, tw), 0, 1)
    out["net_defaulted_neighbours"] = (np.bincount(s, weights=defaulted[b].astype(float), minlength=n)
                                       + np.bincount(b, weights=defaulted[s].astype(float), minlength=n))
    overdue_pay = np.bincount(st.b, weights=st.overdue_amt, minlength=n)
    late = np.where(st.beyond_terms > p.distress_overdue_days, st.open_amt, 0.0)
    late_share = np.clip(_ratio(np.bincount(st.b, weights=late, minlength=n), purchases), 0, 1)
    distress = np.maximum(defaulted.astype(float), late_share)
    nd = np.bincount(s, weights=weight * distress[b], minlength=n) + np.bincount(
        b, weights=weight * distress[s], minlength=n)
    out["net_neighbour_distress"] = np.clip(_ratio(nd, tw), 0, 1)
    report("features: verification", 80, 100)

    # -- verification and flags ------------------------------------------------------------
    out["ver_sales_share"] = np.clip(_ratio(verified_sales, sales), 0, 1)
    out["ver_purchase_share"] = np.clip(_ratio(np.bincount(b, weights=ver_amt, minlength=n), purchases), 0, 1)
    out["ver_level"] = np.clip(np.nan_to_num(_wmean(st.s, st.level.astype(float), st.amount, n)), 0, 3)
    reversed_amt = -np.bincount(s, weights=cn, minlength=n)
    out["ver_reversal_share"] = np.clip(_ratio(reversed_amt, sales), 0, 1) + 0.0
    report("features: flags", 85, 100)
    flags = flag_rows(prep, a.ver, st, p)
    counts = {f: np.zeros(n) for f in FLAGS}
    if len(flags):
        for f, grp in flags.groupby("flag", sort=False):
            counts[str(f)] = np.bincount(grp["firm"].to_numpy(dtype=np.int64), minlength=n).astype(float)
    for f in FLAGS:
        out[f"flag_{f}"] = counts[f]
    out["flag_total"] = sum((counts[f] for f in FLAGS if f != "no_fx_rate"), np.zeros(n))
    report("features: payments", 90, 100)

    # -- payment behaviour -----------------------------------------------------------------
    out["pay_days_to_be_paid"] = _wmean(st.s, st.days_to_pay, st.amount, n)
    out["pay_dbt_as_seller"] = _wmean(st.s, st.beyond_terms, st.amount, n)
    out["pay_dbt_as_buyer"] = _wmean(st.b, st.beyond_terms, st.amount, n)
    idx = np.interp(st.beyond_terms, np.asarray(p.paydex_days), np.asarray(p.paydex_index))
    out["pay_paydex"] = _wmean(st.b, idx, st.amount, n)
    out["pay_overdue_receivables_share"] = np.clip(
        _ratio(np.bincount(st.s, weights=st.overdue_amt, minlength=n), sales), 0, 1)
    out["pay_overdue_payables_share"] = np.clip(_ratio(overdue_pay, purchases), 0, 1)

    # one Fortran-ordered block, filled column by column while the column arrays are let go,
    # so the frame never exists twice (a million firms x 40 features is 320 MB)
    mat = np.empty((n, len(FEATURE_NAMES)), dtype=np.float64, order="F")
    for i, name in enumerate(FEATURE_NAMES):
        mat[:, i] = out.pop(name)
    frame = pd.DataFrame(mat, index=pd.Index(prep.nodes, name="firm_id"),
                         columns=list(FEATURE_NAMES), copy=False)
    report("features: done", 100, 100)
    return frame


def build_features(
    frames: Mapping[str, pd.DataFrame], as_of: date, params: GraphParams | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Graph features as of `as_of`, indexed by firm_id, one float64 column per FEATURES entry."""
    return compute(analyse(frames, as_of, params, progress), progress)
