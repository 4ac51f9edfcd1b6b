"""Which characters a stored text may hold, and which make it unsafe as an id or in a spreadsheet.

A line break, tab or NUL inside an id or a purpose breaks the CSV a bank exports, the log line an
operator reads, and PostgreSQL (which cannot store NUL): they are refused wherever text enters,
with one definition, here.

Ids have two more rules. A cell that starts with `=`, `+`, `-` or `@` is run as a formula by
Excel, LibreOffice and Google Sheets when a loan officer opens a CSV export (CSV or formula
injection, as OWASP describes it; tab and carriage return are listed there too, and a leading
blank before a trigger does not help everywhere). And invisible characters (Unicode direction
overrides such as U+202E, zero-width spaces, other format and control characters) make two
different ids look the same, or one id read backwards, to the person checking them. Document
ids and foreign party ids are refused at the door when they carry either (`identifier_problems`);
names may legitimately hold them and are neutralised where a CSV is written instead
(store.spreadsheet).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# C0 controls and DEL.
CONTROL_PATTERN = r"[\x00-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_PATTERN)
CONTROL_MESSAGE = "contains control characters (line breaks, tabs, NUL)"


def has_control(text: str) -> bool:
    """Does `text` contain a control character?"""
    return _CONTROL.search(text) is not None


# The formula triggers, and their full-width forms (a precaution for spreadsheets that fold
# full-width input, as East Asian input methods produce it).
FORMULA_LEADS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# General categories that no visible identifier needs: control (Cc), format (Cf: direction
# marks and overrides, zero-width characters, the BOM), private use (Co), surrogates (Cs),
# line and paragraph separators (Zl, Zp). Unassigned code points are let through: what is
# unassigned changes with every Unicode version.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
INVISIBLE_RE = r"[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]"
_LEAD_SET = pa.array(list(FORMULA_LEADS), type=pa.string())


def first_invisible(text: str) -> str | None:
    """The first invisible or control character of `text`, None when there is none."""
    for ch in text:
        if unicodedata.category(ch) in INVISIBLE_CATEGORIES:
            return ch
    return None


def describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def identifier_problem(text: str, what: str = "an id") -> str | None:
    """Why `text` cannot be an identifier (formula lead, invisible character), None if it can."""
    if text and text[0] in FORMULA_LEADS:
        return (
            f"{what} may not start with {text[0]!r}: a spreadsheet would run it as a formula "
            "(= + - @ are refused at the start)"
        )
    ch = first_invisible(text)
    if ch is not None:
        return (
            f"{what} contains an invisible or control character ({describe(ch)}); "
            "ids must be visible text"
        )
    return None


def _non_ascii(arr: pa.Array) -> bool:
    """Any byte >= 0x80 in the column's data: only then can an invisible Unicode character be
    there (the ASCII ones are control bytes, which the caller has checked already)."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    if buf is None or not len(offsets):
        return False
    data = np.frombuffer(buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return bool((data >= 0x80).any())


def identifier_problems(text: pd.Series, what: str = "an id") -> np.ndarray:
    """`identifier_problem` over a column of text: a message per cell, None where it is fine.

    Whole-column Arrow kernels for the common case (a million clean ASCII ids cost one slice and
    one set lookup); words are composed only for the cells that fail.
    """
    n = len(text)
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out
    arr = pa.array(text.fillna(""), type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    lead = pc.is_in(pc.utf8_slice_codeunits(arr, 0, 1), value_set=_LEAD_SET)
    bad = lead.to_numpy(zero_copy_only=False)
    if _non_ascii(arr):
        hidden = pc.match_substring_regex(arr, INVISIBLE_RE).to_numpy(zero_copy_only=False)
        bad = bad | hidden
    idx = np.flatnonzero(bad)
    if idx.size:
        values = arr.take(pa.array(idx)).to_pylist()
        out[idx] = [identifier_problem(v, what) for v in values]
    return out
