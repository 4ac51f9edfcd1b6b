"""Who trades with whom: the firms of the region, their roles, and the buyer-supplier relationships.

Suppliers choose their buyers by preferential attachment (a buyer with many suppliers attracts
more), which gives the heavy-tailed in-degrees of real supply chains: a few core enterprises with
thousands of suppliers, most firms with one or two counterparties. A supplier's sales are split
unevenly over its buyers, so some firms depend on one core firm for most of their sales.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from .config import (
    CLUSTERS,
    CORE,
    DEALER,
    INDEPENDENT,
    REGION_CODES,
    TIER1,
    TIER2,
    TIER3,
    TIER4,
    SimConfig,
)

EPOCH = date(1970, 1, 1).toordinal()

# Median annual revenue (CNY) per role; sizes are log-normal around it.
ROLE_REVENUE = np.array([8e9, 3e8, 8e7, 3e7, 1e7, 5e7, 1e7])
ROLE_TECH_SHIFT = np.array([0.5, 0.3, 0.1, -0.1, -0.3, -0.6, -0.2])

NORMAL_EDGE, CIRCULAR_EDGE, SHELL_EDGE = 0, 1, 2
F_CIRCULAR, F_NO_SHIPMENT, F_DOUBLE, F_SHELL = 1, 2, 3, 4


@dataclass
class Firms:
    role: npt.NDArray[np.int8]
    cluster: npt.NDArray[np.int16]
    industry: npt.NDArray[np.int16]  # index into the cluster's codes, -1 = dealer code
    region: npt.NDArray[np.int16]  # index into REGION_CODES
    revenue: npt.NDArray[np.float64]  # annual, CNY
    tech: npt.NDArray[np.float64]  # latent technology intensity
    fraud: npt.NDArray[np.int8]  # index into FRAUD_TYPES
    founded: npt.NDArray[np.int32]  # days since 1970-01-01
    mu: npt.NDArray[np.float64]  # long-run health
    sigma: npt.NDArray[np.float64]  # monthly health shock s.d.

    @property
    def n(self) -> int:
        return int(self.role.shape[0])


@dataclass
class Edges:
    seller: npt.NDArray[np.int32]
    buyer: npt.NDArray[np.int32]
    share: npt.NDArray[np.float64]  # share of the seller's sales on this relationship
    value: npt.NDArray[np.float64]  # expected monthly trade, CNY (tax included)
    p: npt.NDArray[np.float64]  # monthly order probability
    terms: npt.NDArray[np.int16]  # payment terms, days
    start: npt.NDArray[np.int16]  # first active month
    end: npt.NDArray[np.int16]  # first month no longer active
    kind: npt.NDArray[np.int8]

    @property
    def n(self) -> int:
        return int(self.seller.shape[0])


def role_counts(cfg: SimConfig) -> npt.NDArray[np.int64]:
    n = cfg.n_firms
    core = max(2, round(n * cfg.core_share))
    tiers = [max(1, round(n * s)) for s in cfg.tier_shares]
    dealers = max(1, round(n * cfg.dealer_share))
    rest = n - core - sum(tiers) - dealers
    if rest < 1:
        raise ValueError("role shares leave no independents")
    return np.array([core, *tiers, dealers, rest], dtype=np.int64)


def preferential_targets(
    rng: np.random.Generator,
    sources: npt.NDArray[np.int64],
    candidates: npt.NDArray[np.int64],
    extra: float,
    offset: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each source picks 1 + Poisson(extra) distinct candidates with P ∝ in-degree + offset.

    The urn is processed in geometrically growing chunks: within a chunk the draws see the
    degrees at the chunk's start, which keeps the preferential-attachment tail while every step
    stays a whole-array numpy operation.
    """
    k = 1 + rng.poisson(extra, size=sources.shape[0])
    src = np.repeat(sources, k)
    d = src.shape[0]
    tgt = np.empty(d, dtype=np.int64)
    c = candidates.shape[0]
    bounds = np.unique(np.concatenate(([0], np.round(np.geomspace(min(c, d), d, 24)), [d]))).astype(np.int64)
    for b0, b1 in itertools.pairwise(bounds):
        m = int(b1 - b0)
        if m <= 0:
            continue
        p_uniform = offset * c / (offset * c + b0)
        uni = rng.random(m) < p_uniform
        pick = np.empty(m, dtype=np.int64)
        pick[uni] = candidates[rng.integers(0, c, size=int(uni.sum()))]
        n_pa = m - int(uni.sum())
        if n_pa:
            pick[~uni] = tgt[rng.integers(0, max(int(b0), 1), size=n_pa)] if b0 > 0 else candidates[
                rng.integers(0, c, size=n_pa)
            ]
        tgt[b0:b1] = pick
    key = src * (1 << 32) + tgt
    _, first = np.unique(key, return_index=True)
    first.sort()
    return src[first], tgt[first]


def _first_partner(
    src: npt.NDArray[np.int64], tgt: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.int64]:
    """The first partner listed for each source (-1 where none)."""
    out = np.full(n, -1, dtype=np.int64)
    uniq, first = np.unique(src, return_index=True)
    out[uniq] = tgt[first]
    return out


def build_firms(cfg: SimConfig, rng: np.random.Generator) -> tuple[Firms, Edges]:
    counts = role_counts(cfg)
    n = int(counts.sum())
    role = np.repeat(np.arange(7, dtype=np.int8), counts)
    ids = np.arange(n, dtype=np.int64)
    by_role = [ids[role == r] for r in range(7)]

    # --- relationships (seller -> buyer) -------------------------------------------------
    sellers: list[npt.NDArray[np.int64]] = []
    buyers: list[npt.NDArray[np.int64]] = []
    for tier, above in ((TIER1, CORE), (TIER2, TIER1), (TIER3, TIER2), (TIER4, TIER3)):
        s, b = preferential_targets(
            rng, by_role[tier], by_role[above], cfg.extra_buyers, cfg.attachment_offset
        )
        sellers.append(s)
        buyers.append(b)
    d, c = preferential_targets(rng, by_role[DEALER], by_role[CORE], 0.3, cfg.attachment_offset)
    sellers.append(c)
    buyers.append(d)
    ind_market = np.concatenate(
        (by_role[INDEPENDENT], by_role[TIER3], by_role[TIER4], by_role[DEALER])
    )
    s, b = preferential_targets(
        rng, by_role[INDEPENDENT], ind_market, cfg.extra_buyers, cfg.attachment_offset
    )
    keep = s != b
    sellers.append(s[keep])
    buyers.append(b[keep])
    seller = np.concatenate(sellers)
    buyer = np.concatenate(buyers)

    # --- clusters follow the chain: a supplier belongs to its first buyer's cluster -------
    weights = np.array([cl.weight for cl in CLUSTERS])
    cluster = np.full(n, -1, dtype=np.int64)
    cluster[by_role[CORE]] = rng.choice(len(CLUSTERS), size=counts[CORE], p=weights / weights.sum())
    first_buyer = _first_partner(seller, buyer, n)
    for tier in (TIER1, TIER2, TIER3, TIER4):
        members = by_role[tier]
        fb = first_buyer[members]
        cluster[members] = np.where(fb >= 0, cluster[np.maximum(fb, 0)], 0)
    first_supplier = _first_partner(buyer, seller, n)
    dealers = by_role[DEALER]
    cluster[dealers] = cluster[np.maximum(first_supplier[dealers], 0)]
    inds = by_role[INDEPENDENT]
    cluster[inds] = rng.choice(len(CLUSTERS), size=inds.shape[0], p=weights / weights.sum())
    cluster = np.where(cluster < 0, 0, cluster)

    n_codes = np.array([len(cl.maker_codes) for cl in CLUSTERS])
    industry = (rng.random(n) * n_codes[cluster]).astype(np.int16)
    industry[role == DEALER] = -1

    region_w = np.ones(len(REGION_CODES))
    for busy in ("500112", "500107", "500106", "500105", "500113", "500120"):
        region_w[[r for r, _ in REGION_CODES].index(busy)] = 4.0
    region = rng.choice(len(REGION_CODES), size=n, p=region_w / region_w.sum()).astype(np.int16)

    revenue = ROLE_REVENUE[role] * np.exp(rng.normal(0.0, 0.8, size=n))
    cl_tech = np.array([cl.tech for cl in CLUSTERS])
    tech = cl_tech[cluster] + ROLE_TECH_SHIFT[role] + rng.normal(0.0, 1.0, size=n)

    # --- fraud ---------------------------------------------------------------------------
    n_type = max(1, round(n * cfg.fraud_share / 4)) if cfg.fraud_share > 0 else 0
    fraud = np.zeros(n, dtype=np.int8)
    perm_ind = rng.permutation(inds)
    shells = perm_ind[:n_type]
    circ = perm_ind[n_type : n_type + max(n_type, 3) if n_type else 0]
    circ = circ[: (circ.shape[0] // 3) * 3] if circ.shape[0] >= 3 else circ[:0]
    rest_pool = np.concatenate((perm_ind[n_type + circ.shape[0] :], by_role[TIER2], by_role[TIER3], by_role[TIER4]))
    rest_pool = rng.permutation(rest_pool)
    fraud[shells] = F_SHELL
    fraud[circ] = F_CIRCULAR
    fraud[rest_pool[:n_type]] = F_NO_SHIPMENT
    fraud[rest_pool[n_type : 2 * n_type]] = F_DOUBLE

    # shells trade only as shells: drop their ordinary relationships
    ordinary = (fraud[seller] != F_SHELL) & (fraud[buyer] != F_SHELL)
    seller, buyer = seller[ordinary], buyer[ordinary]
    kind = np.zeros(seller.shape[0], dtype=np.int8)

    start_day = cfg.start.toordinal() - EPOCH
    # registrations start after the 1979 reforms; day numbers stay positive (negative = absent)
    age_years = np.where(role == CORE, 10 + rng.exponential(15, n), 1 + rng.exponential(9, n))
    age_years = np.minimum(age_years, cfg.start.year - 1979)
    founded = (start_day - age_years * 365.25).astype(np.int32)
    shell_month = rng.integers(-8, max(cfg.months // 2, 1), size=shells.shape[0])
    founded[shells] = (start_day + shell_month * 30.44 + rng.integers(0, 28, shells.shape[0])).astype(np.int32)
    revenue[shells] = 4e7 * np.exp(rng.normal(0, 0.5, shells.shape[0]))

    # circular trade: groups of three fraud firms invoicing each other round a cycle
    g = circ.reshape(-1, 3) if circ.shape[0] else np.zeros((0, 3), dtype=np.int64)
    c_seller = g.reshape(-1)
    c_buyer = np.roll(g, -1, axis=1).reshape(-1)
    # shells invoice two ordinary firms each
    market = ids[(role != CORE) & (fraud != F_SHELL)]
    s_seller = np.repeat(shells, 2)
    s_buyer = market[rng.integers(0, market.shape[0], size=s_seller.shape[0])]
    seller = np.concatenate((seller, c_seller, s_seller))
    buyer = np.concatenate((buyer, c_buyer, s_buyer))
    kind = np.concatenate(
        (
            kind,
            np.full(c_seller.shape[0], CIRCULAR_EDGE, np.int8),
            np.full(s_seller.shape[0], SHELL_EDGE, np.int8),
        )
    )
    m = seller.shape[0]

    w = rng.exponential(1.0, m) ** 1.5 + 1e-3
    tot = np.bincount(seller, weights=w, minlength=n)
    share = w / tot[seller]
    value = revenue[seller] * share / 12.0
    cyc_value = np.repeat(3e6 * np.exp(rng.normal(0, 0.5, g.shape[0])), 3)
    value[kind == CIRCULAR_EDGE] = cyc_value
    touches_core = (role[seller] == CORE) | (role[buyer] == CORE)
    p = np.clip(cfg.order_prob * np.exp(rng.normal(0.0, 0.35, m)), 0.05, 0.95)
    p = np.where(touches_core, np.clip(p * 1.8, 0.05, 0.95), p)
    p = np.where(kind == CIRCULAR_EDGE, 0.7, np.where(kind == SHELL_EDGE, 0.6, p))

    terms = rng.choice(np.array([30, 45, 60, 90], dtype=np.int16), size=m)
    terms = np.where(
        role[buyer] == CORE, rng.choice(np.array([60, 90, 120], dtype=np.int16), size=m), terms
    )
    terms = np.where(
        role[seller] == CORE, rng.choice(np.array([0, 15, 30], dtype=np.int16), size=m), terms
    ).astype(np.int16)

    late = rng.random(m) < cfg.late_start_share
    start = np.where(late, rng.integers(1, max(cfg.months, 2), size=m), 0)
    life = rng.geometric(cfg.churn, size=m) if cfg.churn > 0 else np.full(m, cfg.months + 1)
    end = np.minimum(start + life, cfg.months + 1)
    shell_start = np.zeros(n, dtype=np.int64)
    shell_start[shells] = np.maximum(shell_month, 0)
    start = np.where(kind == SHELL_EDGE, shell_start[seller], start)
    end = np.where(kind == SHELL_EDGE, cfg.months + 1, end)

    z = np.log(revenue / ROLE_REVENUE[role])
    mu = (
        0.4
        + cfg.tech_resilience * tech
        + 0.2 * z
        + np.where(role == CORE, 1.2, 0.0)
        + rng.normal(0.0, 0.45, size=n)
    )
    sigma = cfg.health_sigma * np.exp(-0.15 * np.clip(tech, -3, 3))

    firms = Firms(
        role=role,
        cluster=cluster.astype(np.int16),
        industry=industry,
        region=region,
        revenue=revenue,
        tech=tech,
        fraud=fraud,
        founded=founded,
        mu=mu,
        sigma=sigma,
    )
    edges = Edges(
        seller=seller.astype(np.int32),
        buyer=buyer.astype(np.int32),
        share=share,
        value=value,
        p=p,
        terms=terms,
        start=start.astype(np.int16),
        end=end.astype(np.int16),
        kind=kind,
    )
    return firms, edges
