"""Group commit of audit records: a score leaves only after its audit row is committed.

One commit per request would cap the service at the database's commit rate (an fsync each), so
one writer thread gathers whatever records arrived in the last few milliseconds and commits them
together; every request awaits the future of its own record. The thread (not a task that hops to
a thread pool per batch) keeps the event loop free: a request only appends to a queue, and the
thread wakes the event loop once per batch to settle all the batch's futures. If the commit
fails, every request in that group fails too: an unaudited score is never served.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import anyio.to_thread
from sqlalchemy import Engine

from store.audit import AuditRecord, append_records

log = logging.getLogger("chaincredit.audit")

_Item = tuple[list[AuditRecord], "asyncio.Future[None]"]
_STOP = object()


class AuditUnavailable(RuntimeError):
    pass


def _settle(group: Sequence[_Item], error: BaseException | None) -> None:
    """Runs on the event loop: resolve each request's future."""
    for _, fut in group:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(AuditUnavailable(f"the audit log could not be written: {error}"))


class AuditWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        flush_ms: float = 2.0,
        max_batch: int = 1000,
        on_commit: Callable[[int], None] | None = None,
        append: Callable[[Engine, Sequence[AuditRecord]], None] = append_records,
    ) -> None:
        self._engine = engine
        self._flush_s = max(flush_ms, 0.0) / 1000.0
        self._max_batch = max(max_batch, 1)
        self._on_commit = on_commit
        self._append = append
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.commits = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Commit what is queued, then end (graceful shutdown)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        thread = self._thread
        await anyio.to_thread.run_sync(thread.join)
        self._thread = None

    async def write(self, records: Sequence[AuditRecord]) -> None:
        """Return once `records` are committed; raise if they could not be."""
        if not records:
            return
        if not self.running:
            # No running writer (e.g. a script using the app without its lifespan): commit inline.
            await anyio.to_thread.run_sync(self._append, self._engine, list(records))
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((list(records), fut))
        await fut

    # --- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group: list[_Item] = [first]  # type: ignore[list-item]
            n = len(group[0][0])
            deadline = time.monotonic() + self._flush_s
            while n < self._max_batch:
                wait = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True  # commit this group, then end
                    continue
                group.append(item)  # type: ignore[arg-type]
                n += len(group[-1][0])
            self._commit(group)
        # Whatever arrived after the stop marker still gets committed.
        rest: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                rest.append(item)  # type: ignore[arg-type]
        if rest:
            self._commit(rest)

    def _commit(self, group: list[_Item]) -> None:
        records = [r for recs, _ in group for r in recs]
        error: BaseException | None = None
        try:
            self._append(self._engine, records)
        except Exception as exc:
            log.exception("audit commit failed for %d record(s)", len(records))
            error = exc
        else:
            self.commits += 1
            if self._on_commit is not None:
                self._on_commit(len(records))
        # Futures belong to the loop that awaits them (one per worker; tests may use several).
        by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        for item in group:
            by_loop.setdefault(item[1].get_loop(), []).append(item)
        for loop, items in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, items, error)
