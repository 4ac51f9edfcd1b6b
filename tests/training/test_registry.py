"""The MLflow side: a logged run with its plots, challenger/champion aliases, promotion rules,
the pyfunc (as `mlflow models serve` loads it) and loading the champion for serving."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tests.training.factories import FAST_MODEL
from training import registry
from training.settings import TrainingSettings
from training.train import TrainOutcome

# Every test here shares one MLflow store whose creation (schema migrations) and first logged
# model take 20-30 s: the module runs with the slow tests.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first(outcome: TrainOutcome, mlflow_settings: TrainingSettings) -> registry.LoggedRun:
    return registry.log_training_run(outcome, run_name="first", settings=mlflow_settings)


def test_run_is_logged_with_metrics_plots_and_dictionary(
    first: registry.LoggedRun, mlflow_settings: TrainingSettings, outcome: TrainOutcome
) -> None:
    import mlflow

    client = registry._client(mlflow_settings)
    run = client.get_run(first.run_id)
    assert run.data.metrics["oot_auc"] == pytest.approx(outcome.oot.auc)
    assert "graph_auc_gain" in run.data.metrics and "psi_train_oot" in run.data.metrics
    assert run.data.params["horizon_months"] == "12"
    names = {a.path for a in client.list_artifacts(first.run_id, "plots")}
    assert names == {
        "plots/roc.png", "plots/calibration.png", "plots/score_distribution.png", "plots/mean_abs_points.png"
    }
    dictionary = mlflow.artifacts.load_dict(f"runs:/{first.run_id}/feature_dictionary.json")
    assert [f["name"] for f in dictionary["features"]] == list(outcome.model.feature_names_)
    assert first.version == "1"
    mv = client.get_model_version_by_alias(mlflow_settings.registered_model_name, "challenger")
    assert str(mv.version) == "1"


def test_pyfunc_predicts_like_the_model(first: registry.LoggedRun, mlflow_settings: TrainingSettings,
                                        outcome: TrainOutcome) -> None:
    import mlflow.pyfunc

    registry.configure(mlflow_settings)
    loaded = mlflow.pyfunc.load_model(f"models:/{mlflow_settings.registered_model_name}/1")
    X = outcome.oot_data.X.head(20).reset_index(drop=True)
    got = loaded.predict(X)
    want = registry.predict_frame(outcome.model, X)
    np.testing.assert_allclose(got["pd"].to_numpy(), want["pd"].to_numpy(), rtol=1e-12)
    assert list(got["grade"]) == list(want["grade"])


@pytest.mark.slow
def test_promotion_rules(first: registry.LoggedRun, mlflow_settings: TrainingSettings,
                         outcome: TrainOutcome) -> None:
    with pytest.raises(LookupError, match="champion"):
        registry.load_champion(settings=mlflow_settings)
    decision = registry.promote(settings=mlflow_settings)
    assert decision.challenger_version == "1" and decision.champion_version is None
    assert "first champion" in decision.reason
    with pytest.raises(registry.PromotionRefused, match="already the champion"):
        registry.promote(settings=mlflow_settings)

    # A weaker challenger: the same rows, a model of two stumps.
    from training.train import train_and_evaluate

    weak_data = dataclasses.replace(
        outcome.train_data, X=pd.concat([outcome.train_data.X, outcome.oot_data.X]),
        y=pd.concat([outcome.train_data.y, outcome.oot_data.y]),
    )
    stumps = {**FAST_MODEL, "n_estimators": 2, "num_leaves": 2, "max_depth": 1}
    weak = train_and_evaluate(weak_data, model_params=stumps, oot_dates=2, ablation=False)
    second = registry.log_training_run(weak, run_name="weak", settings=mlflow_settings)
    assert second.version == "2"
    with pytest.raises(registry.PromotionRefused, match="does not beat champion version 1"):
        registry.promote(settings=mlflow_settings)
    champion = registry.load_champion(settings=mlflow_settings)
    assert champion.version == "1"
    X = outcome.oot_data.X.head(10)
    np.testing.assert_allclose(
        champion.model.predict_proba(X), outcome.model.predict_proba(X), rtol=1e-12
    )

    # A challenger with unstable scores is refused on PSI whatever its AUC.
    shifted = dataclasses.replace(weak, psi=0.4)
    registry.log_training_run(shifted, run_name="unstable", settings=mlflow_settings)
    with pytest.raises(registry.PromotionRefused, match=r"PSI 0\.400"):
        registry.promote(settings=mlflow_settings)


def test_import_does_not_load_mlflow() -> None:
    import subprocess
    import sys

    code = "import sys, training.registry; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
