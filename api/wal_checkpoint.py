"""WAL checkpoints of the audit log's SQLite file, off the requests' path.

SQLite checkpoints automatically inside the COMMIT that takes the WAL past 1,000 pages, so the
requests of that group waited for the copy into the database file and its fsync: 4-5 % of the
groups took 5-70 ms longer than the others (issue 6; every audit group rewrites a few dozen
pages, since `ix_audit_firm` gets a leaf page per random firm). The audit writer's connection
turns that off and this thread checkpoints instead, at most once a second after commits. A
PASSIVE checkpoint waits for no one and blocks no one: writers keep appending to the WAL and
readers keep reading while it copies.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger("chaincredit.audit")


def checkpoint(engine: Engine) -> tuple[int, int, int] | None:
    """One PASSIVE checkpoint: (busy, WAL frames, frames checkpointed); None when not in WAL mode."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        try:
            cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
            row = cur.fetchone()
        finally:
            cur.close()
    finally:
        raw.close()  # back to the pool
    if row is None or int(row[1]) < 0:
        return None
    return int(row[0]), int(row[1]), int(row[2])


class WalCheckpointer:
    """A daemon thread that checkpoints `engine` within `seconds` of a commit being `notify`-ed."""

    def __init__(self, engine: Engine, seconds: float = 1.0) -> None:
        self._engine = engine
        self._seconds = max(seconds, 0.0)
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Called after each commit: something is in the WAL to copy."""
        self._dirty.set()

    def stop(self) -> None:
        """End the thread after a last checkpoint of what was committed (called off the loop)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._dirty.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if not self._stopping.is_set():
                # Let a second's worth of commits gather: one copy of a page rewritten by many.
                self._stopping.wait(self._seconds)
            self._dirty.clear()
            try:
                checkpoint(self._engine)
                self.checkpoints += 1
            except Exception:
                log.exception("WAL checkpoint failed; the next commit retries it")
            if self._stopping.is_set():
                return
