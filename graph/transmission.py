"""Core-firm credit transmission (核心企业信用传导) and tier distance, over sparse matrices.

A core firm's credit quality reaches a supplier in proportion to the share of the supplier's
sales that are verified sales to the firm above, and a dealer in proportion to its verified
purchases, losing `transmission_decay` at every tier. Only verified trade carries credit: an
unverified invoice to a core firm is exactly what a fraudster would produce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graph.prepare import F64, I64


@dataclass
class Transmission:
    up: F64  # credit arriving from buyers above (suppliers' view)
    down: F64  # credit arriving from sellers above (dealers' view)
    tier: F64  # hops to the nearest core firm, max_tier + 1 when out of reach


def share_matrices(
    s: I64, b: I64, verified: F64, invoiced: F64, n: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """S[s, b] = verified sales s→b / all sales of s;  P[b, s] = verified purchases / all purchases."""
    sales = np.bincount(s, weights=invoiced, minlength=n)
    purchases = np.bincount(b, weights=invoiced, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        sv = np.where(sales[s] > 0, verified / np.where(sales[s] > 0, sales[s], 1), 0.0)
        pv = np.where(purchases[b] > 0, verified / np.where(purchases[b] > 0, purchases[b], 1), 0.0)
    keep = verified > 0
    smat = sp.csr_matrix((np.clip(sv[keep], 0, 1), (s[keep], b[keep])), shape=(n, n))
    pmat = sp.csr_matrix((np.clip(pv[keep], 0, 1), (b[keep], s[keep])), shape=(n, n))
    return smat, pmat


def propagate(mat: sp.csr_matrix, is_core: np.ndarray, quality: F64, decay: float, tiers: int) -> F64:
    """x = q on core firms; elsewhere x = (1 - decay) · mat @ x, iterated `tiers` times."""
    q = np.where(is_core, np.nan_to_num(quality), 0.0)
    x = q.copy()
    for _ in range(tiers):
        x = np.where(is_core, q, (1.0 - decay) * (mat @ x))
    return np.asarray(x)


def tier_distance(s: I64, b: I64, is_core: np.ndarray, n: int, max_tier: int) -> F64:
    """Multi-source breadth-first search from all core firms over trade links in either direction."""
    dist = np.full(n, float(max_tier + 1))
    dist[is_core] = 0.0
    if s.size == 0 or not is_core.any():
        return dist
    adj = sp.csr_matrix((np.ones(s.size * 2), (np.r_[s, b], np.r_[b, s])), shape=(n, n))
    seen = is_core.copy()
    frontier = is_core.astype(np.float64)
    for k in range(1, max_tier + 1):
        reach = (adj @ frontier) > 0
        new = reach & ~seen
        if not new.any():
            break
        dist[new] = float(k)
        seen |= new
        frontier = new.astype(np.float64)
    return dist


def transmit(
    s: I64, b: I64, verified: F64, invoiced: F64, is_core: np.ndarray, quality: F64, n: int,
    decay: float, max_tier: int,
) -> Transmission:
    smat, pmat = share_matrices(s, b, verified, invoiced, n)
    return Transmission(
        up=propagate(smat, is_core, quality, decay, max_tier),
        down=propagate(pmat, is_core, quality, decay, max_tier),
        tier=tier_distance(s[invoiced > 0], b[invoiced > 0], is_core, n, max_tier),
    )


def core_dependence(
    mat: sp.csr_matrix, is_core: np.ndarray, quality: F64, decay: float, tiers: int
) -> sp.coo_matrix:
    """D[i, c]: the part of firm i's transmitted credit that comes from core firm c.

    Sum over paths of length ≤ tiers of the product of shares and (1 - decay) per hop; row sums
    of D equal `propagate(...)` for non-core firms.
    """
    n = mat.shape[0]
    cores = np.flatnonzero(is_core)
    e = sp.csr_matrix((np.nan_to_num(quality[cores]), (cores, np.arange(cores.size))),
                      shape=(n, cores.size))
    keep_nc = sp.diags((~is_core).astype(np.float64))
    step = (1.0 - decay) * (keep_nc @ mat)
    d = e.copy()
    for _ in range(tiers):
        d = (e + step @ d).tocsr()
    d = (keep_nc @ d).tocoo()
    return sp.coo_matrix((d.data, (d.row, cores[d.col])), shape=(n, n))
