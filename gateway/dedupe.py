"""At-most-once acceptance of snapshot and notice ids, in Redis.

A key is claimed as `pending` while the message is being produced, marked `done` once the broker
acknowledged it, and released if producing failed, so that the sender's retry is not lost. The
claim can read one more key in the same round trip (whether the workers want a cluster's full
snapshot), which the answer to the upload carries.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

_CLAIM = """
local flagged = 0
if KEYS[2] then
    flagged = redis.call('EXISTS', KEYS[2])
end
if redis.call('SET', KEYS[1], 'pending', 'NX', 'EX', ARGV[1]) then
    return {'new', flagged}
end
return {redis.call('GET', KEYS[1]) or 'done', flagged}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == 'pending' then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class Claim(StrEnum):
    """What claiming an id found."""

    NEW = "new"
    """Nobody sent it before: produce it."""
    DONE = "done"
    """Already accepted: answer as a duplicate."""
    PENDING = "pending"
    """Being produced right now by another request: its outcome is not known yet."""


class Deduplicator:
    """Claims, confirms and releases ids per tenant, cluster and kind."""

    def __init__(
        self, redis: Redis, *, prefix: str, ttl_seconds: int, pending_ttl_seconds: int
    ) -> None:
        self._redis = redis
        self._claim: Any = redis.register_script(_CLAIM)
        self._release: Any = redis.register_script(_RELEASE)
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._pending_ttl = pending_ttl_seconds

    def key(self, kind: str, tenant_id: uuid.UUID, cluster_id: uuid.UUID, item: uuid.UUID) -> str:
        """The Redis key of one id."""
        return f"{self._prefix}dedupe:{kind}:{tenant_id}:{cluster_id}:{item}"

    async def claim(self, key: str, *, flag: str | None = None) -> tuple[Claim, bool]:
        """Claim `key` as pending unless it is known; and whether the key `flag` exists."""
        found, flagged = await self._claim(
            keys=[key] if flag is None else [key, flag], args=[self._pending_ttl]
        )
        value = found.decode() if isinstance(found, bytes) else str(found)
        claim = Claim(value) if value in {c.value for c in Claim} else Claim.DONE
        return claim, bool(flagged)

    async def confirm(self, key: str) -> None:
        """The message is durable: remember the id for the full dedupe window."""
        await self._redis.set(key, Claim.DONE.value, ex=self._ttl)

    async def release(self, key: str) -> None:
        """Producing failed: forget the pending claim so that a retry is accepted."""
        await self._release(keys=[key], args=[])
