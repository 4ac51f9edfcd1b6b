"""GET /v1/scores/{id} under load: `chaincredit serve --workers 2` on 127.0.0.1, 32 keep-alive
connections from a raw asyncio HTTP/1.1 client (an httpx loop would eat the CPU it measures).

Run: `.venv/bin/python -m bench.serve [--seconds 10] [--firms 2000]`. Prints requests/s and
latency percentiles. Target (issue 6): ≥ 3,000 req/s and p99 < 25 ms with 2 workers.
The ratio to `mlflow models serve` is not measured yet (see the report of issue 6).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd


def _seed(url: str, n: int) -> tuple[str, list[str]]:
    from store import consents, keys, snapshots
    from store.db import make_engine, upgrade
    from store.uscc import make_uscc

    engine = make_engine(url)
    upgrade(engine)
    firms = [make_uscc(f"91500000MA{i:07d}") for i in range(n)]
    rng = np.random.default_rng(7)
    feats = pd.DataFrame(rng.random((n, 30)), index=pd.Index(firms, name="firm_id"),
                         columns=[f"f{i}" for i in range(30)])
    snapshots.save_snapshot(engine, date(2024, 6, 30), feats)
    pts = [{"feature": f"f{i}", "family": "trade_network", "value": 0.5, "points": 1.25} for i in range(30)]
    reasons = [{"feature": "f1", "points": -3.0, "text_zh": "原因", "text_en": "reason"}] * 4
    frame = pd.DataFrame({"firm_id": firms, "pd": 0.02, "score": 637.5, "grade": "BBB", "limit": 1e6,
                          "base_points": 600.0, "points": [pts] * n, "reasons": [reasons] * n})
    snapshots.save_scores(engine, date(2024, 6, 30), "1", frame)
    snapshots.bump_model_state(engine, "1", by="bench")
    bank = make_uscc("91500000MB0000001")
    token = keys.create_key(engine, role="bank", org=bank, created_by="bench").token
    for f in firms:
        consents.grant_consent(engine, firm_id=f, bank_org=bank, purpose="bench",
                               valid_until=date.today() + timedelta(days=1), evidence_ref="e", created_by="b")
    engine.dispose()
    return token, firms


async def _conn(port: int, token: str, firms: list[str], until: float, lat: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.perf_counter() < until:
        firm = random.choice(firms)
        req = (f"GET /v1/scores/{firm} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()
        t0 = time.perf_counter()
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        lat.append(time.perf_counter() - t0)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(1)
    writer.close()


async def _load(port: int, token: str, firms: list[str], seconds: float, conns: int) -> tuple[list[float], int]:
    lat: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_conn(port, token, firms, until, lat, errors) for _ in range(conns)))
    return lat, len(errors)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--firms", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        token, firms = _seed(url, args.firms)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": url, "CHAINCREDIT_ACCESS_LOG": "false",
               "CHAINCREDIT_RATE_LIMIT_PER_SECOND": "0", "CHAINCREDIT_AUTH_CACHE_SECONDS": "1"}
        proc = subprocess.Popen([sys.executable, "-c",
                                 f"from api.cli.serve import serve; serve('127.0.0.1', {port}, {args.workers})"],
                                env=env)
        try:
            import httpx

            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            asyncio.run(_load(port, token, firms, 2.0, args.connections))  # warm the caches
            lat, errors = asyncio.run(_load(port, token, firms, args.seconds, args.connections))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    arr = np.asarray(lat) * 1000
    print(f"workers={args.workers} connections={args.connections} seconds={args.seconds}")
    print(f"requests={arr.size} errors={errors} rps={arr.size / args.seconds:,.0f}")
    print(f"p50={np.percentile(arr, 50):.2f} ms p99={np.percentile(arr, 99):.2f} ms")


if __name__ == "__main__":
    main()
