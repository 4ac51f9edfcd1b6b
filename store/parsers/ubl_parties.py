"""Who the seller and the buyer of a UBL invoice are, from every identifier EN 16931 allows.

Peppol BIS always gives an electronic address with its scheme; EN 16931 invoices from outside
Peppol often give a VAT number only, a legal registration under an ISO 6523 ICD, a customer
number without a scheme, or just a name. DESIGN.md §7 "Foreign parties" fixes the order of
preference, and this module applies it:

1. a Chinese USCC wherever it is written (bare, or as `CN` + USCC in a VAT or tax scheme): a
   Chinese firm is its USCC in every other record, so the same firm must get the same node;
2. the electronic address (BT-34 seller, BT-49 buyer) with its EAS scheme: `<scheme>:<id>`;
3. the legal registration (BT-30, BT-47) with its scheme (EAS or ICD): `<scheme>:<id>`;
4. the VAT identifier (BT-31, BT-48): `VAT:<id>`;
5. a party identifier (BT-29, BT-46) with a known scheme: `<scheme>:<id>`; without one (or a
   legal registration without one), scoped to the other party: `LOCAL:<other>~<id>`;
6. the name alone (BT-27/BT-28, BT-44/BT-45), scoped to the other party, unidentified:
   `NAME:<other>~<name>` (never merged across issuers, never evidence).

An identifier whose scheme is unknown is passed over for the next one rather than refusing the
invoice, so a buyer with a VAT number and a GLN is never refused. Only when nothing identifies a
party does the document fail, with what was found listed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from store.parties import (
    KNOWN_SCHEMES,
    LOCAL_SCHEME,
    MAX_FOREIGN_ID_LENGTH,
    MAX_NAME_LENGTH,
    SCOPE_SEPARATOR,
    UNIDENTIFIED_SCHEME,
    VAT_SCHEME,
    foreign_party,
    is_global,
    scoped_party,
)
from store.text import INVISIBLE_CATEGORIES
from store.uscc import is_valid_uscc

NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": NS_CAC, "cbc": NS_CBC}

# Business terms per role: electronic address, legal registration, VAT, party identifier,
# registration name, trading name (EN 16931-1 semantic model).
TERMS = {
    "seller": {"endpoint": "BT-34", "legal": "BT-30", "vat": "BT-31", "party": "BT-29",
               "name": "BT-27", "trading": "BT-28"},
    "buyer": {"endpoint": "BT-49", "legal": "BT-47", "vat": "BT-48", "party": "BT-46",
              "name": "BT-44", "trading": "BT-45"},
}  # fmt: skip
# Scheme names written instead of the code, from the Peppol code list "Participant identifier
# schemes" v8.7 (scheme ID -> ISO 6523 prefix; as published in github.com/phax/peppol-commons,
# EPredefinedParticipantIdentifierScheme.java), as Peppol BIS 2 documents wrote them.
_PEPPOL_SCHEME_IDS = """
    FR:SIRENE 0002 SE:ORGNR 0007 FR:SIRET 0009 FI:OVT 0037 DUNS 0060 GLN 0088 DK:P 0096
    IT:FTI 0097 NL:KVK 0106 EU:NAL 0130 IT:SIA 0135 IT:SECETI 0142 AU:ABN 0151 CH:UIDB 0183
    DK:DIGST 0184 JP:SST 0188 NL:OINO 0190 EE:CC 0191 NO:ORG 0192 UBLBE 0193 SG:UEN 0195
    IS:KTNR 0196 DK:ERST 0198 LEI 0199 LT:LEC 0200 IT:CUUO 0201 DE:LWID 0204 IT:COD 0205
    BE:EN 0208 GS1 0209 IT:CFI 0210 IT:IVA 0211 FI:ORG 0212 FI:VAT 0213 FI:NSI 0215 FI:OVT2 0216
    JP:IIN 0221 MY:EIF 0230 DK:CPR 9901 DK:CVR 9902 DK:SE 9904 DK:VANS 9905 IT:VAT 9906
    IT:CF 9907 NO:ORGNR 9908 NO:VAT 9909 HU:VAT 9910 EU:VAT 9912 EU:REID 9913 AT:VAT 9914
    AT:GOV 9915 AT:CID 9916 IS:KT 9917 IBAN 9918 AT:KUR 9919 ES:VAT 9920 IT:IPA 9921 AD:VAT 9922
    AL:VAT 9923 BA:VAT 9924 BE:VAT 9925 BG:VAT 9926 CH:VAT 9927 CY:VAT 9928 CZ:VAT 9929
    DE:VAT 9930 EE:VAT 9931 GB:VAT 9932 GR:VAT 9933 HR:VAT 9934 IE:VAT 9935 LI:VAT 9936
    LT:VAT 9937 LU:VAT 9938 LV:VAT 9939 MC:VAT 9940 ME:VAT 9941 MK:VAT 9942 MT:VAT 9943
    NL:VAT 9944 PL:VAT 9945 PT:VAT 9946 RO:VAT 9947 RS:VAT 9948 SI:VAT 9949 SK:VAT 9950
    SM:VAT 9951 TR:VAT 9952 VA:VAT 9953 NL:OIN 9954 SE:VAT 9955 BE:CBE 9956 FR:VAT 9957
    DE:LID 9958 US:EIN 9959
"""
_SCHEME_ALIASES = dict(zip(_PEPPOL_SCHEME_IDS.split()[::2], _PEPPOL_SCHEME_IDS.split()[1::2],
                           strict=True)) | {"EAN": "0088"}
# BT-90, the SEPA creditor id of the payee, shares the element of BT-29: it identifies a
# direct-debit mandate, not the firm.
_NOT_PARTY_SCHEMES = {"SEPA"}
_SPACES = re.compile(r"\s+")
_VAT_PUNCTUATION = re.compile(r"[\s.\-/]+")


@dataclass
class Candidate:
    term: str  # a business term, e.g. "BT-48"
    kind: str  # "endpoint", "legal", "vat", "party", "tax"
    ident: str  # whitespace removed
    scheme: str | None  # normalised; None when absent


@dataclass
class PartyReading:
    """What one party element holds and which identifier was chosen."""

    role: str
    found: list[str] = field(default_factory=list)  # business terms present, in document order
    candidates: list[Candidate] = field(default_factory=list)
    name: str | None = None
    country: str | None = None
    global_id: str | None = None  # USCC or `<scheme>:<id>`
    used: str | None = None  # the business term of the id kept (or "USCC")
    local: Candidate | None = None  # the best identifier that needs scoping


def _text(el: Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    t = el.text.strip()
    return t or None


def _scheme(el: Element) -> str | None:
    raw = (el.get("schemeID") or "").strip().upper()
    if not raw:
        return None
    return _SCHEME_ALIASES.get(raw, raw)


def _compact(ident: str) -> str:
    return _SPACES.sub("", ident)


def _vat_number(ident: str) -> str:
    """A VAT number as VIES and the tax authorities write it electronically: letters and
    digits only, upper case ("CHE-123.456.788 MWST" -> "CHE123456788MWST")."""
    return _VAT_PUNCTUATION.sub("", ident).upper()


def _clean_name(name: str) -> str:
    """A name as a key: invisible characters dropped, blanks collapsed, at most 200 chars."""
    shown = "".join(c for c in name if unicodedata.category(c) not in INVISIBLE_CATEGORIES)
    return _SPACES.sub(" ", shown).strip()[:MAX_NAME_LENGTH]


def _collect(party: Element, role: str) -> PartyReading:
    terms = TERMS[role]
    reading = PartyReading(role)
    reading.country = _text(party.find("cac:PostalAddress/cac:Country/cbc:IdentificationCode", NS))

    def add(kind: str, el: Element | None, scheme: str | None = None) -> None:
        ident = _text(el)
        if el is None or ident is None:
            return
        term = terms.get(kind, "BT-32" if role == "seller" else "tax")
        reading.found.append(term)
        reading.candidates.append(Candidate(term, kind, _compact(ident), scheme))

    el = party.find("cbc:EndpointID", NS)
    add("endpoint", el, _scheme(el) if el is not None else None)
    for ident_el in party.findall("cac:PartyIdentification/cbc:ID", NS):
        scheme = _scheme(ident_el)
        if scheme not in _NOT_PARTY_SCHEMES:
            add("party", ident_el, scheme)
    for legal in party.findall("cac:PartyLegalEntity", NS):
        el = legal.find("cbc:CompanyID", NS)
        add("legal", el, _scheme(el) if el is not None else None)
        if reading.name is None and _text(legal.find("cbc:RegistrationName", NS)):
            reading.name = _text(legal.find("cbc:RegistrationName", NS))
            reading.found.append(terms["name"])
    for tax in party.findall("cac:PartyTaxScheme", NS):
        scheme_id = (_text(tax.find("cac:TaxScheme/cbc:ID", NS)) or "").upper()
        add("vat" if scheme_id == VAT_SCHEME else "tax", tax.find("cbc:CompanyID", NS))
    trading = _text(party.find("cac:PartyName/cbc:Name", NS))
    if trading:
        reading.found.append(terms["trading"])
        reading.name = reading.name or trading
    return reading


def _uscc(reading: PartyReading) -> str | None:
    """A USCC among the identifiers: a valid one under any scheme (the check character makes a
    chance match unlikely), or one meant as a USCC (18 characters with a Chinese address or a
    CN prefix), so a mistyped code is refused by name rather than kept as another scheme's id."""
    meant: str | None = None
    chinese_address = (reading.country or "").upper() == "CN"
    for c in reading.candidates:
        prefixed = c.ident.upper().startswith("CN") and len(c.ident) == 20
        bare = c.ident[2:] if prefixed else c.ident
        if len(bare) != 18:
            continue
        if is_valid_uscc(bare):
            return bare
        if meant is None and (prefixed or chinese_address):
            meant = bare
    return meant


def _choose(reading: PartyReading) -> None:
    uscc = _uscc(reading)
    if uscc is not None:
        reading.global_id, reading.used = uscc, "USCC"
        return
    for kind in ("endpoint", "legal", "vat", "party"):
        for c in reading.candidates:
            if c.kind != kind or len(c.ident) > MAX_FOREIGN_ID_LENGTH:
                continue
            scheme = VAT_SCHEME if kind == "vat" else c.scheme
            if kind == "vat":
                candidate = foreign_party(VAT_SCHEME, _vat_number(c.ident))
            elif scheme in KNOWN_SCHEMES:
                candidate = foreign_party(scheme, c.ident)
            else:
                continue
            if is_global(candidate) and SCOPE_SEPARATOR not in candidate:
                reading.global_id, reading.used = candidate, c.term
                return
    for kind in ("party", "legal", "endpoint"):
        for c in reading.candidates:
            if c.kind == kind and (c.scheme is None or c.scheme not in KNOWN_SCHEMES):
                reading.local = c
                return


def read_parties(seller: Element | None, buyer: Element | None) -> dict[str, PartyReading]:
    """Both parties read, each with its id chosen where it names itself."""
    out: dict[str, PartyReading] = {}
    for role, el in (("seller", seller), ("buyer", buyer)):
        reading = _collect(el, role) if el is not None else PartyReading(role)
        _choose(reading)
        out[role] = reading
    return out


def party_ids(readings: dict[str, PartyReading]) -> dict[str, str | list[str]]:
    """seller_id and buyer_id (the scoped forms anchored on the other party), or the problems.

    Returns {"seller": id or [problem], "buyer": id or [problem]}.
    """
    result: dict[str, str | list[str]] = {}
    for role, other in (("seller", "buyer"), ("buyer", "seller")):
        r, anchor = readings[role], readings[other].global_id
        if r.global_id is not None:
            result[role] = r.global_id
            continue
        terms = TERMS[role]
        found = ", ".join(sorted(set(r.found))) or "nothing"
        if anchor is None and (r.local is not None or r.name):
            result[role] = [
                f"the {role} has no identifier that names it on its own (found: {found}) and "
                f"the {other} has none either, so neither can be scoped to the other: give "
                f"the {role}'s VAT id ({terms['vat']}), legal registration ({terms['legal']}) "
                f"or electronic address ({terms['endpoint']})"
            ]
            continue
        if r.local is not None and anchor is not None:
            r.used = r.local.term
            result[role] = scoped_party(LOCAL_SCHEME, anchor, r.local.ident)
            continue
        if role == "seller":
            result[role] = [
                "BR-CO-26: the seller needs a party identifier (BT-29), a legal registration "
                f"(BT-30) or a VAT identifier (BT-31); found: {found}"
            ]
            continue
        name = _clean_name(r.name) if r.name else ""
        if name and anchor is not None:
            r.used = terms["name"] if terms["name"] in r.found else terms["trading"]
            result[role] = scoped_party(UNIDENTIFIED_SCHEME, anchor, name)
            continue
        result[role] = [
            f"the {role} has no identifier and no name (found: {found}): EN 16931 requires at "
            f"least the name ({terms['name']})"
        ]
    return result


def terms_summary(readings: dict[str, PartyReading]) -> dict[str, dict[str, object]]:
    """Per role: the business terms found and the one used, for the batch result."""
    return {
        role: {"found": sorted(set(r.found)), "used": r.used}
        for role, r in readings.items()
    }
