"""Run in a fresh process: read one hostile file and print how much the peak RSS grew.

`python -m tests.store.memory_probe CASE SIZE` prints `{"case", "bytes", "growth_mb",
"errors"}` as JSON. Each case is built here, in the child, so the parent's memory is not
counted; the baseline is taken after a small warm-up read has loaded every lazy import.
"""

from __future__ import annotations

import io
import json
import resource
import sys
from collections.abc import Callable

INVOICE_HEADER = (b"invoice_id,seller_id,buyer_id,issue_date,net,tax,total,payable,currency,kind,"
                  b"original_invoice_id,order_id,due_date,line_count,uploaded_by\n")


def _repeat(unit: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def _ubl_lines(size: int) -> bytes:
    from pathlib import Path

    seed = (Path(__file__).resolve().parents[1] / "fixtures" / "en16931" / "vat-only.xml").read_bytes()
    line = b"<cac:InvoiceLine><cbc:ID>1</cbc:ID></cac:InvoiceLine>"
    cut = seed.index(b"</Invoice>")
    return seed[:cut] + line * (size // len(line)) + seed[cut:]


def _parquet_many_rows(size: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = size // 2  # two bytes a row before compression: far more rows than the size allows
    buf = io.BytesIO()
    cols = {"rate_date": pa.array(["2024-01-01"]).take(pa.array([0] * n)),
            "currency": pa.array(["USD"]).take(pa.array([0] * n)),
            "cny_per_unit": pa.array(["7.1"]).take(pa.array([0] * n))}
    pq.write_table(pa.table(cols), buf, compression="zstd")
    return buf.getvalue()


CASES: dict[str, tuple[str, str, Callable[[int], bytes]]] = {
    # name: (kind, file name, builder)
    "csv-empty-lines": ("invoices", "invoices.csv", lambda n: _repeat(b"x\n", n, INVOICE_HEADER)),
    "csv-short-garbage": ("invoices", "invoices.csv",
                          lambda n: _repeat(b"=1,a,b,9999-12-31,1e400\n", n, INVOICE_HEADER)),
    "csv-one-field": ("invoices", "invoices.csv",
                      lambda n: INVOICE_HEADER + b"x" * n + b",a\n"),
    "csv-quoted-breaks": ("invoices", "invoices.csv",
                          lambda n: INVOICE_HEADER + b'"' + b"\n" * n + b'",a\n'),
    "csv-wide-header": ("invoices", "invoices.csv", lambda n: _repeat(b"c,", n, tail=b"c\n1\n")),
    "json-numbers": ("invoices", "invoices.json", lambda n: _repeat(b"123456,", n, b"[", b"0]")),
    "json-objects": ("invoices", "invoices.json", lambda n: _repeat(b'{"net":1},', n, b"[", b"{}]")),
    "json-deep": ("invoices", "invoices.json", lambda n: b"[" * n),
    "xml-lines": ("invoices", "x.xml", _ubl_lines),
    "parquet-rows": ("fx_rates", "fx_rates.parquet", _parquet_many_rows),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(case: str, size: int) -> None:
    from store.reading import read_upload

    kind, name, build = CASES[case]
    data = build(size)
    read_upload("invoices", INVOICE_HEADER + b"I,x\n", filename="invoices.csv")  # warm-up
    read_upload("invoices", b"[]", filename="invoices.json")
    base = _peak_mb()
    up = read_upload(kind, data, filename=name)
    print(json.dumps({"case": case, "bytes": len(data), "growth_mb": round(_peak_mb() - base, 1),
                      "errors": len(up.errors)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
