"""One live server: `serve` with two SO_REUSEPORT workers, a real TCP score call, clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta

import httpx

from store import consents, keys
from store.db import make_engine
from tests.api.conftest import BANK, SUPPLIER, seed_scores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_two_workers(sqlite_url: str) -> None:
    url = sqlite_url
    engine = make_engine(url)
    seed_scores(engine)
    token = keys.create_key(engine, role="bank", org=BANK, created_by="test").token
    consents.grant_consent(engine, firm_id=SUPPLIER, bank_org=BANK, purpose="loan review",
                           valid_until=date.today() + timedelta(days=5), evidence_ref="e", created_by="t")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CHAINCREDIT_ACCESS_LOG": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from api.cli.serve import serve; serve('127.0.0.1', {port}, 2)"],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            bodies = [client.get(f"/v1/scores/{SUPPLIER}") for _ in range(20)]
        assert all(r.status_code == 200 for r in bodies)
        assert bodies[0].json()["score_display"] == 609
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert '"route": "/v1/scores/{firm_id}"' in err  # structured access log lines
    engine = make_engine(url)
    from store.audit import list_records

    assert len(list_records(engine, action="score.read")) == 20  # all committed before shutdown
