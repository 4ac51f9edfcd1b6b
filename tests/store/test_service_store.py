"""The service tables' modules: keys, consents, audit, snapshots, scores, model state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from store import audit, consents, keys
from store.feature_snapshots import (
    SnapshotError,
    firm_known,
    load_snapshot,
    load_snapshot_extras,
    save_snapshot,
    snapshot_dates,
)
from store.model_state import bump_model_state, get_model_state, serving_version
from store.scores import get_score, save_scores, versions_with_scores


def test_key_token_is_hashed_and_revocable(engine: Engine) -> None:
    new = keys.create_key(engine, role="bank", org="BANKORG", created_by="test")
    assert new.token.startswith("cck_") and len(new.token) > 40
    found = keys.lookup_token(engine, new.token)
    assert found is not None and found.role == "bank" and found.org == "BANKORG"
    assert found.usable_at(datetime.now(UTC))
    assert keys.lookup_token(engine, new.token + "x") is None
    stored = {k.key_id for k in keys.list_keys(engine)}
    assert new.key.key_id in stored
    revoked = keys.revoke_key(engine, new.key.key_id)
    assert revoked.revoked_at is not None
    assert not revoked.usable_at(datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(keys.UnknownKey):
        keys.revoke_key(engine, "nope")
    with pytest.raises(keys.InvalidRole):
        keys.create_key(engine, role="root", org="X", created_by="t")


def test_expired_key_is_not_usable(engine: Engine) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    new = keys.create_key(engine, role="admin", org="X", created_by="t", expires_at=past)
    found = keys.lookup_token(engine, new.token)
    assert found is not None and not found.usable_at(datetime.now(UTC))


def test_consent_in_force_and_withdrawn(engine: Engine) -> None:
    today = date.today()
    c = consents.grant_consent(
        engine,
        firm_id="F1",
        bank_org="B1",
        purpose="loan review",
        valid_until=today + timedelta(days=30),
        evidence_ref="doc-1",
        created_by="k1",
    )
    assert consents.consent_in_force(engine, firm_id="F1", bank_org="B1", day=today) is not None
    assert consents.consent_in_force(engine, firm_id="F1", bank_org="B2", day=today) is None
    assert (
        consents.consent_in_force(engine, firm_id="F1", bank_org="B1", day=today + timedelta(days=31))
        is None
    )
    with pytest.raises(consents.ConsentNotFound):
        consents.withdraw_consent(engine, c.id, bank_org="B2")
    consents.withdraw_consent(engine, c.id, bank_org="B1")
    assert consents.consent_in_force(engine, firm_id="F1", bank_org="B1", day=today) is None
    with pytest.raises(consents.InvalidConsent):
        consents.grant_consent(
            engine,
            firm_id="F1",
            bank_org="B1",
            purpose="x",
            valid_until=today - timedelta(days=1),
            evidence_ref="d",
            created_by="k",
        )


def test_audit_append_only(engine: Engine) -> None:
    recs = [
        audit.AuditRecord(actor="k1", action="score.read", firm_id=f"F{i}", score=600.0 + i, detail={"i": i})
        for i in range(3)
    ]
    audit.append_records(engine, recs)
    got = audit.list_records(engine)
    assert [e.record.firm_id for e in got] == ["F2", "F1", "F0"]
    assert got[0].record.detail == {"i": 2}
    page2 = audit.list_records(engine, before_id=got[1].id)
    assert [e.record.firm_id for e in page2] == ["F0"]
    assert [e.record.firm_id for e in audit.list_records(engine, firm_id="F1")] == ["F1"]


def test_an_audit_record_names_who_did_what(engine: Engine) -> None:
    """Built one way from whoever acted: a request's principal (api.auth.Principal is one), or
    the command line."""

    @dataclass(frozen=True)
    class Principal:
        role: str
        org: str
        actor: str = "key:abc"

    bank = Principal(role="bank", org="B1")
    day = date(2024, 6, 30)
    read = audit.audit_record(bank, "score.read", firm_id="F1", purpose="loan", model_version="3",
                              score=611.5, snapshot_as_of=day)
    cli = audit.audit_record(audit.Operator(), "key.revoke", detail={"key_id": "abc"})
    audit.append_records(engine, [read, cli])
    first, second = reversed(audit.list_records(engine))
    assert (first.record.actor, first.record.actor_org, first.record.role) == ("key:abc", "B1", "bank")
    assert (first.record.firm_id, first.record.purpose, first.record.model_version) == ("F1", "loan", "3")
    assert (first.record.score, first.record.snapshot_as_of) == (611.5, day)
    assert second.record.actor == audit.cli_actor() and second.record.actor.startswith("cli:")
    assert (second.record.role, second.record.actor_org) == ("admin", None)
    assert second.record.detail == {"key_id": "abc"}
    assert audit.Operator("cli:demo").actor == "cli:demo"


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [1.5, np.nan, 3.0], "b": [0.1, 0.2, 1e-12]},
        index=pd.Index(["F1", "F2", "F3"], name="firm_id"),
    )


def test_snapshot_round_trip(engine: Engine) -> None:
    f = _features()
    extras = pd.DataFrame(
        {"tier": [1, 2, 0], "core_firms": [["C1"], [], ["C1", "C2"]], "red_flags": [[], ["cycle"], []]},
        index=f.index,
    )
    assert save_snapshot(engine, date(2024, 1, 31), f, extras) == 3
    save_snapshot(engine, date(2024, 2, 29), f * 2)
    assert snapshot_dates(engine) == [date(2024, 1, 31), date(2024, 2, 29)]
    back = load_snapshot(engine, date(2024, 1, 31))
    pd.testing.assert_frame_equal(back, f.astype("float64"), check_names=False, check_index_type=False)
    latest = load_snapshot(engine)
    assert latest.loc["F3", "a"] == 6.0
    ex = load_snapshot_extras(engine, "F3", date(2024, 1, 31))
    assert ex == {"tier": 0, "core_firms": ["C1", "C2"], "red_flags": []}
    assert firm_known(engine, "F2") and not firm_known(engine, "F9")
    # Saving the same date again replaces it.
    save_snapshot(engine, date(2024, 1, 31), f.iloc[:1])
    assert len(load_snapshot(engine, date(2024, 1, 31))) == 1


def _scores() -> pd.DataFrame:
    pts = [{"feature": "a", "family": "trade_network", "value": 1.5, "points": 12.25}]
    return pd.DataFrame(
        {
            "firm_id": ["F1", "F2"],
            "pd": [0.01, 0.2],
            "score": [612.123456789, 540.5],
            "grade": ["A", "C"],
            "limit_minor": [100_000_010, 0],
            "base_points": [599.873456789, 540.5],
            "points": [json.dumps(pts), "[]"],
            "reasons": ["[]", json.dumps([{"feature": "a", "family": "trade_network", "points": -3.0,
                                           "value": "1.5", "text_zh": "甲", "text_en": "a"}])],
        }
    )


def test_scores_and_model_state(engine: Engine) -> None:
    save_scores(engine, date(2024, 1, 31), "3", _scores())
    s = get_score(engine, "F1", "3")
    assert s is not None
    assert s.score == pytest.approx(612.123456789, abs=1e-9)
    assert s.limit_minor == 100_000_010 and s.currency == "CNY"
    assert s.points[0]["points"] == 12.25
    assert get_score(engine, "F1", "4") is None
    assert get_score(engine, "F2", "3", date(2024, 1, 31)).reasons[0]["text_zh"] == "甲"  # type: ignore[union-attr]
    # Money reaches the store in minor units: a float limit (yuan or fen) is refused, not rounded.
    for bad in ([1_000_000.105, 0.0], [100_000_010.0, 0.0]):
        with pytest.raises(SnapshotError, match="limit_minor"):
            save_scores(engine, date(2024, 1, 31), "3", _scores().assign(limit_minor=bad))
    assert get_score(engine, "F1", "3").limit_minor == 100_000_010  # type: ignore[union-attr]
    st0 = get_model_state(engine)
    assert st0.generation == 0 and st0.champion_version is None
    st1 = bump_model_state(engine, "3", by="t")
    st2 = bump_model_state(engine, "4", by="t")
    assert (st1.generation, st2.generation) == (1, 2)
    assert st2.previous_version == "3"
    scored = versions_with_scores(engine)
    # The new champion "4" has no scores yet: the previous one keeps serving.
    assert serving_version(st2, scored) == "3"
    save_scores(engine, date(2024, 1, 31), "4", _scores())
    assert serving_version(st2, versions_with_scores(engine)) == "4"
    st3 = bump_model_state(engine, "4", by="t")
    assert st3.generation == 3 and st3.previous_version == "3"


def test_keys_and_consents_refuse_blank_or_control_text(engine: Engine) -> None:
    """Found by schemathesis: an org of "\\r" was a 500. Such text is the caller's mistake, and
    PostgreSQL cannot even store a NUL, so it is refused before the database."""
    for org, label in (("\r", None), ("9150\x00", None), ("91500000MB0000001", "line\nbreak")):
        with pytest.raises(keys.InvalidKeyRequest):
            keys.create_key(engine, role="bank", org=org, created_by="t", label=label)
    with pytest.raises(consents.InvalidConsent):
        consents.grant_consent(engine, firm_id="F\x00", bank_org="B", purpose="loan",
                               valid_until=date.today(), evidence_ref="form-1", created_by="t")
