"""From flow frames to integer-coded arrays, once, so every later step is numpy over columns.

Firm ids become positions in one node index (registry firms first, then every party seen in a
document dated on or before T), dates become day numbers and money becomes float CNY. Documents
dated after T are dropped here and nowhere else is a date filter needed against T: this is what
makes the point-in-time guarantee a property of one function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from common.progress import Progress
from graph.encode import encode, factorize_ints
from graph.params import GraphParams
from graph.ratings import rating_quality

NAT_DAY = np.iinfo(np.int64).min  # what NaT becomes as a day number
# A party known by name alone is written `NAME:<other party>~<name>` (DESIGN.md §7 "Foreign
# parties"; the form is store.parties'): kept as a node, never evidence of a trade.
UNIDENTIFIED_PREFIX = "NAME:"
I64 = npt.NDArray[np.int64]
# float64 arrays; typed loosely because numpy's stubs give `np.bincount(..., weights=...)` an
# integer result, which would otherwise need a cast at every bincount
F64 = npt.NDArray[Any]
B = npt.NDArray[np.bool_]


def day_number(d: date | pd.Timestamp | np.datetime64) -> int:
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def months_before(d: date | pd.Timestamp, months: int) -> int:
    return day_number(pd.Timestamp(d) - pd.DateOffset(months=months))


def to_days(values: pd.Series | None, n: int) -> I64:
    """Day numbers since 1970-01-01 whatever the datetime unit; NaT -> NAT_DAY."""
    if values is None:
        return np.full(n, NAT_DAY, dtype=np.int64)
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = pd.to_datetime(values, errors="coerce")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    arr = values.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
    return arr.astype("datetime64[D]").astype(np.int64)


def money_cny(df: pd.DataFrame | _Cols, name: str) -> F64:
    """A money field in yuan, as float (a model input, not a ledger amount).

    The loaders' `<name>_cny` column when present (converted with fx_rates; NaN where no rate
    exists). Otherwise `<name>_minor` / 100 for rows in CNY; a row whose currency is missing or
    another currency is unknown (NaN), never guessed. A frame with no currency column at all is
    in CNY (the simulator writes CNY only)."""
    if f"{name}_cny" in df.columns:
        return pd.to_numeric(df[f"{name}_cny"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if f"{name}_minor" in df.columns:
        minor = pd.to_numeric(df[f"{name}_minor"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if "currency" in df.columns:
            cny = df["currency"].astype("string").str.upper().eq("CNY").fillna(False).to_numpy(dtype=bool)
            return np.where(cny, minor / 100.0, np.nan)
        return minor / 100.0
    return np.full(len(df), np.nan)


def _int_col(df: pd.DataFrame | _Cols, name: str, fill: int = -1) -> I64:
    if name not in df.columns:
        return np.full(len(df), fill, dtype=np.int64)
    return pd.to_numeric(df[name], errors="coerce").fillna(fill).to_numpy(dtype=np.int64)


def _bool_col(df: pd.DataFrame, name: str) -> B:
    if name not in df.columns:
        return np.zeros(len(df), dtype=bool)
    s = df[name]
    if s.dtype == bool:
        return s.to_numpy()
    return s.astype(object).map(
        lambda v: v is True or (isinstance(v, str) and v.strip().lower() in ("true", "1", "yes", "是"))
        or (not isinstance(v, str) and v == 1)
    ).to_numpy(dtype=bool)


@dataclass
class Docs:
    """One document kind, already coded: every array has one entry per kept row."""

    frame: pd.DataFrame  # the caller's frame (for ids at output time)
    rows: I64  # positions of the kept rows in `frame`
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def ids(self, col: str, positions: npt.ArrayLike | None = None) -> pd.Series:
        """Original string ids of `col` for kept rows (all, or at `positions` of the kept rows)."""
        rows = self.rows if positions is None else self.rows[np.asarray(positions, dtype=np.int64)]
        if col not in self.frame.columns:
            return pd.Series([None] * len(rows), dtype=object)
        return self.frame[col].take(rows).reset_index(drop=True)


@dataclass
class Prepared:
    as_of: pd.Timestamp
    t: int  # T as a day number
    start: int  # window start (exclusive)
    hist_start: int  # allocation history start (exclusive)
    nodes: pd.Index  # firm ids; position = node code
    is_core: B
    quality: F64  # core credit quality (NaN for non-core firms)
    founded: I64  # founding day (NAT_DAY when unknown)
    equity: F64  # latest reported equity (NaN when none)
    invoices: Docs
    orders: Docs
    shipments: Docs
    payments: Docs
    events: Docs  # credit events dated <= T, coded (firm = -1 when unknown)
    pair_first_day: F64  # first invoice day per dense pair code over all history <= T (NaN: none)
    pair_keys: I64  # seller*n + buyer per dense pair code (cols["pc"] of every document kind)
    no_fx: dict[str, Docs] = field(default_factory=dict)  # documents without a CNY amount
    unidentified: B = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per node

    def unidentified_in(self, s: I64, b: I64) -> B:
        """Per document (seller codes `s`, buyer codes `b`): is either party unidentified?"""
        if not self.unidentified.any():
            return np.zeros(s.shape, dtype=bool)
        return self.unidentified[s] | self.unidentified[b]

    @property
    def n(self) -> int:
        return len(self.nodes)


_PARTIES = {
    "invoices": ("seller_id", "buyer_id", "issue_date"),
    "orders": ("seller_id", "buyer_id", "order_date"),
    "shipments": ("shipper_id", "consignee_id", "ship_date"),
    "payments": ("payee_id", "payer_id", "paid_on"),  # coded as s = payee, b = payer
}


def _frame(frames: Mapping[str, pd.DataFrame], kind: str) -> pd.DataFrame:
    df = frames.get(kind)
    return df if df is not None else pd.DataFrame()


def _doc_codes(cols: list[tuple[Docs, str]]) -> list[npt.NDArray[np.int32]]:
    """Shared integer codes for a document-id namespace seen in several columns (-1: none), per
    kept row of each kind. The whole columns are read in place with the other rows masked
    out, rather than copying the kept rows' ids first."""
    parts: list[pd.Series] = []
    masks: list[B | None] = []
    for d, col in cols:
        if col not in d.frame.columns or len(d) == 0:
            parts.append(pd.Series([], dtype=object))
            masks.append(None)
            continue
        parts.append(d.frame[col])
        mask = None
        if len(d) != len(d.frame):
            mask = np.zeros(len(d.frame), dtype=bool)
            mask[d.rows] = True
        masks.append(mask)
    codes, _ = encode(parts, masks=masks, want_uniques=False)
    return [np.full(len(d), -1, dtype=np.int32) if len(c) == 0 and len(d) else
            (c if len(c) == len(d) else c[d.rows]) for c, (d, _) in zip(codes, cols, strict=True)]


def prepare(
    frames: Mapping[str, pd.DataFrame], as_of: date, params: GraphParams,
    progress: Progress | None = None,
) -> Prepared:
    report = progress or (lambda _stage, _done, _total: None)
    t = day_number(as_of)
    start = months_before(as_of, params.window_months)
    hist_start = months_before(as_of, params.history_months)
    lookback = hist_start - params.order_window_days - params.shipment_before_days

    firms = _frame(frames, "firms")
    firm_ids = firms["firm_id"] if "firm_id" in firms.columns else pd.Series([], dtype=object)

    kept: dict[str, tuple[pd.DataFrame, I64, I64]] = {}
    party_parts: list[pd.Series] = [firm_ids]
    party_masks: list[B | None] = [None]
    for kind, (s_col, b_col, d_col) in _PARTIES.items():
        df = _frame(frames, kind)
        if df.empty or s_col not in df.columns or b_col not in df.columns:
            kept[kind] = (df, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            party_parts += [pd.Series([], dtype=object), pd.Series([], dtype=object)]
            party_masks += [None, None]
            continue
        days = to_days(df[d_col] if d_col in df.columns else None, len(df))
        dated = (days != NAT_DAY) & (days <= t)
        rows = np.flatnonzero(dated)
        kept[kind] = (df, rows, days[rows])
        mask = None if rows.size == len(df) else dated
        party_parts += [df[s_col], df[b_col]]
        party_masks += [mask, mask]

    # only parties of documents dated <= T become nodes: later ones are masked out here
    report("features: prepare: ids", 2, 100)
    coded_parts, nodes = encode(party_parts, masks=party_masks)
    del party_parts
    n = len(nodes)
    coded: dict[str, Docs] = {}
    old_inv = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for i, kind in enumerate(_PARTIES):
        df, rows, days = kept[kind]
        s32, b32 = coded_parts[1 + 2 * i], coded_parts[2 + 2 * i]
        if rows.size != s32.size:  # some rows are dated after T
            s32, b32 = s32[rows], b32[rows]
        s, b = s32.astype(np.int64), b32.astype(np.int64)
        ok = (s >= 0) & (b >= 0)
        keep = ok & (days > lookback)
        if kind == "invoices":
            old_inv = (s[ok & ~keep] * n + b[ok & ~keep], days[ok & ~keep])
        if not keep.all():
            rows, s, b, days = rows[keep], s[keep], b[keep], days[keep]
        coded[kind] = Docs(df, rows, {"s": s, "b": b, "day": days})

    firm_code = coded_parts[0].astype(np.int64)
    del coded_parts
    is_core = np.zeros(n, dtype=bool)
    quality = np.full(n, np.nan)
    founded = np.full(n, NAT_DAY, dtype=np.int64)
    if len(firm_ids):
        valid = firm_code >= 0
        core = _bool_col(firms, "is_core")
        is_core[firm_code[valid]] = core[valid]
        if "external_rating" in firms.columns:
            q = rating_quality(firms["external_rating"], params.rating_scale)
        else:
            q = np.full(len(firms), np.nan)
        q = np.where(np.isnan(q), params.unrated_core_quality, q)
        quality[firm_code[valid & core]] = q[valid & core]
        founded[firm_code[valid]] = to_days(firms.get("founded_on"), len(firms))[valid]

    report("features: prepare: amounts", 6, 100)
    _fill_invoices(coded["invoices"], t)
    _fill_orders(coded["orders"])
    _fill_shipments(coded["shipments"])
    _fill_payments(coded["payments"])
    report("features: prepare: references", 8, 100)
    _code_references(coded)
    report("features: prepare: pairs", 12, 100)
    pair_keys = _code_pairs(coded, n)
    pair_first = _pair_first_day(coded["invoices"], pair_keys, old_inv)

    no_fx: dict[str, Docs] = {}
    for kind, amt in (("invoices", "total"), ("orders", "amount"), ("shipments", "goods_value"),
                      ("payments", "amount")):
        d = coded[kind]
        missing = np.isnan(d[amt])
        miss = missing & (d["day"] > start)
        no_fx[kind] = Docs(d.frame, d.rows[miss], {"s": d["s"][miss], "b": d["b"][miss]})
        d.cols["has_amount"] = ~missing
        d.cols[amt] = np.nan_to_num(d[amt], nan=0.0)
        if kind == "invoices":
            d.cols["payable"] = np.nan_to_num(d["payable"], nan=0.0)

    return Prepared(
        as_of=pd.Timestamp(as_of), t=t, start=start, hist_start=hist_start, nodes=nodes,
        is_core=is_core, quality=quality, founded=founded,
        equity=_equity(frames, nodes, t),
        invoices=coded["invoices"], orders=coded["orders"], shipments=coded["shipments"],
        payments=coded["payments"], events=_events(frames, nodes, t), pair_first_day=pair_first,
        pair_keys=pair_keys,
        no_fx=no_fx,
        unidentified=_unidentified(nodes),
    )


def _unidentified(nodes: pd.Index) -> B:
    if len(nodes) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(nodes.astype(str).str.startswith(UNIDENTIFIED_PREFIX), dtype=bool)


def _pair_first_day(inv: Docs, pair_keys: I64, old: tuple[I64, I64]) -> F64:
    """First invoice day per dense pair code over all history <= T (NaN: never invoiced),
    counting invoices older than the coded look-back too."""
    first = np.full(pair_keys.size, np.iinfo(np.int64).max, dtype=np.int64)
    if len(inv):
        np.minimum.at(first, inv["pc"], inv["day"])
    keys, days = old
    if keys.size and pair_keys.size:
        order = np.argsort(pair_keys)
        pos = np.searchsorted(pair_keys[order], keys)
        pos_c = np.minimum(pos, pair_keys.size - 1)
        hit = pair_keys[order][pos_c] == keys
        np.minimum.at(first, order[pos_c[hit]], days[hit])
    return np.where(first == np.iinfo(np.int64).max, np.nan, first.astype(np.float64))


def _code_pairs(c: dict[str, Docs], n: int) -> I64:
    """One dense code per (seller, buyer) pair across all kinds, so that matching, allocation
    and edges index arrays by pair instead of hashing pair keys again at each step."""
    kinds = ("invoices", "orders", "shipments", "payments")
    sizes = [len(c[k]) for k in kinds]
    allkeys = np.empty(sum(sizes), dtype=np.int64)
    at = 0
    for k, size in zip(kinds, sizes, strict=True):
        np.multiply(c[k]["s"], n, out=allkeys[at: at + size])
        allkeys[at: at + size] += c[k]["b"]
        at += size
    codes, uniq = factorize_ints(allkeys)
    del allkeys
    at = 0
    for k, size in zip(kinds, sizes, strict=True):
        c[k].cols["pc"] = codes[at: at + size]  # views of one int64 array
        at += size
    return uniq.astype(np.int64, copy=False)


class _Cols:
    """Column access restricted to the kept rows, without copying the whole frame."""

    def __init__(self, d: Docs) -> None:
        self.d = d
        self.all = len(d) == len(d.frame) and bool(
            len(d) == 0 or (d.rows[0] == 0 and d.rows[-1] == len(d) - 1))
        self.columns = d.frame.columns

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> pd.Series:
        col = self.d.frame[name]
        return col.reset_index(drop=True) if self.all else col.take(self.d.rows).reset_index(drop=True)

    def get(self, name: str) -> pd.Series | None:
        return self[name] if name in self.columns else None

    def __len__(self) -> int:
        return len(self.d)


def _sub(d: Docs) -> _Cols:
    return _Cols(d)


def _fill_invoices(d: Docs, t: int) -> None:
    f = _sub(d)
    d.cols["total"] = money_cny(f, "total")
    d.cols["net"] = money_cny(f, "net")
    payable = money_cny(f, "payable")
    d.cols["payable"] = np.where(np.isnan(payable), d.cols["total"], payable)
    credit = np.zeros(len(d), dtype=bool)
    if "kind" in f.columns:
        credit = (f["kind"] == "credit_note").fillna(False).to_numpy(dtype=bool)
    d.cols["credit"] = credit | (np.nan_to_num(d.cols["total"]) < 0)
    d.cols["due"] = to_days(f.get("due_date"), len(d))


def _fill_orders(d: Docs) -> None:
    f = _sub(d)
    d.cols["amount"] = money_cny(f, "amount")
    d.cols["terms"] = _int_col(f, "payment_terms_days")


def _fill_shipments(d: Docs) -> None:
    f = _sub(d)
    d.cols["goods_value"] = money_cny(f, "goods_value")


def _fill_payments(d: Docs) -> None:
    f = _sub(d)
    d.cols["amount"] = money_cny(f, "amount")


def _code_references(c: dict[str, Docs]) -> None:
    """Order ids and invoice ids as integer codes, shared between the kinds that cite them."""
    inv, orders, ships, pays = c["invoices"], c["orders"], c["shipments"], c["payments"]
    oc = _doc_codes([(orders, "order_id"), (inv, "order_id"), (ships, "order_id")])
    orders.cols["oid"], inv.cols["oid_ref"], ships.cols["oid_ref"] = oc
    ic = _doc_codes([(inv, "invoice_id"), (pays, "invoice_id"), (inv, "original_invoice_id")])
    inv.cols["iid"], pays.cols["iid_ref"], inv.cols["orig_ref"] = ic


def _equity(frames: Mapping[str, pd.DataFrame], nodes: pd.Index, t: int) -> F64:
    """Latest equity reported on or before T. `reported_on` is filled by the store (the filing
    rule lives in store.pointintime); a statement without one is not known."""
    out = np.full(len(nodes), np.nan)
    fin = _frame(frames, "financials")
    if fin.empty or "firm_id" not in fin.columns:
        return out
    rep = to_days(fin.get("reported_on"), len(fin))
    fy = _int_col(fin, "fiscal_year", fill=0)
    eq = money_cny(fin, "total_assets") - money_cny(fin, "total_liabilities")
    code = nodes.get_indexer(pd.Index(fin["firm_id"]))
    ok = (code >= 0) & (rep != NAT_DAY) & (rep <= t) & ~np.isnan(eq) & (fy > 0)
    if not ok.any():
        return out
    df = pd.DataFrame({"c": code[ok], "fy": fy[ok], "eq": eq[ok]}).sort_values(["c", "fy"])
    last = df.groupby("c", sort=False).tail(1)
    out[last["c"].to_numpy()] = last["eq"].to_numpy()
    return out


def _events(frames: Mapping[str, pd.DataFrame], nodes: pd.Index, t: int) -> Docs:
    ev = _frame(frames, "credit_events")
    if ev.empty or "firm_id" not in ev.columns:
        return Docs(ev, np.zeros(0, dtype=np.int64), {"firm": np.zeros(0, dtype=np.int64),
                                                      "day": np.zeros(0, dtype=np.int64)})
    days = to_days(ev.get("event_date"), len(ev))
    rows = np.flatnonzero((days != NAT_DAY) & (days <= t))
    firm = nodes.get_indexer(pd.Index(ev["firm_id"].take(rows))).astype(np.int64)
    return Docs(ev, rows, {"firm": firm, "day": days[rows]})
