"""store.rows: one reader per dataclass, fields from the columns of their names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from store.rows import row_reader
from store.service_tables import as_utc


@dataclass(frozen=True)
class Item:
    n: int
    tags: list[Any]
    at: datetime | None


def test_a_reader_takes_the_named_columns_through_their_conversions(engine: sa.Engine) -> None:
    stmt = sa.select(
        sa.literal(7).label("n"),
        sa.literal('["a", 2]').label("tags"),
        sa.literal("ignored").label("other"),  # a column the dataclass does not name
        sa.cast(sa.null(), sa.DateTime(timezone=True)).label("at"),
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    read = row_reader(Item, tags=json.loads, at=as_utc)
    assert read(row) == Item(n=7, tags=["a", 2], at=None)


def test_timestamps_without_a_zone_come_back_in_utc(sqlite_engine: sa.Engine) -> None:
    from store.keys import create_key, list_keys

    made = create_key(sqlite_engine, role="bank", org="B", created_by="t")
    (stored,) = list_keys(sqlite_engine)
    assert stored == made.key and stored.created_at.tzinfo == UTC


def test_a_conversion_for_no_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        row_reader(Item, count=int)
