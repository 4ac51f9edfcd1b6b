"""`chaincredit promote` and `chaincredit train` write their decisions to the audit log."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from store.audit import cli_actor
from training import registry


def _app() -> typer.Typer:
    from api.cli import promote as promote_cli

    app = typer.Typer()
    promote_cli.register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer from collapsing to one
        pass

    return app


def test_promotion_and_refusal_are_audited(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from store.audit import list_records
    from store.db import make_engine
    from store.settings import get_store_settings

    url = sqlite_url
    monkeypatch.setenv("DATABASE_URL", url)
    get_store_settings.cache_clear()
    engine = make_engine(url)

    def refuse(margin: float) -> registry.Promotion:
        raise registry.PromotionRefused("challenger version 3 AUC 0.70 does not beat 0.71", "3")

    monkeypatch.setattr(registry, "promote", refuse)
    result = CliRunner().invoke(_app(), ["promote", "--margin", "0.01"])
    assert result.exit_code == 1
    refused = list_records(engine, action="model.refused")
    assert len(refused) == 1
    rec = refused[0].record
    assert rec.actor == cli_actor() and rec.actor.startswith("cli:")
    assert rec.model_version == "3" and rec.detail is not None
    assert "does not beat" in rec.detail["reason"] and rec.detail["margin"] == 0.01

    def accept(margin: float) -> registry.Promotion:
        return registry.Promotion("4", "2", 0.80, 0.75, 0.01, margin, 1000, "beats the champion")

    monkeypatch.setattr(registry, "promote", accept)
    result = CliRunner().invoke(_app(), ["promote"])
    assert result.exit_code == 0, result.output
    promoted = list_records(engine, action="model.promote")
    assert [e.record.model_version for e in promoted] == ["4"]
    assert promoted[0].record.detail is not None
    assert promoted[0].record.detail["champion_version"] == "2"
    get_store_settings.cache_clear()
