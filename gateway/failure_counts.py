"""Counts of failed credential checks in Redis, per key and fixed window.

Unlike `RateLimiter`, which counts every request, these counters only grow when a check fails,
so a client that keeps succeeding is never slowed down by them.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

# Every counter is incremented in one round trip; a counter's first failure starts its window.
_RECORD = """
for _, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 then
        redis.call('EXPIRE', key, ARGV[1])
    end
end
return 0
"""


class FailureCounts:
    """Read, grow and clear failure counters that expire a window after their first failure."""

    def __init__(self, redis: Redis, *, prefix: str, window_seconds: int) -> None:
        self._redis = redis
        self._record: Any = redis.register_script(_RECORD)
        self._prefix = prefix
        self._window = window_seconds

    def _keys(self, keys: list[str]) -> list[str]:
        return [f"{self._prefix}failures:{key}" for key in keys]

    async def counts(self, keys: list[str]) -> list[int]:
        """The current failure count of each key (0 when none in the window)."""
        values = await self._redis.mget(self._keys(keys))
        return [int(value) if value is not None else 0 for value in values]

    async def retry_after(self, key: str) -> int:
        """Seconds until `key`'s window ends (at least 1)."""
        ttl = await self._redis.ttl(self._keys([key])[0])
        return max(1, int(ttl))

    async def record(self, keys: list[str]) -> None:
        """Count one failure against every key."""
        await self._record(keys=self._keys(keys), args=[self._window])

    async def clear(self, keys: list[str]) -> None:
        """Forget the failures of every key."""
        await self._redis.delete(*self._keys(keys))
