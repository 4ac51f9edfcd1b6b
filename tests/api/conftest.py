"""Fixtures for the API tests: the app over a migrated database with scores, keys and consents.

Databases come from tests/conftest.py (`engine`, `sqlite_engine`, `sqlite_url`), as everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from store.uscc import make_uscc

# --- the app over a migrated database ------------------------------------------------------

AS_OF = date(2024, 6, 30)


def uscc(n: int) -> str:
    return make_uscc(f"91500000MA{n:07d}")


CORE, SUPPLIER, OTHER, UNSCORED, BANK, BANK2 = (uscc(i) for i in range(1, 7))


@dataclass
class Env:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]
    app: Any = None

    def h(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


def seed_scores(engine: Engine, version: str = "1") -> None:
    from store.feature_snapshots import save_snapshot
    from store.model_state import bump_model_state
    from store.scores import save_scores

    feats = pd.DataFrame(
        {"verified_share": [0.9, 0.5, 0.7, 0.1], "patents": [10.0, 1.0, 0.0, 0.0]},
        index=pd.Index([CORE, SUPPLIER, OTHER, UNSCORED], name="firm_id"),
    )
    extras = pd.DataFrame(
        {"tier": [0, 1, 2, 1], "core_firms": [[], [CORE], [CORE], [CORE]],
         "red_flags": [[], [], [{"flag": "circular_trade", "count": 1,
                                 "documents": [{"kind": "invoice", "id": "INV/2024/7"}]}], []]},
        index=feats.index,
    )
    save_snapshot(engine, AS_OF, feats, extras)
    firms = [CORE, SUPPLIER, OTHER]
    pts = [
        [
            {"feature": "verified_share", "family": "verification", "value": 0.9, "points": 10.125},
            {"feature": "patents", "family": "intangibles", "value": 10.0, "points": -2.5},
        ]
    ] * 3
    reasons = [[{"feature": "patents", "family": "intangibles", "points": -2.5, "value": "10",
                 "text_en": "Few patents", "text_zh": "专利少"}]] * 3
    frame = pd.DataFrame(
        {
            "firm_id": firms,
            "pd": [0.01, 0.05, 0.2],
            "score": [607.625 + i for i in range(3)],
            "grade": ["A", "BB", "C"],
            "limit_minor": [100_000_000, 25_000_050, 0],
            "base_points": [600.0 + i for i in range(3)],
            "points": pts,
            "reasons": reasons,
        }
    )
    save_scores(engine, AS_OF, version, frame)
    bump_model_state(engine, version, by="test")


def _no_model() -> tuple[str, Any]:
    raise LookupError("no champion model in these tests")


@pytest.fixture
def env(sqlite_url: str) -> Iterator[Env]:
    from api.app import create_app
    from api.settings import ApiSettings
    from store import consents, keys
    from store.db import make_engine

    engine = make_engine(sqlite_url)
    seed_scores(engine)
    orgs = {"admin": "ADMIN", "bank": BANK, "enterprise": SUPPLIER, "model_owner": "MODELS", "bank2": BANK2}
    tokens = {
        name: keys.create_key(engine, role=name.rstrip("2"), org=org, created_by="test").token
        for name, org in orgs.items()
    }
    for firm in (CORE, SUPPLIER, UNSCORED, uscc(99)):
        consents.grant_consent(
            engine, firm_id=firm, bank_org=BANK, purpose="loan review",
            valid_until=date.today() + timedelta(days=90), evidence_ref="signed-form-1", created_by="test",
        )
    settings = ApiSettings(
        auth_cache_seconds=0, access_log=False, audit_flush_ms=1, model_poll_seconds=0.05,
        rate_limit_per_second=10_000, rate_limit_burst=10_000,
    )
    app = create_app(settings, engine=engine)
    app.state.cc.champion_lookup = lambda: "1"
    app.state.cc.model_loader = _no_model  # never the MLflow store of the working tree
    with TestClient(app) as client:
        yield Env(client, engine, tokens, app)
    engine.dispose()
