"""Fixed-window rate limits in Redis: one atomic script checks the tenant's and the cluster's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

# Both counters are incremented in one round trip; a counter's first hit starts its window.
_HIT = """
local refused = 0
local retry = 0
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then
        redis.call('EXPIRE', key, ARGV[1])
    end
    if refused == 0 and count > tonumber(ARGV[i + 1]) then
        refused = i
        retry = redis.call('TTL', key)
    end
end
return {refused, retry}
"""


@dataclass(frozen=True)
class Limit:
    """At most `count` requests per window for one key."""

    key: str
    count: int
    scope: str
    """What the key limits (`tenant`, `cluster`, `email`): named in the refusal."""


@dataclass(frozen=True)
class Verdict:
    """Whether the request may proceed; if not, which limit and for how long."""

    allowed: bool
    scope: str | None = None
    retry_after: int = 0


class RateLimiter:
    """Checks several fixed-window limits at once."""

    def __init__(self, redis: Redis, *, prefix: str, window_seconds: int) -> None:
        self._script: Any = redis.register_script(_HIT)
        self._prefix = prefix
        self._window = window_seconds

    async def hit(self, limits: list[Limit]) -> Verdict:
        """Count one request against every limit; refused by the first one exceeded."""
        keys = [f"{self._prefix}rate:{limit.key}" for limit in limits]
        args = [self._window, *(limit.count for limit in limits)]
        refused, retry = await self._script(keys=keys, args=args)
        if int(refused) == 0:
            return Verdict(allowed=True)
        return Verdict(
            allowed=False,
            scope=limits[int(refused) - 1].scope,
            retry_after=max(1, int(retry)),
        )
