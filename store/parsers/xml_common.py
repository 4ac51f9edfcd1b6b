"""What the XML invoice readers share: the result type, a safe parse, and value readers.

Uploaded XML comes from outside; a DTD can expand a few hundred bytes into gigabytes (billion
laughs) or read local files (XXE). defusedxml refuses DTDs, entities and external references
before anything is expanded, and every failure here becomes a RowError, never an exception.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml import ElementTree as SafeET

from store.errors import RowError
from store.parties import party_problem
from store.records import INVOICES

MAX_XML_BYTES = 16 * 1024 * 1024  # an invoice is kilobytes; anything this large is not one
CENT = Decimal("0.01")  # the tolerance of one rounding step (DESIGN.md §7)

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Encodings expat reads itself; anything else (GBK, GB18030 from Chinese systems) is transcoded.
_EXPAT_NATIVE = {"utf8", "utf16", "usascii", "ascii", "iso88591", "latin1"}


@dataclass
class XmlInvoice:
    """One parsed XML invoice. `record` is kept even when some checks fail, so a dry run can
    show what was read next to what is wrong with it."""

    record: dict[str, object] | None
    errors: list[RowError] = field(default_factory=list)
    doc_type: str = "unknown"  # "ubl-invoice", "ubl-creditnote", "einvoice"
    line_count: int = 0
    # per role ("seller", "buyer"): the identifier terms found and the one used
    parties: dict[str, dict[str, object]] = field(default_factory=dict)


class Problems:
    """Collects RowErrors for one document, all stamped with the document's row."""

    def __init__(self, row: int) -> None:
        self.row = row
        self.errors: list[RowError] = []

    def add(self, field_name: str | None, message: str, value: object = None) -> None:
        self.errors.append(
            RowError(self.row, field_name, message, None if value is None else str(value))
        )


def empty_record() -> dict[str, object]:
    """A record with every INVOICES field present, so consumers see one shape."""
    return dict.fromkeys(INVOICES.names)


def _transcode(data: bytes) -> bytes:
    """Re-encode a document declared in an encoding expat lacks (e.g. GB18030) as UTF-8."""
    m = _DECLARED_ENCODING.match(data[:200])
    if m is None:
        return data
    name = m.group(1).decode("ascii")
    if re.sub(r"[-_.]", "", name.lower()) in _EXPAT_NATIVE:
        return data
    codecs.lookup(name)  # LookupError for an unknown encoding name
    text = data.decode(name)  # UnicodeDecodeError when the bytes do not match the declaration
    text = re.sub(r"""encoding\s*=\s*["'][^"']+["']""", 'encoding="UTF-8"', text, count=1)
    return text.encode("utf-8")


def safe_parse(data: bytes, problems: Problems) -> Element | None:
    """Parse untrusted bytes; on any failure record why and return None."""
    if not data or not data.strip():
        problems.add(None, "the XML document is empty")
        return None
    if len(data) > MAX_XML_BYTES:
        problems.add(
            None,
            f"the XML document has {len(data):,} bytes; an invoice is at most {MAX_XML_BYTES:,}",
        )
        return None
    try:
        data = _transcode(data)
    except LookupError as exc:
        problems.add(None, f"the XML declares an unknown encoding: {exc}")
        return None
    except UnicodeDecodeError as exc:
        problems.add(
            None, f"the bytes do not match the declared encoding {exc.encoding}: {exc.reason}"
        )
        return None
    try:
        root: Element = SafeET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden:
        problems.add(
            None,
            "XML with a DTD (<!DOCTYPE ...>) is refused: DTDs allow entity expansion and "
            "external-entity attacks, and invoices do not need them",
        )
        return None
    except EntitiesForbidden:
        problems.add(None, "XML entity declarations are refused (entity-expansion attack)")
        return None
    except DefusedXmlException as exc:
        problems.add(None, f"XML refused for safety: {exc}")
        return None
    except ParseError as exc:
        problems.add(
            None,
            f"not well-formed XML ({exc}); is the file complete and encoded as UTF-8 "
            "or as its <?xml encoding=...?> says?",
        )
        return None
    except LookupError as exc:  # expat's own check of the declaration ("UTF.8")
        problems.add(None, f"the XML declares an unknown encoding: {exc}")
        return None
    except (ValueError, RecursionError) as exc:
        problems.add(None, f"unreadable XML: {exc}")
        return None
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def text_of(el: Element | None) -> str | None:
    """Stripped text of an element; None when the element is missing or empty."""
    if el is None or el.text is None:
        return None
    t = el.text.strip()
    return t or None


def read_decimal(
    raw: str | None, problems: Problems, field_name: str, *, what: str
) -> Decimal | None:
    if raw is None:
        return None
    compact = raw.replace(" ", "")
    # Plain decimals only: "1E+999999" is a valid Decimal whose sums overflow, and no invoice
    # writes its amounts in exponent form.
    if not _PLAIN_DECIMAL.match(compact):
        problems.add(field_name, f"{what} is not a number (expected e.g. 1234.50)", raw)
        return None
    try:
        return Decimal(compact)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        problems.add(field_name, f"{what} is not a number", raw)
        return None


_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d{1,24}(\.\d{0,12})?|\.\d{1,12})$")
_DATE_HEAD = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


def read_date(raw: str | None, problems: Problems, field_name: str, *, what: str) -> date | None:
    """A calendar date from `YYYY-MM-DD`, optionally followed by a time (`2023-02-23 10:08:05`)."""
    if raw is None:
        return None
    m = _DATE_HEAD.match(raw)
    if m is None:
        problems.add(field_name, f"{what} is not a date (expected YYYY-MM-DD)", raw)
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        problems.add(field_name, f"{what} is not a real date: {exc}", raw)
        return None


def check_sum(
    problems: Problems,
    *,
    rule: str,
    field_name: str,
    stated: Decimal,
    computed: Decimal,
    steps: int,
    explain: str,
) -> None:
    """Report `rule` broken when stated and computed differ by more than 0.01 per rounding step.

    A step is one already-rounded amount that entered the sum: one per line for a line sum, one
    for a total that is computed from other totals (BR-CO-13, -15, -16).
    """
    tolerance = CENT * max(steps, 1)
    if abs(stated - computed) > tolerance:
        problems.add(
            field_name,
            f"{rule}: {explain}: the document states {stated}, the parts give {computed} "
            f"(difference {stated - computed}, tolerance {tolerance})",
            stated,
        )


def check_parties(record: dict[str, object], problems: Problems) -> None:
    """Check the seller and buyer ids as store.parties does for every other upload."""
    for field_name in ("seller_id", "buyer_id"):
        value = record.get(field_name)
        if isinstance(value, str):
            problem = party_problem(value)
            if problem is not None:
                problems.add(field_name, problem, value)


def read_guarded(
    reader: Callable[[Element, Problems], XmlInvoice], root: Element, problems: Problems
) -> XmlInvoice:
    """Run a reader keeping the promise that bad input never raises: a document odd in a way
    the readers did not foresee still becomes a row error, named by what went wrong."""
    try:
        return reader(root, problems)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        problems.add(None, f"the document could not be read ({type(exc).__name__}: {exc})")
        return XmlInvoice(None, problems.errors)
