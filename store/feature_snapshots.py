"""Feature snapshots: one feature vector per firm and date, what scoring reads instead of computing.

Serving a score must take milliseconds, so features are computed by `chaincredit features` and
stored as one JSON feature vector per firm and date (DESIGN.md §7), with the per-firm extras the
score response shows (tier, core firms, red flags). JSON is produced and parsed column-wise
through pandas (`to_json(lines=True)` / `read_json(lines=True)`), never one `json.dumps` per firm.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select

from store.pointintime import as_date as _as_date
from store.service_tables import feature_snapshots, utcnow
from store.writers import write_transaction

_CHUNK = 5_000


class SnapshotError(ValueError):
    pass


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (NaN -> null), produced by pandas' C writer."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", lines=True, double_precision=15, date_format="iso")
    return text.rstrip("\n").split("\n")


def save_snapshot(
    engine: Engine,
    as_of: date,
    features: pd.DataFrame,
    extras: pd.DataFrame | None = None,
) -> int:
    """Replace the snapshot for `as_of` with `features` (firm_id index; numeric columns are kept
    as floats, categorical ones such as an industry section as text).

    `extras` (same index, optional): per-firm JSON-able columns such as `tier`, `core_firms`
    (list of ids) and `red_flags` (list of names). Returns the number of firms stored.
    """
    day = _as_date(as_of)
    if features.index.has_duplicates:
        raise SnapshotError("the feature frame has duplicate firm ids")
    feats = _typed(features)
    feats.index = feats.index.astype(str)
    feature_json = _json_lines(feats.reset_index(drop=True))
    if extras is not None and not extras.empty:
        ex = extras.copy()
        ex.index = ex.index.astype(str)
        ex = ex.reindex(feats.index)
        extra_json: list[str | None] = list(_json_lines(ex.reset_index(drop=True)))
    else:
        extra_json = [None] * len(feats)
    now = utcnow()
    ids = feats.index.tolist()
    with write_transaction(engine, bulk=True) as conn:
        conn.execute(delete(feature_snapshots).where(feature_snapshots.c.as_of == day))
        for start in range(0, len(ids), _CHUNK):
            stop = start + _CHUNK
            rows = [
                {"firm_id": f, "as_of": day, "features": j, "extras": e, "created_at": now}
                for f, j, e in zip(ids[start:stop], feature_json[start:stop], extra_json[start:stop], strict=True)
            ]
            conn.execute(insert(feature_snapshots), rows)
    return len(ids)


def snapshot_dates(engine: Engine) -> list[date]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(feature_snapshots.c.as_of).distinct().order_by(feature_snapshots.c.as_of)
        )
        return [_as_date(r[0]) for r in rows]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float64 and the rest (categorical features) as text with None, so the
    JSON round trip gives the model back exactly the columns it was trained on."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            out[name] = col.astype("float64")
        else:
            out[name] = col.astype(object).where(col.notna(), None).map(
                lambda v: v if v is None else str(v)
            )
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _parse_lines(texts: Sequence[str]) -> pd.DataFrame:
    if not texts:
        return pd.DataFrame()
    return pd.read_json(io.StringIO("\n".join(texts)), orient="records", lines=True, dtype=False)


def load_snapshot(engine: Engine, as_of: date | None = None) -> pd.DataFrame:
    """The feature frame saved for `as_of` (None: the latest), firm_id index; numeric columns
    float64, categorical ones text."""
    day = _latest(engine) if as_of is None else _as_date(as_of)
    if day is None:
        raise SnapshotError("no feature snapshot has been saved yet: run `chaincredit features`")
    with engine.connect() as conn:
        rows = conn.execute(
            select(feature_snapshots.c.firm_id, feature_snapshots.c.features)
            .where(feature_snapshots.c.as_of == day)
            .order_by(feature_snapshots.c.firm_id)
        ).all()
    if not rows:
        raise SnapshotError(f"no feature snapshot for {day}")
    frame = _typed(_parse_lines([r[1] for r in rows]))
    frame.index = pd.Index([r[0] for r in rows], name="firm_id", dtype=object)
    frame.attrs["as_of"] = day
    return frame


def load_snapshot_rows(engine: Engine, firm_ids: Sequence[str], as_of: date) -> pd.DataFrame:
    """Stored feature vectors of some firms on `as_of` (firm_id index; missing firms absent)."""
    ids = list(firm_ids)
    texts: list[tuple[str, str]] = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(feature_snapshots.c.firm_id, feature_snapshots.c.features).where(
                    feature_snapshots.c.as_of == as_of,
                    feature_snapshots.c.firm_id.in_(ids[start : start + 500]),
                )
            )
            texts.extend((r[0], r[1]) for r in rows)
    if not texts:
        return pd.DataFrame(index=pd.Index([], name="firm_id", dtype=object))
    records = [json.loads(t) for _, t in texts]
    frame = pd.DataFrame.from_records(records)
    frame.index = pd.Index([f for f, _ in texts], name="firm_id", dtype=object)
    return frame


def load_snapshot_extras(engine: Engine, firm_id: str, as_of: date) -> dict[str, Any]:
    with engine.connect() as conn:
        text = conn.execute(
            select(feature_snapshots.c.extras).where(
                feature_snapshots.c.firm_id == firm_id, feature_snapshots.c.as_of == _as_date(as_of)
            )
        ).scalar_one_or_none()
    return {} if not text else dict(json.loads(text))


def _latest(engine: Engine) -> date | None:
    with engine.connect() as conn:
        value = conn.execute(select(func.max(feature_snapshots.c.as_of))).scalar_one_or_none()
    return None if value is None else _as_date(value)


def firm_known(engine: Engine, firm_id: str) -> bool:
    """Known = seen in any snapshot (every registered firm and every party of a document)."""
    with engine.connect() as conn:
        hit = conn.execute(
            select(feature_snapshots.c.firm_id).where(feature_snapshots.c.firm_id == firm_id).limit(1)
        ).first()
    return hit is not None


