"""PageRank by sparse power iteration: who the money flows to, weighted by who pays them.

A supplier paid by firms that are themselves paid by many is central to the chain; its
failure and its health both matter more. Links point buyer → seller (the direction money
moves), weighted by invoiced amount. Dangling firms spread their rank uniformly, as networkx
does, so the result equals `nx.pagerank` on the same weighted graph.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graph.prepare import F64, I64


def pagerank(
    src: I64, dst: I64, weight: F64, n: int, *, damping: float = 0.85, tol: float = 1e-10,
    max_iter: int = 200,
) -> F64:
    """Stationary distribution (sums to 1) of the damped random walk src → dst."""
    if n == 0:
        return np.zeros(0)
    keep = weight > 0
    src, dst, weight = src[keep], dst[keep], weight[keep]
    out_w = np.bincount(src, weights=weight, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = weight / out_w[src]
    m = sp.csr_matrix((norm, (dst, src)), shape=(n, n))  # column-stochastic over non-dangling
    dangling = out_w == 0
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        x_new = damping * (m @ x + x[dangling].sum() / n) + (1.0 - damping) / n
        err = np.abs(x_new - x).sum()
        x = x_new
        if err < n * tol:
            break
    return np.asarray(x / x.sum())
