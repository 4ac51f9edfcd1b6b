"""Issue 16, "Inputs that answer 500 or are stored wrong": each one read from every format it can
come in, answered by an error naming the row and the field (or read correctly), never raised."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from store.reading import read_upload
from store.records import FieldType
from tests.store.samples import (
    FORMATS,
    SAMPLES,
    as_csv,
    as_json,
    as_parquet,
    encode,
    first_row,
    kind_fields,
    record,
)

RANGE = "is outside the dates chaincredit accepts (1900-01-01 to 2199-12-31)"


def _read(kind: str, fmt: str, data: bytes):
    return read_upload(kind, data, filename=f"{kind}.{fmt}")


def _errs(up) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.field, e.message) for e in up.errors]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_sample_is_valid(kind, fmt):
    assert _errs(_read(kind, fmt, encode(fmt, [record(kind)]))) == []


# -- CSV with bare CR line ends ("CSV (Macintosh)") ------------------------------------------


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_every_line_ending_reads_the_same(line_end):
    rows = [record("invoices"), record("invoices", invoice_id="INV-2", order_id="")]
    up = _read("invoices", "csv", as_csv(rows, line_end=line_end))
    assert up.errors == []
    assert up.frame["invoice_id"].tolist() == ["INV-1", "INV-2"]
    assert up.frame["_row"].tolist() == [2, 3]
    assert up.frame["total_minor"].tolist() == [113000, 113000]


def test_bare_cr_file_keeps_row_numbers_and_names_a_bad_cell():
    rows = [record("invoices"), record("invoices", invoice_id="INV-2", tax="1.00")]
    up = _read("invoices", "csv", as_csv(rows, line_end="\r"))
    assert [(e.row, e.field) for e in up.errors] == [(3, "total")]


def test_mixed_line_ends_and_a_quoted_cr():
    data = as_csv([record("firms")], line_end="\r\n") + as_csv(
        [record("firms", firm_id=record("orders")["buyer_id"], name="Two\rLines")],
        line_end="\r",
    ).split(b"\r", 1)[1]
    up = _read("firms", "csv", data)
    assert _errs(up) == [(3, "name", "contains control characters (line breaks, tabs, NUL)")]


# -- dates outside pandas' nanosecond range (and the business range) --------------------------


DATE_FIELDS = kind_fields(FieldType.DATE)


@pytest.mark.parametrize(("kind", "field"), DATE_FIELDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_out_of_range_date_names_row_and_field(kind, field, fmt):
    values = ["9999-12-31", "1600-01-01", "1899-12-31", "2200-01-01", "0001-01-01"]
    rows = [record(kind)] + [record(kind, **{field: v}) for v in values]
    up = _read(kind, fmt, encode(fmt, rows))
    first = first_row(fmt)
    assert _errs(up) == [(first + i, field, f"{v} {RANGE}") for i, v in enumerate(values, 1)]


@pytest.mark.parametrize(("kind", "field"), DATE_FIELDS)
def test_out_of_range_typed_parquet_dates(kind, field):
    """Dates Parquet carries as dates, far outside what a nanosecond timestamp holds."""
    for arrow_type, value, shown in (
        (pa.date32(), dt.date(9999, 12, 31), "9999-12-31"),
        (pa.timestamp("s"), dt.datetime(1600, 1, 1, 12), "1600-01-01"),
        (pa.timestamp("ms", tz="Asia/Shanghai"), dt.datetime(2262, 4, 12), "2262-04-12"),
    ):
        rows = [record(kind), record(kind)]
        for r in rows:
            r[field] = dt.date(2024, 1, 2) if arrow_type == pa.date32() else dt.datetime(2024, 1, 2)
        rows[1][field] = value
        up = _read(kind, "parquet", as_parquet(rows, {field: arrow_type}))
        assert _errs(up) == [(2, field, f"{shown} {RANGE}")], arrow_type


@pytest.mark.parametrize("value", ["1900-01-01", "2199-12-31"])
def test_range_bounds_are_accepted(value):
    up = _read("invoices", "csv", as_csv([record("invoices", due_date=value)]))
    assert up.errors == []


def test_fiscal_year_follows_the_same_range():
    up = _read("financials", "csv", as_csv([record("financials", fiscal_year="9999",
                                                   reported_on="")]))
    assert _errs(up) == [(2, "fiscal_year", "fiscal_year must be between 1900 and 2199")]


@pytest.mark.parametrize("tag", [b"IssueDate", b"DueDate"])
def test_out_of_range_date_in_xml(tag):
    from tests.store.test_en16931 import FIXTURES

    data = (FIXTURES / "vat-only.xml").read_bytes()
    old = b"2024-03-10" if tag == b"IssueDate" else b"2024-04-09"
    up = read_upload("invoices", data.replace(old, b"9999-12-31"), content_type="text/xml")
    field = "issue_date" if tag == b"IssueDate" else "due_date"
    assert _errs(up) == [(1, field, f"9999-12-31 {RANGE}")]


# -- one field of a megabyte ------------------------------------------------------------------

MEGABYTE = 1_000_000


@pytest.mark.parametrize(("kind", "field"), kind_fields())
def test_megabyte_field_in_csv_names_row_and_field(kind, field):
    up = _read(kind, "csv", as_csv([record(kind), record(kind, **{field: "7" * MEGABYTE})]))
    [err] = up.errors
    assert (err.row, err.field) == (3, field)
    assert err.message.startswith("at most ") and err.message.endswith(f"this one has {MEGABYTE}")
    assert err.value is not None and len(err.value) < 200


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_megabyte_field_last_and_quoted_with_line_breaks(kind):
    """The last cell of the last row, quoted, with line breaks inside: the case the csv module
    refused with "field larger than field limit"."""
    field = list(SAMPLES[kind])[-1]
    up = _read(kind, "csv", as_csv([record(kind, **{field: "x\n" * (MEGABYTE // 2)})]))
    assert [(e.row, e.field) for e in up.errors] == [(2, field)]


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_megabyte_field_in_json_and_parquet(fmt):
    up = _read("payments", fmt, encode(fmt, [record("payments", payment_id="p" * MEGABYTE)]))
    assert _errs(up) == [(1, "payment_id", f"at most 100 characters, this one has {MEGABYTE}")]


# -- JSON amounts out of any range -------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        ("1e308", "the amount 1E+308 is too large"),
        ("1e400", "the amount 1E+400 is too large"),
        ("-1e400", "the amount -1E+400 is too large"),
        ("1e-400", "more decimals than any currency"),
        ("NaN", "NaN or infinity is not an amount"),
        ("Infinity", "NaN or infinity is not an amount"),
        ("-Infinity", "NaN or infinity is not an amount"),
        ("92233720368547758.08", "the amount is too large"),  # int64 max + 1 fen
        ("1" + "0" * 5000, "the amount 1E+5000 is too large"),  # more digits than int() reads
    ],
)
def test_json_amounts_beyond_range_are_refused_not_stored_as_zero(literal, words):
    doc = json.dumps([record("payments")]).replace('"amount": "1130.00"', f'"amount": {literal}')
    assert f'"amount": {literal}' in doc
    up = _read("payments", "json", doc.encode())
    assert [(e.row, e.field) for e in up.errors] == [(1, "amount")]
    assert words in up.errors[0].message
    assert up.frame["amount_minor"].isna().all()


def test_large_amounts_that_fit_are_exact():
    doc = json.dumps([record("payments")]).replace('"amount": "1130.00"',
                                                   '"amount": 92233720368547758.07')
    up = _read("payments", "json", doc.encode())
    assert up.errors == [] and up.frame["amount_minor"].tolist() == [9223372036854775807]


# -- ids that a spreadsheet would run, or that hide characters ---------------------------------

UNSAFE_IDS = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\uff1d1", "A\u202eB",
              "A\u200bB", "A\u2066B", "A\ue000B"]


@pytest.mark.parametrize(("kind", "field"), kind_fields(FieldType.DOC_ID))
@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_unsafe_document_ids_are_refused(kind, field, bad):
    up = _read(kind, "json", as_json([record(kind, **{field: bad})]))
    assert [(e.row, e.field) for e in up.errors] == [(1, field)]
    assert "document id" in up.errors[0].message


@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_unsafe_foreign_party_ids_are_refused(bad):
    up = _read("orders", "csv", as_csv([record("orders", buyer_id=f"0088:{bad}")]))
    assert [(e.row, e.field) for e in up.errors] == [(2, "buyer_id")]


@pytest.mark.parametrize("name", ["-Design Studio", "=Equal Parts Ltd", "شركة\u200fالنور"])
def test_names_may_hold_them(name):
    up = _read("firms", "csv", as_csv([record("firms", name=name)]))
    assert up.errors == [] and up.frame["name"].tolist() == [name]


def test_lone_surrogates_in_json_are_refused_by_field():
    doc = as_json([record("payments")]).replace(b'"PAY-1"', b'"PAY\\ud800"')
    doc = doc.replace(b'"payee_id"', b'"payee\\udfff_id"', 1) + b""
    up = _read("payments", "json", doc)
    assert up.errors[0].row == 0 and "payee\ufffd_id" in up.errors[0].message
    fine_key = as_json([record("payments")]).replace(b'"PAY-1"', b'"PAY\\ud800"')
    up = _read("payments", "json", fine_key)
    assert [(e.row, e.field) for e in up.errors] == [(1, "payment_id")]
    assert "surrogate" in up.errors[0].message


# -- size of what hostile files cost ------------------------------------------------------------


def test_errors_are_listed_up_to_a_limit_and_counted_beyond():
    from store.errors import ERRORS_LISTED, MoreErrors, error_count

    rows = [record("invoices", invoice_id=f"I{i}", tax="1.00") for i in range(ERRORS_LISTED + 500)]
    up = _read("invoices", "csv", as_csv(rows))
    assert len(up.errors) == ERRORS_LISTED + 1
    more = up.errors[-1]
    assert isinstance(more, MoreErrors) and more.count == 500
    assert more.row == ERRORS_LISTED + 2 and "500 more bad value(s)" in more.message
    assert error_count(up.errors) == ERRORS_LISTED + 500
    assert [e.row for e in up.errors[:-1]] == list(range(2, ERRORS_LISTED + 2))


def test_a_file_of_nearly_empty_lines_is_refused_before_parsing():
    header = ",".join(SAMPLES["invoices"]).encode()
    up = _read("invoices", "csv", header + b"\n" + b"x\n" * 200_000)
    [err] = up.errors
    assert err.row == 0 and "200,002 lines" in err.message and "at least 34" in err.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_thousands_of_columns_are_refused(fmt):
    wide = {**record("fx_rates"), **{f"c{i}": "" for i in range(5000)}}
    up = _read("fx_rates", fmt, encode(fmt, [wide]))
    [err] = up.errors
    assert err.row == 0 and "256" in err.message and "fields" in err.message
    assert "c4999" not in err.message  # refused as a whole, not column by column


def test_parquet_decompression_bomb_is_refused():
    n = 3_000_000
    table = {k: pa.array([v]).take(pa.array([0] * n)) for k, v in record("fx_rates").items()}
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(table), buf, compression="zstd")
    assert len(buf.getvalue()) < 200_000
    up = _read("fx_rates", "parquet", buf.getvalue())
    [err] = up.errors
    assert err.row == 0 and "decompression bomb" in err.message


def test_a_reader_bug_becomes_a_file_error_and_a_log_line(monkeypatch, caplog):
    """The boundary's guard: an exception no reader foresaw is a 422 for the caller (row 0) and
    a logged traceback for us, never a 500. (The property tests fail on its message.)"""
    import store.reading

    def broken(kind, data):
        raise ValueError("a case nobody foresaw")

    monkeypatch.setattr(store.reading, "read_csv", broken)
    up = _read("invoices", "csv", as_csv([record("invoices")]))
    assert _errs(up) == [(0, None, "the file could not be read (an unforeseen ValueError: "
                                   "a case nobody foresaw); it has been logged")]
    assert "reading invoices.csv as invoices failed" in caplog.text


def test_xml_declaring_an_encoding_expat_does_not_know():
    """Found by the property suite: "UTF.8" passed our own check and expat raised LookupError."""
    from tests.store.test_en16931 import FIXTURES

    data = (FIXTURES / "vat-only.xml").read_bytes().replace(b'encoding="UTF-8"', b'encoding="UTF.8"')
    up = read_upload("invoices", data, content_type="application/xml")
    assert _errs(up) == [(1, None, "the XML declares an unknown encoding: unknown encoding: UTF.8")]


def test_more_prepaid_than_invoiced_leaves_a_negative_amount_due():
    """EN 16931 BT-115 may be negative (the seller owes the difference); the invoice stays a
    normal one with positive totals, in a file as in UBL."""
    up = _read("invoices", "csv", as_csv([record("invoices", payable="-20.00")]))
    assert up.errors == [] and up.frame["payable_minor"].tolist() == [-2000]
    from tests.store.test_en16931 import FIXTURES

    data = (FIXTURES / "prepaid-tax-currency.xml").read_bytes().replace(
        b">500.00</cbc:PrepaidAmount>", b">1230.00</cbc:PrepaidAmount>"
    ).replace(b">710.01</cbc:PayableAmount>", b">-19.99</cbc:PayableAmount>")
    up = read_upload("invoices", data, content_type="application/xml")
    assert up.errors == [] and up.frame["kind"].tolist() == ["normal"]
    assert up.frame["payable_minor"].tolist() == [-1999]
