"""What the CSV, JSON and Parquet readers share: the raw table, header mapping and decoding.

The readers only decode and name columns; every value check lives in `store.validate`, so a
cell is judged the same whichever format brought it. Cells stay text ("NA" is a string, not a
missing value), because guessing types here would turn "0012" into 12 and 1234.50 into a float.
Every problem with the file itself comes back as a RowError with row 0, never as a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from store.errors import RowError
from store.records import RecordKind

_SPACES = re.compile(r"[\s\u3000]+")
# The widest record kind has 15 fields; a header of thousands of columns is an attack or the
# wrong file, refused before pandas builds a frame of them.
MAX_COLUMNS = 256


@dataclass
class RawTable:
    """Cells by field name (text, or date objects where the format carries real dates)."""

    frame: pd.DataFrame
    rows: np.ndarray  # the row number a person sees, per frame row
    errors: list[RowError] = field(default_factory=list)
    encoding: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def empty_table(errors: list[RowError], encoding: str | None = None) -> RawTable:
    return RawTable(pd.DataFrame(), np.zeros(0, dtype=np.int64), errors, encoding)


def blank_file(data: bytes) -> bool:
    """Only whitespace (or a lone BOM)? Looks at the start first to spare copying big files."""
    ws = b" \t\r\n\xef\xbb\xbf"
    return not data[:4096].strip(ws) and not data.strip(ws)


def file_error(message: str) -> RawTable:
    return empty_table([RowError(0, None, message)])


def _norm(header: str) -> str:
    return _SPACES.sub("", header).lower().replace("-", "").replace("_", "")


def header_lookup(kind: RecordKind) -> dict[str, str]:
    """Normalised header text -> field name, from field names and their (Chinese) aliases."""
    table: dict[str, str] = {}
    for f in kind.fields:
        for name in (f.name, *f.aliases):
            table.setdefault(_norm(name), f.name)
    return table


_HEADERS_LISTED = 20
_HEADER_SHOWN = 60


def _short(header: str) -> str:
    return header if len(header) <= _HEADER_SHOWN else f"{header[:_HEADER_SHOWN]}…"


def map_headers(
    kind: RecordKind, headers: Iterable[str]
) -> tuple[list[str | None], list[RowError]]:
    """Field name per header (None for an empty header), and every header problem at once."""
    lookup = header_lookup(kind)
    fields: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    errors: list[RowError] = []
    for h in headers:
        text = "" if h is None else str(h)
        if _norm(text) == "":
            fields.append(None)
            continue
        name = lookup.get(_norm(text))
        if name is None:
            unknown.append(text)
            fields.append(None)
            continue
        if name in seen:
            errors.append(
                RowError(
                    0, name, f"columns {_short(seen[name])!r} and {_short(text)!r} both give "
                    f"{name}", _short(text),
                )
            )
        seen.setdefault(name, text)
        fields.append(name)
    if unknown:
        listed = ", ".join(repr(_short(u)) for u in unknown[:_HEADERS_LISTED])
        if len(unknown) > _HEADERS_LISTED:
            listed += f" and {len(unknown) - _HEADERS_LISTED} more"
        errors.append(
            RowError(
                0,
                None,
                f"unknown column(s) for {kind.name}: {listed}; expected: {', '.join(kind.names)}",
                ", ".join(_short(u) for u in unknown[:_HEADERS_LISTED]),
            )
        )
    missing = [f.name for f in kind.fields if f.required and f.name not in seen]
    if missing:
        errors.append(
            RowError(0, None, f"missing required column(s) for {kind.name}: {', '.join(missing)}")
        )
    return fields, errors


def decode(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(text, encoding, problem): UTF-8 (with or without BOM) first, then GB18030.

    Excel in China saves "CSV" as GB18030 (its ANSI code page); anything that is neither is
    refused rather than guessed, since a wrong guess silently garbles firm names.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, None, "the file is UTF-16; save it as UTF-8 (or GB18030) and upload again"
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        return None, None, f"the file contains NUL bytes (line {line}); is it a binary file?"
    try:
        return data.decode("utf-8-sig"), "utf-8", None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030", None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return (
            None,
            None,
            f"the file is neither UTF-8 nor GB18030 (undecodable bytes on line {line})",
        )
