"""Where the store keeps its data. Read through a cached getter so nothing happens at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class StoreSettings(BaseSettings):
    """`DATABASE_URL` selects PostgreSQL (e.g. `postgresql+psycopg://user@host/db`); without it a
    SQLite file under `CHAINCREDIT_DATA_DIR` (default `./var`) needs no set-up."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = None
    chaincredit_data_dir: Path = DEFAULT_DATA_DIR

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.chaincredit_data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.chaincredit_data_dir / 'chaincredit.db').resolve()}"


@lru_cache(maxsize=1)
def get_store_settings() -> StoreSettings:
    return StoreSettings()
