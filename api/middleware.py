"""One pure-ASGI middleware for what every request needs: a body size limit, metrics and an
access log line. Pure ASGI (not BaseHTTPMiddleware) because the score hot path cannot afford an
extra task per request; the score call itself is answered here by api.fastpath when enabled."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.fastpath import TEMPLATE, ScoreFastPath
from api.metrics import Metrics
from api.problems import Problem, problem_response

log = logging.getLogger("chaincredit.access")


class _TooLarge(Exception):
    pass


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        access_log: bool,
        fast_path: ScoreFastPath | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.metrics = metrics
        self.access_log = access_log
        self.fast_path = fast_path
        # prometheus' labels() takes a lock and builds a key each time: keep the children.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        if self.fast_path is not None:
            matched = self.fast_path.match(scope)
            if matched is not None:
                try:
                    status = await self.fast_path.handle(scope, receive, send, *matched)
                finally:
                    self._observe(scope, status, start, TEMPLATE)
                return
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

    def _observe(self, scope: Scope, status: int, start: float, template: str | None = None) -> None:
        elapsed = time.perf_counter() - start
        if template is None:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        children = self._children.get((method, template, status))
        if children is None:
            children = (
                self.metrics.requests.labels(method, template, str(status)),
                self.metrics.latency.labels(template),
            )
            if len(self._children) < 10_000:
                self._children[(method, template, status)] = children
        children[0].inc()
        children[1].observe(elapsed)
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
