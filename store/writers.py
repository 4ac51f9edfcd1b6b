"""How writers take turns: the one way every write of the service reaches the database.

Every writer (ingestion, score sets, feature snapshots, consents, API keys, idempotency claims,
the model state, the audit log, migrations) writes in `write_transaction(engine)`; the audit log's group
commits, which keep a connection of their own, take the same turns through a `TurnTaker`.

PostgreSQL: an ordinary transaction; the statements lock the rows they touch (ingestion adds a
transaction-scoped advisory lock per record kind, see store.ingest).

SQLite has one write lock for the whole database, and a writer takes its turn in two steps:

1. The writer lock: an exclusive `flock` on a file beside the database (`<db>-write.lock`),
   taken by every writer of every process. A writer waiting for it sleeps in the kernel, which
   wakes it as soon as the lock is released. SQLite's own busy handler instead sleeps in growing
   steps (1, 2, 5, 10, 15, 20, 25 ms...) however soon the lock is free again: under load a few
   percent of the audit groups waited 5-55 ms that way (issue 6).
2. BEGIN IMMEDIATE: SQLite's write lock is taken at BEGIN rather than at the first write, so a
   transaction that reads before it writes (ingestion, the model-state bump) never fails half-way
   with "database is locked": the busy timeout does not cover upgrading a read to a write.

A bulk writer (a load, a score set, a snapshot: seconds to minutes) hands the writer lock back
once BEGIN IMMEDIATE has given it SQLite's lock. The writers behind it then wait in SQLite's busy
handler, bounded by the busy timeout (store.sqlite, 30 s) as a wait for any long writer always
was, rather than for as long as the load takes.

The lock file is a separate file: opening and closing the database file itself would drop
SQLite's own POSIX locks on it. The kernel drops a `flock` when its process dies, so a killed
writer never leaves the lock behind. A lock file that cannot be opened (a read-only folder) does
not stop writes: the writers then meet at SQLite's lock and its busy timeout alone. On a SQLite
file writes never nest: a thread that asks for a turn while holding one is refused at once with
`NestedWrite` (it would wait for itself).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store.sqlite import IMMEDIATE_OPTION, WalCheckpointer, database_file, no_autocheckpoint

log = logging.getLogger("chaincredit.store")

SUFFIX = "-write.lock"
_held = threading.local()  # the lock paths this thread holds a turn on


class NestedWrite(RuntimeError):
    """A write transaction asked for inside another one on the same thread."""


class WriterLock:
    """An exclusive `flock` on `path`. Opened lazily and kept open until `close`: a holder that
    takes many turns (the audit writer) pays no open per turn. Each `WriterLock` is its own open
    file, so two of them exclude each other even within one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> WriterLock | None:
        """The lock beside a SQLite database file; None for anything else."""
        database = database_file(engine)
        return None if database is None else cls(database.with_name(database.name + SUFFIX))

    def acquire(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock if still held
            self._fd = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _holding() -> set[Path]:
    held: set[Path] | None = getattr(_held, "paths", None)
    if held is None:
        held = _held.paths = set()
    return held


@contextmanager
def _turn(lock: WriterLock | None) -> Iterator[WriterLock | None]:
    """Hold `lock` for the block; None (and SQLite's lock alone) when its file cannot be opened."""
    if lock is None:
        yield None
        return
    held = _holding()
    if lock.path in held:
        raise NestedWrite(f"a write transaction on {lock.path.name} inside another one would wait for itself")
    try:
        lock.acquire()
    except OSError:
        log.warning("cannot lock %s; writers will meet at SQLite's own lock", lock.path, exc_info=True)
        lock.close()
        yield None
        return
    held.add(lock.path)
    try:
        yield lock
    finally:
        held.discard(lock.path)
        lock.release()


@contextmanager
def write_transaction(engine: Engine, *, bulk: bool = False) -> Iterator[sa.Connection]:
    """A transaction that writes, in its turn (see the module docstring). `bulk`: hand the
    writer lock back once SQLite's own write lock is held (for long writers)."""
    lock = WriterLock.for_engine(engine)
    try:
        with _turn(lock) as held, engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE_OPTION: True})
            with conn.begin():
                if bulk and held is not None:
                    held.release()
                yield conn
    finally:
        if lock is not None:
            lock.close()


class TurnTaker:
    """A writer thread that keeps its own connection and takes turns with everyone else: the
    audit log's group commits.

    `turn()` waits for the writer lock (the caller may gather more work meanwhile: a waiting
    group grows), `transaction()` writes on the thread's own connection inside it. On a SQLite
    file that connection never checkpoints inside its COMMIT: a `WalCheckpointer` thread does
    that beside it (store.sqlite). Elsewhere each transaction takes a pooled connection, whose
    pre-ping replaces one the server dropped.
    """

    def __init__(self, engine: Engine, *, checkpoint_seconds: float = 1.0) -> None:
        self._engine = engine
        self._file = database_file(engine) is not None
        self.lock = WriterLock.for_engine(engine)
        self.checkpointer = WalCheckpointer(engine, checkpoint_seconds) if self._file else None
        self._conn: sa.Connection | None = None

    def start(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.start()

    def stop(self) -> None:
        """Stop the checkpointer after a last checkpoint (blocks: call it off the event loop)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with _turn(self.lock) as held:
            if held is None and self.lock is not None:
                self.lock = None  # the lock file cannot be opened: do not try it at every turn
            yield

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        if not self._file:
            with self._engine.begin() as conn:
                yield conn
            return
        if self._conn is None:
            conn = self._engine.connect()
            no_autocheckpoint(conn)
            conn.execution_options(**{IMMEDIATE_OPTION: True})
            self._conn = conn
        try:
            with self._conn.begin():
                yield self._conn
        except Exception:
            self._conn.invalidate()  # whatever broke it, the next transaction starts on a fresh one
            self._conn.close()
            self._conn = None
            raise
        if self.checkpointer is not None:
            self.checkpointer.notify()

    def close(self) -> None:
        """Close the thread's connection and lock file (from the writer thread, at its end)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.lock is not None:
            self.lock.close()
