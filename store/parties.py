"""Party ids: a Chinese USCC, or a foreign party written `<scheme>:<id>` (DESIGN.md §7).

A firm id is the key of the graph, so a mistyped one would invent a phantom firm. Chinese ids
carry a checksum (GB 32100-2015) and are verified; foreign ids have no common checksum, so only
their form is checked: a scheme the Peppol network or ISO 6523 knows, and an id a system can
store, match and show without it turning into a spreadsheet formula or hiding characters.

EN 16931 invoices from outside Peppol may name a party by an identifier without a scheme, or by
name alone. Such an identifier means something only to the document's other party, so it is kept
scoped to that party (`LOCAL:<anchor>~<id>`, `NAME:<anchor>~<name>`, the anchor being the other
party's global id): the same customer number from two issuers stays two parties. A party known by
name alone is unidentified: kept, never merged across issuers, and never evidence of a trade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from store.text import identifier_problem, identifier_problems
from store.uscc import uscc_problem, valid_uscc_mask

# Peppol Electronic Address Scheme (EAS) codes, as published in the Peppol BIS Billing 3.0 code
# list "EAS" (https://docs.peppol.eu/poacc/billing/3.0/codelist/eas/, CEF EAS code list v13,
# mirrored in the EN 16931 "Registry of supporting artefacts"), with the codes added since
# (0154, 0158, 0177, 0225, 0235, 0240, 0244) as the ZUGFeRD 2.4 / Factur-X code lists carry them
# (EAS list of the EN 16931 code lists, packaged in github.com/hydrogen602/zugferd-code-lists,
# src/zugferd_2_4/eas.rs).
_EAS_CODE_LIST = """
    0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177
    0183 0184 0188 0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205
    0208 0209 0210 0211 0212 0213 0215 0216 0217 0218 0221 0225 0230 0235 0240 0244
    9901 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931
    9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949
    9950 9951 9952 9953 9957 9959
    AN AQ AS AU EM
"""
# Retired in favour of ICD codes (v13 remarks "Replaces ..."), and the Peppol participant
# schemes removed since (Peppol code list "Participant identifier schemes" v8.7): still seen in
# archived files.
_RETIRED_EAS_CODES = "9902 9904 9905 9906 9907 9908 9909 9912 9916 9917 9921 9954 9955 9956 9958"
EAS_SCHEMES: frozenset[str] = frozenset(_EAS_CODE_LIST.split() + _RETIRED_EAS_CODES.split())
# ISO/IEC 6523 International Code Designators, the scheme of a legal registration (BT-30,
# BT-47) or a party identifier (BT-29, BT-46) in EN 16931. The ICD code list of the EN 16931
# code lists (ZUGFeRD 2.4, src/zugferd_2_4/icd.rs of the package above) runs from 0002 to 0244
# without 0092, 0103, 0181 and 0182. No ICD or EAS code exists for China's USCC: a USCC is
# recognised by its form and check character wherever it is written (store.parsers.ubl_parties).
ICD_SCHEMES: frozenset[str] = frozenset(
    f"{i:04d}" for i in range(2, 245) if i not in (92, 103, 181, 182)
)
# A VAT number without an EAS code (DESIGN.md §7: "else `VAT:<vat id>`").
VAT_SCHEME = "VAT"
KNOWN_SCHEMES: frozenset[str] = EAS_SCHEMES | ICD_SCHEMES | {VAT_SCHEME}
# Identifiers that mean something only next to another party (the anchor).
LOCAL_SCHEME = "LOCAL"  # a party identifier without a scheme, scoped to the other party
UNIDENTIFIED_SCHEME = "NAME"  # a party known by name alone: never evidence
SCOPED_SCHEMES = frozenset({LOCAL_SCHEME, UNIDENTIFIED_SCHEME})
SCOPE_SEPARATOR = "~"
MAX_FOREIGN_ID_LENGTH = 100
MAX_NAME_LENGTH = 200
MAX_PARTY_ID_LENGTH = 330  # NAME: + the longest anchor + ~ + the longest name


def foreign_party(scheme: str, ident: str) -> str:
    """The canonical `<scheme>:<id>` form; the caller checks it with `party_problem`."""
    return f"{scheme.strip()}:{ident.strip()}"


def scoped_party(scheme: str, anchor: str, ident: str) -> str:
    """`LOCAL:<anchor>~<id>` or `NAME:<anchor>~<name>`; checked with `party_problem`."""
    return f"{scheme}:{anchor}{SCOPE_SEPARATOR}{ident}"


def is_global(value: str) -> bool:
    """A party id that names the party on its own (a USCC or `<scheme>:<id>`), not scoped."""
    return party_problem(value) is None and value.partition(":")[0] not in SCOPED_SCHEMES


def split_scoped(value: str) -> tuple[str, str, str] | None:
    """(scheme, anchor, local id or name) of a scoped party id, None for any other id."""
    scheme, sep, rest = value.partition(":")
    if not sep or scheme not in SCOPED_SCHEMES:
        return None
    anchor, sep, ident = rest.partition(SCOPE_SEPARATOR)
    return (scheme, anchor, ident) if sep else None


def _scoped_problem(value: str) -> str:
    parts = split_scoped(value)
    scheme = value.partition(":")[0]
    if parts is None:
        return f"a {scheme} party is written {scheme}:<other party's id>~<id or name>"
    _, anchor, ident = parts
    if not is_global(anchor):
        return (
            f"the party {anchor!r} that a {scheme} id is scoped to must be a USCC or "
            "<scheme>:<id>"
        )
    if not ident.strip():
        return f"the {'name' if scheme == UNIDENTIFIED_SCHEME else 'id'} after ~ is empty"
    if scheme == LOCAL_SCHEME:
        if len(ident) > MAX_FOREIGN_ID_LENGTH:
            return f"a party identifier has at most {MAX_FOREIGN_ID_LENGTH} characters"
        if any(c.isspace() for c in ident):
            return "a party identifier may not contain spaces"
        return identifier_problem(ident, "a party identifier") or ""
    if len(ident) > MAX_NAME_LENGTH:
        return f"a name has at most {MAX_NAME_LENGTH} characters, this one has {len(ident)}"
    if ident != ident.strip() or "  " in ident:
        return "a name in a party id has single spaces between words and none at the ends"
    return identifier_problem(ident, "a name in a party id") or ""


def _foreign_problem(value: str) -> str | None:
    scheme, _, ident = value.partition(":")
    if scheme in SCOPED_SCHEMES:
        return _scoped_problem(value) or None
    if scheme not in KNOWN_SCHEMES:
        return (
            f"scheme {scheme!r} is not a Peppol EAS code nor an ISO 6523 ICD (e.g. 0088, "
            "0192, 9930) nor 'VAT'; a foreign party is written <scheme>:<id>"
        )
    if not ident:
        return f"the id after {scheme!r}: is empty"
    if any(c.isspace() for c in ident):
        return "a foreign party id may not contain spaces"
    if len(ident) > MAX_FOREIGN_ID_LENGTH:
        return f"a foreign party id has at most {MAX_FOREIGN_ID_LENGTH} characters, this one has {len(ident)}"
    return identifier_problem(ident, "a foreign party id")


def party_problem(value: str) -> str | None:
    """Why `value` is not a usable party id, in words a person understands; None when it is."""
    if not value:
        return "the party id is empty"
    if len(value) > MAX_PARTY_ID_LENGTH:
        return f"a party id has at most {MAX_PARTY_ID_LENGTH} characters, this one has {len(value)}"
    if ":" in value:
        return _foreign_problem(value)
    problem = uscc_problem(value)
    if problem is None:
        return None
    return f"not a valid USCC: {problem}"


def _as_arrow(values: pd.Series) -> pa.Array:
    """The column as one Arrow string array (nulls where absent): pandas' `str` columns are
    Arrow already, and Arrow hands out the raw bytes the check below works on without copying."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed column (numbers among strings, as a spreadsheet may give): stringify once.
        as_text = [None if v is None or v is pd.NA or v != v else str(v) for v in values]
        arr = pa.array(as_text, type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def party_problems(values: pd.Series) -> pd.Series:
    """`party_problem` over a whole column, aligned with its index: None where the id is valid.

    Absent values (None/NaN) give None too: whether a field is required is the validator's
    question, not this one's. Valid USCCs, the bulk of any upload, are decided in one vectorised
    pass over the bytes; words are composed only for the ids that fail.
    """
    arr = _as_arrow(values)
    missing = arr.is_null().to_numpy(zero_copy_only=False)
    ok = valid_uscc_mask(arr) | missing
    out = np.full(len(arr), None, dtype=object)
    rest = np.flatnonzero(~ok)
    if rest.size:
        text = arr.take(pa.array(rest)).to_pylist()
        sub = pd.Series(text, dtype=object)
        parts = sub.str.partition(":")
        scheme, sep, ident = parts[0], parts[1], parts[2]
        lengths = ident.str.len()
        foreign_ok = (
            (sep == ":")
            & scheme.isin(KNOWN_SCHEMES)
            & (lengths > 0)
            & (lengths <= MAX_FOREIGN_ID_LENGTH)
            & ~ident.str.contains(r"\s", regex=True)
        ).to_numpy(dtype=bool, copy=True)
        if foreign_ok.any():
            unsafe = identifier_problems(ident[foreign_ok].astype(str))
            foreign_ok[np.flatnonzero(foreign_ok)[pd.notna(unsafe)]] = False
        bad = np.flatnonzero(~foreign_ok)
        out[rest[bad]] = [party_problem(text[i]) for i in bad]
    return pd.Series(out, index=values.index, dtype=object, name=values.name)
