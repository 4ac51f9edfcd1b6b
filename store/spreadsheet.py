"""CSV files a person opens in a spreadsheet: text neutralised so that no cell runs as a formula.

Names and other free text may legitimately start with `-` or `+` or hold right-to-left marks,
so they are stored as sent; what changes is how they are written where Excel or LibreOffice
will read them. The rule follows OWASP's advice on CSV injection: a text cell whose first
character (after any blanks or control characters) is a formula trigger gets a leading
apostrophe, which spreadsheets take as "this is text" and do not show; every text cell is
quoted, so a `;` or `,` inside it cannot start a new cell in a locale with another separator.
Invisible format and control characters (direction overrides, zero-width spaces) are replaced
by U+FFFD, so a reversed or disguised name is seen for what it is. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from store.text import FORMULA_LEADS, INVISIBLE_RE

REPLACEMENT = "\ufffd"
# Any blanks first (ASCII, no-break and ideographic spaces: some spreadsheets trim them).
_TRIGGER_RE = "^[\\s\\p{Z}\\x{00}-\\x{1f}\\x{7f}]*[" + re.escape("".join(FORMULA_LEADS)) + "]"


def _neutralise_arrow(arr: pa.Array) -> pa.Array:
    shown = pc.replace_substring_regex(arr, INVISIBLE_RE, REPLACEMENT)
    trigger = pc.fill_null(pc.match_substring_regex(shown, _TRIGGER_RE), False)
    quoted = pc.binary_join_element_wise(
        pa.scalar("'", type=shown.type), shown, pa.scalar("", type=shown.type)
    )
    return pc.if_else(trigger, quoted, shown)


def neutralise(text: str) -> str:
    """`text` as it may be written into a spreadsheet cell."""
    return str(_neutralise_arrow(pa.array([text], type=pa.string()))[0].as_py())


def neutralise_column(values: pd.Series) -> pd.Series:
    """Every text cell of a column neutralised; missing cells, numbers and dates untouched."""
    dtype = values.dtype
    if not pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return values
    texts = values.map(lambda v: isinstance(v, str) or v is None or v != v)
    if pd.api.types.is_object_dtype(dtype) and not texts.all():
        return values  # a column of lists or numbers held as objects: not text
    arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    out = _neutralise_arrow(arr).to_numpy(zero_copy_only=False)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def write_csv(frame: pd.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write (or append to) a CSV for people: neutralised text, every text cell quoted, UTF-8
    with a byte-order mark at the start of a new file so Excel reads Chinese names correctly."""
    safe = frame.apply(neutralise_column)
    safe.to_csv(
        path,
        index=False,
        mode="a" if append else "w",
        header=not append,
        quoting=csv.QUOTE_NONNUMERIC,
        encoding="utf-8" if append else "utf-8-sig",
    )
