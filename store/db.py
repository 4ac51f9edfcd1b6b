"""Engines and migrations. Nothing here runs at import: callers ask for an engine.

SQLite is the zero-set-up default, tuned per connection by store.sqlite; every write goes
through store.writers. PostgreSQL goes through psycopg 3, whose COPY support the bulk loader uses.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store import sqlite
from store.settings import get_store_settings
from store.writers import write_transaction

MIGRATIONS = "store:migrations"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`, or for the store settings' `DATABASE_URL` (SQLite file by default)."""
    url = url or get_store_settings().resolved_database_url()
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(sa_url, **kwargs)
        sqlite.configure(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(sa_url, **kwargs)


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
        with write_transaction(engine, bulk=True) as conn:
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
