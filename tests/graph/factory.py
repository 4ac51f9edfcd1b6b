"""Small flow frames for hand-built graphs, in the shared contract's column layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_DATES = {
    "firms": ("founded_on",),
    "orders": ("order_date",),
    "invoices": ("issue_date", "due_date"),
    "shipments": ("ship_date", "delivery_date"),
    "payments": ("paid_on",),
    "credit_events": ("event_date",),
    "financials": ("reported_on",),
}
_MONEY = {
    "orders": ("amount",),
    "invoices": ("net", "tax", "total", "payable"),
    "shipments": ("goods_value",),
    "payments": ("amount",),
    "financials": ("total_assets", "total_liabilities"),
}
_COLUMNS = {
    "firms": ("firm_id", "name", "region_code", "industry_code", "cluster", "founded_on",
              "is_core", "external_rating"),
    "orders": ("order_id", "buyer_id", "seller_id", "order_date", "payment_terms_days"),
    "invoices": ("invoice_id", "seller_id", "buyer_id", "issue_date", "kind",
                 "original_invoice_id", "order_id", "due_date", "line_count"),
    "shipments": ("shipment_id", "shipper_id", "consignee_id", "order_id", "ship_date",
                  "delivery_date"),
    "payments": ("payment_id", "payer_id", "payee_id", "paid_on", "invoice_id"),
    "credit_events": ("firm_id", "event_date", "kind"),
    "financials": ("firm_id", "fiscal_year", "reported_on"),
}


def frame(kind: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows with money as yuan floats (key = field name) -> contract columns."""
    cols: dict[str, Any] = {}
    for c in _COLUMNS[kind]:
        vals = [r.get(c) for r in rows]
        if c in _DATES.get(kind, ()):
            cols[c] = pd.to_datetime(pd.Series(vals, dtype=object)).astype("datetime64[ns]")
        elif c == "is_core":
            cols[c] = pd.Series([bool(v) for v in vals], dtype=bool)
        elif c in ("payment_terms_days", "line_count", "fiscal_year"):
            cols[c] = pd.Series(vals, dtype="Int64")
        elif c == "kind" and kind == "invoices":
            cols[c] = pd.Series([v or "normal" for v in vals], dtype=object)
        else:
            cols[c] = pd.Series(vals, dtype=object)
    for m in _MONEY.get(kind, ()):
        yuan = [r.get(m, r.get("total") if kind == "invoices" and m in ("net", "payable") else None)
                for r in rows]
        arr = np.array([np.nan if v is None else float(v) for v in yuan], dtype=float)
        cols[f"{m}_minor"] = pd.Series(np.round(arr * 100), dtype="Int64") if len(arr) else pd.Series([], dtype="Int64")
        cols[f"{m}_cny"] = arr
    if kind != "firms" and kind != "credit_events":
        cols["currency"] = pd.Series([r.get("currency", "CNY") for r in rows], dtype=object)
    return pd.DataFrame(cols)


def frames(**kinds: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    out = {k: frame(k, []) for k in _COLUMNS}
    for k, rows in kinds.items():
        out[k] = frame(k, rows)
    return out


def firm(fid: str, core: bool = False, rating: str | None = None,
         founded: str = "2010-01-01") -> dict[str, Any]:
    return {"firm_id": fid, "name": fid, "region_code": "500000", "industry_code": "C3670",
            "founded_on": founded, "is_core": core, "external_rating": rating}


def trade(seller: str, buyer: str, n: int, day: str, amount: float, *, paid_days: int | None = 30,
          ship: bool = True, order: bool = True, terms: int = 30) -> dict[str, list[dict[str, Any]]]:
    """One complete trade: order, invoice, shipment, payment; ids derived from n."""
    d = pd.Timestamp(day)
    out: dict[str, list[dict[str, Any]]] = {"orders": [], "invoices": [], "shipments": [], "payments": []}
    oid = f"O{n}"
    if order:
        out["orders"].append({"order_id": oid, "buyer_id": buyer, "seller_id": seller,
                              "order_date": (d - pd.Timedelta(days=10)).date().isoformat(),
                              "amount": amount, "payment_terms_days": terms})
    out["invoices"].append({"invoice_id": f"I{n}", "seller_id": seller, "buyer_id": buyer,
                            "issue_date": d.date().isoformat(), "total": amount,
                            "net": round(amount / 1.13, 2), "order_id": oid if order else None})
    if ship:
        out["shipments"].append({"shipment_id": f"S{n}", "shipper_id": seller, "consignee_id": buyer,
                                 "order_id": oid if order else None,
                                 "ship_date": (d - pd.Timedelta(days=2)).date().isoformat(),
                                 "goods_value": amount})
    if paid_days is not None:
        out["payments"].append({"payment_id": f"P{n}", "payer_id": buyer, "payee_id": seller,
                                "paid_on": (d + pd.Timedelta(days=paid_days)).date().isoformat(),
                                "amount": amount})
    return out


def combine(*parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        for k, rows in p.items():
            out.setdefault(k, []).extend(rows)
    return out
