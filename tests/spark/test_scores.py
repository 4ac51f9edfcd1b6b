"""Scores on Spark equal batch scoring's, firm by firm, and import-scores stores them as
`score --all` would: one transaction replacing the set of (date, model version)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.batch import score_chunk, score_frame
from spark.features.build import run_features
from spark.import_scores import import_scores
from spark.score import run_scores


@pytest.fixture(scope="module")
def model(local_features: pd.DataFrame):  # type: ignore[no-untyped-def]
    from models.estimator import CreditModel

    rng = np.random.default_rng(0)
    risk = local_features["flag_total"].to_numpy() + rng.normal(0, 1, len(local_features))
    y = (risk > np.quantile(risk, 0.8)).astype(int)
    return CreditModel(n_estimators=40, calibration_folds=0, n_jobs=1).fit(local_features, y)


@pytest.fixture(scope="module")
def spark_scores(spark, lake: Path, model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark-scores")
    run_features(spark, lake, out)
    run_scores(spark, out, out, model, "7", score_chunk)
    return out


def test_spark_scores_equal_batch_scoring(spark_scores: Path, local_features: pd.DataFrame, model) -> None:
    got = pd.read_parquet(spark_scores / "scores").set_index("firm_id").sort_index()
    want = score_frame(model, local_features).set_index("firm_id").sort_index()
    assert list(got.index) == list(want.index)
    for col in ("pd", "score", "base_points"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-9, atol=1e-9)
    assert (got["limit_minor"] == want["limit_minor"]).all()  # money: exact, in fen
    assert (got["grade"] == want["grade"]).all()
    # points add up to the score, and the reasons are the costliest features, as batch scoring's
    first = json.loads(got["points"].iloc[0])
    assert abs(got["base_points"].iloc[0] + sum(p["points"] for p in first) - got["score"].iloc[0]) < 1e-6
    assert [json.loads(r)[0]["feature"] if json.loads(r) else None for r in got["reasons"]] == [
        json.loads(r)[0]["feature"] if json.loads(r) else None for r in want["reasons"]]


def test_import_scores_replaces_the_set_in_one_go(spark_scores: Path, engine) -> None:
    """On SQLite and on PostgreSQL (COPY), through the store's ScoreWriter."""
    from store.feature_snapshots import load_snapshot
    from store.scores import get_score, save_scores

    scores = pd.read_parquet(spark_scores / "scores")
    day = pd.Timestamp(json.loads((spark_scores / "_scores.json").read_text())["as_of"]).date()
    stale = scores.head(3).assign(firm_id=["GONE1", "GONE2", "GONE3"])
    save_scores(engine, day, "7", stale)  # a previous set of the same date and version
    res = import_scores(engine, spark_scores)
    assert res.firms == len(scores) and res.snapshot_firms == len(scores)
    assert get_score(engine, "GONE1", "7", day) is None
    one = scores.iloc[5]
    stored = get_score(engine, str(one["firm_id"]), "7", day)
    assert stored is not None and stored.score == pytest.approx(float(one["score"]), abs=1e-9)
    assert stored.points == json.loads(one["points"])
    snap = load_snapshot(engine, day)
    assert len(snap) == len(scores)


def test_import_refuses_a_tampered_score_set_and_keeps_the_old_one(spark_scores: Path, engine,
                                                                   tmp_path: Path) -> None:
    """Whoever can write the folder could hand serving a score: a row no scoring run makes
    (here a PD of 1.7) stops the import, and the previous set of the date stays served."""
    import shutil

    from spark.import_scores import BadScoresError
    from store.scores import get_score, save_scores

    bad = tmp_path / "bad"
    shutil.copytree(spark_scores, bad)
    scores = pd.read_parquet(bad / "scores")
    shutil.rmtree(bad / "scores")
    (bad / "scores").mkdir()
    scores.loc[scores.index[4], "pd"] = 1.7
    scores.to_parquet(bad / "scores" / "part-0.parquet")
    day = pd.Timestamp(json.loads((bad / "_scores.json").read_text())["as_of"]).date()
    save_scores(engine, day, "7", scores.head(2))
    with pytest.raises(BadScoresError, match="row 5"):
        import_scores(engine, bad)
    assert get_score(engine, str(scores["firm_id"].iloc[0]), "7", day) is not None
    assert get_score(engine, str(scores["firm_id"].iloc[3]), "7", day) is None
