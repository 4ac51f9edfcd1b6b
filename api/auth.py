"""Who is calling: Bearer keys resolved to a principal (key id, role, organisation).

Every request is authenticated by one indexed lookup of the key's SHA-256 hash; the answer is
reused for `auth_cache_seconds` inside a worker so the scoring hot path does not hit the
database for it, which bounds how long a revoked key keeps working (1 s by default). The hot
path first asks `cached_principal`, which never does I/O, and only awaits a lookup on a miss.

A key in use is looked up again in the background during the last fifth of its cache time, so
it never expires under traffic: when it did, every request in flight missed at the same moment
and each went to a thread and the database, once a second per worker, which was enough to show
in the score call's p99 (issue 6). Concurrent misses of one key share a single lookup. Neither
changes the revocation bound: an answer is never used longer than `auth_cache_seconds` after
the lookup that gave it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Generic, TypeVar

import anyio.to_thread
from sqlalchemy import Engine

from api.consent_index import ConsentIndex
from api.problems import Problem
from store.consents import Consent, consent_in_force
from store.keys import ApiKey, hash_token, lookup_token

log = logging.getLogger("chaincredit.auth")


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    org: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="chaincredit"'})


def forbidden(detail: str) -> Problem:
    return Problem(403, detail)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A small dict with expiry; entries are dropped wholesale when it grows past `max_items`."""

    def __init__(self, ttl: float, max_items: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._clock = clock
        self._data: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        if self.ttl <= 0:
            return False, None
        hit = self._data.get(key)
        if hit is None or hit[0] < self._clock():
            return False, None
        return True, hit[1]

    def remaining(self, key: K) -> float:
        """Seconds until `key` expires (0 or less when absent or expired)."""
        hit = self._data.get(key)
        return 0.0 if hit is None else hit[0] - self._clock()

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        if len(self._data) >= self.max_items:
            self._data.clear()
        self._data[key] = (self._clock() + self.ttl, value)

    def clear(self) -> None:
        self._data.clear()


class Authenticator:
    """Keys are cached for `cache_seconds` per worker; consents come from the in-memory index
    (api.consent_index) once it is loaded, and from the database before that."""

    # Refresh a cached key once less than this share of its cache time is left.
    REFRESH_SHARE = 0.2

    def __init__(self, engine: Engine, cache_seconds: float, consents: ConsentIndex | None = None) -> None:
        self._engine = engine
        self._keys: TtlCache[str, ApiKey | None] = TtlCache(cache_seconds)
        self._lookups: dict[str, asyncio.Task[ApiKey | None]] = {}  # digest -> lookup in flight
        self._refreshes: set[asyncio.Task[ApiKey | None]] = set()  # kept referenced until done
        self.consents = consents

    def _check(self, key: ApiKey | None) -> Principal:
        if key is None:
            raise unauthorized("unknown API key")
        now = datetime.now(UTC)
        if key.revoked_at is not None and key.revoked_at <= now:
            raise unauthorized(f"API key {key.key_id} was revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise unauthorized(f"API key {key.key_id} expired at {key.expires_at.isoformat()}")
        return Principal(key_id=key.key_id, role=key.role, org=key.org)

    @staticmethod
    def _token(authorization: str | None) -> str:
        if not authorization:
            raise unauthorized("this endpoint needs an API key: send `Authorization: Bearer <key>`")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("malformed Authorization header: expected `Bearer <key>`")
        return token

    def cached_principal(self, authorization: str | None) -> Principal | None:
        """The caller from the key cache without I/O; None when the key must be looked up."""
        token = self._token(authorization)
        digest = hash_token(token)
        found, key = self._keys.get(digest)
        if not found:
            return None
        if self._keys.remaining(digest) < self._keys.ttl * self.REFRESH_SHARE:
            self._refresh_soon(digest, token)
        return self._check(key)

    async def principal(self, authorization: str | None) -> Principal:
        token = self._token(authorization)
        digest = hash_token(token)
        found, key = self._keys.get(digest)
        if not found:
            # Shielded: a caller that goes away must not cancel the lookup others await.
            key = await asyncio.shield(self._lookup(digest, token))
        return self._check(key)

    def _lookup(self, digest: str, token: str) -> asyncio.Task[ApiKey | None]:
        """The lookup of `digest` in flight, or a new one; it fills the cache when it ends.
        Must be called on the event loop."""
        pending = self._lookups.get(digest)
        if pending is not None:
            return pending

        async def lookup() -> ApiKey | None:
            try:
                key = await anyio.to_thread.run_sync(lookup_token, self._engine, token)
                self._keys.put(digest, key)
                return key
            finally:
                self._lookups.pop(digest, None)

        task = asyncio.get_running_loop().create_task(lookup())
        self._lookups[digest] = task
        return task

    def _refresh_soon(self, digest: str, token: str) -> None:
        if digest in self._lookups:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a synchronous caller: the key is looked up when it expires
            return
        task = self._lookup(digest, token)
        self._refreshes.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[ApiKey | None]) -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Not an error yet: the cached entry stays valid until it expires, and the next
            # request after that looks the key up again (and fails if the database does).
            log.warning("background refresh of an API key failed: %s", task.exception())

    def cached_consent(self, bank_org: str, firm_id: str, day: date) -> tuple[bool, Consent | None]:
        """(answered, consent) from memory; answered is False until the index has loaded."""
        index = self.consents
        if index is None or not index.loaded:
            return False, None
        return True, index.in_force(bank_org, firm_id, day)

    async def consent(self, bank_org: str, firm_id: str, day: date) -> Consent | None:
        answered, consent = self.cached_consent(bank_org, firm_id, day)
        if answered:
            return consent
        return await anyio.to_thread.run_sync(
            lambda: consent_in_force(self._engine, firm_id=firm_id, bank_org=bank_org, day=day)
        )

    async def consented_firms(self, bank_org: str, firm_ids: list[str], day: date) -> set[str]:
        """Which of `firm_ids` gave `bank_org` a consent in force on `day`."""
        index = self.consents
        if index is not None and index.loaded:
            return index.firms_of(bank_org, day).intersection(firm_ids)
        return {f for f in firm_ids if await self.consent(bank_org, f, day) is not None}

    def consent_changed(self, consent: Consent) -> None:
        """This worker granted or withdrew `consent`: apply it now (others poll for it)."""
        if self.consents is not None:
            self.consents.add(consent)
