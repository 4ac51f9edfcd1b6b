"""`chaincredit promote`: move the champion alias to the challenger if it earned it."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("promote")
    def promote(
        margin: Annotated[
            float, typer.Option(help="AUC the challenger must gain over the champion.")
        ] = 0.005,
        as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
    ) -> None:
        """Promote the challenger to champion, or refuse with the reason (exit code 1)."""
        from store.db import make_engine
        from training.audit import PROMOTE, REFUSED, audit_model_action
        from training.registry import PromotionRefused
        from training.registry import promote as do_promote

        engine = make_engine()
        try:
            decision = do_promote(margin)
        except PromotionRefused as exc:
            audit_model_action(engine, REFUSED, model_version=exc.challenger_version,
                               detail={"reason": str(exc), "margin": margin})
            if as_json:
                typer.echo(json.dumps({"promoted": False, "reason": str(exc)}))
            else:
                typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from exc
        except LookupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        # Workers poll the model-state row: bump it so every one of them notices the new champion
        # (it serves once its batch scores exist, DESIGN.md §7).
        from store.model_state import bump_model_state

        audit_model_action(engine, PROMOTE, model_version=decision.challenger_version,
                           detail={**decision.to_dict(), "margin": margin})
        bump_model_state(engine, decision.challenger_version, by="cli:promote")
        if as_json:
            typer.echo(json.dumps({"promoted": True, **decision.to_dict()}))
        else:
            typer.echo(f"promoted: {decision.reason}")
            typer.echo(f"next: chaincredit score --all  (version {decision.challenger_version} serves "
                       "once its scores exist)")
