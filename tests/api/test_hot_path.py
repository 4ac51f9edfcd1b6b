"""The score hot path: the pure-ASGI fast path answers exactly like the FastAPI route, consents
live in memory and follow other workers' writes by polling, and audit records are group-committed
by one writer thread (a failed commit fails every request of its group)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from api.audit_writer import AuditUnavailable, AuditWriter
from api.consent_index import ConsentIndex
from store.audit import AuditRecord, append_records, list_records
from store.consents import grant_consent, withdraw_consent
from tests.api.conftest import BANK, CORE, OTHER, SUPPLIER, UNSCORED, Env, uscc


def _routes_answer(env: Env, fast: bool, path: str, role: str | None) -> tuple[int, str, bytes]:
    from api.app import create_app

    settings = env.app.state.cc.settings.model_copy(update={"score_fast_path": fast})
    app = create_app(settings, engine=env.engine)
    with TestClient(app) as client:
        r = client.get(path, headers=env.h(role))
    return r.status_code, r.headers["content-type"], r.content


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (f"/v1/scores/{SUPPLIER}", "bank"),
        (f"/v1/scores/{SUPPLIER}?as_of=2024-06-30", "bank"),
        (f"/v1/scores/{SUPPLIER}?as_of=2023-01-31", "bank"),  # 409
        (f"/v1/scores/{OTHER}", "bank"),  # 403 no consent
        (f"/v1/scores/{uscc(99)}", "bank"),  # 404
        (f"/v1/scores/{UNSCORED}", "bank"),  # 409
        (f"/v1/scores/{SUPPLIER}", "enterprise"),  # 403 role
        (f"/v1/scores/{SUPPLIER}", None),  # 401
        (f"/v1/scores/{SUPPLIER}?as_of=2024-02-30", "bank"),  # falls through: 422
    ],
)
def test_fast_path_answers_like_the_route(env: Env, path: str, role: str | None) -> None:
    fast = _routes_answer(env, True, path, role)
    slow = _routes_answer(env, False, path, role)
    assert fast == slow
    assert fast[0] in (200, 401, 403, 404, 409, 422)


def test_fast_path_counts_in_metrics_and_audit(env: Env) -> None:
    for _ in range(3):
        assert env.client.get(f"/v1/scores/{CORE}", headers=env.h("bank")).status_code == 200
    text = env.client.get("/metrics").text
    assert 'chaincredit_http_requests_total{method="GET",route="/v1/scores/{firm_id}",status="200"} 3.0' in text
    assert len(list_records(env.engine, action="score.read", firm_id=CORE)) == 3


def test_consent_index_follows_other_workers(sqlite_engine: Engine) -> None:
    bank, firm = "BANK-A", uscc(40)
    index = ConsentIndex(sqlite_engine)
    index.refresh()
    today = date.today()
    assert index.in_force(bank, firm, today) is None
    # another worker grants: visible after this worker's next poll, not before
    c = grant_consent(sqlite_engine, firm_id=firm, bank_org=bank, purpose="loan", evidence_ref="e",
                      valid_until=today + timedelta(days=10), created_by="t")
    assert index.in_force(bank, firm, today) is None
    index.refresh()
    found = index.in_force(bank, firm, today)
    assert found is not None and found.id == c.id and firm in index.firms_of(bank, today)
    assert index.in_force(bank, firm, today + timedelta(days=11)) is None  # expired by then
    longer = grant_consent(sqlite_engine, firm_id=firm, bank_org=bank, purpose="loan 2", evidence_ref="e",
                           valid_until=today + timedelta(days=90), created_by="t")
    index.refresh()
    assert index.in_force(bank, firm, today).id == longer.id  # type: ignore[union-attr]
    withdraw_consent(sqlite_engine, longer.id)
    withdraw_consent(sqlite_engine, c.id)
    index.refresh()
    assert index.in_force(bank, firm, today) is None and len(index) == 0
    # a stale read of the row cannot bring a withdrawn consent back
    index.add(c)
    assert index.in_force(bank, firm, today) is None


def test_withdrawal_through_the_api_applies_at_once(env: Env) -> None:
    r = env.client.get(f"/v1/scores/{CORE}", headers=env.h("bank"))
    assert r.status_code == 200
    cid = next(c["id"] for c in env.client.get("/v1/consents", headers=env.h("bank")).json()
               if c["firm_id"] == CORE)
    assert env.client.post(f"/v1/consents/{cid}/withdraw", headers=env.h("bank")).status_code == 200
    assert env.client.get(f"/v1/scores/{CORE}", headers=env.h("bank")).status_code == 403


def _records(n: int) -> list[AuditRecord]:
    return [AuditRecord(actor="key:t", action="score.read", firm_id=f"F{i}") for i in range(n)]


def test_audit_writer_groups_concurrent_writes(sqlite_engine: Engine) -> None:
    calls: list[int] = []

    def append(conn: Connection, records: Sequence[AuditRecord]) -> None:
        calls.append(len(records))
        time.sleep(0.01)  # a slow disk: requests pile up behind the commit
        append_records(conn, records)

    async def go() -> None:
        writer = AuditWriter(sqlite_engine, flush_ms=2, append=append)
        await writer.start()
        await asyncio.gather(*(writer.write(r) for r in [_records(1) for _ in range(200)]))
        await writer.stop()

    asyncio.run(go())
    assert sum(calls) == 200 and len(list_records(sqlite_engine, limit=1000)) == 200
    assert len(calls) < 50  # grouped, not one commit per request


def test_audit_failure_fails_the_whole_group(sqlite_engine: Engine) -> None:
    def broken(conn: Connection, records: Sequence[AuditRecord]) -> None:
        raise RuntimeError("disk full")

    async def go() -> list[BaseException | None]:
        writer = AuditWriter(sqlite_engine, flush_ms=5, append=broken)
        await writer.start()
        out = await asyncio.gather(*(writer.write(_records(1)) for _ in range(5)), return_exceptions=True)
        await writer.stop()
        return list(out)

    results = asyncio.run(go())
    assert all(isinstance(r, AuditUnavailable) and "disk full" in str(r) for r in results)


def test_audit_stop_commits_what_is_queued(sqlite_engine: Engine) -> None:
    async def go() -> None:
        writer = AuditWriter(sqlite_engine, flush_ms=50)
        await writer.start()
        pending = [asyncio.ensure_future(writer.write(_records(2))) for _ in range(10)]
        await asyncio.sleep(0)  # queued, not yet committed (the writer waits 50 ms)
        await writer.stop()
        await asyncio.gather(*pending)

    asyncio.run(go())
    assert len(list_records(sqlite_engine, limit=1000)) == 20


def test_audit_writer_serves_several_event_loops(sqlite_engine: Engine) -> None:
    """Futures are settled on the loop that awaits them (TestClient portals, schemathesis)."""
    writer = AuditWriter(sqlite_engine, flush_ms=5)
    ready = threading.Event()
    main_loop = asyncio.new_event_loop()

    def run_main() -> None:
        asyncio.set_event_loop(main_loop)
        main_loop.run_until_complete(writer.start())
        ready.set()
        main_loop.run_forever()

    t = threading.Thread(target=run_main, daemon=True)
    t.start()
    ready.wait(5)
    asyncio.run(asyncio.wait_for(writer.write(_records(3)), 5))  # another loop
    asyncio.run_coroutine_threadsafe(writer.stop(), main_loop).result(10)
    main_loop.call_soon_threadsafe(main_loop.stop)
    t.join(5)
    assert len(list_records(sqlite_engine, limit=100)) == 3


def test_bank_key_is_cached_without_io(sqlite_engine: Engine) -> None:
    from api.auth import Authenticator
    from store.keys import create_key

    engine = sqlite_engine
    token = create_key(engine, role="bank", org=BANK, created_by="t").token
    auth = Authenticator(engine, cache_seconds=60)
    header = f"Bearer {token}"
    assert auth.cached_principal(header) is None  # not looked up yet
    principal = asyncio.run(auth.principal(header))
    assert auth.cached_principal(header) == principal and principal.role == "bank"


def test_preloaded_bodies_equal_the_lazy_render(env: Env) -> None:
    from api.serving import ScoreService

    service = ScoreService(env.engine, preload_max=0)  # lazy: each body rendered on demand
    service.refresh()
    preloaded = ScoreService(env.engine)
    preloaded.refresh()
    for firm in (CORE, SUPPLIER, OTHER):
        hit = preloaded.cached(firm)
        assert hit is not None and hit.model_version == "1"
        lazy = asyncio.run(service.get(firm))
        assert hit.body == lazy.body  # byte for byte: one shape, two renderers
        assert hit.score == lazy.score and hit.as_of == lazy.as_of
    assert preloaded.cached(UNSCORED) is None  # no score: nothing preloaded, 409 as before
