"""`chaincredit serve`: N worker processes sharing one port through SO_REUSEPORT.

Not `uvicorn --workers`: with it the accepted sockets lost TCP_NODELAY (an open uvicorn issue)
and two workers served ~700 requests/s; processes that each bind the port with SO_REUSEPORT let
the kernel spread connections and served ~4,700 (issue 6). SIGTERM/SIGINT are passed on to the
workers, which stop accepting, finish in-flight requests and commit queued audit records.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import sys
from typing import Annotated

import typer

from api.settings import ApiSettings


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _pick(fast: str, fallback: str) -> str:
    """uvloop and httptools (C parsers and loop) where installed, else the pure-Python ones."""
    import importlib.util

    return fast if importlib.util.find_spec(fast) is not None else fallback


def worker_settings(settings: ApiSettings) -> ApiSettings:
    """A worker is a process of its own, so its startup heap can leave the garbage collector
    (api.heap) unless CHAINCREDIT_GC_FREEZE says otherwise."""
    if "gc_freeze" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"gc_freeze": True})


def _worker(host: str, port: int, log_level: str) -> None:
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging
    from api.settings import get_api_settings

    settings = worker_settings(get_api_settings())
    configure_logging(log_level or settings.log_level)
    sock = _socket(host, port)
    config = uvicorn.Config(
        create_app(settings),
        loop=_pick("uvloop", "asyncio"),
        http=_pick("httptools", "h11"),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        limit_max_requests=None,
        h11_max_incomplete_event_size=64 * 1024,
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "INFO") -> None:
    """Run `workers` processes on host:port until SIGINT/SIGTERM."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(host, port, log_level), name=f"worker-{i}") for i in range(workers)]
    for p in procs:
        p.start()

    def stop(signum: int, _frame: object) -> None:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()
    codes = [p.exitcode for p in procs]
    if any(c not in (0, -signal.SIGTERM) for c in codes):
        sys.exit(1)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8000,
        workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the port")] = 1,
        log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
    ) -> None:
        """Serve the API (JSON logs on stderr; graceful shutdown on SIGTERM)."""
        serve(host, port, workers, log_level)
