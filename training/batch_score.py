"""Score every firm of a snapshot with the champion, with points and reasons, in chunks.

Serving reads these precomputed rows (DESIGN.md §7), so the points stored must add up to the
score exactly; they are written as JSON text built column-wise by pandas' C JSON writer (one call
per feature per chunk), never one `json.dumps` per firm.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from training.progress import Progress, report

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from training.settings import TrainingSettings

CHUNK_ROWS = 100_000
FILE_COLUMNS = ("firm_id", "pd", "score", "grade", "limit", "reasons")
ObjArray = npt.NDArray[np.object_]


def _json_lines(frame: pd.DataFrame) -> ObjArray:
    """One JSON object per row, by pandas' C writer (NaN → null, UTF-8 kept readable)."""
    if frame.empty:
        return np.empty(0, dtype=object)
    text = frame.to_json(orient="records", lines=True, double_precision=10, force_ascii=False)
    return np.asarray(text.rstrip("\n").split("\n"), dtype=object)


POINT_DECIMALS = 8  # 60 features × 0.5e-8 rounding stays far inside the 1e-6 additivity


def _number_text(values: npt.ArrayLike, decimals: int | None = None) -> pa.Array:
    """JSON number text per value (shortest round-trip form, by Arrow's C++ cast); "null" for
    NaN and ±inf, which JSON cannot carry."""
    v = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        v = np.round(v, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    arr = pa.array(v, mask=~np.isfinite(v))
    return pc.fill_null(pc.cast(arr, pa.string()), "null")


def _value_text(col: pd.Series) -> pa.Array:
    """A feature's values as JSON text: numbers as numbers, categories as JSON strings."""
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return _number_text(col.to_numpy(dtype=np.float64, na_value=np.nan))
    codes, uniques = pd.factorize(col.astype(object), use_na_sentinel=True)
    quoted = np.asarray(
        [json.dumps(str(u), ensure_ascii=False) for u in uniques] + ["null"], dtype=object
    )
    return pa.array(quoted[codes], type=pa.string())  # code -1 (missing) picks the "null"


def points_json(model: Any, X: pd.DataFrame, points: pd.DataFrame) -> ObjArray:
    """Per row: [{"feature", "family", "value", "points"}, …] over all model features.

    Built column-wise with Arrow compute: each feature's constant head is written once, its
    values and points are formatted by one C++ cast each, and the pieces are joined per row in
    one element-wise join; no Python code runs per row or per value.
    """
    n = len(points)
    if n == 0:
        return np.empty(0, dtype=object)
    pieces: list[pa.Array] = []
    for name in model.feature_names_:
        spec = model.feature_specs_.get(name)
        family = spec.family if spec else "other"
        head = (
            f'{{"feature":{json.dumps(name, ensure_ascii=False)},'
            f'"family":{json.dumps(family, ensure_ascii=False)},"value":'
        )
        value = _value_text(X[name]) if name in X else pa.array(["null"] * n, type=pa.string())
        pts = _number_text(points[name].to_numpy(dtype=np.float64), POINT_DECIMALS)
        pieces.append(pc.binary_join_element_wise(head, value, ',"points":', pts, "}", ""))
    body = pc.binary_join_element_wise(*pieces, ",")
    rows = pc.binary_join_element_wise("[", body, "]", "")
    return np.asarray(rows.to_numpy(zero_copy_only=False), dtype=object)


def reasons_json(summary: pd.DataFrame, top_n: int) -> ObjArray:
    """Per row: [{"feature", "family", "points", "value", "text_en", "text_zh"}, …], costliest
    first, only reasons that cost points."""
    n = len(summary)
    out = np.full(n, "", dtype=object)
    for k in range(1, top_n + 1):
        p = f"reason_{k}_"
        if p + "feature" not in summary:
            break
        part = pd.DataFrame(
            {
                "feature": summary[p + "feature"].to_numpy(dtype=object),
                "family": summary[p + "family"].to_numpy(dtype=object),
                "points": summary[p + "points"].to_numpy(dtype=np.float64),
                "value": summary[p + "value"].to_numpy(dtype=object),
                "text_en": summary[p + "en"].to_numpy(dtype=object),
                "text_zh": summary[p + "zh"].to_numpy(dtype=object),
            }
        )
        has = part["feature"].notna().to_numpy()
        lines = _json_lines(part)
        sep = np.where(out == "", "", ",").astype(object)
        out = np.where(has, out + sep + lines, out)
    return np.asarray("[" + out + "]", dtype=object)


def score_frame(
    model: Any,
    features: pd.DataFrame,
    *,
    top_n: int = 4,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """firm_id, pd, score, grade, limit (yuan), limit_minor, base_points, points, reasons."""
    from models.explain import explain

    n = len(features)
    parts: list[pd.DataFrame] = []
    for start in range(0, n, chunk_rows):
        X = features.iloc[start : start + chunk_rows]
        # Batch scoring owns the machine: TreeSHAP on every core.
        ex = explain(model, X, top_n=top_n, chunk_rows=chunk_rows, num_threads=os.cpu_count() or 1)
        s = ex.summary
        parts.append(
            pd.DataFrame(
                {
                    "firm_id": X.index.astype(str),
                    "pd": s["pd"].to_numpy(dtype=np.float64),
                    "score": s["score"].to_numpy(dtype=np.float64),
                    "grade": s["grade"].to_numpy(dtype=object),
                    "limit": s["limit_minor"].to_numpy(dtype=np.int64) / 100.0,
                    "limit_minor": s["limit_minor"].to_numpy(dtype=np.int64),
                    "base_points": s["base_points"].to_numpy(dtype=np.float64),
                    "points": points_json(model, X, ex.points),
                    "reasons": reasons_json(s, top_n),
                }
            )
        )
        report(progress, min(start + chunk_rows, n), n, "scoring")
    if not parts:
        raise ValueError("no firms to score")
    return pd.concat(parts, ignore_index=True)


def write_scores(scores: pd.DataFrame, path: Path) -> Path:
    """CSV or Parquet by extension, with the columns a bank's batch job reads."""
    table = scores.loc[:, list(FILE_COLUMNS)]
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        raise ValueError(f"write scores to a .csv or .parquet file, not {path.name!r}")
    return path


@dataclass(frozen=True)
class BatchResult:
    as_of: date
    model_version: str
    n_firms: int
    out: Path | None
    scores: pd.DataFrame


def score_all(
    engine: Engine,
    as_of: date | None = None,
    *,
    out: Path | None = None,
    settings: TrainingSettings | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Score the snapshot of `as_of` (None: the latest) with the champion; store and write."""
    from store.snapshots import load_snapshot, save_scores
    from training.registry import load_champion

    champion = load_champion(settings=settings)
    features = load_snapshot(engine, as_of)
    day = as_of or features.attrs.get("as_of")
    if day is None:
        raise ValueError("the snapshot does not say its date; pass --as-of")
    scores = score_frame(champion.model, features, progress=progress)
    save_scores(engine, day, champion.version, scores)
    if out is not None:
        write_scores(scores, out)
    return BatchResult(day, champion.version, len(scores), out, scores)


def score_one(
    engine: Engine,
    firm_id: str,
    as_of: date | None = None,
    *,
    settings: TrainingSettings | None = None,
) -> dict[str, Any]:
    """One firm's explained score with the champion: the stored one when batch scoring has run,
    else computed from the snapshot (same numbers, the same code path)."""

    from store.snapshots import get_score, load_snapshot
    from training.registry import load_champion

    champion = load_champion(settings=settings)
    stored = get_score(engine, firm_id, champion.version, as_of)
    if stored is not None:
        return {
            "firm_id": stored.firm_id,
            "as_of": stored.as_of,
            "model_version": stored.model_version,
            "pd": stored.pd,
            "score": stored.score,
            "grade": stored.grade,
            "limit": stored.limit_minor / 100.0,
            "base_points": stored.base_points,
            "reasons": stored.reasons,
            "points": stored.points,
            "stored": True,
        }
    features = load_snapshot(engine, as_of)
    if firm_id not in features.index:
        raise LookupError(f"firm {firm_id} is not in the snapshot of {features.attrs.get('as_of')}")
    row = score_frame(champion.model, features.loc[[firm_id]]).iloc[0]
    return {
        "firm_id": firm_id,
        "as_of": as_of or features.attrs.get("as_of"),
        "model_version": champion.version,
        "pd": float(row["pd"]),
        "score": float(row["score"]),
        "grade": row["grade"],
        "limit": float(row["limit"]),
        "base_points": float(row["base_points"]),
        "reasons": json.loads(row["reasons"]),
        "points": json.loads(row["points"]),
        "stored": False,
    }
