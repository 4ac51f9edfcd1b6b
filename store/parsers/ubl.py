"""UBL 2.1 Invoice and CreditNote (Peppol BIS Billing 3.0 / EN 16931) into one invoice record.

Foreign suppliers and buyers reach the graph through these documents, so what matters is who
(party ids as DESIGN.md §7 spells them), when, how much in which currency, and whether the
totals are the sum of their parts: a document whose totals do not follow EN 16931's calculation
rules is more likely forged or broken than a rounding accident, so it is refused.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from store.parsers.xml_common import (
    Problems,
    XmlInvoice,
    check_parties,
    check_sum,
    empty_record,
    local_name,
    namespace,
    read_date,
    read_decimal,
    read_guarded,
    safe_parse,
    text_of,
)
from store.parties import VAT_SCHEME, foreign_party
from store.text import has_control
from store.uscc import is_valid_uscc

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": NS_CAC, "cbc": NS_CBC}

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


def _chinese_uscc(ident: str, country: str | None) -> str | None:
    """The bare USCC when a party id is one (DESIGN.md §7 keeps Chinese firms as bare USCCs)."""
    bare = ident[2:] if ident.upper().startswith("CN") and len(ident) == 20 else ident
    if country == "CN" and len(bare) == 18:
        return bare  # checked (and perhaps refused) as a USCC later, with the reason given
    if len(bare) == 18 and is_valid_uscc(bare):
        return bare
    return None


def party_id(party: Element | None) -> str | None:
    """`<EAS scheme>:<id>` from EndpointID, else the legal CompanyID with its scheme, else
    `VAT:<vat id>`; a Chinese USCC stays bare. None when the party names none of these."""
    if party is None:
        return None
    country = text_of(party.find("cac:PostalAddress/cac:Country/cbc:IdentificationCode", NS))
    candidates: list[tuple[str, str]] = []
    for path in ("cbc:EndpointID", "cac:PartyLegalEntity/cbc:CompanyID"):
        el = party.find(path, NS)
        ident, scheme = text_of(el), (el.get("schemeID") if el is not None else None)
        if ident and scheme and scheme.strip():
            candidates.append((scheme.strip(), ident))
    for tax_scheme in party.findall("cac:PartyTaxScheme", NS):
        if (text_of(tax_scheme.find("cac:TaxScheme/cbc:ID", NS)) or "").upper() == VAT_SCHEME:
            ident = text_of(tax_scheme.find("cbc:CompanyID", NS))
            if ident:
                candidates.append((VAT_SCHEME, ident))
    if not candidates:
        return None
    scheme, ident = candidates[0]
    bare = _chinese_uscc(ident, country.upper() if country else None)
    return bare if bare is not None else foreign_party(scheme, ident)


class _Amounts:
    """Reads amounts of one document, checking that each is in the document currency."""

    def __init__(self, problems: Problems, currency: str | None) -> None:
        self.problems = problems
        self.currency = currency

    def read(self, el: Element | None, field_name: str, what: str) -> Decimal | None:
        if el is None:
            return None
        value = read_decimal(text_of(el), self.problems, field_name, what=what)
        if value is None and text_of(el) is None:
            self.problems.add(field_name, f"{what} is empty")
        cur = (el.get("currencyID") or "").strip()
        if value is not None and self.currency and cur and cur != self.currency:
            self.problems.add(
                field_name,
                f"{what} is in {cur}, the document currency is {self.currency}",
                f"{value} {cur}",
            )
        return value


def _document_tax(root: Element, amounts: _Amounts, problems: Problems) -> Decimal | None:
    """The TaxTotal in the document currency; a second TaxTotal in the tax currency
    (BT-111, e.g. SEK on a EUR invoice) is for the tax authority and is ignored."""
    currency = amounts.currency
    chosen: list[Element] = []
    for tax_total in root.findall("cac:TaxTotal", NS):
        amount_el = tax_total.find("cbc:TaxAmount", NS)
        if amount_el is None:
            continue
        cur = (amount_el.get("currencyID") or "").strip()
        if not cur or cur == currency:
            chosen.append(tax_total)
    if not chosen:
        problems.add("tax", f"no TaxTotal with a TaxAmount in the document currency {currency}")
        return None
    if len(chosen) > 1:
        problems.add(
            "tax", f"{len(chosen)} TaxTotals in the document currency {currency}; expected one"
        )
        return None
    tax_total = chosen[0]
    tax = amounts.read(tax_total.find("cbc:TaxAmount", NS), "tax", "TaxTotal/TaxAmount")
    subtotals = [
        amounts.read(s.find("cbc:TaxAmount", NS), "tax", "TaxSubtotal/TaxAmount")
        for s in tax_total.findall("cac:TaxSubtotal", NS)
    ]
    if tax is not None and subtotals and all(s is not None for s in subtotals):
        check_sum(
            problems,
            rule="BR-CO-14",
            field_name="tax",
            stated=tax,
            computed=sum((s for s in subtotals if s is not None), Decimal(0)),
            steps=len(subtotals),
            explain="TaxTotal/TaxAmount must equal the sum of the TaxSubtotal amounts",
        )
    return tax


def _doc_allowance_charge_sums(
    root: Element, amounts: _Amounts
) -> tuple[Decimal, Decimal, int, int]:
    allowances, charges = Decimal(0), Decimal(0)
    n_allow = n_charge = 0
    for ac in root.findall("cac:AllowanceCharge", NS):
        is_charge = (text_of(ac.find("cbc:ChargeIndicator", NS)) or "").lower() == "true"
        value = amounts.read(
            ac.find("cbc:Amount", NS), "net", "document-level AllowanceCharge/Amount"
        )
        if value is None:
            continue
        if is_charge:
            charges += value
            n_charge += 1
        else:
            allowances += value
            n_allow += 1
    return allowances, charges, n_allow, n_charge


def _check_totals(
    root: Element,
    lines: list[Element],
    monetary: Element,
    amounts: _Amounts,
    problems: Problems,
    tax: Decimal | None,
) -> dict[str, Decimal | None]:
    def total(tag: str, field_name: str) -> Decimal | None:
        return amounts.read(
            monetary.find(f"cbc:{tag}", NS), field_name, f"LegalMonetaryTotal/{tag}"
        )

    line_total = total("LineExtensionAmount", "net")
    net = total("TaxExclusiveAmount", "net")
    gross = total("TaxInclusiveAmount", "total")
    payable = total("PayableAmount", "payable")
    allowance_total = total("AllowanceTotalAmount", "net")
    charge_total = total("ChargeTotalAmount", "net")
    prepaid = total("PrepaidAmount", "payable") or Decimal(0)
    rounding = total("PayableRoundingAmount", "payable") or Decimal(0)
    for value, tag, field_name in (
        (line_total, "LineExtensionAmount", "net"),
        (net, "TaxExclusiveAmount", "net"),
        (gross, "TaxInclusiveAmount", "total"),
        (payable, "PayableAmount", "payable"),
    ):
        if value is None and monetary.find(f"cbc:{tag}", NS) is None:
            problems.add(field_name, f"LegalMonetaryTotal/{tag} is missing")

    line_amounts = []
    for i, line in enumerate(lines, start=1):
        el = line.find("cbc:LineExtensionAmount", NS)
        if el is None:
            problems.add("net", f"line {i} has no LineExtensionAmount")
            continue
        line_amounts.append(amounts.read(el, "net", f"line {i} LineExtensionAmount"))
    if line_total is not None and lines and all(a is not None for a in line_amounts):
        check_sum(
            problems,
            rule="BR-CO-10",
            field_name="net",
            stated=line_total,
            computed=sum((a for a in line_amounts if a is not None), Decimal(0)),
            steps=len(line_amounts),
            explain="LineExtensionAmount must equal the sum of the invoice lines' net amounts",
        )

    doc_allow, doc_charge, n_allow, n_charge = _doc_allowance_charge_sums(root, amounts)
    for stated, summed, n, rule, name in (
        (allowance_total, doc_allow, n_allow, "BR-CO-11", "AllowanceTotalAmount"),
        (charge_total, doc_charge, n_charge, "BR-CO-12", "ChargeTotalAmount"),
    ):
        if stated is not None:
            check_sum(
                problems,
                rule=rule,
                field_name="net",
                stated=stated,
                computed=summed,
                steps=n,
                explain=f"{name} must equal the sum of the document-level amounts",
            )
    allow = allowance_total if allowance_total is not None else doc_allow
    charge = charge_total if charge_total is not None else doc_charge
    if net is not None and line_total is not None:
        check_sum(
            problems,
            rule="BR-CO-13",
            field_name="net",
            stated=net,
            computed=line_total - allow + charge,
            steps=1,
            explain="TaxExclusiveAmount must equal LineExtensionAmount - AllowanceTotalAmount "
            "+ ChargeTotalAmount",
        )
    if gross is not None and net is not None and tax is not None:
        check_sum(
            problems,
            rule="BR-CO-15",
            field_name="total",
            stated=gross,
            computed=net + tax,
            steps=1,
            explain="TaxInclusiveAmount must equal TaxExclusiveAmount + TaxTotal/TaxAmount",
        )
    if payable is not None and gross is not None:
        check_sum(
            problems,
            rule="BR-CO-16",
            field_name="payable",
            stated=payable,
            computed=gross - prepaid + rounding,
            steps=1,
            explain="PayableAmount must equal TaxInclusiveAmount - PrepaidAmount "
            "+ PayableRoundingAmount",
        )
    return {"net": net, "tax": tax, "total": gross, "payable": payable}


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

    for field_name, path in (
        ("seller_id", "cac:AccountingSupplierParty/cac:Party"),
        ("buyer_id", "cac:AccountingCustomerParty/cac:Party"),
    ):
        pid = party_id(root.find(path, NS))
        if pid is None:
            problems.add(
                field_name,
                f"{path} has no EndpointID with a schemeID, no legal CompanyID with a schemeID "
                "and no VAT identifier",
            )
        record[field_name] = pid

    lines = root.findall("cac:CreditNoteLine" if is_credit_note else "cac:InvoiceLine", NS)
    record["line_count"] = len(lines)
    if not lines:
        problems.add("line_count", "the document has no lines")

    amounts = _Amounts(problems, currency)
    tax = _document_tax(root, amounts, problems)
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    totals: dict[str, Decimal | None] = {"net": None, "tax": tax, "total": None, "payable": None}
    if monetary is None:
        problems.add("total", "the document has no cac:LegalMonetaryTotal")
    else:
        totals = _check_totals(root, lines, monetary, amounts, problems, tax)

    sign_basis = totals["total"] if totals["total"] is not None else totals["net"]
    negative_invoice = not is_credit_note and sign_basis is not None and sign_basis < 0
    kind = "credit_note" if is_credit_note or negative_invoice else "normal"
    record["kind"] = kind
    for name, value in totals.items():
        # DESIGN.md §7 "Signs": a CreditNote states positive amounts that reduce what is owed;
        # stored negative. A negative Invoice (a correction) is negative already.
        record[name] = -value if (is_credit_note and value is not None) else value

    record["original_invoice_id"] = text_of(
        root.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)
    )
    order_id = text_of(root.find("cac:OrderReference/cbc:ID", NS))
    record["order_id"] = None if order_id is None or order_id.upper() in _NO_ORDER else order_id

    check_parties(record, problems)
    return XmlInvoice(record, problems.errors, doc_type, len(lines))
