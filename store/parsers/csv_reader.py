"""CSV bytes -> a raw table of cells named by record field, with spreadsheet row numbers.

Cells stay text ("NA" is a string, not a missing value), because guessing types here would
turn "0012" into 12. Line ends may be LF, CRLF or bare CR (Excel's "CSV (Macintosh)"); a
quoted cell with line breaks is one spreadsheet row. Every problem with the file itself comes
back as a RowError with row 0 (or the row it is on), never as a traceback.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa

from store.errors import RowError
from store.parsers.tabular import (
    MAX_COLUMNS,
    RawTable,
    blank_file,
    decode,
    empty_table,
    file_error,
    map_headers,
)
from store.records import FieldType, RecordKind

_EOF_RE = re.compile(r"EOF inside string starting at row (\d+)")


def count_cells(record: bytes, chunk: int = 1 << 20) -> int:
    """Cells in one CSV record: commas outside quotes, plus one. Python's csv module would do,
    but it refuses any field over 128 KiB ("field larger than field limit"), and a one-megabyte
    cell deserves a message naming its row and field, not a traceback. Quotes are followed a
    megabyte at a time, so a header line of 30 MB costs a few megabytes, not hundreds."""
    if b'"' not in record:
        return record.count(b",") + 1
    inside = False
    commas = 0
    for start in range(0, len(record), chunk):
        b = np.frombuffer(record, dtype=np.uint8, count=min(chunk, len(record) - start),
                          offset=start)
        parity = (np.cumsum(b == ord('"'), dtype=np.int64) + inside) % 2
        commas += int(np.count_nonzero((b == ord(",")) & (parity == 0)))
        inside = bool(parity[-1])
    return commas + 1


def _unix_line_ends(data: bytes) -> bytes:
    """Bare CR line ends (what Excel's "CSV (Macintosh)" writes) as LF; CRLF stays."""
    cr = data.count(b"\r")
    if cr == 0 or cr == data.count(b"\r\n"):
        return data
    return re.sub(rb"\r(?!\n)", b"\n", data)


def _fast_cells(data: bytes) -> pd.DataFrame | None:
    """Every cell as text through pyarrow's multi-threaded reader, or None when the file needs
    the careful reader: blank lines inside (pyarrow drops them, shifting row numbers), an odd
    number of quote characters (pyarrow would read an unterminated quote to the end of the
    file without complaint), ragged rows, or a field larger than a parse block."""
    import pyarrow.csv as pcsv

    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    if data.find(b"\n\n", 0, end) >= 0 or data.find(b"\n\r\n", 0, end) >= 0:
        return None
    if data.count(b'"') % 2:
        return None
    first = data[: data.find(b"\n")] if b"\n" in data[:1_000_000] else data[:1_000_000]
    width = count_cells(first.rstrip(b"\r"))
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width + 1)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    return table.to_pandas()


# The fewest characters a cell of each type can have when valid (others: 1).
_MIN_CELL = {FieldType.PARTY: 5, FieldType.DATE: 10, FieldType.CURRENCY: 3, FieldType.REGION: 6}
# Files with fewer lines than this are read whatever their lines hold.
_DENSE_LINES = 10_000


def min_record_bytes(kind: RecordKind) -> int:
    """The shortest line a valid record of `kind` can be: its required cells at their
    shortest, and the commas between them."""
    required = [f for f in kind.fields if f.required]
    widths = [
        min(map(len, f.choices)) if f.choices else _MIN_CELL.get(f.type, 1) for f in required
    ]
    return sum(widths) + len(required) - 1


def _record_breaks(utf8: bytes, chunk: int = 1 << 20) -> int:
    """Line breaks outside quoted cells, counted a megabyte at a time (the quote parity carried
    from one chunk to the next), so memory stays flat whatever the file size."""
    inside = False
    count = 0
    for start in range(0, len(utf8), chunk):
        b = np.frombuffer(utf8, dtype=np.uint8, count=min(chunk, len(utf8) - start), offset=start)
        parity = (np.cumsum(b == ord('"'), dtype=np.int64) + inside) % 2
        count += int(np.count_nonzero((b == ord("\n")) & (parity == 0)))
        inside = bool(parity[-1]) if b.size else inside
    return count


def _too_wide(kind: RecordKind, utf8: bytes) -> str | None:
    """Why the header cannot be read, when it has more columns than any record kind could use."""
    header_end = utf8.find(b"\n")
    columns = count_cells(utf8[: header_end if header_end >= 0 else len(utf8)].rstrip(b"\r"))
    if columns <= MAX_COLUMNS:
        return None
    return (
        f"the header has {columns:,} columns; a {kind.name} file has {len(kind.fields)} "
        f"fields, and at most {MAX_COLUMNS} columns are read"
    )


def _too_dense(kind: RecordKind, utf8: bytes) -> str | None:
    """Why the file cannot be read as records, when it has far more lines than its size allows.

    Memory and time follow the number of rows, not of bytes: four megabytes of "x" lines are two
    million rows, each with every required field missing. A file whose lines average less than
    half the shortest valid record is mostly not records (blank lines, a wrong file), and is
    refused before it is parsed.
    """
    lines = utf8.count(b"\n") + 1
    shortest = min_record_bytes(kind)
    if lines <= _DENSE_LINES or len(utf8) / lines >= shortest / 2:
        return None
    if b'"' in utf8:  # line breaks inside quoted cells do not start records
        lines = _record_breaks(utf8) + 1
        if lines <= _DENSE_LINES or len(utf8) / lines >= shortest / 2:
            return None
    return (
        f"the file has {lines:,} lines in {len(utf8):,} bytes ({len(utf8) / lines:.1f} bytes a "
        f"line); a {kind.name} record takes at least {shortest} characters, so most lines "
        "cannot be records: remove blank lines, or check that this is the right file"
    )


def read_csv(kind: RecordKind, data: bytes) -> RawTable:
    """Read CSV bytes; rows are spreadsheet rows (header = 1), blank lines keep their number.

    A quoted cell with line breaks is one spreadsheet row, as Excel shows it, so the records
    after it keep the row numbers a person sees when they open the file.
    """
    if blank_file(data):
        return file_error("the file is empty")
    text, encoding, problem = decode(data)
    if problem or text is None:
        return file_error(problem or "the file could not be decoded")
    utf8 = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if encoding != "utf-8":
        utf8 = text.encode("utf-8")
    del text
    utf8 = _unix_line_ends(utf8)
    refused = _too_wide(kind, utf8) or _too_dense(kind, utf8)
    if refused is not None:
        return file_error(refused)
    cells = _fast_cells(utf8)
    if cells is None:
        try:
            cells = pd.read_csv(
                io.BytesIO(utf8),
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
        except pd.errors.ParserError as exc:
            msg = str(exc)
            eof = _EOF_RE.search(msg)
            if eof:
                return empty_table(
                    [
                        RowError(
                            int(eof.group(1)) + 1,
                            None,
                            "the file ends inside a quoted cell (an unterminated quote): "
                            "the file is truncated or a quote is not closed",
                        )
                    ],
                    encoding,
                )
            detail = msg.split("C error:")[-1].strip()
            return empty_table([RowError(0, None, f"the CSV could not be read: {detail}")], encoding)
        except (pd.errors.EmptyDataError, ValueError, OverflowError) as exc:
            return empty_table([RowError(0, None, f"the CSV could not be read: {exc}")], encoding)

    header = [str(h) for h in cells.iloc[0].tolist()]
    body = cells.iloc[1:].reset_index(drop=True)
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    names, errors = map_headers(kind, header)
    if errors:
        return empty_table(errors, encoding)
    if len(body) == 0:
        return empty_table([RowError(0, None, "the file has a header but no data rows")], encoding)
    table = _assemble(body, names, rows, encoding)
    width = _last_record_width(utf8)
    if table.frame.shape[0] and width is not None and width < len(header):
        # Quotes balance, so neither reader complains, but the last record stops short: the
        # file was cut mid-row (an interrupted download or copy). Its values cannot be trusted.
        table.errors.insert(
            0,
            RowError(
                int(table.rows[-1]),
                None,
                f"the last row has {width} of the {len(header)} columns: the file looks cut off "
                "in the middle of this row (truncated); send the complete file",
            ),
        )
    return table


def _last_record_width(utf8: bytes) -> int | None:
    """Number of cells in the file's last record, read from the tail only.

    The record starts after the last line break that is outside quotes (the parity of the quote
    characters after a break tells), so a last cell with a quoted line break is read whole.
    """
    end = len(utf8)
    while end and utf8[end - 1] in b"\r\n":
        end -= 1
    if end == 0:
        return None
    tail_quotes_odd = False
    start = end
    while True:
        nl = utf8.rfind(b"\n", 0, start)
        tail_quotes_odd ^= utf8.count(b'"', nl + 1, start) % 2 == 1
        start = nl + 1
        if nl < 0 or not tail_quotes_odd:
            break
        start = nl
    return count_cells(utf8[max(start, 0) : end])


def _assemble(
    body: pd.DataFrame,
    names: list[str | None],
    rows: np.ndarray,
    encoding: str | None,
) -> RawTable:
    """Keep the named columns, drop fully blank rows (keeping the others' numbers)."""
    cols: dict[str, pd.Series] = {}
    errors: list[RowError] = []
    for pos, name in enumerate(names):
        col = body.iloc[:, pos]
        if name is None:
            if col.fillna("").astype(str).str.strip().ne("").any():
                errors.append(RowError(0, None, f"column {pos + 1} has values but no header", None))
            continue
        cols[name] = col
    if errors:
        return empty_table(errors, encoding)
    frame = pd.DataFrame(cols)
    # Blank rows (",,,," or empty lines): test the first column on all rows, the rest only on
    # the few rows that could still be blank.
    candidates = np.arange(len(frame))
    for name in frame.columns:
        col = frame[name].iloc[candidates]
        empty = col.fillna("").astype(str).str.strip().eq("").to_numpy(dtype=bool)
        candidates = candidates[empty]
        if candidates.size == 0:
            break
    keep = np.ones(len(frame), dtype=bool)
    keep[candidates] = False
    if not keep.any():
        return empty_table([RowError(0, None, "the file has a header but no data rows")], encoding)
    frame = frame.loc[keep].reset_index(drop=True)
    return RawTable(frame, rows[keep], [], encoding)
