"""Which scores a worker serves, and the cache that makes a score call a dictionary lookup.

Scores are precomputed per (firm, snapshot date, model version) by `chaincredit score --all`.
Each worker polls the `model_state` row: when its generation changes (a promotion or a
`/v1/models/reload` in any worker) or new scores appear for the served version, it re-decides
the version to serve and drops its cache, so every worker switches within one poll interval.
A new champion serves only once its scores exist; until then the previous one keeps serving.
The rendered JSON of a firm's score is cached, since it is the same for every bank allowed to see it.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import anyio.to_thread
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from api.poller import Poller
from store.feature_snapshots import firm_known, load_snapshot_extras
from store.model_state import ModelState, get_model_state, serving_version
from store.scores import StoredScore, get_score, has_scores, latest_scored, scores_with_extras

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


_JSON_TAIL = ("tier", "core_firms", "red_flags")


def _extras_frame(texts: pd.Series) -> pd.DataFrame:
    """tier / core_firms / red_flags per row from the snapshot's extras JSON (None: absent)."""
    present = texts.dropna()
    if present.empty:
        parsed = pd.DataFrame(index=texts.index)
    else:
        parsed = pd.read_json(io.StringIO("\n".join(present.tolist())), lines=True, dtype=False)
        parsed.index = present.index
    out = parsed.reindex(index=texts.index, columns=list(_JSON_TAIL))
    out["tier"] = pd.to_numeric(out["tier"], errors="coerce").round().astype("Int64")
    for col in ("core_firms", "red_flags"):
        out[col] = out[col].where(out[col].map(lambda v: isinstance(v, list)), pd.Series([[]] * len(out),
                                                                                     index=out.index))
    return out


def render_bodies(rows: pd.DataFrame, extras: pd.Series) -> pd.Series:
    """The response body of every row at once, as `render` + json.dumps would give it.

    `rows` holds the stored score columns with `points` and `reasons` as JSON text, which is
    spliced in as it is; the scalar head and the extras go through pandas' C JSON writer.
    """
    minor = rows["limit_minor"].astype("int64")
    sign = np.where(minor < 0, "-", "")
    whole = (minor.abs() // 100).astype(str)
    cents = (minor.abs() % 100).astype(str).str.zfill(2)
    head = pd.DataFrame({
        "firm_id": rows["firm_id"].astype(str),
        "as_of": pd.to_datetime(rows["as_of"]).dt.strftime("%Y-%m-%d"),
        "model_version": rows["model_version"].astype(str),
        "pd": rows["pd"].astype("float64"),
        "score": rows["score"].astype("float64"),
        "score_display": np.rint(rows["score"].astype("float64")).astype("int64"),
        "grade": rows["grade"].astype(str),
        "limit": sign + whole + "." + cents,
        "limit_minor": minor,
        "currency": rows["currency"].astype(str),
        "base_points": rows["base_points"].astype("float64"),
    })
    head_json = pd.Series(head.to_json(orient="records", lines=True, double_precision=15,
                                       force_ascii=False).rstrip("\n").split("\n"), index=rows.index)
    tail = _extras_frame(extras.reindex(rows.index))
    tail_json = pd.Series(tail.to_json(orient="records", lines=True, force_ascii=False)
                          .rstrip("\n").split("\n"), index=rows.index)
    return (head_json.str[:-1] + ',"points":' + rows["points"].astype(str) + ',"reasons":'
            + rows["reasons"].astype(str) + "," + tail_json.str[1:])


def preload_bodies(engine: Engine, version: str, as_of: date, limit: int) -> pd.DataFrame:
    """firm_id index; `body` (bytes) and `score` of the scores of (`version`, `as_of`)."""
    rows, extras = scores_with_extras(engine, version, as_of, limit)
    if rows.empty:
        return pd.DataFrame({"body": [], "score": []}, index=pd.Index([], name="firm_id"))
    rows = rows.set_index(rows["firm_id"].astype(str), drop=False)
    # Reasons beyond the top four (a batch scored with a larger top_n) are cut per row.
    long = rows["reasons"].str.count('"feature"') > 4
    if long.any():
        rows.loc[long, "reasons"] = rows.loc[long, "reasons"].map(
            lambda t: json.dumps(json.loads(t)[:4], ensure_ascii=False, separators=(",", ":")))
    ex = pd.Series(extras, dtype=object).reindex(rows.index)
    bodies = render_bodies(rows.reset_index(drop=True), ex.reset_index(drop=True))
    return pd.DataFrame({"body": [b.encode() for b in bodies.tolist()], "score": rows["score"].to_numpy()},
                        index=rows.index)


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
        body = json.dumps(render(stored, extras), ensure_ascii=False, separators=(",", ":")).encode()
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
