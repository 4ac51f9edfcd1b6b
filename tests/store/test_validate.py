import numpy as np
import pandas as pd

from store.records import FINANCIALS, FIRMS, INVOICES, ORDERS
from store.uscc import make_uscc
from store.validate import validate_frame

S = make_uscc("91500000MA5U000A0")
B = make_uscc("91500000MA5U000B1")


def _run(kind, rows: list[dict], start: int = 2):
    raw = pd.DataFrame(rows).astype(str)
    return validate_frame(kind, raw, np.arange(start, start + len(rows)))


def _inv(**kw):
    base = {"invoice_id": "I1", "seller_id": S, "buyer_id": B, "issue_date": "2024-01-05",
            "net": "100.00", "tax": "13.00", "total": "113.00", "currency": "CNY", "kind": ""}  # fmt: skip
    return {**base, **kw}


def _errs(errors):
    return [(e.row, e.field, e.message) for e in errors]


def test_clean_invoices_give_the_flow_frame_contract():
    frame, errors = _run(INVOICES, [_inv(), _inv(invoice_id="I2", payable="50.00", line_count="3")])
    assert errors == []
    assert list(frame.columns) == [
        "invoice_id", "seller_id", "buyer_id", "issue_date", "net_minor", "tax_minor",
        "total_minor", "payable_minor", "currency", "kind", "original_invoice_id", "order_id",
        "due_date", "line_count", "uploaded_by", "_row",
    ]  # fmt: skip
    assert frame["net_minor"].dtype == np.int64
    assert frame["total_minor"].tolist() == [11300, 11300]
    assert str(frame["payable_minor"].dtype) == "Int64"
    assert pd.isna(frame["payable_minor"].iloc[0]) and frame["payable_minor"].iloc[1] == 5000
    assert str(frame["issue_date"].dtype) == "datetime64[ns]"
    assert frame["kind"].tolist() == ["normal", "normal"]
    assert str(frame["line_count"].dtype) == "Int64"
    assert frame["_row"].tolist() == [2, 3]
    assert pd.isna(frame["order_id"].iloc[0])


def test_negative_totals_without_kind_become_credit_notes_when_consistent():
    frame, errors = _run(
        INVOICES,
        [
            _inv(net="-100.00", tax="-13.00", total="-113.00"),
            _inv(net="100.00", tax="-213.00", total="-113.00"),
        ],
    )
    assert frame["kind"].iloc[0] == "credit_note"
    assert _errs(errors) == [
        (3, "kind", "the total is negative but other amounts are positive: a credit note has "
                    "kind credit_note and all amounts negative"),
    ]  # fmt: skip


def test_credit_note_with_positive_amounts_is_refused():
    _, errors = _run(INVOICES, [_inv(kind="credit_note")])
    assert _errs(errors) == [
        (2, "net", "a credit note's net cannot be positive"),
        (2, "tax", "a credit note's tax cannot be positive"),
        (2, "total", "a credit note's total must be negative"),
    ]


def test_red_letter_word_is_a_credit_note():
    frame, errors = _run(INVOICES, [_inv(kind="红字", net="-1", tax="0", total="-1")])
    assert errors == []
    assert frame["kind"].tolist() == ["credit_note"]


def test_totals_must_add_up_within_a_cent():
    _, errors = _run(INVOICES, [_inv(total="113.01"), _inv(total="113.02")])
    assert _errs(errors) == [
        (3, "total", "net 100.00 + tax 13.00 = 113.00, but total is 113.02 "
                     "(they must agree within 0.01)"),
    ]  # fmt: skip


def test_every_bad_value_of_every_row_is_reported():
    _, errors = _run(
        INVOICES,
        [
            _inv(seller_id="91500000MA5U000A01", issue_date="2024/01/05", currency="RMB"),
            _inv(invoice_id="", net="abc", due_date="2024-13-01", line_count="-2"),
        ],
    )
    got = _errs(errors)
    assert got[0][:2] == (2, "seller_id") and "USCC" in got[0][2]
    assert got[1] == (2, "issue_date", "dates are written YYYY-MM-DD, e.g. 2024-03-31")
    assert got[2] == (2, "currency", "not an ISO 4217 currency code (e.g. CNY)")
    assert got[3:] == [
        (3, "invoice_id", "invoice_id is required"),
        (3, "net", "not a decimal number; give an amount such as 1234.50"),
        (3, "due_date", "2024-13-01 is not a real calendar date"),
        (3, "line_count", "cannot be negative"),
    ]


def test_firm_profile_types():
    firm = {"firm_id": S, "name": "重庆某某科技有限公司", "region_code": "500000",
            "industry_code": "c3670", "founded_on": "2020-02-29", "is_core": "是",
            "external_rating": "aa+"}  # fmt: skip
    bad = {**firm, "firm_id": B, "region_code": "5000", "industry_code": "Z1",
           "is_core": "maybe", "external_rating": "AAAA", "name": "x" * 201}  # fmt: skip
    frame, errors = _run(FIRMS, [firm, bad])
    assert frame["industry_code"].iloc[0] == "C3670"
    assert frame["external_rating"].iloc[0] == "AA+"
    assert frame["is_core"].tolist()[0] is True
    assert frame["founded_on"].iloc[0] == pd.Timestamp("2020-02-29")
    assert [(e.row, e.field) for e in errors] == [
        (3, "name"), (3, "region_code"), (3, "industry_code"), (3, "is_core"),
        (3, "external_rating"),
    ]  # fmt: skip
    assert errors[0].message == "at most 200 characters, this one has 201"
    assert errors[0].value.endswith("(201 characters)")


def test_financials_reported_on_defaults_to_april_30_next_year():
    row = {"firm_id": S, "fiscal_year": "2023", "currency": "CNY", "revenue": "1000.00",
           "net_profit": "-5.00", "total_assets": "10", "total_liabilities": "5",
           "current_assets": "3", "current_liabilities": "2",
           "operating_cash_flow": "-1"}  # fmt: skip
    frame, errors = _run(FINANCIALS, [row, {**row, "reported_on": "2024-03-15"}])
    assert errors == []
    assert frame["reported_on"].tolist() == [pd.Timestamp("2024-04-30"), pd.Timestamp("2024-03-15")]
    assert frame["net_profit_minor"].tolist() == [-500, -500]


def test_unsigned_money_cannot_be_negative():
    order = {"order_id": "PO1", "buyer_id": B, "seller_id": S, "order_date": "2024-01-01",
             "amount": "-1.00", "currency": "CNY", "payment_terms_days": "30"}  # fmt: skip
    _, errors = _run(ORDERS, [order])
    assert _errs(errors) == [(2, "amount", "amount cannot be negative")]


def test_date_objects_are_accepted():
    import datetime as dt
    from decimal import Decimal

    raw = pd.DataFrame(
        {"invoice_id": ["X"], "seller_id": [S], "buyer_id": [B],
         "issue_date": [dt.date(2024, 2, 29)], "net": [Decimal("1")], "tax": [Decimal("0.13")],
         "total": [Decimal("1.13")], "currency": ["CNY"], "due_date": [None]},
        dtype=object,
    )  # fmt: skip
    frame, errors = validate_frame(INVOICES, raw, np.array([1]))
    assert errors == []
    assert frame["issue_date"].iloc[0] == pd.Timestamp("2024-02-29")
    assert frame["net_minor"].iloc[0] == 100


def test_speed_100k_invoices(benchmark_rows=100_000):
    import time

    n = benchmark_rows
    raw = pd.DataFrame(
        {
            "invoice_id": pd.Series([f"I{i}" for i in range(n)], dtype=str),
            "seller_id": pd.Series([S] * n, dtype=str),
            "buyer_id": pd.Series([B] * n, dtype=str),
            "issue_date": pd.Series(["2024-01-05"] * n, dtype=str),
            "net": pd.Series(["100.00"] * n, dtype=str),
            "tax": pd.Series(["13.00"] * n, dtype=str),
            "total": pd.Series(["113.00"] * n, dtype=str),
            "currency": pd.Series(["CNY"] * n, dtype=str),
        }
    )
    t0 = time.perf_counter()
    frame, errors = validate_frame(INVOICES, raw, np.arange(2, n + 2))
    elapsed = time.perf_counter() - t0
    assert errors == [] and len(frame) == n
    assert elapsed < 8.0  # ~0.3 s on an idle core; generous for a shared machine


def test_validating_in_chunks_on_threads_gives_the_same_frame_and_errors():
    from store.validate import validate_in_chunks

    rows = [_inv(invoice_id=f"I{i}", payable="" if i % 2 else "5.00", line_count=str(i % 4))
            for i in range(11)]
    raw = pd.DataFrame(rows).astype(str)
    at = np.arange(2, 13)
    whole, whole_errors = validate_frame(INVOICES, raw, at)
    chunked, chunked_errors = validate_in_chunks(INVOICES, raw, at, chunk_rows=3, workers=2)
    assert whole_errors == chunked_errors == []
    pd.testing.assert_frame_equal(whole, chunked)

    bad = [dict(r) for r in rows]
    bad[1]["issue_date"] = "2024-02-30"  # first chunk
    bad[5]["total"] = "999.00"  # second chunk
    bad[10]["seller_id"] = "91500000MA5U000A9"  # last chunk (one row): wrong check character
    raw = pd.DataFrame(bad).astype(str)
    whole, whole_errors = validate_frame(INVOICES, raw, at)
    chunked, chunked_errors = validate_in_chunks(INVOICES, raw, at, chunk_rows=3, workers=2)
    assert [(e.row, e.field) for e in chunked_errors] == [
        (3, "issue_date"), (7, "total"), (12, "seller_id")]
    assert _errs(chunked_errors) == _errs(whole_errors)
    assert chunked["_row"].tolist() == at.tolist()


def test_scoped_parties_must_be_scoped_to_the_other_party():
    """A LOCAL or NAME party from an EN 16931 invoice means something only next to the issuer it
    is scoped to: a file cannot attach it to another issuer, nor give it a profile (issue 16)."""
    from store.reading import read_upload
    from tests.store.samples import S, as_csv, record

    mine = f"NAME:{S}~Café Ødegaard"
    other = "NAME:0088:7300010000001~Café Ødegaard"
    ok = read_upload("invoices", as_csv([record("invoices", buyer_id=mine)]), filename="i.csv")
    assert ok.errors == []
    bad = read_upload("invoices", as_csv([record("invoices", buyer_id=other)]), filename="i.csv")
    assert [(e.row, e.field) for e in bad.errors] == [(2, "buyer_id")]
    assert "scoped to the document's other party (seller_id)" in bad.errors[0].message
    seller = f"LOCAL:{record('invoices')['buyer_id']}~SUP-7"
    ok = read_upload("invoices", as_csv([record("invoices", seller_id=seller)]), filename="i.csv")
    assert ok.errors == []
    for kind, field in (("firms", "firm_id"), ("invoices", "uploaded_by")):
        up = read_upload(kind, as_csv([record(kind, **{field: mine})]), filename=f"{kind}.csv")
        assert [(e.row, e.field) for e in up.errors] == [(2, field)]
        assert "only a document's counterparty" in up.errors[0].message
