"""Flow frames as of a date, read in chunks: what an export to a data lake streams.

`loaders.load_flows` holds every row of a kind in memory at once, which is what one machine
wants and what a country of firms cannot have. This reads the same rows (current versions,
documents dated on or before T, `_cny` columns from fx_rates) in the same key order, a chunk at
a time through a server-side cursor, so the memory an export needs is one chunk per kind.
The per-firm selections `load_flows` makes afterwards (latest intangibles, latest financials,
firms known by id only) are left to whoever reads the lake: they need every row of a firm.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store.loaders import FLOW_KINDS, _stored_columns, _stored_name, _typed, _with_cny
from store.records import KINDS
from store.tables import record_table

DEFAULT_CHUNK_ROWS = 200_000


def _statement(kind_name: str, as_of: date) -> sa.Select[tuple[object, ...]]:
    kind = KINDS[kind_name]
    table = record_table(kind)
    cols = [table.c[c] for c in _stored_columns(kind)]
    stmt = sa.select(*cols).where(table.c.is_current)
    if kind.date_field is not None:
        stmt = stmt.where(table.c[kind.date_field] <= as_of)
    # the order load_flows reads in: the engines break ties between documents by it
    return stmt.order_by(*(table.c[_stored_name(kind.field(k))] for k in kind.key))


def fx_rates(engine: Engine, as_of: date) -> pd.DataFrame:
    """Every current rate dated on or before T (a few thousand rows at most)."""
    kind = KINDS["fx_rates"]
    with engine.connect() as conn:
        result = conn.execute(_statement("fx_rates", as_of))
        raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return _typed(kind, raw)


def count_rows(engine: Engine, kind_name: str, as_of: date) -> int:
    """How many rows `iter_flow_chunks` will give (for a progress bar's total)."""
    stmt = _statement(kind_name, as_of).order_by(None)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one())


def iter_flow_chunks(
    engine: Engine, kind_name: str, as_of: date, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
    rates: pd.DataFrame | None = None,
) -> Iterator[pd.DataFrame]:
    """The kind's flow frame as of T (columns of `loaders.flow_columns`), in key order, as
    chunks of at most `chunk_rows` rows; nothing when the kind has no rows."""
    if kind_name not in FLOW_KINDS:
        raise ValueError(f"{kind_name!r} is not a flow kind; flow kinds: {', '.join(FLOW_KINDS)}")
    kind = KINDS[kind_name]
    table_rates = fx_rates(engine, as_of) if rates is None else rates
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            _statement(kind_name, as_of)
        )
        names = list(result.keys())
        for rows in result.partitions(chunk_rows):
            raw = pd.DataFrame(rows, columns=names)
            yield _with_cny(kind, _typed(kind, raw), table_rates)
