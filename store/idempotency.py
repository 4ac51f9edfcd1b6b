"""Idempotency-Key for uploads: the first request claims the key, retries replay its answer.

The claim is a row inserted before ingestion (primary key = organisation + key), so concurrent
retries of one upload cannot both ingest: the losers wait for the winner's answer and replay it.
A key reused for a different request body is refused, as the IETF draft on the header asks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.service_tables import idempotency_keys, utcnow
from store.writers import write_transaction


@dataclass(frozen=True)
class Stored:
    status_code: int
    body: dict[str, Any]


class KeyReused(Exception):
    pass


class StillRunning(Exception):
    pass


def claim(engine: Engine, org: str, key: str, request_hash: str, *, wait_seconds: float) -> Stored | None:
    """None: this request owns the key and must run. A Stored answer: replay it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with write_transaction(engine) as conn:
                conn.execute(
                    insert(idempotency_keys).values(
                        org=org,
                        idem_key=key,
                        request_hash=request_hash,
                        status_code=None,
                        response=None,
                        done=False,
                        created_at=utcnow(),
                    )
                )
            return None
        except IntegrityError:
            pass
        with engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.org == org, idempotency_keys.c.idem_key == key
                )
            ).first()
        if row is None:  # released by a failed first attempt between our insert and select
            continue
        m = row._mapping
        if m["request_hash"] != request_hash:
            raise KeyReused(f"Idempotency-Key {key!r} was already used for a different request")
        if m["done"]:
            return Stored(int(m["status_code"]), json.loads(m["response"]))
        if time.monotonic() >= deadline:
            raise StillRunning(f"the first request with Idempotency-Key {key!r} is still running")
        time.sleep(0.05)


def finish(engine: Engine, org: str, key: str, status_code: int, body: dict[str, Any]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.org == org, idempotency_keys.c.idem_key == key)
            .values(status_code=status_code, response=json.dumps(body, default=str), done=True)
        )


def release(engine: Engine, org: str, key: str) -> None:
    """Forget a claim whose request failed unexpectedly, so a retry can run again."""
    with write_transaction(engine) as conn:
        conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.org == org, idempotency_keys.c.idem_key == key
            )
        )
