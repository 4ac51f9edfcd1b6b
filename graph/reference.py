"""Plain networkx / pure-Python versions of each algorithm, for tests and the benchmark.

They are written for clarity, one firm and one edge at a time, straight from the definitions;
the vectorised engine must agree with them on small graphs. Graphs are `nx.DiGraph` seller →
buyer with edge attributes named as in `build_edges` (invoiced_cny, verified_cny,
outstanding_cny); firm attributes `is_core` and `quality` where needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

Node = Any  # a firm id (any hashable)


def pagerank(g: nx.DiGraph, damping: float = 0.85) -> dict[Node, float]:
    """networkx PageRank on buyer → seller links weighted by invoiced amount."""
    money: nx.DiGraph = nx.DiGraph()
    money.add_nodes_from(g.nodes)
    for s, b, d in g.edges(data=True):
        if d.get("invoiced_cny", 0.0) > 0:
            money.add_edge(b, s, weight=d["invoiced_cny"])
    return dict(nx.pagerank(money, alpha=damping, weight="weight", tol=1e-12, max_iter=1000))


def hhi(g: nx.DiGraph, firm: Node, as_seller: bool = True) -> float:
    """Herfindahl index of the firm's sales by customer (or purchases by supplier)."""
    edges = g.out_edges(firm, data=True) if as_seller else g.in_edges(firm, data=True)
    amounts = [d.get("invoiced_cny", 0.0) for _, _, d in edges]
    total = sum(amounts)
    return sum((a / total) ** 2 for a in amounts) if total > 0 else 0.0


def transmission(
    g: nx.DiGraph, quality: Mapping[Node, float], decay: float, tiers: int, up: bool = True
) -> dict[Node, float]:
    """Chain credit by the definition: core firms keep their quality; any other firm gets
    (1 - decay) × Σ over firms above of (verified share of its sales or purchases) × their credit,
    recomputed `tiers` times."""
    credit = {v: quality.get(v, 0.0) for v in g.nodes}
    for _ in range(tiers):
        new = {}
        for v in g.nodes:
            if v in quality:
                new[v] = quality[v]
                continue
            edges = list(g.out_edges(v, data=True)) if up else list(g.in_edges(v, data=True))
            total = sum(d.get("invoiced_cny", 0.0) for _, _, d in edges)
            acc = 0.0
            for s, b, d in edges:
                above = b if up else s
                if total > 0:
                    acc += d.get("verified_cny", 0.0) / total * credit[above]
            new[v] = (1 - decay) * acc
        credit = new
    return credit


def tiers(g: nx.DiGraph, cores: Iterable[Node], max_tier: int) -> dict[Node, float]:
    """Hops to the nearest core firm over links with invoiced trade, either direction."""
    und = nx.Graph()
    und.add_nodes_from(g.nodes)
    und.add_edges_from((s, b) for s, b, d in g.edges(data=True) if d.get("invoiced_cny", 0.0) > 0)
    cores = [c for c in cores if c in und]
    dist: dict[Node, float] = {v: float(max_tier + 1) for v in g.nodes}
    if cores:
        for v, k in nx.multi_source_dijkstra_path_length(und, cores, cutoff=max_tier).items():
            dist[v] = float(k)
    return dist


def debtrank(w: np.ndarray, shock: Iterable[float], linear: bool = True,
             steps: int | None = None) -> list[float]:
    """DebtRank one firm at a time, straight from Battiston 2012 / Bardoscia 2015."""
    n = len(w)
    h = [min(1.0, max(0.0, float(x))) for x in shock]
    prev = [0.0] * n
    state = ["D" if x > 0 else "U" for x in h]
    t = 0
    while steps is None or t < steps:
        t += 1
        new = []
        for i in range(n):
            acc = h[i]
            for j in range(n):
                if linear:
                    acc += w[i][j] * (h[j] - prev[j])
                elif state[j] == "D":
                    acc += w[i][j] * h[j]
            new.append(min(1.0, acc))
        if not linear:
            # D -> I after passing its distress on once; U -> D when hit; I stays I
            state = ["I" if state[i] in ("D", "I") else ("D" if new[i] > h[i] else "U")
                     for i in range(n)]
        prev, h = h, new
        if steps is None and (
            (linear and max(abs(a - b) for a, b in zip(h, prev, strict=True)) <= 1e-13)
            or (not linear and "D" not in state)
        ):
            break
        if t > 100_000:
            break
    return h


def cycles(g: nx.DiGraph, amount: str, tolerance: float, max_length: int = 4) -> set[tuple[Node, ...]]:
    """Directed cycles of length 2..max_length whose edge amounts are within the tolerance band,
    each as a tuple rotated to start at its smallest node."""
    found: set[tuple[Node, ...]] = set()
    for cyc in nx.simple_cycles(g, length_bound=max_length):
        if len(cyc) < 2:
            continue
        amts = [g.edges[cyc[k], cyc[(k + 1) % len(cyc)]][amount] for k in range(len(cyc))]
        if min(amts) > 0 and max(amts) <= min(amts) * (1 + tolerance):
            k = cyc.index(min(cyc))
            found.add(tuple(cyc[k:] + cyc[:k]))
    return found


def impact_weights(
    g: nx.DiGraph, verified_sales: Mapping[Node, float]
) -> dict[tuple[Node, Node], float]:
    """W[(seller, buyer)]: the seller's unpaid receivable from the buyer over its verified sales
    (its buffer), capped at 1; a seller with no verified sales loses everything it is owed."""
    w: dict[tuple[Node, Node], float] = {}
    for s, b, d in g.edges(data=True):
        if d["outstanding_cny"] > 0 and s != b:
            buf = verified_sales.get(s, 0.0)
            w[(s, b)] = min(1.0, d["outstanding_cny"] / buf) if buf > 0 else 1.0
    return w


def exposure_to_largest_core(
    g: nx.DiGraph, w: Mapping[tuple[Node, Node], float], cores: set[Node]
) -> dict[Node, float]:
    """Two-step linear DebtRank distress of each firm when its largest core customer fails."""
    out: dict[Node, float] = {}
    for i in g.nodes:
        customers = [(d.get("invoiced_cny", 0.0), str(b), b) for _, b, d in g.out_edges(i, data=True)
                     if b in cores and b != i and d.get("invoiced_cny", 0.0) > 0]
        if not customers:
            out[i] = 0.0
            continue
        best = max(c[0] for c in customers)
        c = min((x for x in customers if x[0] == best), key=lambda x: x[1])[2]
        h = w.get((i, c), 0.0)
        for j in g.successors(i):  # W[i, j] > 0 only where i sold to j
            if j != c:
                h += w.get((i, j), 0.0) * min(1.0, w.get((j, c), 0.0))
        out[i] = min(1.0, h)
    return out
