"""Firm registry, intangibles and financials: what a bank would know about a firm off the graph.

Intangibles follow the latent technology intensity (which also lifts long-run health and damps
shocks); financials follow latent health at the fiscal year end with noise, are filed by only
part of the firms, and become known only on `reported_on` (about four months later).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from store.records import FINANCIALS, FIRMS, INTANGIBLES

from .config import CLUSTERS, CORE, CORE_RATINGS, DEALER, REGION_CODES, SimConfig
from .network import EPOCH, ROLE_REVENUE, Firms
from .tables import canonical, const_strings, date_col, int_col

F = npt.NDArray[np.float64]
_WORDS = tuple("宏鑫恒华瑞博达盛创远通泰丰嘉兴源德信力安新升联合众金德科明诚佳和昌隆顺旭辉耀")
_SUFFIX = ("科技有限公司", "制造有限公司", "实业有限公司", "精密有限公司")
_DEALER_SUFFIX = ("贸易有限公司", "商贸有限公司", "销售有限公司")


def _day(d: date) -> int:
    return d.toordinal() - EPOCH


def _sigmoid(x: F) -> F:
    return 1.0 / (1.0 + np.exp(-x))


def firms_table(
    rng: np.random.Generator, firms: Firms, ids: pa.Array, h0: F
) -> pa.Table:
    n = firms.n
    role = firms.role
    regions = pa.array([name for _, name in REGION_CODES], type=pa.large_string())
    words = pa.array(list(_WORDS), type=pa.large_string())
    cl_names = pa.array([c.name_zh for c in CLUSTERS], type=pa.large_string())
    suffix = pa.array([*_SUFFIX, *_DEALER_SUFFIX, "集团股份有限公司"], type=pa.large_string())
    suf_idx = rng.integers(0, len(_SUFFIX), n)
    suf_idx = np.where(role == DEALER, len(_SUFFIX) + rng.integers(0, len(_DEALER_SUFFIX), n), suf_idx)
    suf_idx = np.where(role == CORE, len(_SUFFIX) + len(_DEALER_SUFFIX), suf_idx)

    def take(values: pa.Array, idx: npt.NDArray[np.integer[Any]]) -> pa.Array:
        return values.take(pa.array(np.asarray(idx, dtype=np.int64)))

    name = pc.binary_join_element_wise(
        const_strings("重庆", n),
        take(regions, firms.region),
        take(words, rng.integers(0, len(_WORDS), n)),
        take(words, rng.integers(0, len(_WORDS), n)),
        take(cl_names, firms.cluster),
        take(suffix, suf_idx),
        pa.scalar("", pa.large_string()),
    )
    flat_codes: list[str] = []
    offsets: list[int] = []
    for c in CLUSTERS:
        offsets.append(len(flat_codes))
        flat_codes.extend(c.maker_codes)
    dealer_base = len(flat_codes)
    flat_codes.extend(c.dealer_code for c in CLUSTERS)
    off = np.asarray(offsets, dtype=np.int64)
    code_idx = np.where(
        firms.industry >= 0,
        off[firms.cluster] + firms.industry,
        dealer_base + firms.cluster.astype(np.int64),
    )
    is_core = role == CORE
    quality = 0.5 * (firms.mu + h0)
    rating_idx = np.clip(np.rint((2.9 - quality) * 3.0), 0, len(CORE_RATINGS) - 1).astype(np.int64)
    ratings = take(pa.array(list(CORE_RATINGS), type=pa.large_string()), rating_idx)
    ratings = pc.if_else(pa.array(is_core), ratings, pa.scalar(None, pa.large_string()))
    return canonical(
        FIRMS,
        {
            "firm_id": ids,
            "name": name,
            "region_code": take(pa.array([c for c, _ in REGION_CODES], type=pa.large_string()), firms.region),
            "industry_code": take(pa.array(flat_codes, type=pa.large_string()), code_idx),
            "cluster": take(pa.array([c.slug for c in CLUSTERS], type=pa.large_string()), firms.cluster),
            "founded_on": date_col(firms.founded.astype(np.int64)),
            "is_core": pa.array(is_core),
            "external_rating": ratings,
        },
    )


def intangibles_table(
    cfg: SimConfig,
    rng: np.random.Generator,
    firms: Firms,
    ids: pa.Array,
    year_end_health: dict[int, F],
    default_day: npt.NDArray[np.int64],
) -> pa.Table:
    """One profile per firm and year end (the ones dated inside or just before the period)."""
    n = firms.n
    tau = firms.tech
    sf = (firms.revenue / 1e7) ** 0.3
    soft = np.array([c.slug == "software_services" for c in CLUSTERS])[firms.cluster]
    rates = np.stack(
        (
            sf * np.exp(0.9 * tau - 1.0),
            sf * np.exp(0.8 * tau + 0.2),
            sf * np.exp(0.3 * tau - 1.0),
            sf * np.exp(0.2 * tau),
            sf * np.exp(0.7 * tau - 0.5) * np.where(soft, 3.0, 1.0),
        )
    )
    counts = rng.poisson(rates)
    covered = rng.random(n) < cfg.intangibles_share
    staff = np.maximum(3, np.rint(firms.revenue / 8e5 * np.exp(rng.normal(0, 0.3, n)))).astype(np.int64)
    tech_staff = rng.binomial(staff, _sigmoid(tau - 1.2))
    noise = rng.normal(0, 0.3, n)
    rd_share = 0.12 * _sigmoid(tau - 2.0) * np.exp(rng.normal(0, 0.2, n))
    high_tech = (tau + noise > 1.0) & (rd_share > 0.03)
    level = np.where(tau + noise > 2.3, 2, np.where(tau + noise > 1.5, 1, 0))
    level = np.where(firms.role == CORE, 0, level)
    tech_sme = (tau + noise > 0.5) & (staff < 500)
    pieces: list[dict[str, npt.NDArray[np.int64]]] = []
    end_day = _day(cfg.end)
    for year in sorted(year_end_health):
        as_of = _day(date(year, 12, 31))
        if as_of > end_day:
            continue
        if pieces:
            counts = counts + rng.poisson(0.2 * rates + 0.05)
        keep = covered & (firms.founded <= as_of) & (default_day > as_of)
        rev = firms.revenue * np.exp(0.1 * year_end_health[year] + rng.normal(0, 0.05, n))
        sel = np.flatnonzero(keep)
        pieces.append(
            {
                "firm": sel,
                "as_of": np.full(sel.shape[0], as_of, dtype=np.int64),
                "counts": counts[:, sel],
                "rd": np.rint(rev[sel] * rd_share[sel] * 100).astype(np.int64),
                "rev": np.rint(rev[sel] * 100).astype(np.int64),
            }
        )
    firm = np.concatenate([p["firm"] for p in pieces])
    cnt = np.concatenate([p["counts"] for p in pieces], axis=1)
    m = firm.shape[0]
    return canonical(
        INTANGIBLES,
        {
            "firm_id": ids.take(pa.array(firm)),
            "as_of": date_col(np.concatenate([p["as_of"] for p in pieces])),
            "invention_patents": int_col(cnt[0]),
            "utility_patents": int_col(cnt[1]),
            "design_patents": int_col(cnt[2]),
            "trademarks": int_col(cnt[3]),
            "software_copyrights": int_col(cnt[4]),
            "rd_expense": int_col(np.concatenate([p["rd"] for p in pieces])),
            "revenue": int_col(np.concatenate([p["rev"] for p in pieces])),
            "currency": const_strings("CNY", m),
            "tech_staff": int_col(tech_staff[firm]),
            "total_staff": int_col(staff[firm]),
            "high_tech": pa.array(high_tech[firm]),
            "specialised_level": pa.array(["none", "province", "national"], type=pa.large_string()).take(
                pa.array(level[firm].astype(np.int64))
            ),
            "tech_sme": pa.array(tech_sme[firm]),
        },
    )


def financials_table(
    cfg: SimConfig,
    rng: np.random.Generator,
    firms: Firms,
    ids: pa.Array,
    year_end_health: dict[int, F],
    default_day: npt.NDArray[np.int64],
) -> pa.Table:
    n = firms.n
    z = np.log(firms.revenue / ROLE_REVENUE[firms.role])
    base = np.log(cfg.financials_share / (1 - cfg.financials_share))
    files = (rng.random(n) < _sigmoid(base + 0.8 * z)) | (firms.role == CORE)
    end_day = _day(cfg.end)
    cols: dict[str, list[npt.NDArray[np.int64]]] = {
        k: []
        for k in (
            "firm", "fy", "rep", "revenue", "net_profit", "total_assets", "total_liabilities",
            "current_assets", "current_liabilities", "operating_cash_flow",
        )
    }
    for year in sorted(year_end_health):
        h = year_end_health[year]
        ye = _day(date(year, 12, 31))
        rep = _day(date(year + 1, 4, 30)) - rng.integers(0, 110, n)
        keep = files & (firms.founded <= ye) & (default_day > rep) & (rep <= end_day)
        sel = np.flatnonzero(keep)
        hs = h[sel]
        k = sel.shape[0]
        rev = firms.revenue[sel] * np.exp(0.15 * hs + rng.normal(0, 0.1, k))
        margin = 0.02 + 0.04 * hs + rng.normal(0, 0.03, k)
        assets = rev * np.exp(rng.normal(0.1, 0.3, k))
        lev = _sigmoid(0.3 - 0.9 * hs + rng.normal(0, 0.35, k))
        liab = assets * lev
        cur_a = assets * rng.uniform(0.4, 0.7, k)
        cur_l = liab * _sigmoid(0.6 - 0.6 * hs + rng.normal(0, 0.3, k))
        ocf = rev * (margin + 0.02 + rng.normal(0, 0.04, k))
        cols["firm"].append(sel)
        cols["fy"].append(np.full(k, year, dtype=np.int64))
        cols["rep"].append(rep[sel])
        for name, v in (
            ("revenue", rev), ("net_profit", rev * margin), ("total_assets", assets),
            ("total_liabilities", liab), ("current_assets", cur_a),
            ("current_liabilities", cur_l), ("operating_cash_flow", ocf),
        ):
            cols[name].append(np.rint(v * 100).astype(np.int64))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    m = c["firm"].shape[0]
    return canonical(
        FINANCIALS,
        {
            "firm_id": ids.take(pa.array(c["firm"])),
            "fiscal_year": int_col(c["fy"]),
            "reported_on": date_col(c["rep"]),
            "currency": const_strings("CNY", m),
            **{
                k: int_col(c[k])
                for k in (
                    "revenue", "net_profit", "total_assets", "total_liabilities",
                    "current_assets", "current_liabilities", "operating_cash_flow",
                )
            },
        },
    )
