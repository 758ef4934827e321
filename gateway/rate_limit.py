"""Fixed-window rate limits in Redis: one atomic script checks the tenant's and the cluster's.

A window once exhausted stays exhausted until it ends, so each process remembers the windows it
saw refused and refuses further requests against them without asking Redis (or reading their
bodies) until the window's end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from gateway.problems import Problem

COUNT_HITS = """
local refused = 0
local retry = 0
for i = 1, tonumber(ARGV[2]) do
    local count = redis.call('INCR', KEYS[i])
    if count == 1 then
        redis.call('EXPIRE', KEYS[i], ARGV[1])
    end
    if refused == 0 and count > tonumber(ARGV[i + 2]) then
        refused = i
        retry = redis.call('TTL', KEYS[i])
    end
end
"""
"""Lua counting one hit on each of the first ARGV[2] keys (window ARGV[1], limits from ARGV[3]):
`refused` is the 1-based index of the first limit exceeded (0: none), `retry` its window's
remaining seconds. Every counter is incremented in the one round trip; a counter's first hit
starts its window."""

_HIT = COUNT_HITS + "return {refused, retry}\n"

REMEMBERED_WINDOWS = 10_000
"""Exhausted windows a process remembers at most (expired ones are forgotten first)."""


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


ALLOWED = Verdict(allowed=True)


class RateLimiter:
    """Checks several fixed-window limits at once."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        window_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._script: Any = redis.register_script(_HIT)
        self._prefix = prefix
        self._window = window_seconds
        self._monotonic = monotonic
        self._exhausted: dict[str, float] = {}

    async def hit(self, limits: Sequence[Limit]) -> Verdict:
        """Count one request against every limit; refused by the first one exceeded."""
        refused, retry = await self._script(keys=self.keys(limits), args=self.args(limits))
        return self.verdict(limits, int(refused), int(retry))

    def keys(self, limits: Sequence[Limit]) -> list[str]:
        """The Redis counters of `limits`, in order: the first KEYS of `COUNT_HITS`."""
        return [f"{self._prefix}rate:{limit.key}" for limit in limits]

    def args(self, limits: Sequence[Limit]) -> list[int]:
        """The first ARGV of `COUNT_HITS` for `limits`."""
        return [self._window, len(limits), *(limit.count for limit in limits)]

    def verdict(self, limits: Sequence[Limit], refused: int, retry: int) -> Verdict:
        """What `COUNT_HITS` found; a refusal is remembered until its window ends."""
        if refused == 0:
            return ALLOWED
        limit = limits[refused - 1]
        if retry > 0:
            self._remember(limit.key, self._monotonic() + retry)
        return Verdict(allowed=False, scope=limit.scope, retry_after=max(1, retry))

    def known_refusal(self, limits: Sequence[Limit]) -> Verdict:
        """A refusal by a window this process saw exhausted and that has not ended; else
        ALLOWED (which only means: ask Redis)."""
        if not self._exhausted:
            return ALLOWED
        now = self._monotonic()
        for limit in limits:
            until = self._exhausted.get(limit.key)
            if until is not None and now < until:
                return Verdict(
                    allowed=False, scope=limit.scope, retry_after=max(1, math.ceil(until - now))
                )
        return ALLOWED

    def _remember(self, key: str, until: float) -> None:
        if len(self._exhausted) >= REMEMBERED_WINDOWS:
            now = self._monotonic()
            self._exhausted = {k: u for k, u in self._exhausted.items() if u > now}
            if len(self._exhausted) >= REMEMBERED_WINDOWS:
                del self._exhausted[next(iter(self._exhausted))]  # the longest remembered
        self._exhausted[key] = until


def rate_limited(verdict: Verdict, what: str) -> Problem:
    """The 429 answering a request `verdict` refused; `what` names the limited requests."""
    return Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"the {verdict.scope}'s {what} rate limit is exhausted",
        headers={"Retry-After": str(verdict.retry_after)},
        reason=f"rate-limited-{verdict.scope}",
    )
