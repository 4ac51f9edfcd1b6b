"""Shared, expensive fixtures: one trained outcome and one MLflow store per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.training.factories import synthetic_dataset
from training.settings import TrainingSettings
from training.simulator import SimConfig, simulate, write_simulation
from training.train import TrainOutcome, train_and_evaluate

FAST_MODEL = {"n_estimators": 120, "calibration_folds": 0, "n_jobs": 1}


@pytest.fixture(scope="session")
def outcome() -> TrainOutcome:
    return train_and_evaluate(synthetic_dataset(), model_params=FAST_MODEL, oot_dates=2)


@pytest.fixture(scope="session")
def mlflow_settings(tmp_path_factory: pytest.TempPathFactory) -> TrainingSettings:
    root: Path = tmp_path_factory.mktemp("mlflow")
    return TrainingSettings(
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
        chaincredit_data_dir=root / "var",
        registered_model_name="chaincredit-test",
        experiment_name="chaincredit-test",
    )


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from store.db import make_engine, upgrade
    from store.ingest import ingest_many
    from store.reading import read_paths

    root = tmp_path_factory.mktemp("dbds")
    res = simulate(SimConfig(n_firms=150, months=18, seed=3))
    written = write_simulation(res, root / "sim", fmt="parquet")
    engine = make_engine(f"sqlite:///{root / 'cc.db'}")
    upgrade(engine)
    files = [p for p in written if p.parent == root / "sim"]
    ingest_many(engine, read_paths(files), uploader="test")
    return engine
