"""The Chinese fully digital e-invoice (全面数字化的电子发票, 数电票) XML into one invoice record.

This is the document most suppliers of a Chongqing core firm actually hold: the tax bureau's
XML with root `EInvoice`. Its invoice number is the 20-digit number in TaxSupervisionInfo, the
parties are taxpayer ids (USCCs for firms) and a red-letter invoice (红字发票) reverses an
earlier blue one. The amounts are checked against their items, because a forged or hand-edited
file rarely keeps the tax bureau's arithmetic.
"""

from __future__ import annotations

import re
from decimal import Decimal
from xml.etree.ElementTree import Element

from store.parsers.xml_common import (
    Problems,
    XmlInvoice,
    check_parties,
    check_sum,
    empty_record,
    local_name,
    read_date,
    read_decimal,
    read_guarded,
    safe_parse,
    text_of,
)

ROOT = "EInvoice"
CURRENCY = "CNY"  # 数电票 are issued in yuan
# Elements that, where a red-letter file carries them, hold the reversed blue invoice's number.
_ORIGINAL_NUMBER_TAGS = (
    "CorrespondingBlueInvoiceNumber",
    "BlueInvoiceNumber",
    "OriginalInvoiceNumber",
)
# The tax bureau writes the reversed invoice into the red invoice's remark:
# "被红冲蓝字数电发票号码：24442000000012345678 红字发票信息确认单编号：...".
_REMARK_ORIGINAL = re.compile(r"蓝字[^:：\d]{0,12}发票号码\s*[:：]\s*(\d{8,20})")


def is_einvoice(root: Element) -> bool:
    return local_name(root.tag) == ROOT


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    for c in el:
        if local_name(c.tag) == name:
            return c
    return None


def _path(el: Element | None, *names: str) -> Element | None:
    for name in names:
        el = _child(el, name)
    return el


def _descendant_text(el: Element, name: str) -> str | None:
    for d in el.iter():
        if local_name(d.tag) == name and text_of(d):
            return text_of(d)
    return None


def parse_einvoice(data: bytes, *, row: int = 1) -> XmlInvoice:
    """Parse the bytes of one 数电票 XML; problems come back as RowErrors."""
    problems = Problems(row)
    root = safe_parse(data, problems)
    if root is None:
        return XmlInvoice(None, problems.errors)
    if not is_einvoice(root):
        problems.add(None, f"root element is {root.tag!r}; expected {ROOT} (数电票)")
        return XmlInvoice(None, problems.errors)
    return read_guarded(parse_einvoice_root, root, problems)


def _is_red_letter(root: Element) -> bool:
    """InIssuType is 是否蓝字发票标志: Y = blue (normal), N = red (reversal)."""
    code = text_of(_path(root, "Header", "InherentLabel", "InIssuType", "LabelCode"))
    return code is not None and code.upper() == "N"


def _original_number(root: Element) -> str | None:
    for tag in _ORIGINAL_NUMBER_TAGS:
        found = _descendant_text(root, tag)
        if found:
            return found
    remark = text_of(_path(root, "EInvoiceData", "AdditionalInformation", "Remark"))
    if remark:
        m = _REMARK_ORIGINAL.search(remark)
        if m:
            return m.group(1)
    return None


def _item_amount(
    item: Element, tag: str, index: int, field_name: str, problems: Problems
) -> Decimal | None:
    raw = text_of(_child(item, tag))
    if tag == "ComTaxAm" and (raw is None or set(raw) == {"*"}):
        return Decimal(0)  # tax-exempt and no-tax items print "***" or leave the tax empty
    return read_decimal(raw, problems, field_name, what=f"item {index} {tag}")


def parse_einvoice_root(root: Element, problems: Problems) -> XmlInvoice:
    """Read an already safely parsed EInvoice root element into an invoice record."""
    record = empty_record()
    data = _child(root, "EInvoiceData")
    supervision = _child(root, "TaxSupervisionInfo")
    basic = _child(data, "BasicInformation")

    number = text_of(_child(supervision, "InvoiceNumber")) or text_of(_path(root, "Header", "EIid"))
    if number is None:
        problems.add("invoice_id", "no TaxSupervisionInfo/InvoiceNumber and no Header/EIid")
    record["invoice_id"] = number

    issued_raw = text_of(_child(supervision, "IssueTime")) or text_of(_child(basic, "RequestTime"))
    if issued_raw is None:
        problems.add(
            "issue_date", "no TaxSupervisionInfo/IssueTime and no BasicInformation/RequestTime"
        )
    record["issue_date"] = read_date(issued_raw, problems, "issue_date", what="IssueTime")

    for field_name, path in (
        ("seller_id", ("SellerInformation", "SellerIdNum")),
        ("buyer_id", ("BuyerInformation", "BuyerIdNum")),
    ):
        value = text_of(_path(data, *path))
        if value is None:
            problems.add(field_name, f"EInvoiceData/{'/'.join(path)} is missing or empty")
        record[field_name] = value
    record["currency"] = CURRENCY

    def amount(name: str, field_name: str) -> Decimal | None:
        raw = text_of(_child(basic, name))
        if raw is None:
            problems.add(field_name, f"BasicInformation/{name} is missing or empty")
            return None
        return read_decimal(raw, problems, field_name, what=f"BasicInformation/{name}")

    net = amount("TotalAmWithoutTax", "net")
    tax = amount("TotalTaxAm", "tax")
    total = amount("TotalTax-includedAmount", "total")

    items = [
        c for c in (data if data is not None else []) if local_name(c.tag) == "IssuItemInformation"
    ]
    record["line_count"] = len(items)
    if not items:
        problems.add("line_count", "the invoice has no IssuItemInformation items")

    if net is not None and tax is not None and total is not None:
        check_sum(
            problems,
            rule="数电票 totals",
            field_name="total",
            stated=total,
            computed=net + tax,
            steps=1,
            explain="TotalTax-includedAmount must equal TotalAmWithoutTax + TotalTaxAm",
        )
    for tag, stated, field_name in (("Amount", net, "net"), ("ComTaxAm", tax, "tax")):
        values = [
            _item_amount(item, tag, i, field_name, problems) for i, item in enumerate(items, 1)
        ]
        if stated is not None and items and all(v is not None for v in values):
            check_sum(
                problems,
                rule="数电票 items",
                field_name=field_name,
                stated=stated,
                computed=sum((v for v in values if v is not None), Decimal(0)),
                steps=len(items),
                explain=f"the items' {tag} must add up to the invoice's total",
            )
        elif stated is not None and items:
            missing = [i for i, v in enumerate(values, start=1) if v is None]
            problems.add(
                field_name, f"item(s) {missing} have no {tag}; the totals cannot be checked"
            )

    red = _is_red_letter(root)
    sign_basis = total if total is not None else net
    is_credit = red or (sign_basis is not None and sign_basis < 0)
    record["kind"] = "credit_note" if is_credit else "normal"
    # A red-letter invoice reverses: stored negative (DESIGN.md §7 "Signs"), whichever sign the
    # file used. The 数电票 has no prepayment, so what is payable is the tax-inclusive total.
    flip = is_credit and sign_basis is not None and sign_basis > 0
    amounts: tuple[tuple[str, Decimal | None], ...] = (
        ("net", net),
        ("tax", tax),
        ("total", total),
        ("payable", total),
    )
    for name, amount_value in amounts:
        record[name] = -amount_value if (flip and amount_value is not None) else amount_value
    record["original_invoice_id"] = _original_number(root) if is_credit else None

    check_parties(record, problems)
    parties: dict[str, dict[str, object]] = {
        role: {"found": [tag] if record[f"{role}_id"] else [], "used": tag if record[f"{role}_id"] else None}
        for role, tag in (("seller", "SellerIdNum"), ("buyer", "BuyerIdNum"))
    }
    return XmlInvoice(record, problems.errors, "einvoice", len(items), parties=parties)
