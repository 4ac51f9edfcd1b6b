"""Where training keeps its MLflow runs and which registered model it manages.

Read through a cached getter so importing `training` never touches the disk; the default is a
local SQLite tracking store with an artifact folder beside it, so a fresh clone needs no server
(DESIGN.md §5). `MLFLOW_TRACKING_URI` points at a tracking server instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class TrainingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", protected_namespaces=())

    mlflow_tracking_uri: str | None = None
    mlflow_artifact_root: str | None = None
    chaincredit_data_dir: Path = DEFAULT_DATA_DIR
    registered_model_name: str = "chaincredit"
    experiment_name: str = "chaincredit"

    def tracking_uri(self) -> str:
        """The tracking URI, creating the local folder only when the local default is used."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        self.chaincredit_data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.chaincredit_data_dir / 'mlflow.db').resolve()}"

    def artifact_location(self) -> str | None:
        """Artifact root for a new experiment; None lets a remote server choose its own."""
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        if self.mlflow_tracking_uri and not self.mlflow_tracking_uri.startswith("sqlite:"):
            return None
        root = (self.chaincredit_data_dir / "mlartifacts").resolve()
        root.mkdir(parents=True, exist_ok=True)
        return root.as_uri()


@lru_cache(maxsize=1)
def get_training_settings() -> TrainingSettings:
    return TrainingSettings()
