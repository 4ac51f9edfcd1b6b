"""`chaincredit keys create|revoke|list`: API keys, made by the operator (acting as admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Create, list and revoke API keys (only a hash of each key is stored).")

    @keys.command("create")
    def create(
        role: Annotated[str, typer.Option(help="admin, bank, enterprise or model_owner")],
        org: Annotated[str, typer.Option(help="The organisation's USCC (the bank or the firm)")],
        expires: Annotated[
            datetime | None, typer.Option(help="Expiry (ISO date/time, UTC); default: never")
        ] = None,
        label: Annotated[str | None, typer.Option(help="A note shown in listings")] = None,
    ) -> None:
        """Create a key and print it once: it cannot be shown again."""
        from store.audit import Operator, append_records, audit_record
        from store.db import make_engine
        from store.keys import InvalidRole, create_key

        engine = make_engine()
        operator = Operator()
        when = None if expires is None else (expires if expires.tzinfo else expires.replace(tzinfo=UTC))
        try:
            made = create_key(engine, role=role, org=org, created_by=operator.actor, expires_at=when, label=label)
        except (InvalidRole, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        append_records(engine, [audit_record(operator, "key.create",
                                             detail={"key_id": made.key.key_id, "role": role, "org": org})])
        typer.echo(made.token)
        typer.echo(f"key id {made.key.key_id}, role {role}, org {org}: store it now, it is not kept", err=True)

    @keys.command("revoke")
    def revoke(key_id: Annotated[str, typer.Argument(help="The key id (second part of the key)")]) -> None:
        """Revoke a key; workers stop accepting it within the auth cache time (1 s by default)."""
        from store.audit import Operator, append_records, audit_record
        from store.db import make_engine
        from store.keys import UnknownKey, revoke_key

        engine = make_engine()
        try:
            key = revoke_key(engine, key_id)
        except UnknownKey as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        append_records(engine, [audit_record(Operator(), "key.revoke", detail={"key_id": key_id})])
        typer.echo(f"revoked {key.key_id} ({key.role}, {key.org}) at {key.revoked_at}")

    @keys.command("list")
    def list_(org: Annotated[str | None, typer.Option(help="Only this organisation's keys")] = None) -> None:
        """List keys (ids, roles, organisations; never the keys themselves)."""
        from store.db import make_engine
        from store.keys import list_keys

        for k in list_keys(make_engine(), org=org):
            state = "revoked" if k.revoked_at else "active"
            typer.echo(f"{k.key_id}\t{k.role}\t{k.org}\t{state}\texpires={k.expires_at or '-'}")

    app.add_typer(keys, name="keys")
