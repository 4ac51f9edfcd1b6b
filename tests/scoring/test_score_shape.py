"""One score shape: the column-wise renderer and the JSON text batch scoring stores are byte for
byte what the response model (scoring.score_shape.ScoreOut) writes, on generated rows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from scoring.json_text import number_text, string_text
from scoring.score_json import points_json, reasons_json
from scoring.score_render import render_bodies
from scoring.score_shape import MAX_REASONS, PointOut, ReasonOut, ScoreOut, score_out
from store.scores import SERVED_COLUMNS, StoredScore

POINTS = TypeAdapter(list[PointOut])
REASONS = TypeAdapter(list[ReasonOut])
FLOATS = TypeAdapter(list[float])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with what JSON must escape, what it must not (Chinese, '/', U+2028) and plain ids.
texts = st.text(alphabet=st.one_of(st.characters(exclude_categories=["Cs"]),
                                   st.sampled_from('"\\/\n\t\x00\x1f中国供应链 ')), max_size=24)
# Finite floats of every magnitude, many digits, both zeros, subnormals; and round numbers.
numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                    st.integers(-(10**17), 10**17).map(float),
                    st.sampled_from([0.0, -0.0, 1e-6, 9.99e-6, 1e-5, 1e10, 1e16, 0.1 + 0.2]))
points = st.fixed_dictionaries({
    "feature": texts, "family": texts,
    "value": st.one_of(numbers, texts, st.none()), "points": numbers,
})
reasons = st.fixed_dictionaries({
    "feature": texts, "family": texts, "points": numbers, "value": texts,
    "text_en": texts, "text_zh": texts,
})
red_flags = st.fixed_dictionaries({
    "flag": texts, "count": st.integers(0, 10**6),
    "documents": st.lists(st.fixed_dictionaries({"kind": texts, "id": texts}), max_size=3),
})
valid_extras = st.fixed_dictionaries({}, optional={
    "tier": st.one_of(st.none(), st.integers(0, 12)),
    "core_firms": st.lists(texts, max_size=4),
    "core_dependence": st.lists(st.fixed_dictionaries({"core_id": texts, "share": numbers}), max_size=2),
    "red_flags": st.lists(red_flags, max_size=3),
})
# Extras another writer left in a shape the score does not declare: shown as no facts.
odd_extras = st.sampled_from([{"tier": "first"}, {"red_flags": ["cycle"]}, {"core_firms": "A"},
                              {"tier": 1.5}, {"red_flags": [{"flag": "x"}]}])
extras = st.one_of(st.none(), st.just({}), valid_extras, odd_extras)


@st.composite
def stored_rows(draw: st.DrawFn) -> tuple[StoredScore, str | None]:
    """A stored score (points and reasons as batch scoring stores them) and its extras text."""
    row = StoredScore(
        firm_id=draw(texts), as_of=draw(st.dates(date(1990, 1, 1), date(2200, 12, 31))),
        model_version=draw(texts), pd=draw(numbers),
        score=draw(st.floats(-1e15, 1e15, allow_nan=False)), grade=draw(texts),
        limit_minor=draw(st.integers(-(2**63), 2**63 - 1)),
        currency=draw(st.sampled_from(["CNY", "JPY", "KWD", "CLF", "USD"])),
        base_points=draw(numbers),
        points=draw(st.lists(points, max_size=70)),
        reasons=draw(st.lists(reasons, max_size=2 * MAX_REASONS)),
    )
    ex = draw(extras)
    text = None if ex is None else json.dumps(ex, ensure_ascii=draw(st.booleans()))
    return row, text


def _frame(rows: list[tuple[StoredScore, str | None]]) -> pd.DataFrame:
    """The columns as serving reads them from the scores table."""
    return pd.DataFrame(
        [(s.firm_id, s.as_of, s.model_version, s.pd, s.score, s.grade, s.limit_minor, s.currency,
          s.base_points, POINTS.dump_json(POINTS.validate_python(s.points)).decode(),
          REASONS.dump_json(REASONS.validate_python(s.reasons)).decode()) for s, _ in rows],
        columns=list(SERVED_COLUMNS),
    )


@SETTINGS
@given(st.lists(stored_rows(), min_size=1, max_size=6))
def test_fast_renderer_is_the_response_model_byte_for_byte(rows: list[tuple[StoredScore, str | None]]) -> None:
    frame = _frame(rows)
    bodies = render_bodies(frame, [text for _, text in rows])
    assert len(bodies) == len(rows)
    for body, (stored, text), points_text, reasons_text in zip(
            bodies, rows, frame["points"], frame["reasons"], strict=True):
        # The single-firm path: the stored row as store.scores.get_score reads it back.
        read = replace(stored, points=json.loads(points_text), reasons=json.loads(reasons_text))
        expected = score_out(read, json.loads(text) if text else {}).model_dump_json().encode()
        assert body == expected
        shown = ScoreOut.model_validate_json(body)
        assert shown.limit_minor == stored.limit_minor and len(shown.reasons) <= MAX_REASONS


def test_renderer_shows_money_as_text_and_minor_units() -> None:
    stored = StoredScore("F1", date(2024, 6, 30), "3", 0.02, 611.5, "BBB", -5, "CNY", 600.0, [], [])
    body = json.loads(render_bodies(_frame([(stored, None)]), [None])[0])
    assert (body["limit"], body["limit_minor"], body["currency"]) == ("-0.05", -5, "CNY")
    assert body["score_display"] == 612 and (body["tier"], body["core_firms"], body["red_flags"]) == (
        None, [], [])
    assert render_bodies(_frame([]), []) == []


@SETTINGS
@given(st.lists(st.one_of(numbers.filter(lambda x: abs(x) < 1e290),  # 10**decimals times it is finite
                          st.just(float("nan")), st.just(float("inf"))), max_size=40),
       st.none() | st.integers(0, 10))
def test_numbers_are_written_as_pydantic_writes_floats(values: list[float], decimals: int | None) -> None:
    v = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        v = np.round(v, decimals) + 0.0
    expected = FLOATS.dump_json(v.tolist()).decode()[1:-1]
    assert ",".join(number_text(values, decimals).to_pylist()) == expected


@SETTINGS
@given(st.lists(st.one_of(texts, st.none()), max_size=20))
def test_strings_are_written_as_pydantic_writes_them(values: list[str | None]) -> None:
    expected = [json.dumps(v, ensure_ascii=False) if v is not None else "null" for v in values]
    assert string_text(values).to_pylist() == expected
    strings = TypeAdapter(list[str | None])
    assert "[" + ",".join(string_text(values).to_pylist()) + "]" == strings.dump_json(values).decode()


def _model(names: list[str], categories: dict[str, list[str]], wording: list[tuple[str, str]]) -> Any:
    from graph.dictionary import Direction, FeatureSpec

    units = ["", "share", "days", "CNY", "count"]
    specs = {n: FeatureSpec(name=n, family=f"fam {n}", meaning_en=n, meaning_zh=n, direction=Direction.NONE,
                            reason_en=en, reason_zh=zh, unit=units[i % len(units)])
             for i, (n, (en, zh)) in enumerate(zip(names, wording, strict=True))}
    return SimpleNamespace(feature_names_=names, feature_specs_=specs, categories_=categories)


@SETTINGS
@given(st.data())
def test_stored_points_and_reasons_are_the_models_text(data: st.DataObject) -> None:
    """What batch scoring stores is what serving splices: it must be PointOut's and ReasonOut's
    own serialisation, numbers, categories and wording included."""
    from models.explain import ScoredBlock

    k = data.draw(st.integers(1, 5))
    n = data.draw(st.integers(1, 8))
    names = data.draw(st.lists(texts, min_size=k, max_size=k, unique=True))
    cats = data.draw(st.lists(texts, min_size=1, max_size=4, unique=True))
    wording = data.draw(st.lists(st.tuples(texts.map(lambda t: t + " {value}"), texts.map(lambda t: "{value}" + t)),
                                 min_size=k, max_size=k))
    model = _model(names, {names[0]: cats}, wording)
    # Feature values short of 1e306, which a share (shown as 100·x %) would overflow.
    value = st.one_of(numbers.filter(lambda x: abs(x) < 1e306), st.just(float("nan")))
    matrix = np.array(data.draw(st.lists(st.lists(value, min_size=k, max_size=k), min_size=n, max_size=n)))
    matrix[:, 0] = data.draw(st.lists(st.sampled_from([*range(len(cats)), float("nan")]), min_size=n,
                                      max_size=n))
    pts = np.array(data.draw(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=k, max_size=k),
                                      min_size=n, max_size=n)))
    X = pd.DataFrame({name: matrix[:, j] for j, name in enumerate(names)})
    X[names[0]] = pd.Series([cats[int(c)] if c == c else None for c in matrix[:, 0]], dtype=object)
    for text in points_json(model, X, pts).to_pylist():
        assert text == POINTS.dump_json(POINTS.validate_json(text)).decode()
    take = min(MAX_REASONS, k)
    order = np.argsort(pts, axis=1, kind="stable")[:, :take]
    chosen = np.take_along_axis(pts, order, axis=1)
    block = ScoredBlock(matrix=matrix, points=pts, base_points=np.zeros(n), pd=np.zeros(n), score=np.zeros(n),
                        grade=np.array(["A"] * n, dtype=object), limit_minor=np.zeros(n, dtype=np.int64),
                        reason_features=np.where(chosen < 0, order, -1).astype(np.intp),
                        reason_points=np.where(chosen < 0, chosen, np.nan))
    for text in reasons_json(model, block).to_pylist():
        assert text == REASONS.dump_json(REASONS.validate_json(text)).decode()


def test_the_declared_shape_is_what_openapi_shows() -> None:
    schema = ScoreOut.model_json_schema()
    example = schema["example"]
    assert set(example) == set(ScoreOut.model_fields)
    assert ScoreOut.model_validate(example).model_dump(mode="json") == example
    assert schema["properties"]["limit"]["type"] == "string"
    with pytest.raises(ValueError, match="limit"):
        ScoreOut.model_validate({**example, "limit": "1e6"})
