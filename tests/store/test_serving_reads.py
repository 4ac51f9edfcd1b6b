"""The reads the API serves from, now named store functions: which scores exist, the rows a
worker preloads, a batch's result, the feature rows of a scenario, the consent index's polls
and the demo's pick of firms."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from store import consents
from store.batches import get_batch
from store.feature_snapshots import load_snapshot_rows, save_snapshot
from store.ingest import Upload, ingest
from store.scores import (
    SERVED_COLUMNS,
    busiest_scored_supplier,
    has_scores,
    latest_scored,
    save_scores,
    scores_with_extras,
)
from store.service_tables import consents as consents_table
from store.service_tables import utcnow
from tests.store import factories as f

DAY, LATER = date(2024, 1, 31), date(2024, 2, 29)


def _scores(firms: list[str], score: float) -> pd.DataFrame:
    return pd.DataFrame({
        "firm_id": firms, "pd": 0.1, "score": score, "grade": "B", "limit_minor": 1050, "base_points": score - 1,
        "points": [json.dumps([{"feature": "a", "points": 1.0}])] * len(firms),
        "reasons": [json.dumps([{"feature": "a", "points": -1.0}])] * len(firms),
    })


def test_which_scores_exist_and_what_a_worker_preloads(engine: sa.Engine) -> None:
    assert not has_scores(engine, "1") and latest_scored(engine, "1") is None
    feats = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.Index(["F1", "F2", "F3"], name="firm_id"))
    extras = pd.DataFrame({"tier": [0, 1, 2], "red_flags": [[], ["cycle"], []]}, index=feats.index)
    save_snapshot(engine, LATER, feats, extras)
    save_scores(engine, DAY, "1", _scores(["F1", "F2"], 600.0))
    save_scores(engine, LATER, "1", _scores(["F1", "F2"], 610.0))
    save_scores(engine, LATER, "2", _scores(["F3"], 620.0))
    assert has_scores(engine, "1") and not has_scores(engine, "3")
    assert latest_scored(engine, "1") == LATER
    rows, extra = scores_with_extras(engine, "1", LATER, limit=10)
    assert list(rows.columns) == list(SERVED_COLUMNS)
    assert sorted(rows["firm_id"]) == ["F1", "F2"] and set(rows["score"]) == {610.0}
    assert set(extra) == {"F1", "F2"}  # the extras of the firms this version scored, not F3's
    assert json.loads(extra["F2"] or "") == {"tier": 1, "red_flags": ["cycle"]}
    assert json.loads(rows.loc[rows["firm_id"] == "F1", "points"].iloc[0])[0]["points"] == 1.0
    assert len(scores_with_extras(engine, "1", LATER, limit=1)[0]) == 1


def test_feature_rows_of_some_firms(engine: sa.Engine) -> None:
    firms = [f"F{i}" for i in range(1200)]  # more than one IN list of 500
    save_snapshot(engine, DAY, pd.DataFrame({"a": range(1200)}, index=pd.Index(firms), dtype="float64"))
    got = load_snapshot_rows(engine, [*firms[::2], "NOPE"], DAY)
    assert len(got) == 600 and "NOPE" not in got.index and got.loc["F998", "a"] == 998.0
    assert load_snapshot_rows(engine, ["F1"], LATER).empty


def test_a_batch_result_and_the_busiest_scored_supplier(engine: sa.Engine) -> None:
    registry = f.firms(3)  # firm 0 is the core firm
    core, supplier, other = registry["firm_id"]
    ingest(engine, Upload("firms", registry), uploader="cli")
    inv = f.invoices(5)
    inv["buyer_id"] = [core, core, core, other, other]
    inv["seller_id"] = [supplier, supplier, other, core, supplier]
    result = ingest(engine, Upload("invoices", inv, source="invoices.csv"), uploader="cli")
    batch = get_batch(engine, result.batch_id)
    assert batch is not None and (batch["kind"], batch["inserted"], batch["uploaded_by"]) == ("invoices", 5, "cli")
    assert get_batch(engine, "no-such-batch") is None
    assert busiest_scored_supplier(engine) is None  # nobody scored yet
    save_scores(engine, DAY, "1", _scores([supplier, other], 600.0))
    assert busiest_scored_supplier(engine) == (core, supplier)


def test_consent_changes_since_a_poll(engine: sa.Engine) -> None:
    today = date.today()

    def grant(firm: str) -> consents.Consent:
        return consents.grant_consent(engine, firm_id=firm, bank_org="B", purpose="p", evidence_ref="e",
                                      valid_until=today + timedelta(days=30), created_by="t")

    first, second = grant("F1"), grant("F2")
    everything = consents.consent_changes(engine, after_id=0)
    assert [c.id for c in everything.new] == [first.id, second.id] and everything.withdrawn == []
    since = utcnow() - timedelta(seconds=5)
    consents.withdraw_consent(engine, first.id)
    with engine.begin() as conn:  # committed late, with an id below the highest one read
        conn.execute(sa.insert(consents_table), [{
            "id": second.id + 5, "firm_id": "F3", "bank_org": "B", "purpose": "p", "valid_from": today,
            "valid_until": today, "evidence_ref": "e", "created_at": utcnow(), "created_by": "t",
            "withdrawn_at": None}])
    changes = consents.consent_changes(engine, after_id=second.id + 10, since=since,
                                       seen={first.id, second.id})
    assert [c.firm_id for c in changes.new] == ["F3"]  # known ones are not read again
    assert changes.withdrawn == [(first.id, "B", "F1")]
