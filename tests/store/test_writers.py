"""The one way writers take turns (store.writers): the writer lock, then BEGIN IMMEDIATE.

Every writer of the store is shown to wait for a turn held elsewhere (as another worker process
would hold it), a bulk writer to hand the lock back once SQLite's own lock is its, and writers of
many threads to serialise without a lost update or a "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from store import audit, consents, idempotency, keys
from store.feature_snapshots import save_snapshot
from store.ingest import ingest
from store.model_state import bump_model_state, get_model_state
from store.scores import save_scores
from store.writers import NestedWrite, TurnTaker, WriterLock, write_transaction
from tests.store.locking import held_elsewhere

DAY = date(2024, 6, 30)


def lock_of(engine: sa.Engine) -> WriterLock:
    lock = WriterLock.for_engine(engine)
    assert lock is not None
    return lock


def test_the_writer_lock_sits_beside_a_sqlite_file_only(sqlite_engine: sa.Engine) -> None:
    database = Path(str(sqlite_engine.url.database)).resolve()
    assert lock_of(sqlite_engine).path == database.with_name(database.name + "-write.lock")
    assert WriterLock.for_engine(sa.create_engine("sqlite://")) is None  # in memory: one process anyway
    assert WriterLock.for_engine(sa.create_engine("postgresql+psycopg://u@127.0.0.1/db")) is None


def test_the_writer_lock_excludes_other_holders(tmp_path: Path) -> None:
    path = tmp_path / "x.db-write.lock"
    lock = WriterLock(path)
    with lock:
        assert held_elsewhere(path)
    assert not held_elsewhere(path)
    lock.close()


def test_a_write_transaction_holds_both_locks_and_a_reader_neither(sqlite_engine: sa.Engine) -> None:
    """Readers begin deferred (no lock in WAL mode); a write transaction holds the writer lock and
    SQLite's write lock from BEGIN, so a second writer waits instead of failing half-way."""
    path = lock_of(sqlite_engine).path
    other = sqlite3.connect(str(sqlite_engine.url.database), timeout=0, isolation_level=None)
    try:
        with sqlite_engine.connect() as reader, reader.begin():
            reader.exec_driver_sql("SELECT count(*) FROM batches").scalar()
            assert not held_elsewhere(path)
            other.execute("BEGIN IMMEDIATE")  # a plain reader holds no lock: this succeeds
            other.execute("ROLLBACK")
        with write_transaction(sqlite_engine) as conn:
            conn.exec_driver_sql("SELECT count(*) FROM batches").scalar()
            assert held_elsewhere(path)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # SQLite's write lock is already taken
        assert not held_elsewhere(path)
    finally:
        other.close()


def test_a_bulk_writer_hands_the_writer_lock_back_once_sqlite_lock_is_its(sqlite_engine: sa.Engine) -> None:
    """Writers behind a long load then wait in SQLite's busy handler, within its timeout."""
    path = lock_of(sqlite_engine).path
    other = sqlite3.connect(str(sqlite_engine.url.database), timeout=0, isolation_level=None)
    try:
        with write_transaction(sqlite_engine, bulk=True):
            assert not held_elsewhere(path)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_writes_never_nest(sqlite_engine: sa.Engine) -> None:
    """A write inside a write on one thread would wait for itself: refused at once."""
    with write_transaction(sqlite_engine) as conn:
        conn.exec_driver_sql("DELETE FROM batches")
        with pytest.raises(NestedWrite):
            keys.create_key(sqlite_engine, role="bank", org="B", created_by="t")
    assert keys.list_keys(sqlite_engine) == []
    keys.create_key(sqlite_engine, role="bank", org="B", created_by="t")  # the turn was given back
    assert len(keys.list_keys(sqlite_engine)) == 1


def test_a_lock_file_that_cannot_be_opened_does_not_stop_writes(sqlite_engine: sa.Engine) -> None:
    lock_of(sqlite_engine).path.mkdir()  # a folder where the lock file should be: open() fails
    keys.create_key(sqlite_engine, role="bank", org="B", created_by="t")
    taker = TurnTaker(sqlite_engine)
    with taker.turn(), taker.transaction() as conn:
        audit.append_records(conn, [audit.AuditRecord(actor="t", action="x")])
    taker.close()
    assert taker.lock is None  # not tried again at every turn
    assert len(keys.list_keys(sqlite_engine)) == 1 and len(audit.list_records(sqlite_engine)) == 1


def _upload() -> Any:
    from store.reading import read_upload

    return read_upload("fx_rates", b"rate_date,currency,cny_per_unit\n2024-06-30,USD,7.1\n",
                       filename=None, content_type="text/csv")


def _score_frame() -> pd.DataFrame:
    return pd.DataFrame({"firm_id": ["F1"], "pd": [0.1], "score": [600.0], "grade": ["B"], "limit_minor": [100],
                         "base_points": [590.0], "points": ["[]"], "reasons": ["[]"]})


WRITERS: dict[str, Callable[[sa.Engine], object]] = {
    "key": lambda e: keys.create_key(e, role="bank", org="B", created_by="t"),
    "consent": lambda e: consents.grant_consent(e, firm_id="F1", bank_org="B", purpose="p", evidence_ref="e",
                                                valid_until=DAY + timedelta(days=9999), created_by="t"),
    "audit": lambda e: audit.append_records(e, [audit.AuditRecord(actor="t", action="x")]),
    "model state": lambda e: bump_model_state(e, "1", by="t"),
    "idempotency": lambda e: idempotency.claim(e, "B", "k", "h", wait_seconds=0),
    "snapshot": lambda e: save_snapshot(e, DAY, pd.DataFrame({"x": [1.0]}, index=pd.Index(["F1"]))),
    "scores": lambda e: save_scores(e, DAY, "1", _score_frame()),
    "ingestion": lambda e: ingest(e, _upload(), uploader="t"),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_waits_for_its_turn(sqlite_engine: sa.Engine, name: str) -> None:
    other = lock_of(sqlite_engine)  # another worker's writer, holding its turn
    other.acquire()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            WRITERS[name](sqlite_engine)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=write)
    try:
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the turn, not writing around it
    finally:
        other.release()
        other.close()
    thread.join(30)
    assert not thread.is_alive() and errors == []


def test_writers_of_many_threads_take_turns_without_a_lost_update(sqlite_engine: sa.Engine) -> None:
    """The model-state bump reads then writes: eight threads bumping at once lose nothing and
    never meet "database is locked"."""
    errors: list[BaseException] = []

    def bump(n: int) -> None:
        try:
            for _ in range(n):
                bump_model_state(sqlite_engine, "1", by="t")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(15,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and get_model_state(sqlite_engine).generation == 120


def test_writes_on_both_databases(engine: sa.Engine) -> None:
    with write_transaction(engine, bulk=True) as conn:
        audit.append_records(conn, [audit.AuditRecord(actor="t", action="a")])
    with write_transaction(engine) as conn:
        audit.append_records(conn, [audit.AuditRecord(actor="t", action="b")])
    taker = TurnTaker(engine)
    with taker.turn(), taker.transaction() as conn:
        audit.append_records(conn, [audit.AuditRecord(actor="t", action="c")])
    taker.close()
    assert sorted(e.record.action for e in audit.list_records(engine)) == ["a", "b", "c"]


def test_a_turn_taker_commits_without_checkpointing_and_in_turn(sqlite_engine: sa.Engine) -> None:
    taker = TurnTaker(sqlite_engine, checkpoint_seconds=0)
    path = lock_of(sqlite_engine).path
    taker.start()
    try:
        with taker.turn():
            assert held_elsewhere(path)
            with taker.transaction() as conn:
                assert int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()) == 0
                audit.append_records(conn, [audit.AuditRecord(actor="t", action="x")])
        assert not held_elsewhere(path)
    finally:
        taker.stop()  # a last checkpoint of what was committed
        taker.close()
    assert taker.checkpointer is not None and taker.checkpointer.checkpoints >= 1
    assert len(audit.list_records(sqlite_engine)) == 1


def test_no_lock_and_no_checkpointer_outside_sqlite_files() -> None:
    for url in ("sqlite://", "postgresql+psycopg://u@127.0.0.1/db"):
        taker = TurnTaker(sa.create_engine(url))
        assert taker.lock is None and taker.checkpointer is None
