"""MLflow, in one place: logging a training run, the pyfunc wrapper, the registry's aliases.

MLflow is imported inside functions only, so `chaincredit --help` and the API's start-up do not
pay for it. The model itself is saved by `models.save_model` as a plain folder; MLflow carries
that folder as an artifact of a pyfunc, so `mlflow models serve --env-manager local` can serve it
and `load_champion` can hand serving the same folder without any MLflow type.

Aliases: a new run's version becomes `challenger`; `promote` moves `champion` to it only when it
beats the champion's AUC on the challenger's out-of-time rows by a margin and its PSI is below
0.25. The out-of-time rows are logged with the run so that comparison is on the same data.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.progress import Progress, report
from training.metrics import auc
from training.settings import TrainingSettings, get_training_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from training.train import TrainOutcome

CHALLENGER = "challenger"
CHAMPION = "champion"
MODEL_ARTIFACT = "credit_model"  # folder name of models.save_model's output inside the pyfunc
OOT_ARTIFACT = "evaluation/oot.parquet"
PSI_LIMIT = 0.25
# What the pyfunc needs at serving time; versions pinned to what trained it. chaincredit itself
# must be installed where the model is served (it is, with --env-manager local).
_REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "scipy", "pyarrow")


class PromotionRefused(Exception):
    """The challenger did not earn the champion alias; the message says why."""

    def __init__(self, message: str, challenger_version: str | None = None) -> None:
        super().__init__(message)
        self.challenger_version = challenger_version


def pip_requirements() -> list[str]:
    out = []
    for dist in _REQUIREMENTS:
        try:
            out.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(dist)
    return out


def configure(settings: TrainingSettings | None = None) -> str:
    """Point MLflow at the tracking store and make sure the experiment exists; returns its id."""
    import mlflow

    s = settings or get_training_settings()
    mlflow.set_tracking_uri(s.tracking_uri())
    mlflow.set_registry_uri(s.tracking_uri())
    exp = mlflow.get_experiment_by_name(s.experiment_name)
    if exp is not None:
        return str(exp.experiment_id)
    return str(mlflow.create_experiment(s.experiment_name, artifact_location=s.artifact_location()))


def _client(settings: TrainingSettings | None = None) -> MlflowClient:
    from mlflow import MlflowClient

    configure(settings)
    s = settings or get_training_settings()
    return MlflowClient(tracking_uri=s.tracking_uri(), registry_uri=s.tracking_uri())


@functools.cache
def _pyfunc_class() -> type:
    """The PythonModel subclass, built on first use so that importing this module does not
    import MLflow. Module `__getattr__` below exposes it as `training.registry.ChaincreditPyfunc`,
    so pickles refer to it by name and unpickling rebuilds it here."""
    import mlflow.pyfunc

    class ChaincreditPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """PD, score and grade per row of a feature table (columns = the model's features)."""

        def load_context(self, context):  # type: ignore[no-untyped-def]
            from models import load_model

            self.model = load_model(Path(context.artifacts[MODEL_ARTIFACT]))

        # No type hints: MLflow 3 would read them as an input schema (the signature is logged).
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
            return predict_frame(self.model, frame)

    ChaincreditPyfunc.__module__ = __name__
    ChaincreditPyfunc.__qualname__ = "ChaincreditPyfunc"
    return ChaincreditPyfunc


def __getattr__(name: str) -> Any:
    if name == "ChaincreditPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def predict_frame(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """What the pyfunc returns: pd, score and grade (no points: those come from batch scoring)."""
    p = np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64)
    return pd.DataFrame(
        {
            "pd": p,
            "score": model.score_scale_.score(p),
            "grade": np.asarray(model.grade_scale_.grade(p), dtype=object),
        },
        index=frame.index,
    )


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    version: str | None  # registered model version, None when not registered


def _dictionary_json(model: Any) -> dict[str, Any]:
    specs = getattr(model, "feature_specs_", {})
    return {"features": [specs[n].to_dict() for n in model.feature_names_ if n in specs]}


def log_training_run(
    outcome: TrainOutcome,
    *,
    run_name: str | None = None,
    extra_params: dict[str, Any] | None = None,
    register: bool = True,
    settings: TrainingSettings | None = None,
    progress: Progress | None = None,
) -> LoggedRun:
    """Log params, metrics, dictionary, plots, out-of-time rows and the pyfunc; register it as
    `challenger`. Returns the run id and the registered version."""
    import mlflow
    from mlflow.models import infer_signature

    from models import save_model
    from training import plots

    s = settings or get_training_settings()
    experiment_id = configure(s)
    model = outcome.model
    steps = 5
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run, tempfile.TemporaryDirectory() as tmp:
        report(progress, "mlflow: logging params and metrics", 0, steps)
        params = {**outcome.params(), **(extra_params or {})}
        mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
        mlflow.log_metrics(outcome.metrics())
        mlflow.log_dict(_dictionary_json(model), "feature_dictionary.json")
        mlflow.log_dict({str(k): float(v) for k, v in outcome.mean_abs_points.items()}, "mean_abs_points.json")

        report(progress, "mlflow: logging plots", 1, steps)
        y = outcome.y_oot
        curves = {"model": outcome.pd_oot}
        if outcome.ablation_model is not None:
            drop = outcome.graph_features
            curves["without graph features"] = outcome.ablation_model.predict_proba(
                outcome.oot_data.X.drop(columns=drop)
            )[:, 1]
        figures = {
            "plots/roc.png": plots.roc_figure(y, curves),
            "plots/calibration.png": plots.calibration_figure(y, outcome.pd_oot),
            "plots/score_distribution.png": plots.score_distribution_figure(
                model.score_scale_.score(outcome.pd_train), model.score_scale_.score(outcome.pd_oot), y
            ),
            "plots/mean_abs_points.png": plots.points_figure(outcome.mean_abs_points),
        }
        for path, fig in figures.items():
            mlflow.log_figure(fig, path)

        report(progress, "mlflow: logging out-of-time rows", 2, steps)
        oot_path = Path(tmp) / "oot.parquet"
        outcome.oot_data.to_frame().to_parquet(oot_path, index=False)
        mlflow.log_artifact(str(oot_path), artifact_path=str(Path(OOT_ARTIFACT).parent))

        report(progress, "mlflow: logging the model", 3, steps)
        folder = Path(tmp) / MODEL_ARTIFACT
        save_model(model, folder)
        sample = outcome.oot_data.X.head(50)
        signature = infer_signature(sample, predict_frame(model, sample))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=_pyfunc_class()(),
            artifacts={MODEL_ARTIFACT: str(folder)},
            pip_requirements=pip_requirements(),
            signature=signature,
            input_example=sample.head(5),
            registered_model_name=s.registered_model_name if register else None,
        )
        version = None
        if register and info.registered_model_version is not None:
            report(progress, "mlflow: registering the challenger", 4, steps)
            version = str(info.registered_model_version)
            client = _client(s)
            client.set_registered_model_alias(s.registered_model_name, CHALLENGER, version)
            client.set_model_version_tag(s.registered_model_name, version, "run_id", run.info.run_id)
            client.set_model_version_tag(
                s.registered_model_name, version, "oot_auc", f"{outcome.oot.auc:.6f}"
            )
        report(progress, "mlflow: logged", steps, steps)
        return LoggedRun(run.info.run_id, experiment_id, version)


def _version_by_alias(client: MlflowClient, name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _download_model_folder(client: MlflowClient, name: str, version: str, dst: Path) -> Path:
    """The models/ folder of a registered version, downloaded once into `dst`."""
    import mlflow.artifacts

    def find() -> Path | None:
        # The pyfunc keeps its artifacts under `artifacts/`; where the download puts the pyfunc
        # folder itself depends on the store, so look for the named folder below `dst`.
        hits = sorted(p for p in dst.rglob(MODEL_ARTIFACT) if p.is_dir()) if dst.exists() else []
        return hits[0] if hits else None

    folder = find()
    if folder is None:
        dst.mkdir(parents=True, exist_ok=True)
        src = client.get_model_version_download_uri(name, version)
        mlflow.artifacts.download_artifacts(artifact_uri=src, dst_path=str(dst))
        folder = find()
    if folder is None:
        raise FileNotFoundError(f"version {version} of {name} carries no {MODEL_ARTIFACT} folder")
    return folder


def _cache_dir(s: TrainingSettings, version: str) -> Path:
    return (s.chaincredit_data_dir / "models" / s.registered_model_name / version).resolve()


@dataclass(frozen=True)
class RegisteredModel:
    version: str
    folder: Path
    model: Any
    run_id: str


def load_version(
    alias: str = CHAMPION, *, settings: TrainingSettings | None = None
) -> RegisteredModel:
    """The model carrying `alias` (default champion): version, folder and the loaded model."""
    from models import load_model

    s = settings or get_training_settings()
    client = _client(s)
    mv = _version_by_alias(client, s.registered_model_name, alias)
    if mv is None:
        raise LookupError(
            f"no model carries the alias {alias!r} yet: run `chaincredit train`"
            + (" and `chaincredit promote`" if alias == CHAMPION else "")
        )
    version = str(mv.version)
    folder = _download_model_folder(client, s.registered_model_name, version, _cache_dir(s, version))
    return RegisteredModel(version, folder, load_model(folder), str(mv.run_id))


def load_champion(*, settings: TrainingSettings | None = None) -> RegisteredModel:
    return load_version(CHAMPION, settings=settings)


@dataclass(frozen=True)
class Promotion:
    challenger_version: str
    champion_version: str | None  # the champion before this decision
    challenger_auc: float
    champion_auc: float | None
    psi: float
    margin: float
    n_rows: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _oot_rows(client: MlflowClient, run_id: str) -> pd.DataFrame:
    import mlflow.artifacts

    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=OOT_ARTIFACT, dst_path=tmp)
        return pd.read_parquet(path)


def promote(
    margin: float = 0.005, *, settings: TrainingSettings | None = None
) -> Promotion:
    """Move `champion` to the challenger if it earned it; raise PromotionRefused otherwise."""
    from models import load_model
    from training.dataset import PointInTimeDataset

    s = settings or get_training_settings()
    client = _client(s)
    name = s.registered_model_name
    challenger = _version_by_alias(client, name, CHALLENGER)
    if challenger is None:
        raise PromotionRefused("no challenger: run `chaincredit train` first")
    champion = _version_by_alias(client, name, CHAMPION)
    ch_version = str(challenger.version)
    if champion is not None and str(champion.version) == ch_version:
        raise PromotionRefused(f"version {ch_version} is already the champion", ch_version)
    metrics = client.get_run(challenger.run_id).data.metrics
    psi_value = float(metrics.get("psi_train_oot", float("nan")))
    if not psi_value < PSI_LIMIT:  # also refuses a missing (NaN) PSI
        raise PromotionRefused(
            f"challenger version {ch_version} has PSI {psi_value:.3f} between training and "
            f"out-of-time scores; it must be below {PSI_LIMIT}",
            ch_version,
        )
    data = PointInTimeDataset.from_frame(_oot_rows(client, challenger.run_id)).labelled()
    y = data.y.to_numpy(dtype=np.float64)
    ch_model = load_model(_download_model_folder(client, name, ch_version, _cache_dir(s, ch_version)))
    ch_auc = auc(y, ch_model.predict_proba(data.X)[:, 1])
    champ_auc: float | None = None
    champ_version = None if champion is None else str(champion.version)
    if champ_version is not None:
        champ_model = load_model(
            _download_model_folder(client, name, champ_version, _cache_dir(s, champ_version))
        )
        missing = [f for f in champ_model.feature_names_ if f not in data.X.columns]
        if missing:
            raise PromotionRefused(
                f"champion version {champ_version} needs features the challenger's out-of-time "
                f"data lacks ({', '.join(missing[:5])}); the two cannot be compared",
                ch_version,
            )
        champ_auc = auc(y, champ_model.predict_proba(data.X)[:, 1])
        if ch_auc - champ_auc < margin:
            raise PromotionRefused(
                f"challenger version {ch_version} AUC {ch_auc:.4f} does not beat champion version "
                f"{champ_version} AUC {champ_auc:.4f} by the margin {margin} on the same "
                f"{len(y):,} out-of-time rows",
                ch_version,
            )
        reason = (
            f"challenger version {ch_version} AUC {ch_auc:.4f} beats champion version "
            f"{champ_version} AUC {champ_auc:.4f} by ≥ {margin}; PSI {psi_value:.3f} < {PSI_LIMIT}"
        )
    else:
        reason = f"first champion: version {ch_version}, AUC {ch_auc:.4f}, PSI {psi_value:.3f} < {PSI_LIMIT}"
    client.set_registered_model_alias(name, CHAMPION, ch_version)
    client.set_model_version_tag(name, ch_version, "promotion", json.dumps({"reason": reason}))
    return Promotion(ch_version, champ_version, ch_auc, champ_auc, psi_value, margin, len(y), reason)
