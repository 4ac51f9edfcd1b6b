"""Group commit of audit records: a score leaves only after its audit row is committed.

One commit per request would cap the service at the database's commit rate (an fsync each), so
one writer thread gathers whatever records arrived in the last few milliseconds and commits them
together; every request awaits the future of its own record. The thread (not a task that hops to
a thread pool per batch) keeps the event loop free: a request only appends to a queue, and the
thread wakes the event loop once per batch to settle all the batch's futures. If the commit
fails, every request in that group fails too: an unaudited score is never served.

The writer takes its turns with every other writer of every worker as store.writers says (on a
SQLite file a lock in the kernel instead of SQLite's sleeping busy handler), on a connection of
its own that never checkpoints inside a COMMIT (a checkpointer thread does that beside it).
Both kept a few percent of the groups waiting 5-70 ms (issue 6). While it waits for its turn,
its queue keeps filling, so its next group is larger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import anyio.to_thread
from sqlalchemy import Connection, Engine

from store.audit import AuditRecord, append_records
from store.writers import TurnTaker, write_transaction

log = logging.getLogger("chaincredit.audit")

_STOP = object()
_COMMITTED = object()


class _Pending:
    """One request's records, the future it awaits, and what became of them: None until the
    writer is done with them, then `_COMMITTED` or the exception of a failed commit. The writer
    thread writes `outcome` before it asks the event loop to settle the future, so the loop can
    settle it by itself should that request be lost (see `_sweep`)."""

    __slots__ = ("future", "outcome", "records")

    def __init__(self, records: list[AuditRecord], future: asyncio.Future[None]) -> None:
        self.records = records
        self.future = future
        self.outcome: object = None


_Item = _Pending


class AuditUnavailable(RuntimeError):
    pass


def _settle(group: Sequence[_Item], error: BaseException | None) -> None:
    """Runs on the event loop: resolve each request's future."""
    for item in group:
        fut = item.future
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
        append: Callable[[Connection, Sequence[AuditRecord]], None] = append_records,
        checkpoint_seconds: float = 1.0,
        sweep_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._flush_s = max(flush_ms, 0.0) / 1000.0
        self._max_batch = max(max_batch, 1)
        self._on_commit = on_commit
        self._append = append
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._writer = TurnTaker(engine, checkpoint_seconds=checkpoint_seconds)
        self._inflight: set[_Pending] = set()  # requests awaiting their commit
        self._sweep_s = sweep_seconds
        self._sweeper: asyncio.Task[None] | None = None
        self.commits = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        self._queue = queue.SimpleQueue()
        self._writer.start()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="audit-sweeper")

    async def stop(self) -> None:
        """Commit what is queued, then end (graceful shutdown)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        thread = self._thread
        await anyio.to_thread.run_sync(thread.join)
        self._thread = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await anyio.to_thread.run_sync(self._writer.stop)

    async def write(self, records: Sequence[AuditRecord]) -> None:
        """Return once `records` are committed; raise if they could not be."""
        if not records:
            return
        if not self.running:
            # No running writer (e.g. a script using the app without its lifespan): commit inline.
            await anyio.to_thread.run_sync(self._append_inline, list(records))
            return
        item = _Pending(list(records), asyncio.get_running_loop().create_future())
        self._inflight.add(item)
        try:
            self._queue.put(item)
            await item.future
        finally:
            self._inflight.discard(item)

    async def _sweep(self) -> None:
        """Settle, on this loop, any request whose records the writer is done with but whose
        wake-up never ran. Under load one such wake-up (`call_soon_threadsafe` from the writer
        thread, uvloop) was seen lost: three requests then waited forever on a group the writer
        had long finished with. The outcome is the writer's own, so the guarantee stands."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._sweep_s)
            mine = [i for i in list(self._inflight) if not i.future.done() and i.future.get_loop() is loop]
            lost = [i for i in mine if i.outcome is not None]
            if lost:
                log.warning("settling %d audit wait(s) whose wake-up from the writer was lost", len(lost))
                for item in lost:
                    outcome = item.outcome
                    _settle([item], outcome if isinstance(outcome, BaseException) else None)
            if not self.running and self._thread is not None:
                # The writer thread is gone (it should not be): nothing will commit these.
                orphans = [i for i in mine if i.outcome is None]
                if orphans:
                    log.error("the audit writer thread has stopped; failing %d request(s)", len(orphans))
                    _settle(orphans, RuntimeError("the audit writer thread has stopped"))

    def _append_inline(self, records: list[AuditRecord]) -> None:
        with write_transaction(self._engine) as conn:
            self._append(conn, records)

    # --- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._writer.close()

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group: list[_Item] = [first]  # type: ignore[list-item]
            n = len(group[0].records)
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
                n += len(group[-1].records)
            stopping = self._commit_and_settle(group, n, self._max_batch) or stopping
        # Whatever arrived after the stop marker still gets committed.
        rest: list[_Item] = []
        self._drain(rest, 0, None)
        if rest:
            self._commit_and_settle(rest, 0, None)

    def _commit_and_settle(self, group: list[_Item], n: int, cap: int | None) -> bool:
        """Commit `group` plus whatever queued meanwhile; True if the stop marker was queued.

        The group waits here for its turn among the writers, and grows meanwhile. Futures are
        settled after the turn ends, so the next writer starts at once."""
        stop = False
        error: BaseException | None
        try:
            with self._writer.turn():
                stop = self._drain(group, n, cap)
                error = self._commit(group)
        except Exception as exc:  # never let the writer thread die: its requests would wait forever
            log.exception("audit writer failed on a group of %d request(s)", len(group))
            error = exc
        self._finish(group, error)
        return stop

    def _drain(self, group: list[_Item], n: int, cap: int | None) -> bool:
        """Move what is queued into `group` (until it holds `cap` records, if given); True if the
        stop marker was among it."""
        stop = False
        while cap is None or n < cap:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                continue
            group.append(item)  # type: ignore[arg-type]
            n += len(group[-1].records)
        return stop

    def _commit(self, group: list[_Item]) -> BaseException | None:
        records = [r for item in group for r in item.records]
        try:
            with self._writer.transaction() as conn:
                self._append(conn, records)
        except Exception as exc:
            log.exception("audit commit failed for %d record(s)", len(records))
            return exc
        self.commits += 1
        if self._on_commit is not None:
            self._on_commit(len(records))
        return None

    def _finish(self, group: list[_Item], error: BaseException | None) -> None:
        """Settle the group's futures (after the turn: the next writer goes first)."""
        # Futures belong to the loop that awaits them (one per worker; tests may use several).
        by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        for item in group:
            item.outcome = _COMMITTED if error is None else error
            by_loop.setdefault(item.future.get_loop(), []).append(item)
        for loop, items in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, items, error)
