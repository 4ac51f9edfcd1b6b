"""One audit writer at a time per SQLite file, across the worker processes.

Every worker has its own group-commit thread. On SQLite two of them committing at once meet at
the database's write lock, and the loser waits in SQLite's busy handler, which sleeps in growing
steps (1, 2, 5, 10, 15, 20, 25 ms...) however soon the lock is free again: under load a few
percent of the groups waited 5-55 ms that way (issue 6). An advisory `flock` on a file beside
the database serialises the writers in the kernel instead, which wakes the next one as soon as
the lock is released; while a writer waits, its queue keeps filling, so its next group is larger.

The lock file is a separate file: opening and closing the database file itself would drop
SQLite's own POSIX locks on it. Other writers (loads, API writes) are not affected and still
meet the audit writer at SQLite's lock, as before.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

SUFFIX = "-audit.lock"


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a file-backed SQLite engine; None for anything else."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


class WriterLock:
    """An exclusive lock on `path`, held around each audit commit. Opened lazily (in the writer
    thread) and kept open: re-opening per commit would cost a system call for nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> WriterLock | None:
        database = sqlite_file(engine)
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
