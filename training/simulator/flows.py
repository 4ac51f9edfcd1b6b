"""One month of trade turned into documents: orders, shipments, invoices and payments.

Each trade on a relationship produces the documents of the three flows with the lags and the
noise of real uploads (missing documents, partial payments, red-letter reversals, one-party
uploads, invoices issued before the goods ship). Fraud shows up where a bank would see it:
invoices without logistics, the same trade invoiced twice, circles of similar amounts.
Documents are kept as compact integer columns (firm indices, sequence numbers, day numbers,
fen); turning them into text happens once, in `tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .config import SimConfig
from .network import CIRCULAR_EDGE, F_DOUBLE, F_NO_SHIPMENT, NORMAL_EDGE, SHELL_EDGE, Edges

I64 = npt.NDArray[np.int64]
NONE = -1

DOC_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("seq", "buyer", "seller", "date", "amount", "terms", "uploaded_by"),
    "invoices": (
        "seq", "year", "seller", "buyer", "date", "net", "tax", "total", "credit_note",
        "orig_seq", "orig_year", "order_seq", "due", "lines", "uploaded_by",
    ),
    "shipments": ("seq", "shipper", "consignee", "order_seq", "date", "delivery", "value", "uploaded_by"),
    "payments": ("seq", "payer", "payee", "date", "amount", "inv_seq", "inv_year", "uploaded_by"),
}


_WIDE = {"seq", "orig_seq", "order_seq", "inv_seq", "amount", "net", "tax", "total", "value"}


def _dtype(column: str) -> type[np.int64] | type[np.int32]:
    """Sequences and money need 64 bits; firm indices, day numbers and small counts fit 32."""
    return np.int64 if column in _WIDE else np.int32


@dataclass
class DocBuffers:
    """Documents accumulated month by month, one list of int64 arrays per column."""

    parts: dict[str, dict[str, list[I64]]] = field(
        default_factory=lambda: {k: {c: [] for c in cols} for k, cols in DOC_COLUMNS.items()}
    )
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOC_COLUMNS, 0))

    def next_seq(self, kind: str, k: int) -> I64:
        start = self.counters[kind]
        self.counters[kind] = start + k
        return np.arange(start, start + k, dtype=np.int64)

    def add(self, kind: str, **cols: I64) -> None:
        for name in DOC_COLUMNS[kind]:
            self.parts[kind][name].append(np.asarray(cols[name], dtype=_dtype(name)))

    def pop(self, kind: str) -> dict[str, I64]:
        """All months of one kind as whole columns; the monthly pieces are released column by
        column so a million-firm run never holds two copies of its documents."""
        out: dict[str, I64] = {}
        parts = self.parts.pop(kind)
        for c in list(parts):
            pieces = parts.pop(c)
            out[c] = np.concatenate(pieces) if pieces else np.zeros(0, _dtype(c))
            del pieces
        return out


def _uploader(rng: np.random.Generator, party: I64, share: float) -> I64:
    return np.where(rng.random(party.shape[0]) < share, party, NONE)


def _year2(day: I64, year_of_day: I64, day0: int) -> I64:
    return year_of_day[np.clip(day - day0, 0, year_of_day.shape[0] - 1)] % 100


@dataclass
class MonthTrades:
    """What the health model needs back from a month of trade."""

    late_value: npt.NDArray[np.float64]  # per seller: value invoiced to buyers paying > 30 days late
    value: npt.NDArray[np.float64]  # per seller: value invoiced


def month_documents(
    cfg: SimConfig,
    rng: np.random.Generator,
    buf: DocBuffers,
    edges: Edges,
    cycle: I64,
    active: npt.NDArray[np.bool_],
    month_start: int,
    month_days: int,
    buyer_stress: npt.NDArray[np.float64],
    fraud: npt.NDArray[np.int8],
    year_of_day: I64,
    day0: int,
    n: int,
) -> MonthTrades:
    """Draw this month's trades on active relationships and append their documents to `buf`."""
    cand = np.flatnonzero(active)
    idx = cand[rng.random(cand.shape[0]) < edges.p[cand]]
    k = idx.shape[0]
    s = edges.seller[idx].astype(np.int64)
    b = edges.buyer[idx].astype(np.int64)
    ekind = edges.kind[idx]
    circ = ekind == CIRCULAR_EDGE

    # dates and amounts; a circle trades in one short window at nearly the same amount
    order_day = month_start + np.floor(rng.random(k) * month_days).astype(np.int64)
    noise = np.exp(rng.normal(-0.06, 0.35, k))
    n_cycles = int(cycle.max()) + 1 if cycle.shape[0] else 0
    cyc_day = rng.integers(0, max(month_days - 12, 1), size=max(n_cycles, 1))
    cyc_amt = np.exp(rng.normal(0.0, 0.3, size=max(n_cycles, 1)))
    cid = cycle[idx]
    order_day = np.where(circ, month_start + cyc_day[np.maximum(cid, 0)] + rng.integers(0, 6, k), order_day)
    noise = np.where(circ, cyc_amt[np.maximum(cid, 0)] * rng.uniform(0.97, 1.03, k), noise)
    total = np.maximum(np.rint(edges.value[idx] / edges.p[idx] * noise * 100.0), 100).astype(np.int64)
    round_yuan = rng.random(k) < 0.3
    total = np.where(round_yuan, np.maximum(total // 10_000, 1) * 10_000, total)
    vat = np.where(rng.random(k) < 0.1, 0.09, cfg.vat_rate)
    net = np.rint(total / (1.0 + vat)).astype(np.int64)
    tax = total - net
    terms = edges.terms[idx].astype(np.int64)

    fake = ekind != NORMAL_EDGE
    has_order = np.asarray(rng.random(k) >= np.where(fake, 0.7, cfg.missing_order))
    no_ship = fake | (fraud[s] == F_NO_SHIPMENT)
    has_ship = ~no_ship & (rng.random(k) >= cfg.missing_shipment)
    has_inv = np.asarray(rng.random(k) >= cfg.missing_invoice)

    ship_day = order_day + 1 + rng.poisson(3.0, k)
    delivery = np.where(rng.random(k) < 0.8, ship_day + 1 + rng.poisson(2.0, k), NONE)
    inv_day = np.where(no_ship, order_day + 1 + rng.poisson(4.0, k), ship_day + rng.poisson(2.0, k))
    early = ~no_ship & (rng.random(k) < cfg.early_invoice_share)
    inv_day = np.where(early, np.maximum(order_day, ship_day - 1 - rng.poisson(3.0, k)), inv_day)
    due = inv_day + terms

    sb = buyer_stress[b]
    delay = np.rint(
        rng.exponential(cfg.base_delay_days, k) + cfg.stress_delay_days * sb * rng.exponential(1.0, k)
    ).astype(np.int64)
    pay_day = due + delay

    order_seq = np.where(has_order, buf.next_seq("orders", k), NONE)
    o = has_order
    buf.add(
        "orders",
        seq=order_seq[o], buyer=b[o], seller=s[o], date=order_day[o], amount=total[o],
        terms=terms[o], uploaded_by=_uploader(rng, b[o], cfg.one_party_share),
    )

    ref = has_order & (rng.random(k) < cfg.order_ref_share)
    sh = has_ship
    value = np.where(rng.random(k) < 0.05, np.rint(total * rng.uniform(0.995, 1.005, k)), total)
    buf.add(
        "shipments",
        seq=buf.next_seq("shipments", int(sh.sum())), shipper=s[sh], consignee=b[sh],
        order_seq=np.where(ref, order_seq, NONE)[sh], date=ship_day[sh], delivery=delivery[sh],
        value=value[sh].astype(np.int64), uploaded_by=_uploader(rng, s[sh], cfg.one_party_share),
    )

    # invoices: the normal ones, the doubles of double-invoicing sellers, red-letter reversals
    inv_seq = np.where(has_inv, buf.next_seq("invoices", k), NONE)
    inv_year = _year2(inv_day, year_of_day, day0)
    iv = has_inv
    ref_i = has_order & (rng.random(k) < cfg.order_ref_share)
    lines = np.where(rng.random(k) < 0.7, 1 + rng.poisson(3.0, k), NONE)
    due_doc = np.where(rng.random(k) < 0.8, due, NONE)
    zeros = np.zeros(k, dtype=np.int64)
    buf.add(
        "invoices",
        seq=inv_seq[iv], year=inv_year[iv], seller=s[iv], buyer=b[iv], date=inv_day[iv],
        net=net[iv], tax=tax[iv], total=total[iv], credit_note=zeros[iv],
        orig_seq=np.full(int(np.sum(iv)), NONE), orig_year=zeros[iv],
        order_seq=np.where(ref_i, order_seq, NONE)[iv], due=due_doc[iv], lines=lines[iv],
        uploaded_by=_uploader(rng, s[iv], cfg.one_party_share),
    )
    dbl = has_inv & (fraud[s] == F_DOUBLE) & (rng.random(k) < 0.5)
    nd = int(np.sum(dbl))
    d_day = inv_day[dbl] + rng.integers(0, 10, nd)
    buf.add(
        "invoices",
        seq=buf.next_seq("invoices", nd), year=_year2(d_day, year_of_day, day0), seller=s[dbl],
        buyer=b[dbl], date=d_day, net=net[dbl], tax=tax[dbl], total=total[dbl],
        credit_note=np.zeros(nd, np.int64), orig_seq=np.full(nd, NONE), orig_year=np.zeros(nd, np.int64),
        order_seq=np.full(nd, NONE), due=due_doc[dbl], lines=lines[dbl],
        uploaded_by=_uploader(rng, s[dbl], cfg.one_party_share),
    )
    cn = has_inv & (rng.random(k) < cfg.credit_note_share)
    nc = int(np.sum(cn))
    c_day = inv_day[cn] + 3 + rng.poisson(15.0, nc)
    buf.add(
        "invoices",
        seq=buf.next_seq("invoices", nc), year=_year2(c_day, year_of_day, day0), seller=s[cn],
        buyer=b[cn], date=c_day, net=-net[cn], tax=-tax[cn], total=-total[cn],
        credit_note=np.ones(nc, np.int64), orig_seq=inv_seq[cn], orig_year=inv_year[cn],
        order_seq=np.full(nc, NONE), due=np.full(nc, NONE), lines=lines[cn],
        uploaded_by=_uploader(rng, s[cn], cfg.one_party_share),
    )

    # payments: reversed trades are not paid; shells and circles pay only part of the time
    pay_p = np.where(ekind == SHELL_EDGE, 0.3, np.where(circ, 0.8, 1.0))
    paid = ~cn & (rng.random(k) < pay_p)
    partial = paid & (rng.random(k) < cfg.partial_payment_share)
    first = np.where(partial, np.rint(total * rng.uniform(0.3, 0.7, k)).astype(np.int64), total)
    pref = has_inv & (rng.random(k) < cfg.payment_ref_share)
    p_inv = np.where(pref, inv_seq, NONE)
    second_day = pay_day + 15 + rng.poisson(20.0, k)
    pay_b = np.concatenate((b[paid], b[partial]))
    pay_s = np.concatenate((s[paid], s[partial]))
    npay = pay_b.shape[0]
    buf.add(
        "payments",
        seq=buf.next_seq("payments", npay), payer=pay_b, payee=pay_s,
        date=np.concatenate((pay_day[paid], second_day[partial])),
        amount=np.concatenate((first[paid], (total - first)[partial])),
        inv_seq=np.concatenate((p_inv[paid], p_inv[partial])),
        inv_year=np.concatenate((inv_year[paid], inv_year[partial])),
        uploaded_by=_uploader(rng, pay_b, cfg.one_party_share),
    )

    late = (delay > 30).astype(np.float64)
    tv = total.astype(np.float64)
    return MonthTrades(
        late_value=np.bincount(s, weights=tv * late, minlength=n).astype(np.float64),
        value=np.bincount(s, weights=tv, minlength=n).astype(np.float64),
    )
