"""Group commit of audit records: a score leaves only after its audit row is committed.

One commit per request would cap the service at the database's commit rate (an fsync each), so
a background task gathers whatever records arrived in the last few milliseconds and commits them
together; every request awaits the future of its own record. If the commit fails, every request
in that group fails too: an unaudited score is never served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import anyio.to_thread
from sqlalchemy import Engine

from store.audit import AuditRecord, append_records

log = logging.getLogger("chaincredit.audit")


class AuditUnavailable(RuntimeError):
    pass


class AuditWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        flush_ms: float = 2.0,
        max_batch: int = 1000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._flush_s = max(flush_ms, 0.0) / 1000.0
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: asyncio.Queue[tuple[list[AuditRecord], asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Commit what is queued, then end (graceful shutdown)."""
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, records: Sequence[AuditRecord]) -> None:
        """Return once `records` are committed; raise if they could not be."""
        if not records:
            return
        if self._queue is None or self._task is None or self._task.done():
            # No running writer (e.g. a script using the app without its lifespan): commit inline.
            await anyio.to_thread.run_sync(append_records, self._engine, list(records))
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((list(records), fut))
        await fut

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            first = await queue.get()
            group = [first]
            if self._flush_s:
                await asyncio.sleep(self._flush_s)
            n = len(first[0])
            while n < self._max_batch and not queue.empty():
                item = queue.get_nowait()
                group.append(item)
                n += len(item[0])
            records = [r for recs, _ in group for r in recs]
            try:
                await anyio.to_thread.run_sync(append_records, self._engine, records)
            except Exception as exc:
                log.exception("audit commit failed for %d record(s)", len(records))
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(AuditUnavailable(f"the audit log could not be written: {exc}"))
            else:
                if self._on_commit is not None:
                    self._on_commit(len(records))
                for _, fut in group:
                    if not fut.done():
                        fut.set_result(None)
            finally:
                for _ in group:
                    queue.task_done()
