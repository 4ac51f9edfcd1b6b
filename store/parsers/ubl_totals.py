"""The amounts of a UBL invoice, checked by EN 16931's calculation rules (BR-CO-10 to -16).

A document whose totals do not follow the rules is more likely forged or broken than a rounding
accident, so it is refused. A total that is missing but that the rules define exactly (the tax
from TaxInclusiveAmount - TaxExclusiveAmount, the amount payable from BR-CO-16, ...) is worked
out rather than refused: the invoice states nothing false by leaving it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from xml.etree.ElementTree import Element

from store.parsers.ubl_parties import NS
from store.parsers.xml_common import Problems, check_sum, read_decimal, text_of


class Amounts:
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


def document_tax(root: Element, amounts: Amounts) -> Decimal | None:
    """The TaxTotal in the document currency (None when there is none); a second TaxTotal in
    the tax currency (BT-111, e.g. SEK on a EUR invoice) is for the tax authority: ignored."""
    problems, currency = amounts.problems, amounts.currency
    chosen: list[Element] = []
    for tax_total in root.findall("cac:TaxTotal", NS):
        amount_el = tax_total.find("cbc:TaxAmount", NS)
        if amount_el is None:
            continue
        cur = (amount_el.get("currencyID") or "").strip()
        if not cur or cur == currency:
            chosen.append(tax_total)
    if not chosen:
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


@dataclass
class _Stated:
    """The LegalMonetaryTotal as written (None where an element is absent)."""

    lines: Decimal | None
    net: Decimal | None
    gross: Decimal | None
    payable: Decimal | None
    allowances: Decimal | None
    charges: Decimal | None
    prepaid: Decimal
    rounding: Decimal


def _stated(monetary: Element, amounts: Amounts) -> _Stated:
    def total(tag: str, field_name: str) -> Decimal | None:
        return amounts.read(monetary.find(f"cbc:{tag}", NS), field_name, f"LegalMonetaryTotal/{tag}")

    return _Stated(
        lines=total("LineExtensionAmount", "net"),
        net=total("TaxExclusiveAmount", "net"),
        gross=total("TaxInclusiveAmount", "total"),
        payable=total("PayableAmount", "payable"),
        allowances=total("AllowanceTotalAmount", "net"),
        charges=total("ChargeTotalAmount", "net"),
        prepaid=total("PrepaidAmount", "payable") or Decimal(0),
        rounding=total("PayableRoundingAmount", "payable") or Decimal(0),
    )


def _line_amounts(lines: list[Element], amounts: Amounts) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for i, line in enumerate(lines, start=1):
        el = line.find("cbc:LineExtensionAmount", NS)
        if el is None:
            amounts.problems.add("net", f"line {i} has no LineExtensionAmount")
            out.append(None)
            continue
        out.append(amounts.read(el, "net", f"line {i} LineExtensionAmount"))
    return out


def _doc_allowance_charge_sums(
    root: Element, amounts: Amounts
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


def _rule(problems: Problems, rule: str, field_name: str, stated: Decimal | None,
          computed: Decimal | None, steps: int, explain: str) -> None:
    if stated is not None and computed is not None:
        check_sum(problems, rule=rule, field_name=field_name, stated=stated, computed=computed,
                  steps=steps, explain=explain)


def _sum(values: list[Decimal | None]) -> Decimal | None:
    if not values or any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def check_totals(
    root: Element, lines: list[Element], monetary: Element, amounts: Amounts,
    tax: Decimal | None,
) -> dict[str, Decimal | None]:
    """net, tax, total and payable of the document, each rule checked where both of its sides
    are stated, and each missing total worked out from the rule that defines it."""
    problems = amounts.problems
    st = _stated(monetary, amounts)
    line_sum = _sum(_line_amounts(lines, amounts))
    _rule(problems, "BR-CO-10", "net", st.lines, line_sum, len(lines),
          "LineExtensionAmount must equal the sum of the invoice lines' net amounts")
    doc_allow, doc_charge, n_allow, n_charge = _doc_allowance_charge_sums(root, amounts)
    _rule(problems, "BR-CO-11", "net", st.allowances, doc_allow, n_allow,
          "AllowanceTotalAmount must equal the sum of the document-level amounts")
    _rule(problems, "BR-CO-12", "net", st.charges, doc_charge, n_charge,
          "ChargeTotalAmount must equal the sum of the document-level amounts")
    allow = st.allowances if st.allowances is not None else doc_allow
    charge = st.charges if st.charges is not None else doc_charge

    line_total = st.lines if st.lines is not None else line_sum
    from_lines = None if line_total is None else line_total - allow + charge
    _rule(problems, "BR-CO-13", "net", st.net, from_lines, 1,
          "TaxExclusiveAmount must equal LineExtensionAmount - AllowanceTotalAmount "
          "+ ChargeTotalAmount")
    net = st.net if st.net is not None else from_lines
    gross = st.gross
    if tax is None and gross is not None and net is not None:
        tax = gross - net  # no TaxTotal in the document currency: BR-CO-15 defines it
    _rule(problems, "BR-CO-15", "total", gross, None if net is None or tax is None else net + tax,
          1, "TaxInclusiveAmount must equal TaxExclusiveAmount + TaxTotal/TaxAmount")
    if gross is None and net is not None and tax is not None:
        gross = net + tax
    due = None if gross is None else gross - st.prepaid + st.rounding
    _rule(problems, "BR-CO-16", "payable", st.payable, due, 1,
          "PayableAmount must equal TaxInclusiveAmount - PrepaidAmount + PayableRoundingAmount")
    payable = st.payable if st.payable is not None else due
    for value, tag, field_name in ((net, "TaxExclusiveAmount", "net"),
                                   (gross, "TaxInclusiveAmount", "total"),
                                   (payable, "PayableAmount", "payable")):
        if value is None and monetary.find(f"cbc:{tag}", NS) is None:
            problems.add(field_name, f"LegalMonetaryTotal/{tag} is missing and the other "
                         "totals do not give it")
    if tax is None and not any(e.field == "tax" for e in problems.errors):
        problems.add("tax", f"no TaxTotal with a TaxAmount in the document currency "
                     f"{amounts.currency}, and no TaxInclusiveAmount to work it out from")
    return {"net": net, "tax": tax, "total": gross, "payable": payable}
