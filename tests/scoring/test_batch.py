"""Batch scoring: points that add up, reasons that parse, files, and the database round trip."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import batch as batch_score
from scoring import score_json
from training.settings import TrainingSettings
from training.train import TrainOutcome


@pytest.fixture(scope="module")
def snapshot(outcome: TrainOutcome) -> pd.DataFrame:
    X = outcome.oot_data.X
    last = X.index.get_level_values("as_of").max()
    out = X.xs(last, level="as_of")
    assert isinstance(out, pd.DataFrame)
    return out


@pytest.fixture(scope="module")
def scored(outcome: TrainOutcome, snapshot: pd.DataFrame) -> pd.DataFrame:
    return batch_score.score_frame(outcome.model, snapshot, chunk_rows=400)


def test_points_add_up_to_the_score(scored: pd.DataFrame, snapshot: pd.DataFrame,
                                    outcome: TrainOutcome) -> None:
    assert list(scored["firm_id"]) == list(snapshot.index)
    totals = scored["points"].map(lambda s: sum(p["points"] for p in json.loads(s)))
    np.testing.assert_allclose(scored["base_points"] + totals, scored["score"], atol=1e-6)
    first = json.loads(scored["points"].iloc[0])
    assert [p["feature"] for p in first] == list(outcome.model.feature_names_)
    assert first[0]["value"] == pytest.approx(snapshot.iloc[0][first[0]["feature"]])
    np.testing.assert_allclose(scored["pd"], outcome.model.predict_proba(snapshot)[:, 1], rtol=1e-9)


def test_reasons_cost_points_and_are_worded(scored: pd.DataFrame) -> None:
    reasons = scored["reasons"].map(json.loads)
    assert reasons.map(len).between(0, 4).all()
    assert reasons.map(len).max() >= 1
    flat = [r for rs in reasons for r in rs]
    assert all(r["points"] < 0 for r in flat)
    assert all(isinstance(r["text_en"], str) and isinstance(r["text_zh"], str) for r in flat)
    for rs in reasons.head(200):
        pts = [r["points"] for r in rs]
        assert pts == sorted(pts)  # costliest first
    # Money leaves the model as integer fen and stays so: no float limit column at all.
    assert scored["limit_minor"].dtype == np.int64 and "limit" not in scored.columns
    assert (scored["limit_minor"] % 100_000 == 0).all()  # rounded down to 1,000 CNY


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_has_the_bank_columns(scored: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = batch_score.write_scores(scored, tmp_path / f"scores{suffix}")
    back = (pd.read_csv(path, dtype={"limit": str}) if suffix == ".csv" else pd.read_parquet(path))
    assert tuple(back.columns) == batch_score.FILE_COLUMNS
    assert len(back) == len(scored)
    # The limit as a decimal string and as integer fen, never a binary float.
    assert back["limit_minor"].tolist() == scored["limit_minor"].tolist()
    assert back["limit"].tolist() == [f"{m // 100}.{m % 100:02d}" for m in scored["limit_minor"]]
    assert set(back["currency"]) == {"CNY"}
    np.testing.assert_allclose(back["score"], scored["score"])
    assert json.loads(back["reasons"].iloc[0]) == json.loads(scored["reasons"].iloc[0])
    with pytest.raises(ValueError, match=r"csv or \.parquet"):
        batch_score.write_scores(scored, tmp_path / "scores.xlsx")


def test_csv_for_a_loan_officer_runs_no_formula(scored: pd.DataFrame, tmp_path: Path) -> None:
    """Whatever reaches the file (an id stored before ids were checked, a reason text), no cell
    starts with a formula trigger and no invisible character survives (issue 16)."""
    import csv

    hostile = scored.head(3).copy()
    hostile["firm_id"] = ["=HYPERLINK(\"http://evil\",\"x\")", "@SUM(A1)", "91500000MA5U000A07"]
    hostile["grade"] = ["-A", "B\u202eB", "C"]
    path = batch_score.write_scores(hostile, tmp_path / "scores.csv")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["firm_id"] for r in rows] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(A1)",
                                            "91500000MA5U000A07"]
    assert [r["grade"] for r in rows] == ["'-A", "B\ufffdB", "C"]
    assert all(r["reasons"].startswith("[") for r in rows)


def test_reasons_json_escapes_quotes_and_chinese() -> None:
    from types import SimpleNamespace

    from graph.dictionary import Direction, FeatureSpec
    from models.explain import ScoredBlock

    def spec(name: str, en: str, zh: str, unit: str) -> FeatureSpec:
        return FeatureSpec(name=name, family='fam "x"', meaning_en=name, meaning_zh=name,
                           direction=Direction.NONE, reason_en=en, reason_zh=zh, unit=unit)

    specs = {"sector": spec("sector", 'Sector "{value}" is risky', "行业{value}风险高", ""),
             "share": spec("share", "{value} sold, {value} again", "已核验{value}", "share")}
    model = SimpleNamespace(feature_names_=["sector", "share"], feature_specs_=specs,
                            categories_={"sector": ['a "quoted" \\ name', "制造业"]})
    block = ScoredBlock(
        matrix=np.array([[0.0, 0.25], [1.0, np.nan], [1.0, 0.5]]),
        points=np.array([[-2.0, -1.0], [-3.0, 4.0], [1.0, 2.0]]),
        base_points=np.zeros(3), pd=np.zeros(3), score=np.zeros(3),
        grade=np.array(["A"] * 3, dtype=object), limit_minor=np.zeros(3, dtype=np.int64),
        reason_features=np.array([[0, 1], [0, -1], [-1, -1]]),
        reason_points=np.array([[-2.0, -1.0], [-3.0, np.nan], [np.nan, np.nan]]),
    )
    rows = [json.loads(t) for t in score_json.reasons_json(model, block).to_pylist()]
    assert rows[2] == []
    assert [r["feature"] for r in rows[0]] == ["sector", "share"] and len(rows[1]) == 1
    assert rows[0][0] == {"feature": "sector", "family": 'fam "x"', "points": -2.0,
                          "value": 'a "quoted" \\ name',
                          "text_en": 'Sector "a "quoted" \\ name" is risky',
                          "text_zh": '行业a "quoted" \\ name风险高'}
    assert rows[0][1]["text_en"] == "25% sold, 25% again" and rows[0][1]["text_zh"] == "已核验25%"
    assert rows[1][0]["value"] == "制造业" and rows[1][0]["points"] == -3.0


def test_parallel_chunks_match_one_thread(outcome: TrainOutcome, snapshot: pd.DataFrame,
                                          scored: pd.DataFrame,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_score, "PARALLEL_MIN_ROWS", 0)
    seen: list[int] = []
    chunks = list(batch_score.score_chunks(outcome.model, snapshot, chunk_rows=50, workers=2,
                                           progress=lambda _stage, done, total: seen.append(done)))
    assert [len(c) for c in chunks[:-1]] == [50] * (len(chunks) - 1)
    assert seen == list(np.cumsum([len(c) for c in chunks]))
    together = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(together, scored)
    with pytest.raises(ValueError, match="no firms"):
        batch_score.score_frame(outcome.model, snapshot.iloc[:0])


@pytest.mark.slow
def test_score_all_stores_and_score_one_reads(tmp_path: Path, sqlite_url: str, snapshot: pd.DataFrame,
                                              outcome: TrainOutcome,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from store.db import make_engine
    from store.feature_snapshots import save_snapshot
    from store.scores import get_score
    from training import registry

    # Its own MLflow store: the registry tests count versions in the session-wide one.
    mlflow_settings = TrainingSettings(
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlflow_artifact_root=(tmp_path / "artifacts").as_uri(),
        chaincredit_data_dir=tmp_path / "var",
        registered_model_name="chaincredit-scoring-test",
        experiment_name="chaincredit-scoring-test",
    )

    engine = make_engine(sqlite_url)
    day = date(2023, 6, 30)
    stored_rows = snapshot.head(300)  # the out-of-time firms are the held-out fifth
    assert len(stored_rows) > 200
    save_snapshot(engine, day, stored_rows)
    try:
        registry.load_champion(settings=mlflow_settings)
    except LookupError:
        registry.log_training_run(outcome, run_name="for scoring", settings=mlflow_settings)
        registry.promote(settings=mlflow_settings)
    champion = registry.load_champion(settings=mlflow_settings)
    firm = str(snapshot.index[7])
    fresh = batch_score.score_one(engine, firm, day, settings=mlflow_settings)
    assert fresh.stored is False
    res = batch_score.score_all(engine, day, out=tmp_path / "s.csv", settings=mlflow_settings)
    assert res.n_firms == len(stored_rows) and res.model_version == champion.version
    stored = get_score(engine, firm, champion.version, day)
    assert stored is not None
    assert stored.score == pytest.approx(fresh.response.score, abs=1e-9)
    again = batch_score.score_one(engine, firm, day, settings=mlflow_settings)
    assert again.stored is True and again.response.grade == fresh.response.grade
    # Both paths give the API's shape, money included: the limit is the stored fen, as text.
    assert again.response.limit_minor == fresh.response.limit_minor == stored.limit_minor
    assert again.response.limit == f"{stored.limit_minor // 100}.{stored.limit_minor % 100:02d}"
    assert again.response.model_dump_json() == fresh.response.model_dump_json()
    assert sum(p.points for p in again.response.points) + again.response.base_points == pytest.approx(
        again.response.score, abs=1e-6
    )
    _cli_prints_the_same_shape(sqlite_url, mlflow_settings, firm, day, again.response.model_dump_json(),
                               monkeypatch)
    assert len(pd.read_csv(tmp_path / "s.csv")) == len(stored_rows)

    # A run that fails after some chunks were scored leaves the stored set as it was.
    real = batch_score._score_chunk
    calls: list[int] = []

    def failing(model: object, X: pd.DataFrame, top_n: int) -> pd.DataFrame:
        calls.append(len(X))
        if len(calls) > 1:
            raise RuntimeError("killed mid-run")
        return real(model, X, top_n)

    monkeypatch.setattr(batch_score, "_score_chunk", failing)
    with pytest.raises(RuntimeError, match="mid-run"):
        batch_score.score_all(engine, day, settings=mlflow_settings, chunk_rows=100)
    after = get_score(engine, firm, champion.version, day)
    assert after is not None and after.score == stored.score and after.points == stored.points
    from store.scores import versions_with_scores

    assert versions_with_scores(engine) == {champion.version}
    with engine.connect() as conn:
        n = conn.exec_driver_sql("select count(*) from scores").scalar_one()
    assert n == len(stored_rows)


def _cli_prints_the_same_shape(database_url: str, settings: TrainingSettings, firm: str, day: date,
                               body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chaincredit score FIRM_ID --json` prints the API's body (indented); without --json, the
    limit as exact money."""
    from typer.testing import CliRunner

    from api.cli import build_app
    from store.settings import get_store_settings
    from training.settings import get_training_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in settings.model_dump(exclude_none=True).items():
        monkeypatch.setenv(name.upper(), str(value))
    get_store_settings.cache_clear()
    get_training_settings.cache_clear()
    try:
        runner = CliRunner()
        printed = runner.invoke(build_app(), ["score", firm, "--as-of", day.isoformat(), "--json"])
        assert printed.exit_code == 0, printed.output
        assert json.loads(printed.output) == json.loads(body)
        shown = runner.invoke(build_app(), ["score", firm, "--as-of", day.isoformat()])
        limit = json.loads(body)["limit"]
        assert shown.exit_code == 0 and f"limit {Decimal(limit):,} CNY" in shown.output
    finally:
        get_store_settings.cache_clear()
        get_training_settings.cache_clear()


def test_json_text_of_numbers_and_categories() -> None:
    nums = score_json.number_text(np.array([1.5, np.nan, np.inf, -0.0, 1e-7, -2.123456789]), 8)
    assert nums.to_pylist() == ["1.5", "null", "null", "0.0", "1e-7", "-2.12345679"]
    assert [json.loads(t) for t in nums.to_pylist()] == [1.5, None, None, 0, 1e-7, -2.12345679]
    cats = score_json.value_text(pd.Series(["C", None, 'say "hi"', "C"], dtype=object))
    assert [json.loads(t) for t in cats.to_pylist()] == ["C", None, 'say "hi"', "C"]
