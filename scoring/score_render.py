"""The response bodies of many stored scores at once: how a worker fills its cache.

A worker renders up to `CHAINCREDIT_SCORE_PRELOAD_MAX` (200,000) bodies each time a model version
starts serving, so nothing here runs Python code per firm: the stored points and reasons are
spliced in as they are (batch scoring writes them in the response model's own form,
scoring.score_json), the scalar fields are written a column at a time (scoring.json_text), and the
snapshot facts (tier, core firms, red flags) of every row are validated and written by pydantic in
one call. Each body is byte for byte `score_out(row, extras).model_dump_json()` of
scoring.score_shape (tests/scoring/test_score_shape.py proves it on generated rows).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter, ValidationError

from scoring.json_text import TEXT, int_text, lit, number_text, string_text
from scoring.score_shape import MAX_REASONS, ReasonOut, SnapshotFacts
from store.money import format_minor
from store.pointintime import as_date

log = logging.getLogger("chaincredit.scoring")

_FACTS = TypeAdapter(list[SnapshotFacts])
_REASONS = TypeAdapter(list[ReasonOut])
# Between two rows of a dumped list of SnapshotFacts. A quote inside a JSON string is escaped, so
# this text cannot occur inside one: it splits the rows exactly.
_BETWEEN_FACTS = b'},{"tier":'


def _text(values: pd.Series) -> pa.Array:
    arr = pa.array(values, type=TEXT, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _dates(values: pd.Series) -> pa.Array:
    """ISO dates as JSON strings, formatted once per distinct date (a preload holds one)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    shown = np.asarray([f'"{as_date(d).isoformat()}"' for d in uniques], dtype=object)
    return pa.array(shown[codes], type=TEXT)


def _top_reasons(reasons: pa.Array) -> pa.Array:
    """Reasons beyond the first MAX_REASONS (a batch scored with a larger top_n) cut per row."""
    long = pc.greater(pc.count_substring(reasons, '"feature":'), MAX_REASONS)
    if not pc.any(long).as_py():
        return reasons
    rows = reasons.filter(long).to_pylist()
    cut = [_REASONS.dump_json(_REASONS.validate_json(t)[:MAX_REASONS]).decode() for t in rows]
    return pc.replace_with_mask(reasons, long, pa.array(cut, type=TEXT))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while pydantic builds a few objects per row.

    They hold no reference cycles, but their number alone triggers full collections, each of
    which walks the whole heap of a worker: several times the cost of building them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _facts(extras: Sequence[str | None]) -> list[SnapshotFacts]:
    texts = [t or "{}" for t in extras]
    try:
        return _FACTS.validate_json("[" + ",".join(texts) + "]")
    except ValidationError:
        pass
    # Some row is not in the declared shape: read row by row, and show no facts for those rows,
    # as scoring.score_shape.snapshot_facts does for one firm.
    out = []
    bad: list[ValidationError] = []
    for text in texts:
        try:
            out.append(SnapshotFacts.model_validate_json(text))
        except ValidationError as exc:
            bad.append(exc)
            out.append(SnapshotFacts())
    if bad:
        log.warning("snapshot extras of %d of %d firms not shown, e.g.: %s", len(bad), len(texts),
                    bad[0].errors(include_url=False, include_input=False))
    return out


def facts_text(extras: Sequence[str | None]) -> pa.Array:
    """Per row: the snapshot facts as the tail of a JSON object (`"tier":…,"red_flags":[…]}`)."""
    if len(extras) == 0:
        return pa.array([], type=TEXT)
    with _no_cycle_collection():
        dumped = _FACTS.dump_json(_facts(extras))
    rows = dumped[2:-1].replace(_BETWEEN_FACTS, b'}\n"tier":').split(b"\n")
    return pa.array(rows, type=pa.large_binary()).cast(TEXT)


def render_bodies(rows: pd.DataFrame, extras: Sequence[str | None]) -> list[bytes]:
    """The JSON response body of every row of stored scores (store.scores.SERVED_COLUMNS, points
    and reasons as JSON text) with its snapshot's extras JSON (None: none stored), in order."""
    if rows.empty:
        return []
    score = rows["score"].to_numpy(dtype=np.float64)
    minor = rows["limit_minor"].to_numpy(dtype=np.int64)
    currency = rows["currency"].astype(str).reset_index(drop=True)
    limit = format_minor(pd.Series(minor), currency).to_numpy(dtype=object)
    body = pc.binary_join_element_wise(
        lit('{"firm_id":'), string_text(_text(rows["firm_id"])),
        lit(',"as_of":'), _dates(rows["as_of"]),
        lit(',"model_version":'), string_text(_text(rows["model_version"])),
        lit(',"pd":'), number_text(rows["pd"]),
        lit(',"score":'), number_text(score),
        lit(',"score_display":'), int_text(np.rint(score)),
        lit(',"grade":'), string_text(_text(rows["grade"])),
        lit(',"limit":"'), pa.array(limit, type=TEXT),
        lit('","limit_minor":'), int_text(minor),
        lit(',"currency":'), string_text(_text(currency)),
        lit(',"base_points":'), number_text(rows["base_points"]),
        lit(',"points":'), _text(rows["points"]),
        lit(',"reasons":'), _top_reasons(_text(rows["reasons"])),
        lit(","), facts_text(extras),
        lit(""),
    )
    return list(body.cast(pa.large_binary()).to_pylist())
