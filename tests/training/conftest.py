"""Shared, expensive fixtures: one trained outcome and one MLflow store per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.factories import synthetic_dataset
from training.settings import TrainingSettings
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
