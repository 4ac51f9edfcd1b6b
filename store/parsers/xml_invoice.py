"""One entry point for XML invoices: recognise UBL or 数电票 by content, not by file name.

Uploaders name files however their systems do (`export (3).xml`), so the root element and its
namespace decide which reader applies. Whatever arrives, the caller gets an XmlInvoice with its
errors listed; nothing here raises on bad input.
"""

from __future__ import annotations

from store.parsers.fapiao import is_einvoice, parse_einvoice_root
from store.parsers.ubl import NS_CREDIT_NOTE, NS_INVOICE, is_ubl, parse_ubl_root
from store.parsers.xml_common import (
    Problems,
    XmlInvoice,
    local_name,
    namespace,
    read_guarded,
    safe_parse,
)

__all__ = ["XmlInvoice", "parse_invoice_xml"]


def parse_invoice_xml(data: bytes, *, row: int = 1) -> XmlInvoice:
    """Parse one XML invoice document. `row` is its number in the upload, stamped on errors."""
    problems = Problems(row)
    root = safe_parse(data, problems)
    if root is None:
        return XmlInvoice(None, problems.errors)
    if is_ubl(root):
        return read_guarded(parse_ubl_root, root, problems)
    if is_einvoice(root):
        return read_guarded(parse_einvoice_root, root, problems)
    name, ns = local_name(root.tag), namespace(root.tag)
    hint = ""
    if name in ("Invoice", "CreditNote"):
        hint = f" (a UBL {name} must be in namespace {NS_INVOICE if name == 'Invoice' else NS_CREDIT_NOTE})"
    problems.add(
        None,
        f"root element <{name}>{f' in namespace {ns}' if ns else ''} is not an invoice this "
        f"service reads: expected a UBL 2.1 Invoice or CreditNote, or a 数电票 EInvoice{hint}",
    )
    return XmlInvoice(None, problems.errors)
