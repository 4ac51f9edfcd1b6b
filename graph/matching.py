"""Vectorised document matching: by reference, and by parties + amount + date window.

A Python loop over ten million invoices is minutes; sorted integer keys and `np.searchsorted`
are seconds. Parties and a day (or a rounded amount) are packed into one int64 key so one
sorted array answers "the nearest order of the same two firms before this invoice" for all
invoices at once.
"""

from __future__ import annotations

import numpy as np

from graph.prepare import F64, I64, NAT_DAY

_DAY_BITS = 17  # 2**17 days ≈ 359 years around the smallest day seen
_AMT_MAX = (1 << 36) - 1  # amounts above 68.7 billion CNY are clipped in the search key only


def lookup(left: I64, right: I64) -> I64:
    """Position in `right` of each `left` key (first occurrence), -1 when absent or key < 0."""
    out = np.full(left.shape[0], -1, dtype=np.int64)
    if left.size == 0 or right.size == 0:
        return out
    order = np.argsort(right, kind="stable")
    sk = right[order]
    pos = np.searchsorted(sk, left, side="left")
    inside = pos < sk.size
    pos_c = np.where(inside, pos, 0)
    hit = inside & (sk[pos_c] == left) & (left >= 0)
    out[hit] = order[pos_c[hit]]
    return out


def composite(a: I64, b: I64, b_size: int) -> I64:
    """One int64 key for a pair of non-negative codes; -1 where either is missing."""
    return np.where((a >= 0) & (b >= 0), a * max(b_size, 1) + b, -1)


def within(a: F64, b: F64, rel: float, abs_cny: float) -> np.ndarray:
    """|a - b| <= max(rel * |a|, abs): DESIGN §7 "±1% or ±1 CNY"."""
    return np.abs(a - b) <= np.maximum(rel * np.abs(a), abs_cny)


def match_window(
    l_pair: I64, l_day: I64, l_amts: tuple[F64, ...],
    r_pair: I64, r_day: I64, r_amt: F64,
    lo: int, hi: int, rel: float, abs_cny: float, candidates: int = 3,
) -> I64:
    """For each left document, a right document of the same pair (dense pair codes) with a date in
    [day + lo, day + hi] and an amount within tolerance of any of `l_amts`; -1 if none.

    Two passes: the `candidates` latest right documents not after day + hi (most trades are
    invoiced soon after their order), then the right documents nearest in amount (for a
    document that is not the latest one). Each pass only looks at neighbours in a sorted key.
    """
    n = l_pair.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or r_pair.size == 0:
        return out
    base = int(min(l_day.min(), r_day.min())) + min(lo, 0) - 1
    lp, rp = l_pair, r_pair  # dense pair codes (Prepared: cols["pc"])

    def accept(cand: I64, todo: np.ndarray) -> None:
        c = np.where(cand >= 0, cand, 0)
        ok = todo & (cand >= 0) & (rp[c] == lp)
        d = r_day[c] - l_day
        ok &= (d >= lo) & (d <= hi)
        amt_ok = np.zeros(n, dtype=bool)
        for a in l_amts:
            amt_ok |= within(a, r_amt[c], rel, abs_cny)
        ok &= amt_ok
        out[ok] = cand[ok]

    # pass 1: by date
    rkey = (rp << _DAY_BITS) + (r_day - base)
    order = np.argsort(rkey, kind="stable")
    sk = rkey[order]
    lkey = (lp << _DAY_BITS) + (l_day + hi - base)
    pos = np.searchsorted(sk, lkey, side="right") - 1
    for k in range(candidates):
        p = pos - k
        cand = np.where(p >= 0, order[np.maximum(p, 0)], -1)
        accept(cand, out < 0)
    # pass 2: by amount (first amount of the left side)
    todo = out < 0
    if todo.any():
        ramt = np.clip(np.nan_to_num(np.round(r_amt), nan=-1.0), -1, _AMT_MAX).astype(np.int64) + 1
        lamt = np.clip(np.nan_to_num(np.round(l_amts[0]), nan=-1.0), -1, _AMT_MAX).astype(np.int64) + 1
        rkey2 = (rp << 37) + ramt
        order2 = np.argsort(rkey2, kind="stable")
        sk2 = rkey2[order2]
        pos2 = np.searchsorted(sk2, (lp << 37) + lamt, side="left")
        for off in (0, -1, 1, -2):
            p = pos2 + off
            valid = (p >= 0) & (p < sk2.size)
            cand = np.where(valid, order2[np.clip(p, 0, sk2.size - 1)], -1)
            accept(cand, out < 0)
    return out


def valid_day(d: I64) -> np.ndarray:
    return d != NAT_DAY


def take(arr: np.ndarray, idx: I64, fill: float | int) -> np.ndarray:
    """arr[idx] where idx >= 0, `fill` elsewhere (also when arr is empty)."""
    if arr.size == 0:
        return np.full(idx.shape[0], fill, dtype=np.result_type(arr.dtype, type(fill)))
    return np.where(idx >= 0, arr[np.clip(idx, 0, arr.size - 1)], fill)
