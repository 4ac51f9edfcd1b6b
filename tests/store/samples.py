"""One valid record of every kind as the text cells a file holds, and writers for each format,
so a test can spoil one cell and watch what every reader says about it."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from store.records import KINDS, FieldType
from store.uscc import make_uscc

S = make_uscc("91500000MA5U000A0")
B = make_uscc("91500000MA5U000B1")

SAMPLES: dict[str, dict[str, str]] = {
    "firms": {"firm_id": S, "name": "Acme Gears", "region_code": "500000",
              "industry_code": "C3670", "cluster": "auto", "founded_on": "2010-05-01",
              "is_core": "false", "external_rating": ""},
    "intangibles": {"firm_id": S, "as_of": "2024-01-01", "invention_patents": "3",
                    "utility_patents": "5", "design_patents": "1", "trademarks": "2",
                    "software_copyrights": "4", "rd_expense": "120000.00",
                    "revenue": "5000000.00", "currency": "CNY", "tech_staff": "12",
                    "total_staff": "80", "high_tech": "true", "specialised_level": "province",
                    "tech_sme": "true"},
    "financials": {"firm_id": S, "fiscal_year": "2023", "reported_on": "2024-04-30",
                   "currency": "CNY", "revenue": "5000000.00", "net_profit": "-20000.00",
                   "total_assets": "3000000.00", "total_liabilities": "1000000.00",
                   "current_assets": "800000.00", "current_liabilities": "400000.00",
                   "operating_cash_flow": "50000.00"},
    "orders": {"order_id": "PO-1", "buyer_id": B, "seller_id": S, "order_date": "2024-01-05",
               "amount": "1130.00", "currency": "CNY", "payment_terms_days": "60",
               "uploaded_by": ""},
    "invoices": {"invoice_id": "INV-1", "seller_id": S, "buyer_id": B,
                 "issue_date": "2024-01-20", "net": "1000.00", "tax": "130.00",
                 "total": "1130.00", "payable": "1130.00", "currency": "CNY", "kind": "normal",
                 "original_invoice_id": "", "order_id": "PO-1", "due_date": "2024-03-20",
                 "line_count": "2", "uploaded_by": ""},
    "shipments": {"shipment_id": "SH-1", "shipper_id": S, "consignee_id": B,
                  "order_id": "PO-1", "ship_date": "2024-01-18",
                  "delivery_date": "2024-01-19", "goods_value": "1000.00", "currency": "CNY",
                  "uploaded_by": ""},
    "payments": {"payment_id": "PAY-1", "payer_id": B, "payee_id": S, "paid_on": "2024-03-01",
                 "amount": "1130.00", "currency": "CNY", "invoice_id": "INV-1",
                 "uploaded_by": ""},
    "credit_events": {"firm_id": S, "event_date": "2024-06-01", "kind": "default_90dpd",
                      "reported_by": "", "reported_on": "2024-06-03"},
    "fx_rates": {"rate_date": "2024-01-02", "currency": "USD", "cny_per_unit": "7.1"},
}  # fmt: skip

FORMATS = ("csv", "json", "parquet")


def fields_of(kind: str, *types: FieldType) -> list[str]:
    return [f.name for f in KINDS[kind].fields if not types or f.type in types]


def kind_fields(*types: FieldType) -> list[tuple[str, str]]:
    """(kind, field) for every field of the given types in every kind."""
    return [(k, f) for k in SAMPLES for f in fields_of(k, *types)]


def record(kind: str, /, **changes: str) -> dict[str, str]:
    return {**SAMPLES[kind], **changes}


def as_csv(rows: list[dict[str, str]], *, line_end: str = "\n") -> bytes:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(_quoted(r[h]) for h in header) for r in rows]
    # lone surrogates become the bytes a broken encoder writes, for the reader to refuse
    return (line_end.join(lines) + line_end).encode("utf-8", "surrogatepass")


def _quoted(cell: str) -> str:
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def as_json(rows: list[dict[str, Any]]) -> bytes:
    text = json.dumps(rows, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: written as \ud800 escapes, as JSON allows
        return json.dumps(rows).encode("ascii")


def as_parquet(rows: list[dict[str, Any]], types: dict[str, pa.DataType] | None = None) -> bytes:
    types = types or {}
    rows = [{k: _no_surrogates(v) for k, v in r.items()} for r in rows]
    table = pa.table(
        {k: pa.array([r[k] for r in rows], type=types.get(k, pa.string())) for k in rows[0]}
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _no_surrogates(value: Any) -> Any:
    """Parquet holds UTF-8 only: a lone surrogate cannot even be written."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def encode(fmt: str, rows: list[dict[str, Any]]) -> bytes:
    return {"csv": as_csv, "json": as_json, "parquet": as_parquet}[fmt](rows)


def first_row(fmt: str) -> int:
    """The row number a person sees for the first record (CSV counts the header)."""
    return 2 if fmt == "csv" else 1
