"""JSON text built a column at a time, in exactly the form the response models serialise to.

Serving splices stored and rendered text into its responses (scoring.score_render), and the
pydantic response model (scoring.score_shape.ScoreOut) is what /openapi.json documents and what
the single-firm path serialises, so every number and string written here must be byte for byte
what pydantic writes for the same value; tests/scoring/test_score_shape.py compares them.

Numbers: Arrow's C++ cast and pydantic both write the shortest digits that read back to the same
float, but pydantic writes decimal notation from 1e-5 up to 1e16 (Arrow: from 1e-6 up to 1e10),
always with a fractional part ("3.0" where Arrow writes "3"), and NaN and ±inf as null. Whole
numbers below 1e16 are therefore written from integers with ".0" appended, the rare values in
the two bands where the notations differ are written by pydantic itself, and the rest by Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

# 64-bit offsets: a block's points text passes 2 GiB (the limit of Arrow's `string`) near
# 400k rows of 60 features.
TEXT = pa.large_string()
# Characters a JSON string must escape (RE2 syntax): the quote, the backslash, controls.
_ESCAPED = r'["\\\x00-\x1f]'
_WHOLE_BELOW = 1e16  # pydantic's decimal notation ends here; int64 holds every whole float below
# pydantic's own serialisers of a string and of floats (NaN and ±inf as null, as in ScoreOut).
_STRING = TypeAdapter(str)
_FLOATS = TypeAdapter(list[float])


def lit(text: str) -> pa.Scalar:
    return pa.scalar(text, TEXT)


NULL = lit("null")


def quoted(text: str) -> str:
    """`text` as the inside of a JSON string, escaped as pydantic escapes it (UTF-8 kept)."""
    return _STRING.dump_json(text).decode()[1:-1]


def _pydantic_numbers(values: npt.NDArray[np.float64]) -> pa.Array:
    return pa.array(_FLOATS.dump_json(values.tolist()).decode()[1:-1].split(","), type=TEXT)


def number_text(values: npt.ArrayLike, decimals: int | None = None) -> pa.Array:
    """JSON number text per value as pydantic writes a float (see the module docstring); "null"
    for NaN and ±inf. `decimals` rounds first (half to even), turning -0.0 into 0.0."""
    v = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        v = np.round(v, decimals) + 0.0
    finite = np.isfinite(v)
    a = np.abs(v)
    negative_zero = (v == 0) & np.signbit(v)
    whole = finite & (a < _WHOLE_BELOW) & (v == np.floor(v)) & ~negative_zero
    odd = finite & ~whole & (((a >= 1e-6) & (a < 1e-5)) | ((a >= 1e10) & (a < _WHOLE_BELOW)) | negative_zero)
    rest = finite & ~whole & ~odd
    # Missing values (written as nulls) join the larger part: a column is mostly one part.
    if whole.sum() > rest.sum():
        whole |= ~finite
    else:
        rest |= ~finite
    parts: list[tuple[npt.NDArray[np.bool_], pa.Array]] = []
    if rest.any():
        r = v if rest.all() else v[rest]
        parts.append((rest, pc.cast(pa.array(r, mask=~np.isfinite(r)), TEXT)))
    if whole.any():
        w = v if whole.all() else v[whole]
        ok = np.isfinite(w)
        ints = pa.array(np.where(ok, w, 0).astype(np.int64), mask=~ok)
        parts.append((whole, pc.binary_join_element_wise(pc.cast(ints, TEXT), lit(".0"), lit(""))))
    if odd.any():
        parts.append((odd, _pydantic_numbers(v[odd])))
    if not parts:
        return pa.array([], type=TEXT)
    if len(parts) == 1:
        text = parts[0][1]
    else:
        # Each row's text sits in the part of its kind: gather them back into row order.
        where = np.empty(len(v), dtype=np.int64)
        start = 0
        for mask, part in parts:
            where[mask] = np.arange(start, start + len(part))
            start += len(part)
        text = pa.concat_arrays([p for _, p in parts]).take(pa.array(where))
    return text if finite.all() else pc.fill_null(text, NULL)


def int_text(values: npt.ArrayLike) -> pa.Array:
    """JSON text of 64-bit integers."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), TEXT)


def string_text(values: pa.Array | pa.ChunkedArray | Sequence[Any]) -> pa.Array:
    """Each value as a JSON string literal, quotes included ("null" where missing)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, type=TEXT)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(TEXT)
    text = pc.binary_join_element_wise(lit('"'), arr, lit('"'), lit(""))
    escape = pc.match_substring_regex(arr, _ESCAPED)
    if pc.any(escape).as_py():
        rows = np.flatnonzero(escape.fill_null(False).to_numpy(zero_copy_only=False))
        fixed = [_STRING.dump_json(s).decode() for s in arr.take(pa.array(rows)).to_pylist()]
        mask = np.zeros(len(arr), dtype=bool)
        mask[rows] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(fixed, type=TEXT))
    return text if arr.null_count == 0 else pc.fill_null(text, NULL)
