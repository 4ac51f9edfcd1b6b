"""Feature snapshots and precomputed scores: what serving reads instead of computing.

Serving a score must take milliseconds, so features are computed by `chaincredit features`
(one JSON feature vector per firm and date) and scores with their points by `chaincredit score
--all` (one row per firm, date and model version; a set of a million rows is appended chunk by
chunk by `ScoreWriter` in one transaction, so serving reads the old set or the new one, never a
mix, and memory stays bounded by the chunk). The `model_state` row says which model is
champion; workers poll its `generation` so that a promotion or a reload reaches every worker.

JSON is produced and parsed column-wise through pandas (`to_json(lines=True)` /
`read_json(lines=True)`), never one `json.dumps` per firm on the bulk paths.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from store.db import write_transaction
from store.service_tables import as_utc, feature_snapshots, model_state, scores, utcnow

SCORE_COLUMNS = ("firm_id", "pd", "score", "grade", "limit", "base_points", "points", "reasons")
_CHUNK = 5_000


class SnapshotError(ValueError):
    pass


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (NaN -> null), produced by pandas' C writer."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", lines=True, double_precision=15, date_format="iso")
    return text.rstrip("\n").split("\n")


def _as_date(value: date | datetime | pd.Timestamp | str) -> date:
    ts = pd.Timestamp(value)
    return date(ts.year, ts.month, ts.day)


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
    with engine.begin() as conn:
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


def _json_column(values: pd.Series) -> list[str]:
    """Points/reasons arrive as JSON text already, or as Python lists: normalise to text."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return list(values.tolist())  # text already (Arrow-backed): no per-row check
    out = values.map(lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    return out.tolist()


class ScoreWriter:
    """Replace the scores of (`as_of`, `model_version`) with chunks appended one at a time.

    Everything happens in one transaction: the old rows are deleted when the writer opens, each
    `append` inserts a chunk, and leaving the `with` block commits. Until then every other
    connection (serving, `get_score`) still reads the previous set whole, on PostgreSQL by MVCC
    and on SQLite by WAL's snapshot reads; an error or a killed process rolls back to it. Only
    one chunk is in memory at a time. The transaction holds SQLite's single write lock, so
    callers should produce their chunks first (batch scoring spools them to a file) and append
    them without pause.
    """

    def __init__(
        self, engine: Engine, as_of: date, model_version: str, *, currency: str = "CNY"
    ) -> None:
        self.engine = engine
        self.as_of = _as_date(as_of)
        self.model_version = model_version
        self.currency = currency
        self.rows = 0
        self._stack: ExitStack | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> ScoreWriter:
        stack = ExitStack()
        try:
            # IMMEDIATE on SQLite: wait for the write lock at BEGIN rather than fail mid-way.
            conn = stack.enter_context(write_transaction(self.engine))
            conn.execute(
                delete(scores).where(
                    scores.c.as_of == self.as_of, scores.c.model_version == self.model_version
                )
            )
        except BaseException:
            stack.close()
            raise
        self._stack, self._conn = stack, conn
        return self

    def append(self, scores_frame: pd.DataFrame) -> int:
        """Insert one chunk of scores (`limit` in yuan, stored as integer fen rounded half to
        even so the served limit never carries float noise); returns its number of rows."""
        if self._conn is None:
            raise SnapshotError("ScoreWriter.append outside its `with` block")
        missing = [c for c in SCORE_COLUMNS if c not in scores_frame.columns]
        if missing:
            raise SnapshotError(f"the score frame lacks column(s) {', '.join(missing)}")
        frame = scores_frame.reset_index(drop=True)
        limit = pd.to_numeric(frame["limit"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
        cols: dict[str, list[Any]] = {
            "firm_id": frame["firm_id"].astype(str).tolist(),
            "pd": frame["pd"].astype("float64").tolist(),
            "score": frame["score"].astype("float64").tolist(),
            "grade": frame["grade"].astype(str).tolist(),
            "limit_minor": np.rint(limit * 100.0).astype(np.int64).tolist(),
            "base_points": frame["base_points"].astype("float64").tolist(),
            "points": _json_column(frame["points"]),
            "reasons": _json_column(frame["reasons"]),
        }
        fixed = {
            "as_of": self.as_of,
            "model_version": self.model_version,
            "currency": self.currency,
            "created_at": utcnow(),
        }
        keys = list(cols)
        n = len(frame)
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            values = zip(*(cols[k][start:stop] for k in keys), strict=True)
            self._conn.execute(insert(scores), [dict(zip(keys, v, strict=True), **fixed) for v in values])
        self.rows += n
        return n

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._conn = self._stack, None, None
        if stack is not None:
            stack.__exit__(exc_type, exc, tb)  # commits, or rolls back when the block raised


def save_scores(
    engine: Engine,
    as_of: date,
    model_version: str,
    scores_frame: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    currency: str = "CNY",
) -> int:
    """Replace the scores of (`as_of`, `model_version`) with one frame or an iterable of chunk
    frames, all or nothing (see `ScoreWriter`); returns the number of rows stored."""
    chunks = [scores_frame] if isinstance(scores_frame, pd.DataFrame) else scores_frame
    with ScoreWriter(engine, as_of, model_version, currency=currency) as writer:
        for chunk in chunks:
            writer.append(chunk)
    return writer.rows


@dataclass(frozen=True)
class StoredScore:
    firm_id: str
    as_of: date
    model_version: str
    pd: float
    score: float
    grade: str
    limit_minor: int
    currency: str
    base_points: float
    points: list[dict[str, Any]]
    reasons: list[dict[str, Any]]


def get_score(
    engine: Engine, firm_id: str, model_version: str, as_of: date | None = None
) -> StoredScore | None:
    """The score of a firm for a model version, on `as_of` or the latest date scored."""
    stmt = select(scores).where(scores.c.firm_id == firm_id, scores.c.model_version == model_version)
    stmt = (
        stmt.where(scores.c.as_of == _as_date(as_of))
        if as_of is not None
        else stmt.order_by(scores.c.as_of.desc()).limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    m = row._mapping
    return StoredScore(
        firm_id=m["firm_id"],
        as_of=_as_date(m["as_of"]),
        model_version=m["model_version"],
        pd=float(m["pd"]),
        score=float(m["score"]),
        grade=m["grade"],
        limit_minor=int(m["limit_minor"]),
        currency=m["currency"],
        base_points=float(m["base_points"]),
        points=json.loads(m["points"]),
        reasons=json.loads(m["reasons"]),
    )


def versions_with_scores(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(scores.c.model_version).distinct())}


@dataclass(frozen=True)
class ModelState:
    champion_version: str | None
    previous_version: str | None
    generation: int
    bumped_at: datetime | None
    bumped_by: str | None


def get_model_state(engine: Engine) -> ModelState:
    with engine.connect() as conn:
        row = conn.execute(select(model_state).where(model_state.c.id == 1)).first()
    if row is None:
        return ModelState(None, None, 0, None, None)
    m = row._mapping
    return ModelState(
        champion_version=m["champion_version"],
        previous_version=m["previous_version"],
        generation=int(m["generation"]),
        bumped_at=as_utc(m["bumped_at"]),
        bumped_by=m["bumped_by"],
    )


def bump_model_state(engine: Engine, champion_version: str | None, *, by: str) -> ModelState:
    """Record the champion and bump the generation; every worker re-reads on its next poll.

    Passing the same version again still bumps: that is what a reload means."""
    now = utcnow()
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(model_state).where(model_state.c.id == 1).with_for_update()
        ).first()
        if row is None:
            conn.execute(
                insert(model_state).values(
                    id=1,
                    champion_version=champion_version,
                    previous_version=None,
                    generation=1,
                    bumped_at=now,
                    bumped_by=by,
                )
            )
        else:
            current = row._mapping["champion_version"]
            previous = (
                row._mapping["previous_version"] if current == champion_version else current
            )
            conn.execute(
                update(model_state)
                .where(model_state.c.id == 1)
                .values(
                    champion_version=champion_version,
                    previous_version=previous,
                    generation=model_state.c.generation + 1,
                    bumped_at=now,
                    bumped_by=by,
                )
            )
    return get_model_state(engine)


def serving_version(state: ModelState, scored: set[str]) -> str | None:
    """A new champion serves only once its batch scores exist; until then the previous one."""
    if state.champion_version is not None and state.champion_version in scored:
        return state.champion_version
    if state.previous_version is not None and state.previous_version in scored:
        return state.previous_version
    return None
