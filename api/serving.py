"""Which scores a worker serves, and the cache that makes a score call a dictionary lookup.

Scores are precomputed per (firm, snapshot date, model version) by `chaincredit score --all`.
Each worker polls the `model_state` row: when its generation changes (a promotion or a
`/v1/models/reload` in any worker) or new scores appear for the served version, it re-decides
the version to serve and drops its cache, so every worker switches within one poll interval.
A new champion serves only once its scores exist; until then the previous one keeps serving.
The rendered JSON of a firm's score is cached, since it is the same for every bank allowed to see it:
a version's scores are rendered all at once when it starts serving (scoring.score_render), and a
score missing from the cache is rendered through its response model (scoring.score_shape), to the
same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import anyio.to_thread
import pandas as pd
from sqlalchemy import Engine

from api.poller import Poller
from scoring.score_render import render_bodies
from scoring.score_shape import score_out
from store.feature_snapshots import firm_known, load_snapshot_extras
from store.model_state import ModelState, get_model_state, serving_version
from store.scores import get_score, has_scores, latest_scored, scores_with_extras

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


def preload_bodies(engine: Engine, version: str, as_of: date, limit: int) -> pd.DataFrame:
    """firm_id index; `body` (bytes) and `score` of the scores of (`version`, `as_of`)."""
    rows, extras = scores_with_extras(engine, version, as_of, limit)
    if rows.empty:
        return pd.DataFrame({"body": [], "score": []}, index=pd.Index([], name="firm_id"))
    firms = rows["firm_id"].astype(str)
    bodies = render_bodies(rows, [extras.get(f) for f in firms])
    return pd.DataFrame({"body": bodies, "score": rows["score"].to_numpy()},
                        index=pd.Index(firms, name="firm_id"))


class ScoreService:
    def __init__(
        self, engine: Engine, *, poll_seconds: float = 0.5, cache_size: int = 500_000, preload_max: int = 200_000
    ) -> None:
        self._engine = engine
        self._preload_max = preload_max
        self._poller = Poller(self.refresh, poll_seconds, "model-poller")
        self._cache_size = cache_size
        self._cache: dict[tuple[str, date | None], ServedScore] = {}
        self.state = ModelState(None, None, 0, None, None)
        self.version: str | None = None
        self._latest: date | None = None

    # --- which version ------------------------------------------------------------------
    def refresh(self) -> bool:
        """Re-read the model state; returns True when what is served changed."""
        state = get_model_state(self._engine)
        candidates = {v for v in (state.champion_version, state.previous_version) if v}
        scored = {v for v in candidates if has_scores(self._engine, v)}
        version = serving_version(state, scored)
        latest = latest_scored(self._engine, version) if version else None
        changed = (
            state.generation != self.state.generation or version != self.version or latest != self._latest
        )
        if changed:
            if version != self.version:
                log.info("serving model version %s (champion %s)", version, state.champion_version)
            # Build the new cache before switching: until then the old version keeps serving
            # from its own cache, so a switch never sends a burst of requests to the database.
            cache = self._preloaded(version, latest) if version and latest else {}
            self._cache = cache
        self.state, self.version, self._latest = state, version, latest
        return changed

    def _preloaded(self, version: str, latest: date) -> dict[tuple[str, date | None], ServedScore]:
        """Every firm's latest score of `version`, rendered, up to `preload_max` firms."""
        if self._preload_max <= 0:
            return {}
        try:
            bodies = preload_bodies(self._engine, version, latest, self._preload_max)
        except Exception:
            log.exception("preloading scores of version %s failed; loading them per request", version)
            return {}
        cache: dict[tuple[str, date | None], ServedScore] = {}
        for firm, body, score in zip(bodies.index, bodies["body"], bodies["score"], strict=True):
            served = ServedScore(firm, body, score, latest, version)
            cache[(firm, None)] = served
            cache[(firm, latest)] = served
        log.info("preloaded %d score(s) of version %s as of %s", len(bodies), version, latest)
        return cache

    async def start(self) -> None:
        await self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

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
        body = score_out(stored, extras).model_dump_json().encode()
        return ServedScore(firm_id, body, stored.score, stored.as_of, stored.model_version)

    def cached(self, firm_id: str, as_of: date | None = None) -> ServedScore | None:
        """The rendered score if this worker has it in memory (no I/O)."""
        return self._cache.get((firm_id, as_of))

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
