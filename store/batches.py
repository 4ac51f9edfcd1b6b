"""What became of an upload: its batch row, written by store.ingest with its records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from store.tables import Batch

_batches = Batch.__table__  # type: ignore[attr-defined]


def get_batch(engine: Engine, batch_id: str) -> dict[str, Any] | None:
    """The batch row of `batch_id` (column name -> value), None when there is none."""
    with engine.connect() as conn:
        row = conn.execute(select(_batches).where(_batches.c.batch_id == batch_id)).first()
    return None if row is None else dict(row._mapping)
