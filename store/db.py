"""Engines, migrations and sessions. Nothing here runs at import: callers ask for an engine.

SQLite is the zero-set-up default and needs three things per connection to be safe under a web
server and a loader at once: WAL (readers do not block the writer), foreign keys (off by default
in SQLite) and a busy timeout (wait for the writer's lock instead of failing at once).
PostgreSQL goes through psycopg 3, whose COPY support the bulk loader uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.settings import get_store_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = "store:migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses
        # nothing committed, a power cut may lose the last commits (never corrupts). The
        # embedded default trades that for speed; PostgreSQL is the store for production.
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`, or for the store settings' `DATABASE_URL` (SQLite file by default)."""
    url = url or get_store_settings().resolved_database_url()
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(sa_url, **kwargs)
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so BEGIN really is BEGIN
        # and a batch is one transaction (the pysqlite default defers BEGIN oddly).
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "connect", _sqlite_autocommit_off)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(sa_url, **kwargs)


def _sqlite_autocommit_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: sa.Connection) -> None:
    # Readers begin DEFERRED so that, in WAL mode, they never take a lock (pollers and score
    # reads must not queue behind the audit writer). A transaction that reads and then writes
    # asks for IMMEDIATE through `write_transaction`: a deferred one would fail at once with
    # "database is locked" when another writer got in between, as the busy timeout does not
    # cover that lock upgrade.
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


_WRITE_OPTION = "chaincredit_write"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that will write after reading: on SQLite it takes the write lock at BEGIN
    (waiting up to the busy timeout for it); on PostgreSQL it is an ordinary transaction."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def _alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _as_engine(engine_or_url: Engine | str | None) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True


def upgrade(engine_or_url: Engine | str | None = None, revision: str = "head") -> None:
    """Migrate the database to `revision` through Alembic (no alembic.ini needed)."""
    from alembic import command

    engine, owned = _as_engine(engine_or_url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    finally:
        if owned:
            engine.dispose()


def current_revision(engine_or_url: Engine | str | None = None) -> str | None:
    """The revision the database is at, None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine, owned = _as_engine(engine_or_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
