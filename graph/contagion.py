"""Contagion: how much distress reaches each firm when a core firm fails (DebtRank).

DebtRank (Battiston et al. 2012, "DebtRank: too central to fail?", Sci. Rep. 2:541) and its
linear form (Bardoscia et al. 2015, "DebtRank: a microscopic foundation for shock
propagation", PLoS ONE 10(6)). Distress h_i ∈ [0, 1] is the share of firm i's buffer lost.
W[i, j] is the impact of j's distress on i: the receivables i holds on j (invoices j has not
paid) relative to i's buffer (12-month verified sales, or equity where financials exist).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from graph.matching import sorted_search, stable_argsort
from graph.prepare import F64, I64


def debtrank(
    W: Any, shock: npt.ArrayLike, *, linear: bool = True, steps: int | None = None,
    tol: float = 1e-12, max_steps: int = 10_000,
) -> F64:
    """Final distress vector after `steps` rounds (None: until nothing changes).

    `shock` is h(1), the initial distress; h(0) = 0.
    linear: h(t+1) = min(1, h(t) + W (h(t) - h(t-1)))   (Bardoscia et al. 2015)
    original: a firm that became distressed at t passes its distress once, at t+1, then is
    inactive: h(t+1) = min(1, h(t) + W (h(t) ⊙ [state(t) = distressed]))  (Battiston 2012)
    """
    w = sp.csr_matrix(W) if not sp.issparse(W) else W.tocsr()
    h = np.clip(np.asarray(shock, dtype=np.float64), 0.0, 1.0)
    if w.shape != (h.size, h.size):
        raise ValueError(f"W is {w.shape}, shock has {h.size} entries")
    limit = max_steps if steps is None else steps
    prev = np.zeros_like(h)
    distressed = h > 0
    inactive = np.zeros(h.size, dtype=bool)
    for _ in range(limit):
        if linear:
            delta = h - prev
            new = np.minimum(1.0, h + w @ delta)
        else:
            new = np.minimum(1.0, h + w @ np.where(distressed, h, 0.0))
            inactive |= distressed
            distressed = (new > h) & ~inactive
        prev, h = h, np.asarray(new)
        if steps is None:
            if linear and np.abs(h - prev).max(initial=0.0) <= tol:
                break
            if not linear and not distressed.any():
                break
    return h


def impact_matrix(s: I64, b: I64, outstanding: F64, buffer: F64, n: int) -> sp.csr_matrix:
    """W[i, j] = min(1, receivables of seller i on buyer j / buffer of i); no buffer → 1."""
    keep = outstanding > 0
    s, b, o = s[keep], b[keep], outstanding[keep]
    buf = buffer[s]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(buf > 0, np.minimum(o / np.where(buf > 0, buf, 1.0), 1.0), 1.0)
    w = np.where(s == b, 0.0, w)
    return sp.csr_matrix((w, (s, b)), shape=(n, n))


def exposure_to(w: sp.csr_matrix, target: I64, steps: int = 2) -> F64:
    """Truncated linear DebtRank distress of each firm i when its own `target[i]` fails alone.

    Equal to `debtrank(W, e_target[i], steps=steps)[i]` for steps 1 and 2, for every firm at
    once: step 1 gives W[i, c]; step 2 adds Σ_{j≠c} W[i, j] · W[j, c], with c = target[i].
    target[i] = -1 gives 0.
    """
    n = w.shape[0]
    coo = w.tocoo()
    keys = coo.row.astype(np.int64) * n + coo.col
    order = stable_argsort(keys)  # the keys are distinct: any order of ties would do
    sk, sv = keys[order], coo.data[order]

    def entry(i: I64, j: I64) -> F64:
        if sk.size == 0:
            return np.zeros(i.shape[0])
        k = i * n + j
        pos = sorted_search(sk, k)
        pos_c = np.minimum(pos, max(sk.size - 1, 0))
        hit = (pos < sk.size) & (sk[pos_c] == k) & (i >= 0) & (j >= 0)
        return np.where(hit, sv[pos_c], 0.0)

    firms = np.arange(n, dtype=np.int64)
    h = entry(firms, target)
    if steps >= 2 and coo.nnz:
        r, c = coo.row.astype(np.int64), coo.col.astype(np.int64)
        tgt = target[r]
        second = coo.data * np.minimum(entry(c, tgt), 1.0) * ((c != tgt) & (tgt >= 0))
        h = h + np.bincount(r, weights=second, minlength=n)
    return np.where(target >= 0, np.minimum(h, 1.0), 0.0)
