"""数电票 (EInvoice XML): the fixtures read exactly, red-letter reversals, arithmetic checks.

Expected values read by hand from the fixture XML: TaxSupervisionInfo/InvoiceNumber and
IssueTime, SellerIdNum, BuyerIdNum, BasicInformation totals, the IssuItemInformation count.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from store.parsers.fapiao import parse_einvoice
from store.parsers.xml_invoice import parse_invoice_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fapiao"
D = Decimal

# file: (number, issue date, seller, buyer, net, tax, total, lines)
EXPECTED = {
    "gaode-js-taxi.xml": (
        "26320000000000100001",
        date(2026, 7, 18),
        "91320000000000000X",
        "91xxxxxxxxxxxxxxxx3",
        D("38.39"),
        D("1.15"),
        D("39.54"),
        2,
    ),
    "official-gd-special.xml": (
        "23440000000000100001",
        date(2023, 2, 23),
        "91440000000000000X",
        "91440000000000001Y",
        D("2.00"),
        D("0.12"),
        D("2.12"),
        1,
    ),
    "zj-toll-real-structure.xml": (
        "26337904450900255091",
        date(2026, 9, 14),
        "91330000142942095H",
        "91330106MACKX4QG41",
        D("5.45"),
        D("0.16"),
        D("5.61"),
        1,
    ),
}

# The redacted samples carry made-up taxpayer ids; the check character says so.
EXPECTED_PARTY_ERRORS = {
    "gaode-js-taxi.xml": {
        ("seller_id", "check character is 'X', GB 32100-2015 gives '0'"),
        ("buyer_id", "a USCC has 18 characters, this one has 19"),
    },
    "official-gd-special.xml": {
        ("seller_id", "check character is 'X', GB 32100-2015 gives 'Y'"),
        ("buyer_id", "check character is 'Y', GB 32100-2015 gives '2'"),
    },
    "zj-toll-real-structure.xml": set(),
}


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_fixture_file_is_covered():
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_exactly(name):
    number, issued, seller, buyer, net, tax, total, lines = EXPECTED[name]
    res = parse_invoice_xml(_read(name), row=3)
    assert res.doc_type == "einvoice"
    assert res.line_count == lines
    rec = res.record
    assert rec is not None  # shown even where a party id fails its check
    assert rec["invoice_id"] == number
    assert rec["issue_date"] == issued
    assert rec["seller_id"] == seller
    assert rec["buyer_id"] == buyer
    assert rec["currency"] == "CNY"
    assert rec["net"] == net
    assert rec["tax"] == tax
    assert rec["total"] == total
    assert rec["payable"] == total
    assert rec["line_count"] == lines
    assert rec["kind"] == "normal"
    assert rec["original_invoice_id"] is None
    got = {(e.field, e.message.removeprefix("not a valid USCC: ")) for e in res.errors}
    assert got == EXPECTED_PARTY_ERRORS[name]
    assert all(e.row == 3 for e in res.errors)


def test_direct_entry_point_agrees():
    data = _read("zj-toll-real-structure.xml")
    assert parse_einvoice(data).record == parse_invoice_xml(data).record


def _official(*replacements: tuple[bytes, bytes]) -> bytes:
    data = _read("official-gd-special.xml")
    for old, new in replacements:
        assert old in data, old
        data = data.replace(old, new)
    return data


_RED = (
    b"<InIssuType><LabelCode>Y</LabelCode>",
    b"<InIssuType><LabelCode>N</LabelCode>",
)
_REMARK = (
    "<Remark>备注内容描述</Remark>".encode(),
    "<Remark>被红冲蓝字数电发票号码：23440000000000099999 红字发票信息确认单编号：4400000000000000001</Remark>".encode(),
)


def test_red_letter_with_negative_amounts():
    data = _official(
        _RED,
        _REMARK,
        (b"<TotalAmWithoutTax>2.00<", b"<TotalAmWithoutTax>-2.00<"),
        (b"<TotalTaxAm>0.12<", b"<TotalTaxAm>-0.12<"),
        (b"<TotalTax-includedAmount>2.12<", b"<TotalTax-includedAmount>-2.12<"),
        (b"<Amount>2.00<", b"<Amount>-2.00<"),
        (b"<ComTaxAm>0.120000<", b"<ComTaxAm>-0.120000<"),
    )
    res = parse_invoice_xml(data)
    rec = res.record
    assert rec is not None
    assert rec["kind"] == "credit_note"
    assert rec["original_invoice_id"] == "23440000000000099999"
    assert (rec["net"], rec["tax"], rec["total"]) == (D("-2.00"), D("-0.12"), D("-2.12"))
    assert {e.field for e in res.errors} == {"seller_id", "buyer_id"}


def test_red_letter_with_positive_amounts_is_stored_negative():
    rec = parse_invoice_xml(_official(_RED)).record
    assert rec is not None
    assert rec["kind"] == "credit_note"
    assert (rec["net"], rec["tax"], rec["total"], rec["payable"]) == (
        D("-2.00"),
        D("-0.12"),
        D("-2.12"),
        D("-2.12"),
    )
    assert rec["original_invoice_id"] is None  # the file names none


def test_negative_total_without_label_is_a_credit_note():
    data = _read("gaode-js-taxi.xml")
    for old, new in (
        (b">38.39<", b">-38.39<"),
        (b">1.15<", b">-1.15<"),
        (b">39.54<", b">-39.54<"),
        (b"<Amount>39.35<", b"<Amount>-37.43<"),
        (b"<ComTaxAm>1.18<", b"<ComTaxAm>-1.12<"),
    ):
        data = data.replace(old, new)
    res = parse_invoice_xml(data)
    assert res.record is not None and res.record["kind"] == "credit_note"
    assert res.record["total"] == D("-39.54")
    assert {e.field for e in res.errors} == {"seller_id", "buyer_id"}


def test_totals_that_do_not_add_up():
    res = parse_invoice_xml(
        _official((b"<TotalTax-includedAmount>2.12<", b"<TotalTax-includedAmount>2.15<"))
    )
    errs = [e for e in res.errors if e.field == "total"]
    assert len(errs) == 1
    assert "TotalTax-includedAmount" in errs[0].message
    assert "2.15" in errs[0].message and "2.12" in errs[0].message


def test_items_that_do_not_add_up():
    data = _read("gaode-js-taxi.xml").replace(b"<Amount>-0.96<", b"<Amount>-0.90<")
    errs = [e for e in parse_invoice_xml(data).errors if e.field == "net"]
    assert len(errs) == 1
    assert "Amount" in errs[0].message and "38.39" in errs[0].message and "38.45" in errs[0].message


def test_one_cent_per_item_is_tolerated():
    data = _read("gaode-js-taxi.xml").replace(b"<Amount>-0.96<", b"<Amount>-0.95<")
    assert {e.field for e in parse_invoice_xml(data).errors} == {"seller_id", "buyer_id"}


def test_tax_exempt_item_stars():
    data = _read("zj-toll-real-structure.xml")
    data = data.replace(b"<TotalTaxAm>0.16<", b"<TotalTaxAm>0.00<")
    data = data.replace(b"<TotalTax-includedAmount>5.61<", b"<TotalTax-includedAmount>5.45<")
    data = data.replace(b"<ComTaxAm>0.16<", b"<ComTaxAm>***<")
    assert parse_invoice_xml(data).errors == []


def test_fallbacks_to_header_number_and_request_time():
    data = _read("zj-toll-real-structure.xml")
    start, end = data.index(b"<TaxSupervisionInfo>"), data.index(b"</TaxSupervisionInfo>")
    data = data[:start] + data[end + len(b"</TaxSupervisionInfo>") :]
    rec = parse_invoice_xml(data).record
    assert rec is not None
    assert rec["invoice_id"] == "26337904450900255091"  # Header/EIid
    assert rec["issue_date"] == date(2026, 9, 14)  # BasicInformation/RequestTime


def test_gb18030_encoded_file_reads_the_same():
    text = _read("official-gd-special.xml").decode("utf-8")
    data = text.replace('encoding="utf-8"', 'encoding="GB18030"', 1).encode("gb18030")
    assert data != text.encode("utf-8")
    res = parse_invoice_xml(data)
    assert res.record == parse_invoice_xml(_read("official-gd-special.xml")).record


def test_bytes_that_lie_about_their_encoding():
    res = parse_invoice_xml(b'<?xml version="1.0" encoding="GB18030"?><EInvoice/>' + b"\xff\xff")
    assert res.record is None and "declared encoding" in res.errors[0].message


def test_missing_parts_are_named():
    res = parse_invoice_xml(b"<EInvoice><Header/></EInvoice>", row=6)
    fields = {e.field for e in res.errors}
    assert {
        "invoice_id",
        "issue_date",
        "seller_id",
        "buyer_id",
        "net",
        "tax",
        "total",
        "line_count",
    } <= fields
    assert all(e.row == 6 for e in res.errors)
