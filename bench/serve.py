"""GET /v1/scores/{id} under load, and `mlflow models serve` of the same champion on the same rows.

Run: `.venv/bin/python -m bench.serve [--seconds 10] [--firms 2000] [--runs 3] [--no-mlflow]`.

1. Builds a real champion in a throw-away folder: a CreditModel trained on synthetic rows named
   after the feature dictionary (bench.train.synthetic), logged to a local MLflow store,
   registered and promoted to `champion` through training.registry, exactly as `chaincredit
   train` and `promote` do; then batch-scores FIRMS firms with points and reasons
   (scoring.batch.score_frame) and stores snapshot, scores and consents in SQLite.
2. `chaincredit serve --workers W` (SO_REUSEPORT processes); every firm is requested once to
   warm the caches, then `wrk -t2 -c32` (or, without wrk, a raw asyncio HTTP/1.1 client) runs
   RUNS times for SECONDS each: requests/s, p50/p90/p99/max latency, non-200 answers, the
   server's CPU seconds per request (so a loaded machine can be told apart from a slow service)
   and the load average.
3. `mlflow models serve --env-manager local -m models:/<name>@champion -w W`, one firm's feature
   row per POST /invocations (what a bank's single score call would send), the same runs.

The figures reported are the medians of the runs; the ratio is chaincredit / mlflow from the same
invocation. Target (issue 6): ≥ 3,000 requests/s and p99 < 25 ms with 2 workers at 32
connections, and a ratio ≥ 20.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("bench.serve")
AS_OF = date(2024, 6, 30)
BANK_ORG = "91500000MB0000001"


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    p90_ms: float
    max_ms: float
    requests: int
    non_200: int
    cpu_ms_per_request: float | None
    load_avg: float


# --- the champion and the database -------------------------------------------------------------


def build_champion(work: Path, n_firms: int, train_rows: int) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Train, log, register and promote a model; score `n_firms` firms with it.

    Returns (training settings, the firms' feature rows, their scores as score_frame gives them)."""
    from bench.train import synthetic
    from scoring.batch import score_frame
    from store.uscc import make_uscc
    from training.dataset import PointInTimeDataset
    from training.registry import load_champion, log_training_run, promote
    from training.settings import TrainingSettings
    from training.train import train_and_evaluate

    settings = TrainingSettings(
        mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}",
        mlflow_artifact_root=(work / "mlartifacts").as_uri(),
        chaincredit_data_dir=work,
    )
    frame = synthetic(train_rows, 30, 8, seed=3)
    y = frame.pop("label").astype("Int8")
    t0 = time.perf_counter()
    outcome = train_and_evaluate(PointInTimeDataset(frame, y), ablation=False, explain_sample=500)
    log_training_run(outcome, run_name="bench-serve", settings=settings)
    promotion = promote(settings=settings)
    champion = load_champion(settings=settings)
    log.info("champion version %s (%s) in %.0f s", champion.version, promotion.reason, time.perf_counter() - t0)
    rows = synthetic(n_firms, 30, 1, seed=11).drop(columns="label")
    firms = [make_uscc(f"91500000MA{i:07d}") for i in range(n_firms)]
    rows.index = pd.Index(firms, name="firm_id")
    rows = rows[list(champion.model.feature_names_)]
    scores = score_frame(champion.model, rows)
    return settings, rows, scores


def seed_database(url: str, rows: pd.DataFrame, scores: pd.DataFrame, version: str) -> str:
    """Snapshot, scores, champion state, a bank key and every firm's consent; the key's token."""
    from sqlalchemy import insert

    from store import keys
    from store.db import make_engine, upgrade
    from store.feature_snapshots import save_snapshot
    from store.model_state import bump_model_state
    from store.scores import save_scores
    from store.service_tables import consents, utcnow

    engine = make_engine(url)
    upgrade(engine)
    firms = rows.index.tolist()
    core = firms[0]
    extras = pd.DataFrame(
        {"tier": [0] + [1] * (len(firms) - 1), "core_firms": [[]] + [[core]] * (len(firms) - 1),
         "red_flags": [[] for _ in firms]},
        index=rows.index,
    )
    save_snapshot(engine, AS_OF, rows, extras)
    save_scores(engine, AS_OF, version, scores)
    bump_model_state(engine, version, by="bench")
    token = keys.create_key(engine, role="bank", org=BANK_ORG, created_by="bench").token
    now = utcnow()
    until = date.today() + timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(insert(consents), [
            {"firm_id": f, "bank_org": BANK_ORG, "purpose": "bench", "valid_from": date.today(),
             "valid_until": until, "evidence_ref": "bench", "created_at": now, "created_by": "bench",
             "withdrawn_at": None}
            for f in firms
        ])
    engine.dispose()
    return token


# --- load generation ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _lua_table(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(i) for i in items) + "}"


def _wrk_script(path: Path, method: str, targets: list[str], bodies: list[str] | None, token: str | None) -> None:
    headers = []
    if token:
        headers.append(f'["Authorization"] = "Bearer {token}"')
    if bodies is not None:
        headers.append('["Content-Type"] = "application/json"')
    lines = [
        f"local targets = {_lua_table(targets)}",
        f"local bodies = {_lua_table(bodies) if bodies is not None else 'nil'}",
        f"local headers = {{{', '.join(headers)}}}",
        "math.randomseed(7)",
        "request = function()",
        "  local i = math.random(#targets)",
        f'  return wrk.format("{method}", targets[i], headers, bodies and bodies[i] or nil)',
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True)
class Load:
    """What one load run measured on the client side."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_200: int


def parse_wrk(out: str) -> Load:
    """Requests/s, latency percentiles and max, requests and non-2xx from `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p90 = _ms(re.search(r"^\s+90%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    # "Latency   avg   stdev   max   +/- stdev" of the thread stats
    top = _ms(re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*?read (\d+), write (\d+), timeout (\d+)", out)
    n_bad = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    return Load(rps, p50, p90, p99, top, total, n_bad)


REQUEST_TIMEOUT_S = 10.0


async def _client_conn(port: int, requests: list[bytes], until: float, lat: list[float], bad: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        writer.write(random.choice(requests))
        try:  # a lost answer must fail the run, not hang the benchmark
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await asyncio.wait_for(reader.readexactly(length), REQUEST_TIMEOUT_S)
        except TimeoutError:
            bad.append(1)
            break
        lat.append(time.perf_counter() - t0)
        if not head.startswith(b"HTTP/1.1 200"):
            bad.append(1)
    writer.close()


def _python_load(port: int, requests: list[bytes], seconds: float, conns: int) -> Load:
    lat: list[float] = []
    bad: list[int] = []
    until = time.perf_counter() + seconds

    async def go() -> None:
        await asyncio.gather(*(_client_conn(port, requests, until, lat, bad) for _ in range(conns)))

    asyncio.run(go())
    arr = np.asarray(lat) * 1000
    p50, p90, p99 = (float(v) for v in np.percentile(arr, [50, 90, 99]))
    return Load(len(lat) / seconds, p50, p90, p99, float(arr.max()), len(lat), len(bad))


def _raw_requests(method: str, targets: list[str], bodies: list[str] | None, token: str | None) -> list[bytes]:
    out = []
    for i, t in enumerate(targets):
        head = f"{method} {t} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        body = b""
        if bodies is not None:
            body = bodies[i].encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        out.append(head.encode() + b"\r\n" + body)
    return out


def measure(
    port: int, server_pid: int, method: str, targets: list[str], bodies: list[str] | None,
    token: str | None, *, seconds: float, connections: int, runs: int, work: Path, name: str,
) -> list[Run]:
    wrk = shutil.which("wrk")
    script = work / f"{name}.lua"
    _wrk_script(script, method, targets, bodies, token)
    raw = _raw_requests(method, targets, bodies, token)
    out: list[Run] = []
    for i in range(runs):
        cpu0 = _tree_cpu_seconds(server_pid)
        if wrk:
            res = subprocess.run(
                [wrk, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s",
                 "-s", str(script), f"http://127.0.0.1:{port}"],
                capture_output=True, text=True, check=True,
            )
            load = parse_wrk(res.stdout)
        else:
            load = _python_load(port, raw, seconds, connections)
        cpu = _tree_cpu_seconds(server_pid) - cpu0
        total = load.requests
        run = Run(load.rps, load.p50_ms, load.p99_ms, load.p90_ms, load.max_ms, total, load.non_200,
                  1000 * cpu / total if total else None, os.getloadavg()[0])
        log.info("%s run %d: %s", name, i + 1, asdict(run))
        out.append(run)
    return out


def median_run(runs: list[Run]) -> Run:
    """The run with the median requests/s (its own latencies, not a mix of runs)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the two servers --------------------------------------------------------------------------


def bench_chaincredit(url: str, token: str, firms: list[str], args: argparse.Namespace, work: Path) -> list[Run]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CHAINCREDIT_ACCESS_LOG": "false",
           "CHAINCREDIT_RATE_LIMIT_PER_SECOND": "0", "CHAINCREDIT_LOG_LEVEL": "WARNING"}
    code = f"from api.cli.serve import serve; serve('127.0.0.1', {port}, {args.workers}, 'WARNING')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        _wait_http(f"http://127.0.0.1:{port}/readyz", 120, proc)
        import httpx

        # Warm every worker's caches: each firm a few times over several connections.
        targets = [f"/v1/scores/{f}" for f in firms]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as c:
            first = c.get(targets[0])
            if first.status_code != 200:
                raise RuntimeError(f"score call failed: {first.status_code} {first.text[:500]}")
            body = first.json()
            assert body["reasons"] and abs(body["base_points"] + sum(p["points"] for p in body["points"])
                                           - body["score"]) < 1e-6
        _python_load(port, _raw_requests("GET", targets, None, token), max(2.0, len(firms) / 1500), 8)
        return measure(port, proc.pid, "GET", targets, None, token, seconds=args.seconds,
                       connections=args.connections, runs=args.runs, work=work, name="chaincredit")
    finally:
        _stop(proc)


def bench_mlflow(settings: Any, rows: pd.DataFrame, args: argparse.Namespace, work: Path) -> list[Run]:
    port = _free_port()
    # mlflow runs `uvicorn` by name: the virtualenv's bin must be on PATH.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.tracking_uri(),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    uri = f"models:/{settings.registered_model_name}@champion"
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    log_path = work / "mlflow-serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [mlflow_bin, "models", "serve", "--env-manager", "local", "-m", uri, "-p", str(port),
             "-h", "127.0.0.1", "-w", str(args.workers)],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        try:
            _wait_http(f"http://127.0.0.1:{port}/ping", 300, proc)
        except (RuntimeError, TimeoutError):
            log.error("mlflow models serve output:\n%s", log_path.read_text(errors="replace")[-3000:])
            raise
        cols = list(rows.columns)
        values = rows.to_numpy(dtype=np.float64)
        bodies = [
            json.dumps({"dataframe_split": {"columns": cols, "data": [[None if np.isnan(v) else float(v)
                                                                      for v in row]]}})
            for row in values
        ]
        import httpx

        probe = httpx.post(f"http://127.0.0.1:{port}/invocations", content=bodies[0],
                           headers={"Content-Type": "application/json"}, timeout=30)
        if probe.status_code != 200:
            raise RuntimeError(f"mlflow invocation failed: {probe.status_code} {probe.text[:500]}")
        _python_load(port, _raw_requests("POST", ["/invocations"] * len(bodies), bodies, None), 2.0, 8)
        return measure(port, proc.pid, "POST", ["/invocations"] * len(bodies), bodies, None,
                       seconds=args.seconds, connections=args.connections, runs=args.runs, work=work,
                       name="mlflow")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # mlflow starts uvicorn in its own child processes
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def _database(work: Path, postgres: bool) -> Iterator[str]:
    """A SQLite file in the work folder, or a uniquely named PostgreSQL database dropped after."""
    if not postgres:
        yield f"sqlite:///{work / 'serve.db'}"
        return
    import uuid

    import sqlalchemy as sa

    admin_url = sa.make_url(os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"chaincredit_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--firms", type=int, default=2000)
    ap.add_argument("--train-rows", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-mlflow", action="store_true", help="skip the mlflow models serve comparison")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--postgres", action="store_true",
                    help="serve from a fresh PostgreSQL database (TEST_DATABASE_URL's server) "
                    "instead of SQLite: the set-up for more than one worker")
    args = ap.parse_args()
    # One OpenMP thread for LightGBM here and in the servers: on a shared 2-core machine a
    # second spinning thread slows training and every prediction (issue 6).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        settings, rows, scores = build_champion(work, args.firms, args.train_rows)
        from training.registry import load_champion

        version = load_champion(settings=settings).version
        with _database(work, args.postgres) as url:
            token = seed_database(url, rows, scores, version)
            cc = bench_chaincredit(url, token, rows.index.tolist(), args, work)
        ml = [] if args.no_mlflow else bench_mlflow(settings, rows, args, work)
    result: dict[str, Any] = {
        "workers": args.workers, "connections": args.connections, "seconds": args.seconds,
        "runs": args.runs, "firms": args.firms, "client": "wrk" if shutil.which("wrk") else "python",
        "cpus": os.cpu_count(), "load_avg_start": load_start[0], "load_avg_end": os.getloadavg()[0],
        "chaincredit": asdict(median_run(cc)), "chaincredit_runs": [asdict(r) for r in cc],
    }
    c = median_run(cc)
    print(f"chaincredit GET /v1/scores/{{id}}: workers={args.workers} connections={args.connections} "
          f"median of {len(cc)} runs x {args.seconds:g} s: {c.rps:,.0f} req/s, p50 {c.p50_ms:.2f} ms, "
          f"p90 {c.p90_ms:.2f} ms, p99 {c.p99_ms:.2f} ms, max {c.max_ms:.1f} ms, non-200 {c.non_200}, "
          f"server CPU {c.cpu_ms_per_request or 0:.3f} ms/request, load {c.load_avg:.2f}")
    if ml:
        m = median_run(ml)
        result.update({"mlflow": asdict(m), "mlflow_runs": [asdict(r) for r in ml], "ratio": c.rps / m.rps})
        print(f"mlflow models serve POST /invocations (1 row): {m.rps:,.0f} req/s, p50 {m.p50_ms:.2f} ms, "
              f"p90 {m.p90_ms:.2f} ms, p99 {m.p99_ms:.2f} ms, max {m.max_ms:.1f} ms, non-200 {m.non_200}, "
              f"server CPU {m.cpu_ms_per_request or 0:.3f} ms/request")
        print(f"ratio chaincredit / mlflow: {c.rps / m.rps:.1f}x requests/s", end="")
        if c.cpu_ms_per_request and m.cpu_ms_per_request:
            result["cpu_ratio"] = m.cpu_ms_per_request / c.cpu_ms_per_request
            print(f", {result['cpu_ratio']:.1f}x less server CPU per request")
        else:
            print()
    if c.cpu_ms_per_request:
        # What the measured CPU cost would allow on this machine's cores if nothing else ran.
        result["chaincredit_cpu_bound_rps"] = (os.cpu_count() or 1) * 1000 / c.cpu_ms_per_request
        print(f"chaincredit CPU-bound capacity on {os.cpu_count()} idle cores (server CPU only): "
              f"{result['chaincredit_cpu_bound_rps']:,.0f} req/s")
    print(f"load average (1 min) at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
