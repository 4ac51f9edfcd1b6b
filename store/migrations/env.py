"""Alembic environment for chaincredit, configured from code (store.db) rather than alembic.ini.

`store.db.upgrade` passes an open connection in `config.attributes["connection"]`; without one
(e.g. the `alembic` command with `-x url=...` or a `sqlalchemy.url` option) an engine is made from
the store settings.
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlmodel import SQLModel

# Modules that define tables. Importing them fills SQLModel.metadata for autogenerate and checks.
# A module that adds tables with its own migration adds its name here (one line).
TABLE_MODULES: tuple[str, ...] = ("store.tables", "store.service_tables")

for _module in TABLE_MODULES:
    importlib.import_module(_module)

target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from store.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
