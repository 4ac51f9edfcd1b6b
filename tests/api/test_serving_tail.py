"""What keeps the score call's tail latency down (issue 6), checked for behaviour, not speed:
the audit writers of several workers take turns through a file lock and still commit before the
response; the writer's connection leaves WAL checkpoints to its own thread; the consent poller
does no work for consents it already has; key lookups are shared and refreshed ahead; the
startup heap is frozen out of the garbage collector in workers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, insert

from api.audit_writer import AuditUnavailable, AuditWriter
from api.auth import Authenticator, TtlCache
from api.consent_index import ConsentIndex
from store.audit import AuditRecord, append_records, list_records
from store.consents import grant_consent
from store.service_tables import consents, utcnow
from store.sqlite import checkpoint
from store.writers import WriterLock
from tests.api.conftest import BANK, CORE, Env, uscc
from tests.store.locking import held_elsewhere


def _records(n: int, firm: str = "F") -> list[AuditRecord]:
    return [AuditRecord(actor="key:t", action="score.read", firm_id=f"{firm}{i}") for i in range(n)]


# --- the audit writer's turns ------------------------------------------------------------------


def test_audit_commit_happens_under_the_writer_lock(sqlite_engine: Engine) -> None:
    lock_path = WriterLock.for_engine(sqlite_engine).path  # type: ignore[union-attr]
    seen: list[tuple[bool, int]] = []

    def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
        seen.append((held_elsewhere(lock_path), int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())))
        append_records(conn, records)

    async def go() -> None:
        writer = AuditWriter(sqlite_engine, flush_ms=1, append=append)
        await writer.start()
        await writer.write(_records(2))
        await writer.stop()

    asyncio.run(go())
    # held while committing, and the writer's connection never checkpoints inside a COMMIT
    assert seen == [(True, 0)]
    assert not held_elsewhere(lock_path)  # released after
    assert len(list_records(sqlite_engine)) == 2


def test_requests_queued_behind_another_worker_join_one_commit(sqlite_engine: Engine) -> None:
    """While another worker's writer holds the lock, this worker's requests wait (unanswered)
    and then go out in a single group once it is released."""
    other = WriterLock.for_engine(sqlite_engine)
    assert other is not None
    calls: list[int] = []

    def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
        calls.append(len(records))
        append_records(conn, records)

    async def go() -> None:
        writer = AuditWriter(sqlite_engine, flush_ms=0, append=append)
        await writer.start()
        other.acquire()
        pending = [asyncio.ensure_future(writer.write(_records(1, firm=f"G{i}-"))) for i in range(30)]
        await asyncio.sleep(0)  # every request runs up to waiting for its commit
        assert not any(p.done() for p in pending)  # nothing answered before its record is committed
        assert list_records(sqlite_engine) == []
        other.release()
        await asyncio.gather(*pending)
        await writer.stop()

    asyncio.run(go())
    other.close()
    assert calls == [30]
    assert len(list_records(sqlite_engine)) == 30


def test_a_failed_commit_fails_its_group_and_the_next_one_reconnects(sqlite_engine: Engine) -> None:
    failures = [RuntimeError("disk I/O error")]

    def flaky(conn: Connection, records: Sequence[AuditRecord]) -> None:
        if failures:
            raise failures.pop()
        append_records(conn, records)

    async def go() -> tuple[BaseException | None, BaseException | None]:
        writer = AuditWriter(sqlite_engine, flush_ms=1, append=flaky)
        await writer.start()
        first, = await asyncio.gather(writer.write(_records(1, firm="A")), return_exceptions=True)
        second, = await asyncio.gather(writer.write(_records(1, firm="B")), return_exceptions=True)
        await writer.stop()
        return first, second  # type: ignore[return-value]

    first, second = asyncio.run(go())
    assert isinstance(first, AuditUnavailable) and second is None
    assert [e.record.firm_id for e in list_records(sqlite_engine)] == ["B0"]


def test_a_lock_file_that_cannot_be_opened_does_not_stop_auditing(sqlite_engine: Engine, tmp_path: Path) -> None:
    async def go() -> AuditWriter:
        writer = AuditWriter(sqlite_engine, flush_ms=1)
        writer._writer.lock = WriterLock(tmp_path / "no-such-folder" / "chaincredit.db-write.lock")
        await writer.start()
        await writer.write(_records(3))
        await writer.stop()
        return writer

    writer = asyncio.run(go())
    assert writer._writer.lock is None  # fell back to SQLite's own locking
    assert len(list_records(sqlite_engine)) == 3


def test_group_commit_on_both_databases(engine: Engine) -> None:
    """PostgreSQL takes a pooled connection per group (no lock file, no checkpointer)."""
    async def go() -> None:
        writer = AuditWriter(engine, flush_ms=1)
        await writer.start()
        await asyncio.gather(*(writer.write(_records(2, firm=f"P{i}-")) for i in range(10)))
        await writer.stop()

    asyncio.run(go())
    assert len(list_records(engine, limit=100)) == 20


def test_a_lost_wake_up_is_settled_by_the_sweeper(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the writer's request to settle a group never runs on the loop, the request still ends,
    with the writer's outcome: committed records answer, a failed commit raises."""
    import api.audit_writer as aw

    def finish_without_wake_up(self: AuditWriter, group: list[Any], error: BaseException | None) -> None:
        for item in group:  # what the writer records; the call into the loop never happens
            item.outcome = aw._COMMITTED if error is None else error

    monkeypatch.setattr(aw.AuditWriter, "_finish", finish_without_wake_up)
    failing = [False, True]

    def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
        if failing.pop(0):
            raise RuntimeError("disk full")
        append_records(conn, records)

    async def go() -> tuple[BaseException | None, BaseException | None]:
        writer = AuditWriter(sqlite_engine, flush_ms=1, append=append, sweep_seconds=0.01)
        await writer.start()
        ok, = await asyncio.gather(asyncio.wait_for(writer.write(_records(1, firm="S")), 30), return_exceptions=True)
        bad, = await asyncio.gather(asyncio.wait_for(writer.write(_records(1, firm="T")), 30), return_exceptions=True)
        await writer.stop()
        return ok, bad  # type: ignore[return-value]

    ok, bad = asyncio.run(go())
    assert ok is None and isinstance(bad, AuditUnavailable) and "disk full" in str(bad)
    assert [e.record.firm_id for e in list_records(sqlite_engine)] == ["S0"]


def test_an_unexpected_error_in_the_writer_fails_its_group_and_the_writer_goes_on(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.audit_writer as aw

    real = aw.AuditWriter._drain
    calls = [0]

    def drain_once_broken(self: AuditWriter, group: list[Any], n: int, cap: int | None) -> bool:
        calls[0] += 1
        if calls[0] == 1:
            raise TypeError("a bug outside the commit")
        return real(self, group, n, cap)

    monkeypatch.setattr(aw.AuditWriter, "_drain", drain_once_broken)

    async def go() -> tuple[BaseException | None, BaseException | None]:
        writer = AuditWriter(sqlite_engine, flush_ms=1)
        await writer.start()
        first, = await asyncio.gather(asyncio.wait_for(writer.write(_records(1, firm="U")), 30), return_exceptions=True)
        second, = await asyncio.gather(asyncio.wait_for(writer.write(_records(1, firm="V")), 30), return_exceptions=True)
        await writer.stop()
        return first, second  # type: ignore[return-value]

    first, second = asyncio.run(go())
    assert isinstance(first, AuditUnavailable) and second is None
    assert [e.record.firm_id for e in list_records(sqlite_engine)] == ["V0"]


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpointer_copies_the_audit_wal_into_the_database(sqlite_engine: Engine) -> None:
    async def go() -> AuditWriter:
        writer = AuditWriter(sqlite_engine, flush_ms=1, checkpoint_seconds=0)
        await writer.start()
        for i in range(5):
            await writer.write(_records(20, firm=f"W{i}-"))
        await writer.stop()  # a last checkpoint of what was committed
        return writer

    writer = asyncio.run(go())
    checkpointer = writer._writer.checkpointer
    assert checkpointer is not None and checkpointer.checkpoints >= 1
    state = checkpoint(sqlite_engine)
    assert state is not None
    busy, frames, copied = state
    assert busy == 0 and frames == copied  # nothing left in the WAL that is not in the database
    assert len(list_records(sqlite_engine, limit=1000)) == 100


# --- the consent poller -------------------------------------------------------------------------


def test_consent_poll_after_a_bulk_grant_does_no_work_twice(engine: Engine) -> None:
    today = date.today()
    index = ConsentIndex(engine)
    index.refresh()
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(consents), [
            {"firm_id": uscc(200 + i), "bank_org": BANK, "purpose": "p", "valid_from": today,
             "valid_until": today + timedelta(days=30), "evidence_ref": "e", "created_at": now,
             "created_by": "t", "withdrawn_at": None}
            for i in range(50)
        ])
    assert index.refresh() == 50
    assert index.refresh() == 0  # within the look-back margin, but all already known
    assert len(index.firms_of(BANK, today)) == 50


def test_consent_committed_late_with_a_lower_id_is_still_found(engine: Engine) -> None:
    """A PostgreSQL sequence hands out ids before commit: a lower id can show up after a higher
    one was read. The poller finds it through the look-back margin."""
    today = date.today()
    index = ConsentIndex(engine)
    first = grant_consent(engine, firm_id=uscc(300), bank_org=BANK, purpose="p", evidence_ref="e",
                          valid_until=today + timedelta(days=30), created_by="t")
    index.refresh()
    with engine.begin() as conn:  # a row with a higher id, then one with a lower id
        conn.execute(insert(consents), [
            {"id": first.id + 10, "firm_id": uscc(301), "bank_org": BANK, "purpose": "p", "valid_from": today,
             "valid_until": today + timedelta(days=30), "evidence_ref": "e", "created_at": utcnow(),
             "created_by": "t", "withdrawn_at": None}])
    assert index.refresh() == 1
    with engine.begin() as conn:
        conn.execute(insert(consents), [
            {"id": first.id + 5, "firm_id": uscc(302), "bank_org": BANK, "purpose": "p", "valid_from": today,
             "valid_until": today + timedelta(days=30), "evidence_ref": "e", "created_at": utcnow(),
             "created_by": "t", "withdrawn_at": None}])
    assert index.refresh() == 1
    assert index.firms_of(BANK, today) == {uscc(300), uscc(301), uscc(302)}
    assert index.refresh() == 0


# --- API keys -----------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keyed(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> tuple[Authenticator, str, list[str], _Clock]:
    from store.keys import create_key, lookup_token

    token = create_key(sqlite_engine, role="bank", org=BANK, created_by="t").token
    lookups: list[str] = []

    def counting(engine: Engine, tok: str) -> Any:
        lookups.append(tok)
        return lookup_token(engine, tok)

    monkeypatch.setattr("api.auth.lookup_token", counting)
    auth = Authenticator(sqlite_engine, cache_seconds=10)
    clock = _Clock()
    auth._keys = TtlCache(10, clock=clock)
    return auth, f"Bearer {token}", lookups, clock


def test_concurrent_misses_share_one_key_lookup(keyed: tuple[Authenticator, str, list[str], _Clock]) -> None:
    auth, header, lookups, _ = keyed

    async def go() -> list[Any]:
        return list(await asyncio.gather(*(auth.principal(header) for _ in range(20))))

    principals = asyncio.run(go())
    assert len(lookups) == 1 and len({p.key_id for p in principals}) == 1


def test_a_key_in_use_is_refreshed_before_it_expires(keyed: tuple[Authenticator, str, list[str], _Clock]) -> None:
    auth, header, lookups, clock = keyed

    async def go() -> None:
        first = await auth.principal(header)
        clock.now += 5  # half the cache time: served from memory, nothing looked up
        assert auth.cached_principal(header) == first and len(lookups) == 1
        clock.now += 4  # in the last fifth: still served from memory, refreshed behind it
        assert auth.cached_principal(header) == first
        await asyncio.gather(*auth._refreshes)
        assert len(lookups) == 2
        clock.now += 5  # past the first answer's expiry, within the refreshed one's
        assert auth.cached_principal(header) == first and len(lookups) == 2

    asyncio.run(go())


def test_a_revoked_key_stops_within_the_cache_time(keyed: tuple[Authenticator, str, list[str], _Clock],
                                                    sqlite_engine: Engine) -> None:
    from api.problems import Problem
    from store.keys import revoke_key

    auth, header, _, clock = keyed

    async def go() -> None:
        principal = await auth.principal(header)
        revoke_key(sqlite_engine, principal.key_id)
        clock.now += 10.5  # the cached answer has expired (no refresh was asked for)
        assert auth.cached_principal(header) is None
        with pytest.raises(Problem) as err:
            await auth.principal(header)
        assert err.value.status == 401

    asyncio.run(go())


# --- the heap -----------------------------------------------------------------------------------


def test_worker_freezes_its_startup_heap_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli.serve import worker_settings
    from api.settings import ApiSettings

    monkeypatch.delenv("CHAINCREDIT_GC_FREEZE", raising=False)
    assert ApiSettings().gc_freeze is False  # apps inside other processes (tests) leave gc alone
    assert worker_settings(ApiSettings()).gc_freeze is True
    monkeypatch.setenv("CHAINCREDIT_GC_FREEZE", "false")
    assert worker_settings(ApiSettings()).gc_freeze is False


def test_app_freezes_the_heap_while_it_serves(env: Env) -> None:
    from api.app import create_app

    settings = env.app.state.cc.settings.model_copy(update={"gc_freeze": True})
    app = create_app(settings, engine=env.engine)
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 0
        r = client.get(f"/v1/scores/{CORE}", headers=env.h("bank"))
        assert r.status_code == 200
    assert gc.get_freeze_count() == 0  # handed back when the app stops
    assert len(list_records(env.engine, action="score.read", firm_id=CORE)) == 1
