"""The month loop: health, defaults, trade and the ground truth, from one seeded generator.

One numpy Generator is seeded once and consumed in a fixed order, and every array is built in a
fixed order, so the same configuration gives the same bytes. Work per month is whole-array numpy
over firms and relationships; nothing loops over documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from common.progress import Progress
from store.records import CREDIT_EVENTS, INVOICES, KINDS, ORDERS, PAYMENTS, SHIPMENTS

from .config import CREDIT_EVENT_MIX, FRAUD_TYPES, REGION_CODES, ROLE_NAMES, SimConfig
from .flows import DOC_COLUMNS, DocBuffers, month_documents
from .health import calibrate, customer_distress, stress
from .ids import doc_ids, make_usccs, strings_from_matrix
from .network import CIRCULAR_EDGE, EPOCH, build_firms
from .profiles import financials_table, firms_table, intangibles_table
from .tables import STR, canonical, const_strings, date_col, int_col, take_strings, to_flow_frame

TableBuilder = Callable[[int, int], pa.Table]  # rows [start, stop) -> canonical table
I64 = npt.NDArray[np.int64]
NEVER = np.int64(1 << 40)
N_BANKS = 8
RECORD_KINDS = (
    "firms", "intangibles", "financials", "orders", "invoices", "shipments", "payments",
    "credit_events",
)


@dataclass(frozen=True)
class Source:
    """A table that can be built in row slices (so a writer never holds all of it as text)."""

    rows: int
    build: TableBuilder

    def full(self) -> pa.Table:
        return self.build(0, self.rows)


class LazyFrames(Mapping[str, pd.DataFrame]):
    """Frames built on first access and then kept: a million-firm run never pays for unused ones."""

    def __init__(self, makers: dict[str, Callable[[], pd.DataFrame]]) -> None:
        self._makers = makers
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._cache:
            self._cache[key] = self._makers[key]()
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


@dataclass
class SimResult:
    """Flow frames (shared contract 1), ground truth, and the period they cover.

    `frames` and `truth` are read-only mappings built lazily; `sources` and `truth_sources` are
    what `write_simulation` streams to files.
    """

    config: SimConfig
    start: date
    end: date
    frames: Mapping[str, pd.DataFrame]
    truth: Mapping[str, pd.DataFrame]
    sources: dict[str, Source]
    truth_sources: dict[str, Source]


def _fixed(table: pa.Table) -> Source:
    return Source(table.num_rows, lambda a, b: table.slice(a, b - a))


def _truth_frame(table: pa.Table) -> pd.DataFrame:
    out: dict[str, object] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_date32(col.type):
            out[name] = col.cast(pa.int32()).to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
        elif pa.types.is_large_string(col.type) or pa.types.is_string(col.type):
            out[name] = pd.Series(col, dtype=STR)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return pd.DataFrame(out)


def _month_starts(cfg: SimConfig) -> list[int]:
    out = []
    for t in range(cfg.months + 1):
        y, m = divmod(cfg.start.month - 1 + t, 12)
        out.append(date(cfg.start.year + y, m + 1, 1).toordinal() - EPOCH)
    return out


def simulate(cfg: SimConfig, progress: Progress | None = None) -> SimResult:
    """Run the world month by month and return its documents and its ground truth."""
    rng = np.random.default_rng(cfg.seed)
    report = progress or (lambda stage, done, total: None)
    report("network", 0, 1)
    firms, edges = build_firms(cfg, rng)
    n = firms.n
    region_int = np.array([int(c) for c, _ in REGION_CODES], dtype=np.int64)
    regions = np.concatenate((region_int[firms.region], np.full(N_BANKS, 500103, dtype=np.int64)))
    ids = strings_from_matrix(make_usccs(rng, regions))
    firm_ids = ids.slice(0, n)
    report("network", 1, 1)

    circ_pos = np.flatnonzero(edges.kind == CIRCULAR_EDGE)
    cycle = np.full(edges.n, -1, dtype=np.int64)
    cycle[circ_pos] = np.arange(circ_pos.shape[0]) // 3

    starts = _month_starts(cfg)
    day0 = starts[0]
    end_day = starts[-1] - 1
    span = np.arange(day0, end_day + 800).astype("datetime64[D]")
    year_of_day = span.astype("datetime64[Y]").astype(np.int64) + 1970

    rho = cfg.health_ar
    h = firms.mu + firms.sigma / np.sqrt(1 - rho**2) * rng.normal(size=n)
    h0 = h.copy()
    fraud_ind = (firms.fraud > 0).astype(np.float64)
    default_day = np.full(n, NEVER, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    founded = firms.founded.astype(np.int64)

    def relationships(t: int) -> npt.NDArray[np.bool_]:
        return (edges.start <= t) & (edges.end > t)

    def distress_now(t: int, exists: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        st = stress(h)
        st[~alive] = 1.0  # a customer in default stays a loss until the relationship ends
        return customer_distress(edges.seller, edges.buyer, edges.share, relationships(t) & exists[edges.buyer], st, n)

    exists0 = founded <= starts[1] - 1
    cust = distress_now(0, exists0)
    late = 0.5 * cust
    young0 = ((day0 - founded) < 365).astype(np.float64)
    hazard = calibrate(cfg, h[exists0], cust[exists0], fraud_ind[exists0], young0[exists0])

    buf = DocBuffers()
    pd_firm: list[npt.NDArray[np.int32]] = []
    pd_month: list[npt.NDArray[np.int32]] = []
    pd_value: list[npt.NDArray[np.float64]] = []
    year_end_health: dict[int, npt.NDArray[np.float64]] = {cfg.start.year - 1: h0}
    for t in range(cfg.months):
        ms, me = starts[t], starts[t + 1] - 1
        dim = me - ms + 1
        exists = founded <= me
        cust = distress_now(t, exists)
        young = ((ms - founded) < 365).astype(np.float64)
        lam = np.exp(hazard.log_rate(h, cust, late, fraud_ind, young))
        at_risk = alive & exists
        dflt = at_risk & (rng.random(n) < -np.expm1(-lam))
        default_day[dflt] = ms + rng.integers(0, dim, size=int(dflt.sum()))

        rel = relationships(t)
        trading = alive & exists
        active = rel & trading[edges.seller] & trading[edges.buyer]
        st = stress(h)
        trades = month_documents(
            cfg, rng, buf, edges, cycle, active, ms, dim, st, firms.fraud, year_of_day, day0, n
        )
        alive &= ~dflt
        frac = np.divide(trades.late_value, trades.value, out=np.zeros(n), where=trades.value > 0)
        late = np.where(trades.value > 0, 0.7 * late + 0.3 * frac, 0.85 * late)

        h = rho * h + (1 - rho) * firms.mu - cfg.contagion_health * cust + firms.sigma * rng.normal(size=n)
        shocked = (firms.role == 0) & alive & (rng.random(n) < cfg.core_shock_prob)
        h[shocked] -= cfg.core_shock_size

        cust_end = distress_now(t, exists)
        young_end = ((me - founded) < 365).astype(np.float64)
        pd12 = hazard.pd_12m(h, firms.mu, firms.sigma, cust_end, late, fraud_ind, young_end)
        rows = np.flatnonzero(alive & exists)
        pd_firm.append(rows.astype(np.int32))
        pd_month.append(np.full(rows.shape[0], me, dtype=np.int32))
        pd_value.append(pd12[rows])
        y, m = divmod(cfg.start.month - 1 + t, 12)
        if m == 11:
            year_end_health[cfg.start.year + y] = h.copy()
        report("months", t + 1, cfg.months)

    report("documents", 0, 1)
    docs = {k: _filter_documents(k, buf.pop(k), founded, default_day, end_day) for k in DOC_COLUMNS}
    report("documents", 1, 1)

    report("profiles", 0, 1)
    firm_tab = firms_table(rng, firms, firm_ids, h0)
    intang = intangibles_table(cfg, rng, firms, firm_ids, year_end_health, default_day)
    fin = financials_table(cfg, rng, firms, firm_ids, year_end_health, default_day)
    ev_firm = np.flatnonzero(default_day < NEVER)
    ev_firm = ev_firm[np.argsort(default_day[ev_firm], kind="stable")]
    ev_day = default_day[ev_firm]
    mix_p = np.array([p for _, p in CREDIT_EVENT_MIX])
    ev_kind = rng.choice(len(CREDIT_EVENT_MIX), size=ev_firm.shape[0], p=mix_p / mix_p.sum())
    ev_bank = n + rng.integers(0, N_BANKS, size=ev_firm.shape[0])
    ev_rep = ev_day + rng.integers(0, 45, size=ev_firm.shape[0])
    ev_rep = np.where(ev_rep <= end_day, ev_rep, -1)
    kinds_arr = pa.array([k for k, _ in CREDIT_EVENT_MIX], type=pa.large_string())
    events_tab = canonical(
        CREDIT_EVENTS,
        {
            "firm_id": ids.take(pa.array(ev_firm)),
            "event_date": date_col(ev_day),
            "kind": kinds_arr.take(pa.array(ev_kind.astype(np.int64))),
            "reported_by": ids.take(pa.array(ev_bank.astype(np.int64))),
            "reported_on": date_col(ev_rep),
        },
    )
    report("profiles", 1, 1)

    sources: dict[str, Source] = {
        "firms": _fixed(firm_tab),
        "intangibles": _fixed(intang),
        "financials": _fixed(fin),
        **_document_sources(docs, ids),
        "credit_events": _fixed(events_tab),
    }
    roles = pa.array(list(ROLE_NAMES), type=pa.large_string())
    fraud_names = pa.array(list(FRAUD_TYPES), type=pa.large_string())
    fr = np.flatnonzero(firms.fraud > 0)
    pdf = np.concatenate(pd_firm)
    pdm = np.concatenate(pd_month)
    pdv = np.concatenate(pd_value)
    truth_sources = {
        "pd": Source(
            int(pdf.shape[0]),
            lambda a, b: pa.table(
                {
                    "firm_id": firm_ids.take(pa.array(pdf[a:b].astype(np.int64))),
                    "month_end": date_col(pdm[a:b]),
                    "pd_12m": pa.array(pdv[a:b]),
                }
            ),
        ),
        "fraud": _fixed(
            pa.table(
                {
                    "firm_id": firm_ids.take(pa.array(fr)),
                    "fraud_type": fraud_names.take(pa.array(firms.fraud[fr].astype(np.int64))),
                }
            )
        ),
        "events": _fixed(
            pa.table(
                {
                    "firm_id": ids.take(pa.array(ev_firm)),
                    "event_date": date_col(ev_day),
                    "kind": kinds_arr.take(pa.array(ev_kind.astype(np.int64))),
                    "role": roles.take(pa.array(firms.role[ev_firm].astype(np.int64))),
                }
            )
        ),
        "firms": _fixed(
            pa.table(
                {
                    "firm_id": firm_ids,
                    "role": roles.take(pa.array(firms.role.astype(np.int64))),
                    "fraud_type": fraud_names.take(pa.array(firms.fraud.astype(np.int64))),
                    "tech": pa.array(firms.tech),
                    "long_run_health": pa.array(firms.mu),
                }
            )
        ),
    }
    def flow_maker(kind: str) -> Callable[[], pd.DataFrame]:
        return lambda: to_flow_frame(KINDS[kind], sources[kind].full())

    def truth_maker(name: str) -> Callable[[], pd.DataFrame]:
        return lambda: _truth_frame(truth_sources[name].full())

    frames = LazyFrames({k: flow_maker(k) for k in RECORD_KINDS})
    truth = LazyFrames({k: truth_maker(k) for k in truth_sources})
    return SimResult(cfg, cfg.start, cfg.end, frames, truth, sources, truth_sources)


def _filter_documents(
    kind: str, cols: dict[str, I64], founded: I64, default_day: I64, end_day: int
) -> dict[str, I64]:
    """No document after the period, before a party existed, or from a party already in default.

    A payment is judged on its payer only: a firm in default still receives what it is owed.
    Columns are replaced one at a time to keep a single copy in memory.
    """
    first, second = {
        "orders": ("buyer", "seller"),
        "invoices": ("seller", "buyer"),
        "shipments": ("shipper", "consignee"),
        "payments": ("payer", "payee"),
    }[kind]
    a, b, d = cols[first], cols[second], cols["date"]
    keep = (d <= end_day) & (d >= founded[a]) & (d >= founded[b]) & (d < default_day[a])
    if kind != "payments":
        keep &= d < default_day[b]
    for c in list(cols):
        cols[c] = cols[c][keep]
    return cols


def _document_sources(docs: dict[str, dict[str, I64]], ids: pa.Array) -> dict[str, Source]:
    o, i, s, p = docs["orders"], docs["invoices"], docs["shipments"], docs["payments"]

    def orders(a: int, b: int) -> pa.Table:
        m = b - a
        return canonical(
            ORDERS,
            {
                "order_id": doc_ids("PO", o["seq"][a:b], 12),
                "buyer_id": take_strings(ids, o["buyer"][a:b]),
                "seller_id": take_strings(ids, o["seller"][a:b]),
                "order_date": date_col(o["date"][a:b]),
                "amount": int_col(o["amount"][a:b]),
                "currency": const_strings("CNY", m),
                "payment_terms_days": int_col(o["terms"][a:b]),
                "uploaded_by": take_strings(ids, o["uploaded_by"][a:b]),
            },
        )

    def invoice_ids(seq: I64, year: I64) -> pa.Array:
        # 数电票 style: 2-digit year, 50 (Chongqing), 0, then a 15-digit sequence: 20 digits
        return doc_ids("", seq, 15, head=year * 1000 + 500, head_width=5)

    def invoices(a: int, b: int) -> pa.Table:
        m = b - a
        cn = i["credit_note"][a:b]
        return canonical(
            INVOICES,
            {
                "invoice_id": invoice_ids(i["seq"][a:b], i["year"][a:b]),
                "seller_id": take_strings(ids, i["seller"][a:b]),
                "buyer_id": take_strings(ids, i["buyer"][a:b]),
                "issue_date": date_col(i["date"][a:b]),
                "net": int_col(i["net"][a:b]),
                "tax": int_col(i["tax"][a:b]),
                "total": int_col(i["total"][a:b]),
                "payable": int_col(i["total"][a:b]),
                "currency": const_strings("CNY", m),
                "kind": pa.array(["normal", "credit_note"], type=pa.large_string()).take(
                    pa.array(cn.astype(np.int64))
                ),
                "original_invoice_id": invoice_ids(i["orig_seq"][a:b], i["orig_year"][a:b]),
                "order_id": doc_ids("PO", i["order_seq"][a:b], 12),
                "due_date": date_col(i["due"][a:b]),
                "line_count": int_col(i["lines"][a:b], nullable=True),
                "uploaded_by": take_strings(ids, i["uploaded_by"][a:b]),
            },
        )

    def shipments(a: int, b: int) -> pa.Table:
        m = b - a
        return canonical(
            SHIPMENTS,
            {
                "shipment_id": doc_ids("YD", s["seq"][a:b], 12),
                "shipper_id": take_strings(ids, s["shipper"][a:b]),
                "consignee_id": take_strings(ids, s["consignee"][a:b]),
                "order_id": doc_ids("PO", s["order_seq"][a:b], 12),
                "ship_date": date_col(s["date"][a:b]),
                "delivery_date": date_col(s["delivery"][a:b]),
                "goods_value": int_col(s["value"][a:b]),
                "currency": const_strings("CNY", m),
                "uploaded_by": take_strings(ids, s["uploaded_by"][a:b]),
            },
        )

    def payments(a: int, b: int) -> pa.Table:
        m = b - a
        return canonical(
            PAYMENTS,
            {
                "payment_id": doc_ids("TX", p["seq"][a:b], 12),
                "payer_id": take_strings(ids, p["payer"][a:b]),
                "payee_id": take_strings(ids, p["payee"][a:b]),
                "paid_on": date_col(p["date"][a:b]),
                "amount": int_col(p["amount"][a:b]),
                "currency": const_strings("CNY", m),
                "invoice_id": invoice_ids(p["inv_seq"][a:b], p["inv_year"][a:b]),
                "uploaded_by": take_strings(ids, p["uploaded_by"][a:b]),
            },
        )

    return {
        "orders": Source(int(o["seq"].shape[0]), orders),
        "invoices": Source(int(i["seq"].shape[0]), invoices),
        "shipments": Source(int(s["seq"].shape[0]), shipments),
        "payments": Source(int(p["seq"].shape[0]), payments),
    }
