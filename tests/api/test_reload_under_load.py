"""Model reload under load: score requests keep succeeding while champions switch.

In-process: concurrent score calls through the ASGI app while /v1/models/reload switches the
champion between two versions that both have scores. Live: two SO_REUSEPORT workers under
concurrent calls while the model_state row flips (as a promotion plus reload in another worker
does); every worker switches by polling, and no request fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
import pandas as pd
import pytest

from store import consents, keys
from store.audit import list_records
from store.db import make_engine
from store.model_state import bump_model_state
from store.scores import save_scores
from tests.api.conftest import AS_OF, BANK, CORE, SUPPLIER, Env, seed_scores
from tests.api.test_live import _free_port


def _scores_for(version: str, delta: float) -> pd.DataFrame:
    pts = [{"feature": "verified_share", "family": "verification", "value": 0.9, "points": 10.0 + delta}]
    reasons = [{"feature": "patents", "family": "intangibles", "points": -2.5, "value": "10",
                "text_zh": "专利少", "text_en": "Few patents"}]
    return pd.DataFrame({
        "firm_id": [CORE, SUPPLIER], "pd": [0.01, 0.05], "score": [610.0 + delta] * 2, "grade": ["A", "BB"],
        "limit_minor": [100_000_000, 20_000_000], "base_points": [600.0, 600.0], "points": [pts, pts], "reasons": [reasons, reasons],
    })


async def _hammer(app: Any, env: Env, stop: asyncio.Event, seen: Counter[str], failures: list[str]) -> int:
    transport = httpx.ASGITransport(app=app)
    n = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        while not stop.is_set():
            r = await client.get(f"/v1/scores/{SUPPLIER}", headers=env.h("bank"))
            n += 1
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")
            else:
                body = r.json()
                seen[body["model_version"]] += 1
                if abs(body["base_points"] + sum(p["points"] for p in body["points"]) - body["score"]) > 1e-6:
                    failures.append("points do not add up")
    return n


def test_reload_under_load_in_process(env: Env) -> None:
    save_scores(env.engine, AS_OF, "2", _scores_for("2", 5.0))
    state = env.app.state.cc
    champion = {"v": "1"}
    state.champion_lookup = lambda: champion["v"]

    async def go() -> tuple[int, Counter[str], list[str], list[str]]:
        seen: Counter[str] = Counter()
        failures: list[str] = []
        stop = asyncio.Event()
        # The app's lifespan already runs (the env fixture's TestClient): its audit writer settles
        # this loop's futures on this loop.
        workers = [asyncio.create_task(_hammer(env.app, env, stop, seen, failures)) for _ in range(8)]
        served: list[str] = []
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as admin:
            for i in range(6):
                await asyncio.sleep(0.15)
                champion["v"] = "2" if i % 2 == 0 else "1"
                r = await admin.post("/v1/models/reload", headers=env.h("model_owner"))
                assert r.status_code == 200, r.text
                served.append(r.json()["serving_version"])
        await asyncio.sleep(0.15)
        stop.set()
        total = sum(await asyncio.gather(*workers))
        return total, seen, failures, served

    total, seen, failures, served = asyncio.run(go())
    assert failures == []
    assert total > 50 and set(seen) == {"1", "2"}  # both champions served, nothing failed
    assert served == ["2", "1", "2", "1", "2", "1"]  # a scored champion serves at once
    assert len(list_records(env.engine, action="model.reload")) == 6
    assert len(list_records(env.engine, action="score.read", limit=100_000)) >= total


def test_new_champion_without_scores_keeps_the_old_one_serving(env: Env) -> None:
    env.app.state.cc.champion_lookup = lambda: "9"
    r = env.client.post("/v1/models/reload", headers=env.h("model_owner"))
    assert r.status_code == 200
    assert r.json()["champion_version"] == "9" and r.json()["serving_version"] == "1"
    got = env.client.get(f"/v1/scores/{SUPPLIER}", headers=env.h("bank"))
    assert got.status_code == 200 and got.json()["model_version"] == "1"
    save_scores(env.engine, AS_OF, "9", _scores_for("9", 1.0))
    deadline = time.monotonic() + 5
    version = None
    while time.monotonic() < deadline and version != "9":
        time.sleep(0.1)  # the poller notices the new scores
        version = env.client.get(f"/v1/scores/{SUPPLIER}", headers=env.h("bank")).json()["model_version"]
    assert version == "9"


@pytest.mark.slow
def test_reload_under_load_two_live_workers(sqlite_url: str) -> None:
    url = sqlite_url
    engine = make_engine(url)
    seed_scores(engine)
    save_scores(engine, AS_OF, "2", _scores_for("2", 5.0))
    token = keys.create_key(engine, role="bank", org=BANK, created_by="test").token
    consents.grant_consent(engine, firm_id=SUPPLIER, bank_org=BANK, purpose="loan review",
                           valid_until=date.today() + timedelta(days=5), evidence_ref="e", created_by="t")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CHAINCREDIT_ACCESS_LOG": "false",
           "CHAINCREDIT_MODEL_POLL_SECONDS": "0.1", "CHAINCREDIT_RATE_LIMIT_PER_SECOND": "0"}
    proc = subprocess.Popen([sys.executable, "-c", f"from api.cli.serve import serve; serve('127.0.0.1', {port}, 2)"],
                            env=env, stderr=subprocess.PIPE, text=True)
    seen: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as c:
            while not stop.is_set():
                try:
                    r = c.get(f"/v1/scores/{SUPPLIER}")
                except httpx.TransportError as exc:
                    failures.append(repr(exc))
                    continue
                if r.status_code == 200:
                    seen[r.json()["model_version"]] += 1
                else:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        threads = [threading.Thread(target=hammer) for _ in range(6)]
        for t in threads:
            t.start()
        for i in range(8):
            time.sleep(0.4)
            bump_model_state(engine, "2" if i % 2 == 0 else "1", by="test")  # a promotion elsewhere
        time.sleep(0.4)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert failures == []
    assert set(seen) == {"1", "2"} and sum(seen.values()) > 50
    assert len(list_records(engine, action="score.read", limit=1_000_000)) == sum(seen.values())
