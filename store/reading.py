"""From uploaded bytes or files on disk to validated uploads, whatever the format.

The API and `chaincredit load` both end here, so an invoice is judged by the same rules whether
it came as a CSV row, a JSON object, a Parquet row or an XML document.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from common.progress import Progress, report
from store.errors import MoreErrors, RowError, StoreError, limit_errors
from store.parsers.csv_reader import read_csv
from store.parsers.json_reader import read_json, records_to_raw
from store.parsers.parquet_reader import read_parquet
from store.parsers.tabular import RawTable
from store.records import INVOICES, KINDS, RecordKind, UnknownKindError, kind_named
from store.validate import validate_frame, validate_in_chunks

FORMATS = ("csv", "json", "parquet", "xml")
_CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "application/json": "json",
    "text/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}
_EXTENSIONS = {
    ".csv": "csv",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xml": "xml",
}



@dataclass
class ParsedUpload:
    """One upload after reading and validation; `errors` empty means it may be stored."""

    kind: RecordKind
    frame: pd.DataFrame
    errors: list[RowError]
    n_rows: int
    content_hash: str
    source: str
    format: str = field(default="")
    # XML invoices: per role, how many documents had each identifier business term ("found")
    # and which one named the party ("used"), e.g. {"buyer": {"used": {"BT-48": 3}, ...}}
    identifiers: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class UnknownFilesError(StoreError):
    """Files `read_paths` cannot place: no such path, or a name that is not a record kind."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "cannot read: "
            + "; ".join(problems)
            + f". Expected <kind>.csv|json|parquet with kind one of {', '.join(KINDS)}"
            " (kebab-case also), or XML invoices (*.xml)"
        )


def detect_format(
    data: bytes, *, filename: str | None = None, content_type: str | None = None
) -> str:
    """Content type first, then file extension, then a look at the first bytes."""
    if content_type:
        ct = content_type.split(";")[0].strip().lower()
        if ct in _CONTENT_TYPES:
            return _CONTENT_TYPES[ct]
    if filename:
        ext = Path(filename).suffix.lower()
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"[", b"{")):
        return "json"
    return "csv"


def _kind_from_filename(filename: str | None) -> RecordKind | None:
    if not filename:
        return None
    stem = Path(filename).name.split(".")[0]
    try:
        return kind_named(stem)
    except UnknownKindError:
        return None


def _validated(kind: RecordKind, table: RawTable) -> tuple[pd.DataFrame, list[RowError]]:
    if table.errors and table.frame.empty:
        return _empty_frame(kind), limit_errors(table.errors)
    frame, errors = validate_in_chunks(kind, table.frame, table.rows)
    return frame, _merge(table.errors, errors)


def _merge(first: list[RowError], second: list[RowError]) -> list[RowError]:
    """Both lists, without a second message for a (row, field) the first already reported,
    in row order, the first ERRORS_LISTED listed and the rest counted (store.errors)."""
    seen = {(e.row, e.field) for e in first}
    merged = list(first) + [
        e for e in second if isinstance(e, MoreErrors) or (e.row, e.field) not in seen
    ]
    return limit_errors(merged)


def _empty_frame(kind: RecordKind) -> pd.DataFrame:
    frame, _ = validate_frame(kind, pd.DataFrame(), np.zeros(0, dtype=np.int64))
    return frame


def _tally(found: dict[str, dict[str, dict[str, int]]], parties: dict[str, dict[str, object]]
           ) -> None:
    for role, info in parties.items():
        counts = found.setdefault(role, {"used": {}, "found": {}})
        used = info.get("used")
        if isinstance(used, str):
            counts["used"][used] = counts["used"].get(used, 0) + 1
        terms = info.get("found")
        for term in terms if isinstance(terms, list) else []:
            counts["found"][term] = counts["found"].get(term, 0) + 1


def _read_xml(
    documents: Sequence[bytes],
) -> tuple[pd.DataFrame, list[RowError], dict[str, dict[str, dict[str, int]]]]:
    """XML invoices, one row each (row = the document's number in the upload), and the tally of
    the party identifiers they used."""
    from store.parsers.xml_invoice import parse_invoice_xml

    records: list[dict[str, object]] = []
    rows: list[int] = []
    errors: list[RowError] = []
    identifiers: dict[str, dict[str, dict[str, int]]] = {}
    for i, data in enumerate(documents, start=1):
        parsed = parse_invoice_xml(data, row=i)
        errors.extend(parsed.errors)
        _tally(identifiers, parsed.parties)
        if parsed.record is not None:
            records.append(dict(parsed.record))
            rows.append(i)
    if not records:
        return _empty_frame(INVOICES), limit_errors(errors), identifiers
    table = records_to_raw(INVOICES, records, rows=np.asarray(rows, dtype=np.int64))
    if table.errors and table.frame.empty:
        return _empty_frame(INVOICES), _merge(errors, table.errors), identifiers
    frame, checked = validate_frame(INVOICES, table.frame, table.rows)
    return frame, _merge(errors, table.errors + checked), identifiers


def _sha256(chunks: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


# What a reader may raise on input nobody foresaw. Caught at the boundary so a caller gets a
# file-level error and the service no 500; logged, since each one is a reader bug to fix.
_UNFORESEEN = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError,
               pa.ArrowException)
UNFORESEEN_MESSAGE = "the file could not be read (an unforeseen {name}: {detail}); it has been logged"
log = logging.getLogger("chaincredit.store")


def _read_tabular(kind: RecordKind, reader: Callable[[RecordKind, bytes], RawTable], data: bytes
                  ) -> tuple[pd.DataFrame, list[RowError]]:
    return _validated(kind, reader(kind, data))


def _guarded(kind: RecordKind, source: str, read: Callable[[], tuple[pd.DataFrame, list[RowError]]]
             ) -> tuple[pd.DataFrame, list[RowError]]:
    try:
        return read()
    except _UNFORESEEN as exc:
        log.exception("reading %s as %s failed", source, kind.name)
        detail = str(exc)[:200]
        return _empty_frame(kind), [
            RowError(0, None, UNFORESEEN_MESSAGE.format(name=type(exc).__name__, detail=detail))
        ]


def read_upload(
    kind: str | None,
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
) -> ParsedUpload:
    """Read and validate one uploaded file. Bad input comes back as errors, never raised;
    only a kind that cannot be determined raises UnknownKindError (the caller's mistake)."""
    fmt = detect_format(data, filename=filename, content_type=content_type)
    source = filename or "upload"
    if kind is not None:
        rk = kind_named(kind)
    elif fmt == "xml":
        rk = INVOICES
    else:
        found = _kind_from_filename(filename)
        if found is None:
            raise UnknownKindError(
                f"cannot tell the record kind of {source!r}: name the kind "
                f"(one of {', '.join(KINDS)}) or the file <kind>.{fmt}"
            )
        rk = found
    digest = _sha256([data])
    if fmt == "xml":
        if rk.name != INVOICES.name:
            err = RowError(0, None, f"XML uploads are invoices, not {rk.name}")
            return ParsedUpload(rk, _empty_frame(rk), [err], 0, digest, source, fmt)
        identifiers: dict[str, dict[str, dict[str, int]]] = {}

        def xml() -> tuple[pd.DataFrame, list[RowError]]:
            frame, errors, found = _read_xml([data])
            identifiers.update(found)
            return frame, errors

        frame, errors = _guarded(rk, source, xml)
        return ParsedUpload(rk, frame, errors, len(frame), digest, source, fmt, identifiers)
    reader = {"csv": read_csv, "json": read_json, "parquet": read_parquet}[fmt]
    frame, errors = _guarded(rk, source, partial(_read_tabular, rk, reader, data))
    return ParsedUpload(rk, frame, errors, len(frame), digest, source, fmt)


def _expand(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            # A folder means the files directly in it: sub-folders are not descended into, so a
            # simulation's hidden `truth/` beside its record files is never loaded by accident.
            files.extend(
                sorted(c for c in p.iterdir() if c.is_file() and not c.name.startswith("."))
            )
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems


def read_paths(paths: Sequence[Path], *, progress: Progress | None = None) -> list[ParsedUpload]:
    """Files and folders -> one upload per tabular file and one for all XML invoices.

    Tabular files are placed by name (`credit-events.csv`, `invoices.parquet`); XML files by
    content. Every file that cannot be placed is named in one UnknownFilesError, before anything
    is read, so a typo in one name does not leave half a load behind.
    """
    files, problems = _expand([Path(p) for p in paths])
    tabular: list[tuple[Path, RecordKind, str]] = []
    xml_files: list[Path] = []
    for f in files:
        fmt = _EXTENSIONS.get(f.suffix.lower())
        if fmt == "xml":
            xml_files.append(f)
            continue
        rk = _kind_from_filename(f.name) if fmt else None
        if fmt is None or rk is None:
            problems.append(f"{f}: not a record file")
            continue
        tabular.append((f, rk, fmt))
    if problems:
        raise UnknownFilesError(problems)
    total = len(tabular) + len(xml_files)
    done = 0
    out: list[ParsedUpload] = []
    for f, rk, fmt in tabular:
        data = f.read_bytes()
        reader = {"csv": read_csv, "json": read_json, "parquet": read_parquet}[fmt]
        frame, errors = _guarded(rk, str(f), partial(_read_tabular, rk, reader, data))
        out.append(ParsedUpload(rk, frame, errors, len(frame), _sha256([data]), str(f), fmt))
        done += 1
        report(progress, f"reading: {f.name}", done, total)
    if xml_files:
        docs: list[bytes] = []
        for f in xml_files:
            docs.append(f.read_bytes())
            done += 1
            report(progress, f"reading: {f.name}", done, total)
        identifiers: dict[str, dict[str, dict[str, int]]] = {}

        def xml() -> tuple[pd.DataFrame, list[RowError]]:
            frame, errors, found = _read_xml(docs)
            identifiers.update(found)
            return frame, errors

        frame, errors = _guarded(INVOICES, "XML invoices", xml)
        source = str(xml_files[0]) if len(xml_files) == 1 else f"{len(xml_files)} XML invoices"
        out.append(ParsedUpload(INVOICES, frame, errors, len(frame), _sha256(docs), source, "xml",
                                identifiers))
    return out
