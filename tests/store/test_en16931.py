"""EN 16931 invoices from outside Peppol: every identifier the standard allows, in the order of
DESIGN.md §7 "Foreign parties", and the amounts of credit notes, allowances, prepayments and a
foreign currency with a tax currency.

The fixtures in tests/fixtures/en16931 were written for these tests (each file says what it
shows); the expected values were worked out by hand from the XML.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from store.parsers.xml_invoice import parse_invoice_xml
from store.reading import read_upload

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "en16931"
D = Decimal

# file: (seller_id, buyer_id, currency, payable, kind, seller term used, buyer term used)
EXPECTED = {
    "vat-only.xml": ("VAT:DE123456789", "VAT:NL820098395B01", "EUR", D("178.50"), "normal",
                     "BT-31", "BT-48"),
    "legal-icd-0082.xml": ("0082:123456789", "0106:12345678", "NOK", D("1250.00"), "normal",
                           "BT-30", "BT-47"),
    "party-id-no-scheme.xml": ("VAT:SE556677889901", "LOCAL:VAT:SE556677889901~CUST-0042",
                               "SEK", D("625.00"), "normal", "BT-31", "BT-46"),
    "name-only-buyer.xml": ("0088:5790000435975", "NAME:0088:5790000435975~Café Ødegaard",
                            "DKK", D("375.00"), "normal", "BT-34", "BT-45"),
    "vat-and-gln-buyer.xml": ("0007:5560167890", "VAT:SE4598375937", "EUR", D("312.50"),
                              "normal", "BT-34", "BT-48"),
    "uscc-seller.xml": ("91330000142942095H", "VAT:DE811569869", "USD", D("2000.00"), "normal",
                        "USCC", "BT-48"),
    "creditnote-allowances.xml": ("9932:GB123456789", "0088:5012345678900", "GBP",
                                  D("-354.00"), "credit_note", "BT-34", "BT-49"),
    "prepaid-tax-currency.xml": ("0208:0123456749", "VAT:BE0987654321", "USD", D("710.01"),
                                 "normal", "BT-30", "BT-48"),
    "seller-party-id-only.xml": ("LOCAL:0192:987654325~SUP-7", "0192:987654325", "NOK",
                                 D("800.00"), "normal", "BT-29", "BT-49"),
    "minimal-derived-totals.xml": ("VAT:CHE123456788MWST", "VAT:CHE987654321MWST", "CHF",
                                   D("108.10"), "normal", "BT-31", "BT-48"),
    "negative-creditnote.xml": ("0192:987654325", "0088:7080003422006", "NOK", D("250.00"),
                                "normal", "BT-34", "BT-46"),
}  # fmt: skip


def _read(name: str, data: bytes | None = None):
    return parse_invoice_xml(data if data is not None else (FIXTURES / name).read_bytes())


def test_every_fixture_is_expected():
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parties_currency_and_payable(name):
    seller, buyer, currency, payable, kind, seller_term, buyer_term = EXPECTED[name]
    res = _read(name)
    assert res.errors == []
    assert res.record is not None
    got = {k: res.record[k] for k in ("seller_id", "buyer_id", "currency", "payable", "kind")}
    assert got == {"seller_id": seller, "buyer_id": buyer, "currency": currency,
                   "payable": payable, "kind": kind}  # fmt: skip
    assert (res.parties["seller"]["used"], res.parties["buyer"]["used"]) == (
        seller_term, buyer_term
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accepted_through_the_upload_path(name):
    up = read_upload("invoices", (FIXTURES / name).read_bytes(), content_type="application/xml")
    assert up.errors == [] and up.n_rows == 1
    seller, buyer, *_ = EXPECTED[name]
    assert up.frame[["seller_id", "buyer_id"]].iloc[0].tolist() == [seller, buyer]


def test_credit_note_amounts_follow_allowances_and_charges():
    rec = _read("creditnote-allowances.xml").record
    assert rec is not None
    assert (rec["net"], rec["tax"], rec["total"]) == (D("-295.00"), D("-59.00"), D("-354.00"))
    assert rec["original_invoice_id"] == "INV-2024-117"


def test_tax_currency_total_is_not_the_tax():
    rec = _read("prepaid-tax-currency.xml").record
    assert rec is not None and rec["tax"] == D("210.00") and rec["total"] == D("1210.00")


def test_missing_totals_are_worked_out_from_the_rules():
    rec = _read("minimal-derived-totals.xml").record
    assert rec is not None and (rec["tax"], rec["payable"]) == (D("8.10"), D("108.10"))


def test_a_wrong_stated_total_is_still_refused():
    data = (FIXTURES / "prepaid-tax-currency.xml").read_bytes().replace(
        b">710.01</cbc:PayableAmount>", b">720.01</cbc:PayableAmount>"
    )
    errs = _read("", data).errors
    assert [e.field for e in errs] == ["payable"] and "BR-CO-16" in errs[0].message


def test_identifiers_found_and_used_are_listed():
    res = _read("vat-and-gln-buyer.xml")
    assert res.parties["buyer"] == {"found": ["BT-44", "BT-46", "BT-48"], "used": "BT-48"}
    up = read_upload("invoices", (FIXTURES / "vat-and-gln-buyer.xml").read_bytes(),
                     content_type="application/xml")
    assert up.identifiers["buyer"] == {"used": {"BT-48": 1},
                                       "found": {"BT-44": 1, "BT-46": 1, "BT-48": 1}}


def test_vat_and_gln_buyer_is_never_refused_whatever_the_order():
    """The GLN alone, the VAT alone, both in either order, with an unknown-scheme endpoint in
    front: always accepted, always the best identifier."""
    base = (FIXTURES / "vat-and-gln-buyer.xml").read_text(encoding="utf-8")
    gln = '<cac:PartyIdentification><cbc:ID schemeID="0088">7300010000001</cbc:ID></cac:PartyIdentification>'
    vat = ("<cac:PartyTaxScheme>\n        <cbc:CompanyID>SE4598375937</cbc:CompanyID>\n"
           "        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>\n      </cac:PartyTaxScheme>")
    assert gln in base and vat in base
    cases = {
        "gln only": (base.replace(vat, ""), "0088:7300010000001"),
        "vat only": (base.replace(gln, ""), "VAT:SE4598375937"),
        "unknown endpoint first": (
            base.replace(gln, '<cbc:EndpointID schemeID="XX:FOO">123</cbc:EndpointID>' + gln),
            "VAT:SE4598375937",
        ),
    }
    for label, (text, buyer) in cases.items():
        res = _read("", text.encode("utf-8"))
        assert res.errors == [], label
        assert res.record is not None and res.record["buyer_id"] == buyer, label


def test_name_only_parties_of_two_issuers_are_never_merged():
    data = (FIXTURES / "name-only-buyer.xml").read_bytes()
    other_issuer = data.replace(b">5790000435975<", b">5790000000012<").replace(
        b"DK-4410", b"DK-9999"
    )
    first, second = _read("", data).record, _read("", other_issuer).record
    assert first is not None and second is not None
    assert first["buyer_id"] != second["buyer_id"]
    assert str(first["buyer_id"]).endswith("~Café Ødegaard")
    assert str(second["buyer_id"]).endswith("~Café Ødegaard")


def test_seller_known_by_name_alone_breaks_br_co_26():
    data = (FIXTURES / "seller-party-id-only.xml").read_bytes().replace(
        b"<cac:PartyIdentification><cbc:ID>SUP-7</cbc:ID></cac:PartyIdentification>", b""
    )
    errs = _read("", data).errors
    assert [e.field for e in errs] == ["seller_id"] and "BR-CO-26" in errs[0].message


def test_neither_party_globally_identified_is_refused_with_what_was_found():
    data = (FIXTURES / "party-id-no-scheme.xml").read_bytes().replace(
        b"<cbc:CompanyID>SE556677889901</cbc:CompanyID>", b""
    ).replace(b"<cac:PartyLegalEntity><cbc:RegistrationName>Norrlands",
              b"<cac:PartyIdentification><cbc:ID>S-1</cbc:ID></cac:PartyIdentification>"
              b"<cac:PartyLegalEntity><cbc:RegistrationName>Norrlands")
    errs = _read("", data).errors
    assert {e.field for e in errs} == {"seller_id", "buyer_id"}
    assert all("neither can be scoped" in e.message for e in errs)


def test_mistyped_uscc_is_refused_not_kept_as_a_vat_number():
    data = (FIXTURES / "uscc-seller.xml").read_bytes().replace(
        b"91330000142942095H", b"91330000142942095J"
    )
    errs = _read("", data).errors
    assert [e.field for e in errs] == ["seller_id"]
    assert "check character" in errs[0].message


def test_scheme_names_map_to_their_codes():
    rec = _read("negative-creditnote.xml").record
    assert rec is not None and rec["seller_id"] == "0192:987654325"  # NO:ORG
    assert rec["buyer_id"] == "0088:7080003422006"  # GLN


def test_formula_or_hidden_characters_in_a_party_identifier_are_refused():
    base = (FIXTURES / "party-id-no-scheme.xml").read_bytes()
    for bad in ("=HYPERLINK(1)", "CUST\u202e0042"):
        data = base.replace(b"CUST-0042", bad.encode("utf-8"))
        errs = _read("", data).errors
        assert [e.field for e in errs] == ["buyer_id"], bad
