"""Per-key rate limits: a token bucket per worker, or a shared fixed window in Redis.

Per-worker buckets need nothing running and are exact within a worker; with N workers a key may
get up to N times its rate, which is why REDIS_URL switches to one counter shared by all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0


class RateLimiter(Protocol):
    async def hit(self, key: str) -> Verdict: ...


class TokenBucketLimiter:
    """`rate` requests per second with bursts of `burst`, per key, in this process."""

    def __init__(self, rate: float, burst: int, *, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str) -> Verdict:
        return self.hit_sync(key)

    def hit_sync(self, key: str) -> Verdict:
        if self.rate <= 0:
            return Verdict(True)
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return Verdict(True)
        self._buckets[key] = (tokens, now)
        return Verdict(False, (1.0 - tokens) / self.rate)


class RedisLimiter:
    """Fixed one-second windows counted in Redis (INCR + EXPIRE), shared by every worker."""

    def __init__(self, url: str, rate: float, burst: int) -> None:
        try:
            import redis.asyncio as redis_asyncio  # type: ignore[import-not-found]
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "REDIS_URL is set but the `redis` package is not installed: pip install 'redis>=5,<7'"
            ) from exc
        self._redis = redis_asyncio.from_url(url)
        self.limit = max(math.ceil(rate), 1)

    async def hit(self, key: str) -> Verdict:
        now = time.time()
        window = int(now)
        name = f"chaincredit:rl:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 2)
        count, _ = await pipe.execute()
        if int(count) <= self.limit:
            return Verdict(True)
        return Verdict(False, window + 1 - now)


def make_limiter(redis_url: str | None, rate: float, burst: int) -> RateLimiter:
    if redis_url:
        return RedisLimiter(redis_url, rate, burst)
    return TokenBucketLimiter(rate, burst)
