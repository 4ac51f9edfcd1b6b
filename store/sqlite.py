"""SQLite tuning: what every connection to a SQLite database is set to, and its WAL checkpoints.

SQLite is the zero-set-up default and needs three things per connection to be safe under a web
server and a loader at once: WAL (readers do not block the writer), foreign keys (off by default
in SQLite) and a busy timeout (a writer that is not ours, such as the sqlite3 shell, is waited
for instead of failing at once). How our own writers take turns is store.writers.

Checkpoints: SQLite checkpoints automatically inside the COMMIT that takes the WAL past 1,000
pages, so the requests waiting on that commit also wait for the copy into the database file and
its fsync: 4-5 % of the audit groups took 5-70 ms longer than the others (issue 6; every audit
group rewrites a few dozen pages, since `ix_audit_firm` gets a leaf page per random firm). A
connection that commits on the requests' path turns that off (`no_autocheckpoint`) and a
`WalCheckpointer` thread checkpoints instead, at most once a second after commits. A PASSIVE
checkpoint waits for no one and blocks no one: writers keep appending to the WAL and readers
keep reading while it copies.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("chaincredit.store")

BUSY_TIMEOUT_MS = 30_000
# The execution option that makes a transaction begin IMMEDIATE (store.writers sets it).
IMMEDIATE_OPTION = "chaincredit_write"


def configure(engine: Engine) -> None:
    """Set every new connection of a SQLite `engine` up, and let SQLAlchemy, not pysqlite,
    decide where transactions begin, so BEGIN really is BEGIN and a batch is one transaction
    (the pysqlite default defers BEGIN oddly)."""
    sa.event.listen(engine, "connect", _pragmas)
    sa.event.listen(engine, "connect", _autocommit_off)
    sa.event.listen(engine, "begin", _begin)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses
        # nothing committed, a power cut may lose the last commits (never corrupts). The
        # embedded default trades that for speed; PostgreSQL is the store for production.
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def _autocommit_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(conn: sa.Connection) -> None:
    # Readers begin DEFERRED so that, in WAL mode, they never take a lock (pollers and score
    # reads must not queue behind a writer). Writers begin IMMEDIATE (store.writers): a deferred
    # transaction that reads and then writes would fail at once with "database is locked" when
    # another writer got in between, as the busy timeout does not cover that lock upgrade.
    mode = "IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def database_file(engine: Engine) -> Path | None:
    """The database file of a file-backed SQLite engine; None for anything else (PostgreSQL,
    or an in-memory database, which only one process can see anyway)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def no_autocheckpoint(conn: sa.Connection) -> None:
    """This connection's commits never checkpoint (a `WalCheckpointer` does it beside them)."""
    conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    conn.commit()


def large_page_cache(conn: sa.Connection, kib: int) -> None:
    """A bigger page cache for this connection (a large batch rewrites many index pages)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")


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
