"""JSON bytes (an array of objects) -> a raw table; also the shared dict -> table step.

Numbers are read as Decimal, so money stays exact and a 5,000-digit integer is a value to refuse
rather than a ValueError; XML readers hand their records to `records_to_raw` too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from store.errors import ErrorList, RowError
from store.parsers.tabular import (
    MAX_COLUMNS,
    RawTable,
    blank_file,
    decode,
    empty_table,
    file_error,
    map_headers,
)
from store.records import RecordKind

_EXPONENT_SHOWN = 30
# A \uD800-\uDFFF escape on its own decodes to a lone surrogate, which is not text: it cannot
# be encoded, stored or even put in an error message. Looked for only when the raw text has one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_MESSAGE = (
    "contains an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape on its own), "
    "which is not text"
)


@dataclass(frozen=True)
class _Refused:
    """A value that cannot be a cell (a list or object, broken text): reported by field."""

    message: str


def _json_cell(v: Any, surrogates: bool = False) -> Any:
    """A JSON value as cell text; dates stay objects, nested values become a marker."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        if not v.is_finite():
            return "NaN"
        # 1e308 written out is 309 digits (1e999999999, a gigabyte): far-out numbers keep their
        # exponent form, which every field refuses with a message saying why.
        if -_EXPONENT_SHOWN <= v.adjusted() <= _EXPONENT_SHOWN:
            return format(v, "f")
        return re.sub(r"\.?0+E", "E", format(v, ".6E"))
    if isinstance(v, str):
        return _Refused(SURROGATE_MESSAGE) if surrogates and _LONE_SURROGATE.search(v) else v
    if isinstance(v, (date, datetime)):
        return v
    if isinstance(v, (int, float)):
        return str(v)
    return _Refused(f"expected a single value, got a {type(v).__name__}")


def _keys(records: list[Any], numbers: np.ndarray, surrogates: bool
          ) -> tuple[list[str], ErrorList, bool]:
    """Every key in first-seen order, the elements that are not objects, and whether there
    were more keys than any record kind could use (then the list stops there)."""
    keys: list[str] = []
    seen: set[str] = set()
    not_objects = ErrorList()
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            not_objects.add(
                RowError(int(numbers[i]), None, "each element must be an object of field: value")
            )
            continue
        for k in rec:
            if k not in seen:
                seen.add(k)
                keys.append(k)
                if len(keys) > MAX_COLUMNS:
                    return keys, not_objects, True
    return keys, not_objects, False


def records_to_raw(
    kind: RecordKind,
    records: list[Any],
    *,
    first_row: int = 1,
    rows: np.ndarray | None = None,
    surrogates: bool = False,
) -> RawTable:
    """A list of dicts (JSON objects, XML documents) -> RawTable, row = first_row + index
    unless `rows` gives each record's number (XML documents after unreadable ones).
    `surrogates`: the text may hold lone surrogates, look for them in every value."""
    numbers = (
        np.arange(first_row, first_row + len(records), dtype=np.int64)
        if rows is None
        else np.asarray(rows, dtype=np.int64)
    )
    keys, not_objects, too_many = _keys(records, numbers, surrogates)
    if too_many:
        return empty_table([RowError(
            0, None, f"the records have more than {MAX_COLUMNS} different fields; a "
            f"{kind.name} record has {len(kind.fields)}: {', '.join(kind.names)}",
        )])
    errors: list[RowError] = not_objects.result()
    shown = [_LONE_SURROGATE.sub("\ufffd", k) for k in keys] if surrogates else keys
    names, header_errors = map_headers(kind, shown)
    errors.extend(header_errors)
    if errors:
        return empty_table(errors)
    if not records:
        return empty_table([RowError(0, None, "the array is empty: no records")])
    refused = ErrorList()
    cols: dict[str, list[Any]] = {}
    for key, name in zip(keys, names, strict=True):
        if name is None:
            continue
        values = [_json_cell(rec.get(key), surrogates) for rec in records]
        for i, v in enumerate(values):
            if isinstance(v, _Refused):
                refused.add(RowError(int(numbers[i]), name, v.message))
                values[i] = ""
        cols[name] = values
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    return RawTable(frame, numbers, refused.result())


def _json_int(digits: str) -> int | Decimal:
    """Short integers as int (small ones are shared objects: a million zeros cost nothing);
    long ones as Decimal, since int() refuses more than 4,300 digits with a ValueError."""
    return int(digits) if len(digits) <= 18 else Decimal(digits)


def read_json(kind: RecordKind, data: bytes) -> RawTable:
    """A top-level JSON array of objects; numbers are read as Decimal so money stays exact."""
    if blank_file(data):
        return file_error("the file is empty")
    text, encoding, problem = decode(data)
    if problem or text is None:
        return file_error(problem or "the file could not be decoded")
    try:
        doc = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_json_int,
            parse_constant=lambda name: "NaN" if name == "NaN" else name,
        )
    except json.JSONDecodeError as exc:
        return file_error(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        return file_error("not valid JSON: nested too deeply")
    if not isinstance(doc, list):
        return file_error("the JSON must be an array of objects, one per record")
    table = records_to_raw(
        kind, doc, first_row=1, surrogates=_SURROGATE_ESCAPE.search(text) is not None
    )
    table.encoding = encoding
    return table
