"""The FastAPI application factory. Nothing happens at import: `create_app()` builds an app from
settings (or the environment), and its lifespan starts the audit writer and the model and
consent pollers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from api.audit_writer import AuditWriter
from api.auth import Authenticator
from api.consent_index import ConsentIndex
from api.deps import AppState
from api.fastpath import ScoreFastPath
from api.heap import freeze_startup_heap, unfreeze_heap
from api.metrics import Metrics
from api.middleware import ServiceMiddleware
from api.problems import install_handlers
from api.ratelimit import make_limiter
from api.serving import ScoreService
from api.settings import ApiSettings, get_api_settings

log = logging.getLogger("chaincredit.api")

DESCRIPTION = """
Supply-chain finance scoring. Core enterprises upload trade documents; banks read explained
scores of firms that consented; model owners manage the champion model; admins manage keys.

Authenticate with `Authorization: Bearer <key>` (keys from `chaincredit keys create`).
Errors are RFC 9457 problem details (`application/problem+json`); upload errors list every bad
row as `errors: [{row, field, message}]`.
"""


def create_app(settings: ApiSettings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_api_settings()
    if engine is None:
        from store.db import make_engine

        engine = make_engine(settings.database_url)
    metrics = Metrics()
    consents = ConsentIndex(engine, poll_seconds=settings.consent_poll_seconds)
    state = AppState(
        settings=settings,
        engine=engine,
        auth=Authenticator(engine, settings.auth_cache_seconds, consents),
        audit=AuditWriter(
            engine,
            flush_ms=settings.audit_flush_ms,
            max_batch=settings.audit_max_batch,
            on_commit=metrics.audit_committed,
            checkpoint_seconds=settings.audit_checkpoint_seconds,
        ),
        scorer=ScoreService(engine, poll_seconds=settings.model_poll_seconds,
                            preload_max=settings.score_preload_max),
        limiter=make_limiter(settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.audit.start()
        try:
            await state.scorer.start()
        except Exception:
            log.exception("could not read the model state; is the database migrated?")
        try:
            await consents.start()
        except Exception:
            log.exception("could not load consents; checking them in the database per request")
        if settings.gc_freeze:
            log.info("froze %d startup object(s) out of the garbage collector's way", freeze_startup_heap())
        try:
            yield
        finally:
            await consents.stop()
            await state.scorer.stop()
            await state.audit.stop()  # commit what is queued before the process ends
            if settings.gc_freeze:
                unfreeze_heap()

    app = FastAPI(
        title="chaincredit",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # The service reports through Prometheus (/metrics) and JSON logs, not OpenTelemetry;
        # FastAPI's native telemetry otherwise asks the OTel globals whether it is configured
        # on every request (about 7 % of a worker's time on the score call, issue 6).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.cc = state
    install_handlers(app)
    from api.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        access_log=settings.access_log,
        fast_path=ScoreFastPath(state) if settings.score_fast_path else None,
    )
    return app
