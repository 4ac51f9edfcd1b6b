"""A background task that re-reads a piece of database state every few hundred milliseconds.

Workers are separate processes, so a change made through one (a new champion, a withdrawn
consent) reaches the others only by polling; each poller keeps serving what it has if a read
fails, rather than failing requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import anyio.to_thread


class Poller:
    def __init__(self, refresh: Callable[[], object], seconds: float, name: str) -> None:
        self._refresh = refresh
        self._seconds = seconds
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._log = logging.getLogger(f"chaincredit.{name}")

    async def start(self) -> None:
        """Load once, then poll; the poller starts even if the first load failed (for instance
        a database not migrated yet), so the worker recovers by itself."""
        try:
            await anyio.to_thread.run_sync(self._refresh)
        finally:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._seconds)
            try:
                await anyio.to_thread.run_sync(self._refresh)
            except Exception:
                self._log.exception("%s failed; keeping what is in memory", self._name)
