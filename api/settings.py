"""Server and auth settings of the API, read from the environment through a cached getter.

Nothing is read at import: `create_app(settings)` takes them explicitly (tests build their own)
and falls back to `get_api_settings()`.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINCREDIT_", extra="ignore")

    # Same variable as the store's settings; None = the store's default SQLite file.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    # Per-key rate limits are per worker unless REDIS_URL names a shared Redis.
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL"))
    rate_limit_per_second: float = 500.0
    rate_limit_burst: int = 1000
    # Largest request body accepted (uploads included); bigger files go through `chaincredit load`.
    max_body_bytes: int = 32 * 1024 * 1024
    # How long a key lookup is reused in a worker; a revocation takes effect within this time.
    # 0 disables the cache.
    auth_cache_seconds: float = 1.0
    # How often each worker polls the model_state row for a champion change.
    model_poll_seconds: float = 0.5
    # How often each worker polls the consents table; a grant or withdrawal made through another
    # worker takes effect within this time (at once in the worker that made it).
    consent_poll_seconds: float = 0.5
    # Scores rendered into memory when a version starts serving (the rest load on first request).
    score_preload_max: int = 200_000
    # Serve GET /v1/scores/{id} from a pure-ASGI fast path (same checks, no FastAPI routing);
    # off, the FastAPI route answers. Both give the same responses.
    score_fast_path: bool = True
    # Group commit of audit records: wait this long to gather a batch, at most this many per commit.
    audit_flush_ms: float = 2.0
    audit_max_batch: int = 1000
    # On SQLite, the audit writer's connection leaves WAL checkpoints to a thread of its own,
    # which copies the WAL into the database at most this often (store.sqlite).
    audit_checkpoint_seconds: float = 1.0
    # Freeze the heap built at startup so full garbage collections skip it (api.heap).
    # `chaincredit serve` turns it on for its workers unless CHAINCREDIT_GC_FREEZE says otherwise;
    # off by default for apps living inside a longer process (tests, scripts).
    gc_freeze: bool = False
    # Largest batch of firms in POST /v1/scores:batch.
    max_batch_firms: int = 1000
    # How long a concurrent retry waits for the first request with the same Idempotency-Key.
    idempotency_wait_seconds: float = 30.0
    access_log: bool = True
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
