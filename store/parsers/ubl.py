"""UBL 2.1 Invoice and CreditNote (Peppol BIS Billing 3.0 / EN 16931) into one invoice record.

Foreign suppliers and buyers reach the graph through these documents, so what matters is who
(party ids as DESIGN.md §7 spells them), when, how much in which currency, and whether the
totals are the sum of their parts: a document whose totals do not follow EN 16931's calculation
rules is more likely forged or broken than a rounding accident, so it is refused.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from store.parsers.ubl_parties import NS, party_ids, read_parties, terms_summary
from store.parsers.ubl_totals import Amounts, check_totals, document_tax
from store.parsers.xml_common import (
    Problems,
    XmlInvoice,
    check_parties,
    empty_record,
    local_name,
    namespace,
    read_date,
    read_guarded,
    safe_parse,
    text_of,
)
from store.text import has_control

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"

# Peppol asks for an order reference even when there is only a sales order, and says to write
# "NA" then (BIS 3, BT-13). It is not an order id: matching invoices to order "NA" would be wrong.
_NO_ORDER = {"NA", "N/A"}

MAX_DOC_ID_LENGTH = 100


def is_ubl(root: Element) -> bool:
    return (local_name(root.tag), namespace(root.tag)) in {
        ("Invoice", NS_INVOICE),
        ("CreditNote", NS_CREDIT_NOTE),
    }


def parse_ubl(data: bytes, *, row: int = 1) -> XmlInvoice:
    """Parse the bytes of one UBL Invoice or CreditNote; problems come back as RowErrors."""
    problems = Problems(row)
    root = safe_parse(data, problems)
    if root is None:
        return XmlInvoice(None, problems.errors)
    if not is_ubl(root):
        problems.add(
            None,
            f"root element is {root.tag!r}; expected a UBL 2.1 Invoice or CreditNote "
            f"in namespace {NS_INVOICE} or {NS_CREDIT_NOTE}",
        )
        return XmlInvoice(None, problems.errors)
    return read_guarded(parse_ubl_root, root, problems)


def parse_ubl_root(root: Element, problems: Problems) -> XmlInvoice:
    """Read an already safely parsed UBL root element into an invoice record."""
    is_credit_note = local_name(root.tag) == "CreditNote"
    doc_type = "ubl-creditnote" if is_credit_note else "ubl-invoice"
    record = empty_record()

    invoice_id = text_of(root.find("cbc:ID", NS))
    if invoice_id is None:
        problems.add("invoice_id", "the document has no cbc:ID")
    elif len(invoice_id) > MAX_DOC_ID_LENGTH or has_control(invoice_id):
        problems.add(
            "invoice_id",
            f"a document id has at most {MAX_DOC_ID_LENGTH} characters and no control characters",
            invoice_id,
        )
    record["invoice_id"] = invoice_id

    record["issue_date"] = read_date(
        text_of(root.find("cbc:IssueDate", NS)), problems, "issue_date", what="IssueDate"
    )
    if text_of(root.find("cbc:IssueDate", NS)) is None:
        problems.add("issue_date", "the document has no cbc:IssueDate")
    due_raw = text_of(root.find("cbc:DueDate", NS)) or text_of(
        root.find("cac:PaymentMeans/cbc:PaymentDueDate", NS)
    )
    record["due_date"] = read_date(due_raw, problems, "due_date", what="DueDate")

    currency = text_of(root.find("cbc:DocumentCurrencyCode", NS))
    if currency is None:
        problems.add("currency", "the document has no cbc:DocumentCurrencyCode")
    elif not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
    ):
        problems.add("currency", "DocumentCurrencyCode is not an ISO 4217 code", currency)
    record["currency"] = currency

    readings = read_parties(
        root.find("cac:AccountingSupplierParty/cac:Party", NS),
        root.find("cac:AccountingCustomerParty/cac:Party", NS),
    )
    for role, found in party_ids(readings).items():
        field_name = f"{role}_id"
        if isinstance(found, list):
            for problem in found:
                problems.add(field_name, problem)
            record[field_name] = None
        else:
            record[field_name] = found

    lines = root.findall("cac:CreditNoteLine" if is_credit_note else "cac:InvoiceLine", NS)
    record["line_count"] = len(lines)
    if not lines:
        problems.add("line_count", "the document has no lines")

    amounts = Amounts(problems, currency)
    tax = document_tax(root, amounts)
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    totals: dict[str, Decimal | None] = {"net": None, "tax": tax, "total": None, "payable": None}
    if monetary is None:
        problems.add("total", "the document has no cac:LegalMonetaryTotal")
        if tax is None:
            problems.add("tax", f"no TaxTotal with a TaxAmount in the document currency {currency}")
    else:
        totals = check_totals(root, lines, monetary, amounts, tax)

    # DESIGN.md §7 "Signs": what reduces what is owed is a credit note, stored negative. A
    # CreditNote states positive amounts (flipped); an Invoice with negative totals (a
    # correction) is negative already; a CreditNote with negative totals takes back a credit,
    # so it adds to what is owed: a normal invoice, stated positive.
    sign_basis = totals["total"] if totals["total"] is not None else totals["net"]
    negative = sign_basis is not None and sign_basis < 0
    record["kind"] = "credit_note" if is_credit_note != negative else "normal"
    for name, value in totals.items():
        record[name] = -value if (is_credit_note and value is not None) else value

    record["original_invoice_id"] = text_of(
        root.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)
    )
    order_id = text_of(root.find("cac:OrderReference/cbc:ID", NS))
    record["order_id"] = None if order_id is None or order_id.upper() in _NO_ORDER else order_id

    check_parties(record, problems)
    return XmlInvoice(
        record, problems.errors, doc_type, len(lines), parties=terms_summary(readings)
    )
