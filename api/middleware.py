"""One pure-ASGI middleware for what every request needs: a body size limit, metrics and an
access log line. Pure ASGI (not BaseHTTPMiddleware) because the score hot path cannot afford an
extra task per request."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from api.problems import Problem, problem_response

log = logging.getLogger("chaincredit.access")


class _TooLarge(Exception):
    pass


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics, access_log: bool) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False
        too_large = Problem(413, f"the request body is larger than {self.max_body} bytes; "
                            "load big files with `chaincredit load`")
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body:
                        await problem_response(too_large, scope.get("path"))(scope, receive, send)
                        self._observe(scope, 413, start)
                        return
                except ValueError:
                    pass
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                status = 413
                await problem_response(too_large, scope.get("path"))(scope, receive, send)
        finally:
            self._observe(scope, status, start)

    def _observe(self, scope: Scope, status: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(scope.get("method", ""), template, str(status)).inc()
        self.metrics.latency.labels(template).observe(elapsed)
        if self.access_log:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": template,
                    "status": status,
                    "ms": round(elapsed * 1000, 3),
                    "key_id": scope.get("state", {}).get("key_id"),
                },
            )
