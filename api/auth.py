"""Who is calling: Bearer keys resolved to a principal (key id, role, organisation).

Every request is authenticated by one indexed lookup of the key's SHA-256 hash; the answer is
reused for `auth_cache_seconds` inside a worker so the scoring hot path does not hit the
database for it, which bounds how long a revoked key keeps working (1 s by default). The hot
path first asks `cached_principal`, which never does I/O, and only awaits a lookup on a miss.
"""

from __future__ import annotations

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

    def __init__(self, engine: Engine, cache_seconds: float, consents: ConsentIndex | None = None) -> None:
        self._engine = engine
        self._keys: TtlCache[str, ApiKey | None] = TtlCache(cache_seconds)
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
        found, key = self._keys.get(hash_token(token))
        return self._check(key) if found else None

    async def principal(self, authorization: str | None) -> Principal:
        token = self._token(authorization)
        digest = hash_token(token)
        found, key = self._keys.get(digest)
        if not found:
            key = await anyio.to_thread.run_sync(lookup_token, self._engine, token)
            self._keys.put(digest, key)
        return self._check(key)

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
