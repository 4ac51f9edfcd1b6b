"""Flow frames as of a date: what `graph/`, `models/` and training read (shared contract 1).

Point in time is enforced here, once: documents dated after T never leave the database, and with
`as_known_at` only versions received by then are seen, so a past score can be reproduced exactly
(DESIGN.md §3 "Point in time", §7 "Records"). Reads are whole-table queries streamed through
PostgreSQL's COPY TO (or pandas.read_sql on SQLite), typed once per column.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store.fx import to_cny
from store.records import DOCUMENT_KINDS, KINDS, FieldType, RecordKind
from store.tables import record_table

FLOW_KINDS: tuple[str, ...] = (
    "firms",
    "intangibles",
    "financials",
    "orders",
    "invoices",
    "shipments",
    "payments",
    "credit_events",
)


def _stored_name(f: Any) -> str:
    return f"{f.name}_minor" if f.type is FieldType.MONEY else f.name


def flow_columns(kind: RecordKind) -> list[str]:
    """Column names of a flow frame, in record order: money `x` gives `x_minor` then `x_cny`."""
    out: list[str] = []
    for f in kind.fields:
        out += [f"{f.name}_minor", f"{f.name}_cny"] if f.type is FieldType.MONEY else [f.name]
    return out


def _stored_columns(kind: RecordKind) -> list[str]:
    return [_stored_name(f) for f in kind.fields]


def _arrow_type(ftype: FieldType) -> pa.DataType:
    if ftype is FieldType.DATE:
        return pa.date32()
    if ftype in (FieldType.MONEY, FieldType.INT):
        return pa.int64()
    if ftype is FieldType.BOOL:
        return pa.bool_()
    if ftype is FieldType.DECIMAL:
        return pa.float64()
    return pa.string()


def _read_postgres(conn: sa.Connection, stmt: sa.Select[Any], kind: RecordKind) -> pd.DataFrame:
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.driver_connection
    assert raw is not None
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as cp:
        for block in cp:
            buf.write(block)
    names = _stored_columns(kind)
    if buf.tell() == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in names})
    buf.seek(0)
    types = {_stored_name(f): _arrow_type(f.type) for f in kind.fields}
    table = pacsv.read_csv(
        buf,
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas()


def _read(conn: sa.Connection, stmt: sa.Select[Any], kind: RecordKind) -> pd.DataFrame:
    if conn.dialect.name == "postgresql":
        return _read_postgres(conn, stmt, kind)
    result = conn.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _typed(kind: RecordKind, raw: pd.DataFrame) -> pd.DataFrame:
    """Give each stored column its flow-frame dtype, whatever the driver returned."""
    out: dict[str, pd.Series] = {}
    n = len(raw)
    for f in kind.fields:
        name = _stored_name(f)
        values = raw[name] if name in raw.columns else pd.Series([None] * n, dtype=object)
        values = values.reset_index(drop=True)
        if f.type is FieldType.DATE:
            out[name] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
        elif f.type in (FieldType.MONEY, FieldType.INT):
            ints = pd.to_numeric(values, errors="coerce").astype("Int64")
            out[name] = ints.astype(np.int64) if f.required and not ints.isna().any() else ints
        elif f.type is FieldType.BOOL:
            if values.dtype == bool:
                out[name] = values
            else:  # SQLite gives 0/1 (1 == True as a dict key), text dumps give t/f
                truth = {True: True, False: False, "t": True, "f": False}
                out[name] = values.map(truth).fillna(False).astype(bool)
        elif f.type is FieldType.DECIMAL:
            out[name] = pd.to_numeric(values, errors="coerce").astype(np.float64)
        else:
            out[name] = values.astype(object).where(values.notna(), None).astype("str")
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _with_cny(kind: RecordKind, frame: pd.DataFrame, rates: pd.DataFrame | None) -> pd.DataFrame:
    if not any(f.type is FieldType.MONEY for f in kind.fields):
        return frame[flow_columns(kind)]
    dates = frame[kind.date_field] if kind.date_field else pd.Series(pd.NaT, index=frame.index)
    out = frame.copy()
    for f in kind.fields:
        if f.type is FieldType.MONEY:
            out[f"{f.name}_cny"] = to_cny(out[f"{f.name}_minor"], out["currency"], dates, rates)
    return out[flow_columns(kind)]


def _versions(
    table: sa.Table, kind: RecordKind, as_known_at: datetime | None
) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """Rows to read: the current versions, or the latest version received by `as_known_at`."""
    if as_known_at is None:
        return table, table.c.is_current
    key = [table.c[_stored_name(kind.field(k))] for k in kind.key]
    ranked = (
        sa.select(
            table,
            sa.func.row_number()
            .over(partition_by=key, order_by=table.c.version.desc())
            .label("_rank"),
        )
        .where(table.c.received_at <= as_known_at)
        .subquery("known")
    )
    return ranked, ranked.c._rank == 1


def _utc(moment: datetime, postgres: bool) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return utc if postgres else utc.replace(tzinfo=None)


def _select(
    conn: sa.Connection,
    kind: RecordKind,
    as_of: date | None,
    as_known_at: datetime | None,
) -> pd.DataFrame:
    table = record_table(kind)
    postgres = conn.dialect.name == "postgresql"
    known = _utc(as_known_at, postgres) if as_known_at is not None else None
    source, keep = _versions(table, kind, known)
    cols = [source.c[c] for c in _stored_columns(kind)]
    stmt = sa.select(*cols).where(keep)
    if as_of is not None and kind.date_field is not None:
        stmt = stmt.where(source.c[kind.date_field] <= as_of)
    # A fixed row order, so sums over a frame (and thus a reproduced score) come out the same.
    stmt = stmt.order_by(*(source.c[_stored_name(kind.field(k))] for k in kind.key))
    return _typed(kind, _read(conn, stmt, kind))


def _latest_per_firm(frame: pd.DataFrame, order: str) -> pd.DataFrame:
    ordered = frame.sort_values(["firm_id", order], kind="stable")
    return ordered.drop_duplicates("firm_id", keep="last").reset_index(drop=True)


def with_id_only_firms(registry: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The registry plus every party the documents name that it lacks, known by id only
    (is_core False, everything else absent): DESIGN §3, a document may name an unregistered firm."""
    seen = [
        frame[col].dropna().to_numpy(dtype=object)
        for name, frame in frames.items()
        if name != "firms"
        for col in KINDS[name].party_fields
        if col in frame
    ]
    if not seen:
        return registry
    ids = pd.unique(np.concatenate(seen))
    extra = np.setdiff1d(ids.astype(str), registry["firm_id"].to_numpy(dtype=str))
    if extra.size == 0:
        return registry
    added = _typed(KINDS["firms"], pd.DataFrame({"firm_id": extra, "is_core": False}))
    return pd.concat([registry, added], ignore_index=True)


def load_flows(
    engine: Engine,
    as_of: date,
    *,
    as_known_at: datetime | None = None,
    kinds: Iterable[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Flow frames as of `as_of` (contract 1), one per kind asked (default: all eight).

    Documents and credit events dated on or before `as_of`; intangibles: each firm's latest
    `as_of` on or before T; financials: each firm's latest fiscal year reported on or before T;
    firms: the registry plus, when documents are loaded in the same call, every party they name
    that the registry lacks (name missing, is_core False). `_cny` columns use fx_rates.
    """
    wanted = list(FLOW_KINDS if kinds is None else kinds)
    for k in wanted:
        if k not in FLOW_KINDS:
            raise ValueError(f"{k!r} is not a flow kind; flow kinds: {', '.join(FLOW_KINDS)}")
    frames: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        rates = _select(conn, KINDS["fx_rates"], as_of, as_known_at)
        for name in wanted:
            kind = KINDS[name]
            frame = _select(conn, kind, as_of, as_known_at)
            if name == "intangibles":
                frame = _latest_per_firm(frame, "as_of")
            elif name == "financials":
                frame = _latest_per_firm(frame, "fiscal_year")
            frames[name] = _with_cny(kind, frame, rates)
    if "firms" in frames:
        frames["firms"] = with_id_only_firms(frames["firms"], frames)
    return {name: frames[name] for name in wanted}


def load_credit_events(engine: Engine) -> pd.DataFrame:
    """Every current credit event, whatever its date: the labels of the training set."""
    with engine.connect() as conn:
        return _select(conn, KINDS["credit_events"], None, None)


def _as_day(value: Any) -> date | None:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return value


def _date_bound(engine: Engine, kinds: Iterable[str], bound: Any, upto: date | None = None) -> date | None:
    """`bound` (sa.func.min or max) of the event dates of the current versions of `kinds`."""
    found: list[date] = []
    with engine.connect() as conn:
        for name in kinds:
            kind = KINDS[name]
            table = record_table(kind)
            assert kind.date_field is not None
            stmt = sa.select(bound(table.c[kind.date_field])).where(table.c.is_current)
            if upto is not None:
                stmt = stmt.where(table.c[kind.date_field] <= upto)
            value = _as_day(conn.execute(stmt).scalar_one_or_none())
            if value is not None:
                found.append(value)
    if not found:
        return None
    return min(found) if bound is sa.func.min else max(found)


def latest_document_date(engine: Engine) -> date | None:
    """The latest date of any current trade document, None when there is none."""
    return _date_bound(engine, DOCUMENT_KINDS, sa.func.max)


def document_span(engine: Engine) -> tuple[date, date]:
    """First and last date trade data exists for: the earliest document or credit event up to
    the latest document (the window default training dates are taken from)."""
    last = latest_document_date(engine)
    if last is None:
        raise ValueError("the database holds no documents; run `chaincredit load` first")
    first = _date_bound(engine, (*DOCUMENT_KINDS, "credit_events"), sa.func.min, upto=last)
    assert first is not None
    return first, last
