"""Idempotency-Key claims (store.idempotency): the first request claims the key, retries replay
its answer, a key reused for another request is refused, a failed first attempt lets go."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from store import idempotency


def test_a_claim_is_run_once_then_replayed(engine: sa.Engine) -> None:
    assert idempotency.claim(engine, "ORG", "k1", "hash-a", wait_seconds=0) is None  # ours to run
    with pytest.raises(idempotency.StillRunning):
        idempotency.claim(engine, "ORG", "k1", "hash-a", wait_seconds=0)
    idempotency.finish(engine, "ORG", "k1", 201, {"batch_id": "b1", "inserted": 3})
    replay = idempotency.claim(engine, "ORG", "k1", "hash-a", wait_seconds=0)
    assert replay == idempotency.Stored(201, {"batch_id": "b1", "inserted": 3})
    with pytest.raises(idempotency.KeyReused):
        idempotency.claim(engine, "ORG", "k1", "hash-b", wait_seconds=0)
    # Keys belong to an organisation: another one may use the same key for its own request.
    assert idempotency.claim(engine, "OTHER", "k1", "hash-b", wait_seconds=0) is None


def test_a_released_claim_can_run_again(engine: sa.Engine) -> None:
    assert idempotency.claim(engine, "ORG", "k2", "h", wait_seconds=0) is None
    idempotency.release(engine, "ORG", "k2")
    assert idempotency.claim(engine, "ORG", "k2", "h", wait_seconds=0) is None


def test_a_retry_waits_for_the_first_answer(engine: sa.Engine) -> None:
    assert idempotency.claim(engine, "ORG", "k3", "h", wait_seconds=0) is None
    got: list[idempotency.Stored | None] = []
    retry = threading.Thread(target=lambda: got.append(idempotency.claim(engine, "ORG", "k3", "h",
                                                                          wait_seconds=30)))
    retry.start()
    retry.join(0.3)
    assert retry.is_alive()  # waiting for the first request's answer
    idempotency.finish(engine, "ORG", "k3", 422, {"title": "Invalid upload"})
    retry.join(30)
    assert got == [idempotency.Stored(422, {"title": "Invalid upload"})]
