"""`chaincredit db upgrade|current`: the operator migrates the database (Alembic, no alembic.ini)."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL; default: DATABASE_URL or the SQLite file"),
]


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade_cmd(
        revision: Annotated[str, typer.Option(help="Target revision")] = "head",
        database_url: DatabaseUrl = None,
    ) -> None:
        """Migrate the database to the latest schema (or to --revision)."""
        from store.db import current_revision, make_engine, upgrade

        engine = make_engine(database_url)
        try:
            before = current_revision(engine)
            upgrade(engine, revision)
            after = current_revision(engine)
        finally:
            engine.dispose()
        typer.echo(f"database at {after} (was {before or 'empty'})")

    @db.command("current")
    def current_cmd(database_url: DatabaseUrl = None) -> None:
        """Show the database's schema revision and the latest one this version knows."""
        from store.db import current_revision, head_revision, make_engine

        engine = make_engine(database_url)
        try:
            now = current_revision(engine)
        finally:
            engine.dispose()
        head = head_revision()
        state = "up to date" if now == head else "needs `chaincredit db upgrade`"
        typer.echo(f"current: {now or 'empty'}; head: {head} ({state})")
        if now != head:
            raise typer.Exit(1)

    app.add_typer(db, name="db")
