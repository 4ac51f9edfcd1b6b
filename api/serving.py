"""Which scores a worker serves, and the cache that makes a score call a dictionary lookup.

Scores are precomputed per (firm, snapshot date, model version) by `chaincredit score --all`.
Each worker polls the `model_state` row: when its generation changes (a promotion or a
`/v1/models/reload` in any worker) or new scores appear for the served version, it re-decides
the version to serve and drops its cache, so every worker switches within one poll interval.
A new champion serves only once its scores exist; until then the previous one keeps serving.
The rendered JSON of a firm's score is cached, since it is the same for every bank allowed to see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, func, select

from store.service_tables import scores
from store.snapshots import (
    ModelState,
    StoredScore,
    firm_known,
    get_model_state,
    get_score,
    load_snapshot_extras,
    serving_version,
)

log = logging.getLogger("chaincredit.serving")


class FirmNotFound(LookupError):
    pass


class ScoreNotReady(LookupError):
    pass


@dataclass(frozen=True)
class ServedScore:
    firm_id: str
    body: bytes  # the rendered JSON response
    score: float
    as_of: date
    model_version: str


def _has_scores(engine: Engine, version: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(scores.c.firm_id).where(scores.c.model_version == version).limit(1)).first()
            is not None
        )


def _latest_scored(engine: Engine, version: str) -> date | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(func.max(scores.c.as_of)).where(scores.c.model_version == version)
        ).scalar_one_or_none()
    return value


def render(stored: StoredScore, extras: dict[str, Any]) -> dict[str, Any]:
    limit = Decimal(stored.limit_minor).scaleb(-2)
    return {
        "firm_id": stored.firm_id,
        "as_of": stored.as_of.isoformat(),
        "model_version": stored.model_version,
        "pd": stored.pd,
        "score": stored.score,
        "score_display": round(stored.score),
        "grade": stored.grade,
        "limit": f"{limit:.2f}",
        "limit_minor": stored.limit_minor,
        "currency": stored.currency,
        "base_points": stored.base_points,
        "points": stored.points,
        "reasons": stored.reasons[:4],
        "tier": extras.get("tier"),
        "core_firms": extras.get("core_firms") or [],
        "red_flags": extras.get("red_flags") or [],
    }


class ScoreService:
    def __init__(self, engine: Engine, *, poll_seconds: float = 0.5, cache_size: int = 500_000) -> None:
        self._engine = engine
        self._poll = poll_seconds
        self._cache_size = cache_size
        self._cache: dict[tuple[str, date | None], ServedScore] = {}
        self.state = ModelState(None, None, 0, None, None)
        self.version: str | None = None
        self._latest: date | None = None
        self._task: asyncio.Task[None] | None = None

    # --- which version ------------------------------------------------------------------
    def refresh(self) -> bool:
        """Re-read the model state; returns True when what is served changed."""
        state = get_model_state(self._engine)
        candidates = {v for v in (state.champion_version, state.previous_version) if v}
        scored = {v for v in candidates if _has_scores(self._engine, v)}
        version = serving_version(state, scored)
        latest = _latest_scored(self._engine, version) if version else None
        changed = (
            state.generation != self.state.generation or version != self.version or latest != self._latest
        )
        if changed:
            if version != self.version:
                log.info("serving model version %s (champion %s)", version, state.champion_version)
            self._cache = {}
        self.state, self.version, self._latest = state, version, latest
        return changed

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self.refresh)
        self._task = asyncio.create_task(self._run(), name="model-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except Exception:
                log.exception("polling the model state failed; keeping the current version")

    # --- one firm -------------------------------------------------------------------------
    def _load(self, firm_id: str, as_of: date | None) -> ServedScore:
        version = self.version
        stored = get_score(self._engine, firm_id, version, as_of) if version else None
        if stored is None:
            if not firm_known(self._engine, firm_id):
                raise FirmNotFound(f"no firm {firm_id} is known to the service")
            when = f" for {as_of}" if as_of else ""
            if version is None:
                raise ScoreNotReady(
                    f"firm {firm_id} is known but no model is serving yet: promote a champion and "
                    "run `chaincredit score --all`"
                )
            raise ScoreNotReady(
                f"firm {firm_id} is known but has no score{when} from model version {version}: "
                "run `chaincredit features` and `chaincredit score --all`"
            )
        extras = load_snapshot_extras(self._engine, firm_id, stored.as_of)
        body = json.dumps(render(stored, extras), ensure_ascii=False, separators=(",", ":")).encode()
        return ServedScore(firm_id, body, stored.score, stored.as_of, stored.model_version)

    async def get(self, firm_id: str, as_of: date | None = None) -> ServedScore:
        key = (firm_id, as_of)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        served = await anyio.to_thread.run_sync(self._load, firm_id, as_of)
        if served.model_version == self.version:
            if len(self._cache) >= self._cache_size:
                self._cache = {}
            self._cache[key] = served
        return served
