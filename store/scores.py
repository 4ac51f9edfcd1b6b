"""Precomputed scores: one row per firm, date and model version, with points and reasons.

`chaincredit score --all` writes a set of up to millions of rows chunk by chunk through
`ScoreWriter` in one transaction, so serving reads the old set or the new one, never a mix, and
memory stays bounded by the chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, text
from sqlalchemy import exc as sa_exc

from store.feature_snapshots import SnapshotError
from store.pointintime import as_date as _as_date
from store.rows import row_reader
from store.service_tables import feature_snapshots, scores, utcnow
from store.writers import write_transaction

SCORE_COLUMNS = ("firm_id", "pd", "score", "grade", "limit_minor", "base_points", "points", "reasons")
_CHUNK = 5_000


def _json_column(values: pd.Series) -> list[str]:
    """Points/reasons arrive as JSON text already, or as Python lists: normalise to text."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return list(values.tolist())  # text already (Arrow-backed): no per-row check
    def text(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    return values.map(text).tolist()


def _minor_units(values: pd.Series) -> list[int]:
    """The limit column as integers: money reaches the store in minor units, never as a float."""
    if not pd.api.types.is_integer_dtype(values.dtype) or values.isna().any():
        raise SnapshotError(f"limit_minor must be whole minor units (int64), not {values.dtype}")
    return values.astype("int64").tolist()


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
            conn = stack.enter_context(write_transaction(self.engine, bulk=True))
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
        """Insert one chunk of scores (`limit_minor`: the limit in the writer's currency's minor
        units, as the model computes it); returns its number of rows."""
        if self._conn is None:
            raise SnapshotError("ScoreWriter.append outside its `with` block")
        missing = [c for c in SCORE_COLUMNS if c not in scores_frame.columns]
        if missing:
            raise SnapshotError(f"the score frame lacks column(s) {', '.join(missing)}")
        frame = scores_frame.reset_index(drop=True)
        cols: dict[str, list[Any]] = {
            "firm_id": frame["firm_id"].astype(str).tolist(),
            "pd": frame["pd"].astype("float64").tolist(),
            "score": frame["score"].astype("float64").tolist(),
            "grade": frame["grade"].astype(str).tolist(),
            "limit_minor": _minor_units(frame["limit_minor"]),
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
        if self._conn.dialect.name == "postgresql":
            self._copy(keys, cols, fixed)
            self.rows += n
            return n
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            values = zip(*(cols[k][start:stop] for k in keys), strict=True)
            self._conn.execute(insert(scores), [dict(zip(keys, v, strict=True), **fixed) for v in values])
        self.rows += n
        return n

    def _copy(self, keys: list[str], cols: dict[str, list[Any]], fixed: dict[str, Any]) -> None:
        """COPY the chunk into `scores` inside the writer's transaction (PostgreSQL)."""
        assert self._conn is not None
        raw = self._conn.connection.driver_connection
        assert raw is not None
        names = keys + list(fixed)
        consts = list(fixed.values())
        sql = f"COPY scores ({', '.join(names)}) FROM STDIN"
        import psycopg

        try:
            with raw.cursor() as cur, cur.copy(sql) as cp:
                for values in zip(*(cols[k] for k in keys), strict=True):
                    cp.write_row((*values, *consts))
        except psycopg.Error as exc:  # as SQLAlchemy would raise it (IntegrityError for a key)
            raise sa_exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc

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


_score_from_row = row_reader(
    StoredScore, as_of=_as_date, pd=float, score=float, limit_minor=int, base_points=float,
    points=json.loads, reasons=json.loads,
)


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
    return None if row is None else _score_from_row(row)


def versions_with_scores(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(scores.c.model_version).distinct())}


def has_scores(engine: Engine, model_version: str) -> bool:
    """Whether any score of `model_version` is stored (a champion serves only once it has)."""
    with engine.connect() as conn:
        hit = conn.execute(
            select(scores.c.firm_id).where(scores.c.model_version == model_version).limit(1)
        ).first()
    return hit is not None


def latest_scored(engine: Engine, model_version: str) -> date | None:
    """The latest snapshot date scored by `model_version`."""
    with engine.connect() as conn:
        value = conn.execute(
            select(func.max(scores.c.as_of)).where(scores.c.model_version == model_version)
        ).scalar_one_or_none()
    return value


SERVED_COLUMNS = ("firm_id", "as_of", "model_version", "pd", "score", "grade", "limit_minor",
                  "currency", "base_points", "points", "reasons")


def scores_with_extras(
    engine: Engine, model_version: str, as_of: date, limit: int
) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Up to `limit` stored scores of (`model_version`, `as_of`) with the `SERVED_COLUMNS`
    (points and reasons as their JSON text), and the snapshot extras JSON of the firms scored,
    both read in one transaction: what a worker preloads to serve."""
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(
            select(*(scores.c[c] for c in SERVED_COLUMNS))
            .where(scores.c.model_version == model_version, scores.c.as_of == as_of)
            .limit(limit)
        ).all(), columns=list(SERVED_COLUMNS))
        extras = dict(conn.execute(
            select(feature_snapshots.c.firm_id, feature_snapshots.c.extras)
            .where(feature_snapshots.c.as_of == as_of, feature_snapshots.c.firm_id.in_(
                select(scores.c.firm_id).where(scores.c.model_version == model_version,
                                               scores.c.as_of == as_of)
            ))
        ).all())
    return rows, extras


def busiest_scored_supplier(engine: Engine) -> tuple[str, str] | None:
    """(core firm, supplier): the scored supplier with the most current invoices to a core firm."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT i.buyer_id, i.seller_id, count(*) AS n FROM invoices i "
                "JOIN firms f ON f.firm_id = i.buyer_id AND f.is_core "
                "JOIN scores s ON s.firm_id = i.seller_id "
                "WHERE i.is_current GROUP BY i.buyer_id, i.seller_id ORDER BY n DESC LIMIT 1"
            )
        ).first()
    return None if row is None else (str(row[0]), str(row[1]))
