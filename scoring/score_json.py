"""The JSON text of a firm's points and reasons, built column-wise for a block of firms.

Serving splices this text into its responses as it is, so the points stored must add up to the
score exactly, parse as JSON and be written exactly as the response model (scoring.score_shape:
`list[PointOut]`, `list[ReasonOut]`) would write them, numbers and escapes included
(scoring.json_text). A batch holds a million firms, so no Python code runs per firm
or per value: each feature's constant text is written once, numbers a column at a time (mostly
by one Arrow C++ cast), and the pieces are joined per row by one element-wise join.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.explain import ScoredBlock, display_values
from scoring.json_text import NULL, TEXT, lit, number_text, quoted

POINT_DECIMALS = 8  # 60 features × 0.5e-8 rounding stays far inside the 1e-6 additivity


def value_text(col: pd.Series) -> pa.Array:
    """A feature's values as JSON text: numbers as numbers, categories as JSON strings."""
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return number_text(col.to_numpy(dtype=np.float64, na_value=np.nan))
    codes, uniques = pd.factorize(col.astype(object), use_na_sentinel=True)
    literals = np.asarray([f'"{quoted(str(u))}"' for u in uniques] + ["null"], dtype=object)
    return pa.array(literals[codes], type=TEXT)  # code -1 (missing) picks the "null"


def points_json(model: Any, X: pd.DataFrame, points: npt.NDArray[np.float64]) -> pa.Array:
    """Per row: [{"feature", "family", "value", "points"}, …] over all model features, in the
    model's feature order; `points` is n × k in that order."""
    n = len(X)
    if n == 0:
        return pa.array([], type=TEXT)
    args: list[Any] = []
    for j, name in enumerate(model.feature_names_):
        spec = model.feature_specs_.get(name)
        family = spec.family if spec else "other"
        head = (
            ("[" if j == 0 else ",")
            + f'{{"feature":"{quoted(name)}","family":"{quoted(family)}","value":'
        )
        value = value_text(X[name]) if name in X else NULL
        args += [lit(head), value, lit(',"points":'), number_text(points[:, j], POINT_DECIMALS), lit("}")]
    if not args:
        return pa.array(["[]"] * n, type=TEXT)
    args.append(lit("]"))
    # One join over every piece: no intermediate array per feature.
    return pc.binary_join_element_wise(*args, lit(""))


def _shown_text(shown: npt.NDArray[np.object_], categorical: bool) -> pa.Array:
    """Displayed values as JSON string contents. Numbers are displayed with digits, sign, '.',
    ',', '%', 'e', '+', or as "n/a"/"inf", none of which JSON escapes; category names may hold
    anything and are escaped, once per distinct name."""
    if not categorical:
        return pa.array(shown, type=TEXT)
    codes, uniques = pd.factorize(shown)
    escaped = np.asarray([quoted(str(u)) for u in uniques], dtype=object)
    return pa.array(escaped[codes], type=TEXT)


def _template(template: str, shown: pa.Array) -> list[Any]:
    """The pieces of a reason template with `{value}` filled in (it may appear several times)."""
    parts = template.split("{value}")
    out: list[Any] = [lit(quoted(parts[0]))]
    for part in parts[1:]:
        out += [shown, lit(quoted(part))]
    return out


def reasons_json(model: Any, block: ScoredBlock) -> pa.Array:
    """Per row: [{"feature", "family", "points", "value", "text_en", "text_zh"}, …], costliest
    first, only features that cost points (as `block.reason_features` lists them)."""
    idx = block.reason_features
    n, take = idx.shape
    if n == 0:
        return pa.array([], type=TEXT)
    names = model.feature_names_
    flat = idx.ravel()  # position i·take + r: row i's (r+1)-th reason
    entries = np.full(n * take, "", dtype=object)
    present = np.flatnonzero(flat >= 0)
    by_feature = present[np.argsort(flat[present], kind="stable")]
    splits = np.flatnonzero(np.diff(flat[by_feature])) + 1
    for pos in np.split(by_feature, splits) if len(by_feature) else []:
        j = int(flat[pos[0]])
        rows = pos // take
        spec = model.feature_specs_[names[j]]
        categories = model.categories_.get(names[j])
        shown = _shown_text(
            display_values(spec, block.matrix[rows, j], categories), categories is not None
        )
        # Reasons after the first of a row open with the separator (costly ones come first).
        sep = pa.array(np.where(pos % take == 0, "", ","), type=TEXT)
        text = pc.binary_join_element_wise(
            sep,
            lit(f'{{"feature":"{quoted(spec.name)}","family":"{quoted(spec.family)}","points":'),
            number_text(block.points[rows, j], POINT_DECIMALS),
            lit(',"value":"'),
            shown,
            lit('","text_en":"'),
            *_template(spec.reason_en, shown),
            lit('","text_zh":"'),
            *_template(spec.reason_zh, shown),
            lit('"}'),
            lit(""),
        )
        entries[pos] = text.to_numpy(zero_copy_only=False)
    ranks = entries.reshape(n, take)
    cols = [pa.array(ranks[:, r], type=TEXT) for r in range(take)]
    return pc.binary_join_element_wise(lit("["), *cols, lit("]"), lit(""))
