"""Party ids: a Chinese USCC, or a foreign party written `<scheme>:<id>` (DESIGN.md §7).

A firm id is the key of the graph, so a mistyped one would invent a phantom firm. Chinese ids
carry a checksum (GB 32100-2015) and are verified; foreign ids have no common checksum, so only
their form is checked: a scheme the Peppol network knows, and an id a system can store and match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from store.uscc import uscc_problem, valid_uscc_mask

# Peppol Electronic Address Scheme (EAS) codes, as published in the Peppol BIS Billing 3.0 code
# list "EAS" (https://docs.peppol.eu/poacc/billing/3.0/codelist/eas/, CEF EAS code list v13,
# mirrored in the EN 16931 "Registry of supporting artefacts"). Codes added after v13 are not
# known here yet: a document using one is rejected with a message naming the scheme.
_EAS_CODE_LIST = """
    0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0170 0183 0184 0188
    0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 0208 0209 0210
    0211 0212 0213 0215 0216 0217 0218 0221 0230
    9901 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931
    9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949
    9950 9951 9952 9953 9957 9959
    AN AQ AS AU EM
"""
# Retired in favour of ICD codes (v13 remarks "Replaces ..."); still seen in archived files.
_RETIRED_EAS_CODES = "9906 9907 9908 9917 9921 9954 9956 9958"
EAS_SCHEMES: frozenset[str] = frozenset(_EAS_CODE_LIST.split() + _RETIRED_EAS_CODES.split())
# A VAT number without an EAS code (DESIGN.md §7: "else `VAT:<vat id>`").
VAT_SCHEME = "VAT"
KNOWN_SCHEMES: frozenset[str] = EAS_SCHEMES | {VAT_SCHEME}
MAX_FOREIGN_ID_LENGTH = 100


def foreign_party(scheme: str, ident: str) -> str:
    """The canonical `<scheme>:<id>` form; the caller checks it with `party_problem`."""
    return f"{scheme.strip()}:{ident.strip()}"


def _foreign_problem(value: str) -> str | None:
    scheme, _, ident = value.partition(":")
    if scheme not in KNOWN_SCHEMES:
        return (
            f"scheme {scheme!r} is not a Peppol EAS code (e.g. 0088, 0192, 9930) nor 'VAT'; "
            "a foreign party is written <scheme>:<id>"
        )
    if not ident:
        return f"the id after {scheme!r}: is empty"
    if any(c.isspace() for c in ident):
        return "a foreign party id may not contain spaces"
    if len(ident) > MAX_FOREIGN_ID_LENGTH:
        return f"a foreign party id has at most {MAX_FOREIGN_ID_LENGTH} characters, this one has {len(ident)}"
    return None


def party_problem(value: str) -> str | None:
    """Why `value` is not a usable party id, in words a person understands; None when it is."""
    if not value:
        return "the party id is empty"
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
        ).to_numpy(dtype=bool)
        bad = np.flatnonzero(~foreign_ok)
        out[rest[bad]] = [party_problem(text[i]) for i in bad]
    return pd.Series(out, index=values.index, dtype=object, name=values.name)
