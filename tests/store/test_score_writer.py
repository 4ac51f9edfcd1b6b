"""Scores stored in chunks: one set replaces another whole, or not at all.

Batch scoring appends a million firms chunk by chunk; serving must read either the old set or
the new one, never a mix, and a run that fails or is killed must leave the old set in place.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from store.feature_snapshots import SnapshotError
from store.scores import ScoreWriter, get_score, save_scores
from store.service_tables import scores
from tests.store.killing import kill_when_ready

DAY = date(2024, 6, 30)


def score_rows(firms: range, score: float) -> pd.DataFrame:
    """Score rows for firms F<i>, every one with the same `score`, so a mix of sets shows."""
    ids = [f"F{i:05d}" for i in firms]
    reason = json.dumps([{"feature": "a", "family": "f", "points": -1.5, "value": "2",
                          "text_en": "a", "text_zh": "甲"}], ensure_ascii=False)
    return pd.DataFrame(
        {
            "firm_id": ids,
            "pd": 0.02,
            "score": score,
            "grade": "BB",
            "limit_minor": 123450,
            "base_points": score - 1.0,
            "points": [json.dumps([{"feature": "a", "family": "f", "value": 2.0, "points": 1.0}])] * len(ids),
            "reasons": [reason] * len(ids),
        }
    )


def stored(engine: sa.Engine, version: str = "1") -> dict[str, float]:
    """firm -> score of (DAY, version), read on a connection of its own."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(scores.c.firm_id, scores.c.score).where(
                scores.c.as_of == DAY, scores.c.model_version == version
            )
        ).all()
    return {r[0]: float(r[1]) for r in rows}


def test_chunks_replace_the_set_in_one_go(engine: sa.Engine) -> None:
    save_scores(engine, DAY, "1", score_rows(range(0, 300), 500.0))
    save_scores(engine, DAY, "2", score_rows(range(0, 10), 450.0))  # another version
    chunks = (score_rows(range(start, start + 100), 600.0) for start in range(100, 400, 100))
    assert save_scores(engine, DAY, "1", chunks) == 300
    new = stored(engine)
    # Firms 0–99 are not in the new set: the old rows of the (date, version) are gone too.
    assert sorted(new) == [f"F{i:05d}" for i in range(100, 400)]
    assert set(new.values()) == {600.0}
    assert set(stored(engine, "2").values()) == {450.0}
    one = get_score(engine, "F00399", "1", DAY)
    assert one is not None and one.limit_minor == 123450 and one.reasons[0]["text_zh"] == "甲"


def test_readers_see_the_old_set_until_the_writer_commits(engine: sa.Engine) -> None:
    save_scores(engine, DAY, "1", score_rows(range(0, 200), 500.0))
    with ScoreWriter(engine, DAY, "1") as writer:
        assert writer.append(score_rows(range(0, 100), 600.0)) == 100
        # Half the new set is written, and the old set deleted, inside the open transaction.
        seen = stored(engine)
        assert len(seen) == 200 and set(seen.values()) == {500.0}
        old = get_score(engine, "F00050", "1", DAY)
        assert old is not None and old.score == 500.0
        writer.append(score_rows(range(100, 250), 600.0))
        assert set(stored(engine).values()) == {500.0}
    assert writer.rows == 250
    new = stored(engine)
    assert len(new) == 250 and set(new.values()) == {600.0}


def test_a_failing_run_leaves_the_previous_scores(engine: sa.Engine) -> None:
    save_scores(engine, DAY, "1", score_rows(range(0, 200), 500.0))

    def chunks():  # type: ignore[no-untyped-def]
        yield score_rows(range(0, 100), 600.0)
        raise RuntimeError("scoring failed mid-way")

    with pytest.raises(RuntimeError, match="mid-way"):
        save_scores(engine, DAY, "1", chunks())
    before = stored(engine)
    assert len(before) == 200 and set(before.values()) == {500.0}
    # A firm twice in one set violates the key: nothing of the new set stays.
    with pytest.raises(sa.exc.IntegrityError):
        save_scores(engine, DAY, "1", [score_rows(range(0, 50), 600.0)] * 2)
    assert stored(engine) == before
    # And the store takes the next run normally.
    assert save_scores(engine, DAY, "1", [score_rows(range(0, 5), 700.0)]) == 5
    assert set(stored(engine).values()) == {700.0}


def test_append_needs_an_open_writer(engine: sa.Engine) -> None:
    writer = ScoreWriter(engine, DAY, "1")
    with pytest.raises(SnapshotError, match="outside"):
        writer.append(score_rows(range(0, 1), 600.0))
    with writer, pytest.raises(SnapshotError, match="lacks column"):
        writer.append(score_rows(range(0, 1), 600.0).drop(columns="reasons"))


CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from store.db import make_engine
    from store.scores import ScoreWriter
    from tests.store.test_score_writer import DAY, score_rows

    engine = make_engine(sys.argv[1])
    with ScoreWriter(engine, DAY, "1") as writer:
        writer.append(score_rows(range(0, 150), 600.0))
        print("appended", flush=True)
        time.sleep(60)  # the parent kills us here, inside the open transaction
    """
)


def test_a_killed_run_leaves_the_previous_scores(engine: sa.Engine, db_url: str) -> None:
    save_scores(engine, DAY, "1", score_rows(range(0, 100), 500.0))

    def mid_set() -> None:
        assert set(stored(engine).values()) == {500.0}  # the writer is alive, mid-set

    kill_when_ready(CHILD, db_url, ready={"appended"}, while_alive=mid_set)
    old = stored(engine)
    assert len(old) == 100 and set(old.values()) == {500.0}
    # The dead writer's lock is gone: the next run stores normally.
    assert save_scores(engine, DAY, "1", score_rows(range(0, 3), 700.0)) == 3
