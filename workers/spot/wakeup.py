"""Waking the executor's long-poll when the spot worker approves an evacuation by policy.

The gateway holds the executors' long-polls and listens on `protocol.topics.instructions_channel`;
the spot worker publishes there after the instruction is committed, as a console approval does,
so the evacuation reaches the executor at once instead of at the long-poll's next re-check.
"""

from __future__ import annotations

import uuid

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from protocol.topics import instructions_channel

log = structlog.get_logger(__name__)


class RedisExecutorWakeup:
    """Publishes approved instruction ids on the cluster's Redis channel."""

    def __init__(self, redis: Redis) -> None:
        """Publish through `redis` (owned by the caller)."""
        self._redis = redis

    async def wake(self, cluster_id: uuid.UUID, instruction_id: uuid.UUID) -> None:
        """Announce `instruction_id`; a Redis failure is logged, the long-poll re-checks anyway."""
        try:
            await self._redis.publish(instructions_channel(cluster_id), str(instruction_id))
        except (RedisError, OSError) as e:
            log.warning(
                "could not wake the executor; it will find the instruction on its next re-check",
                instruction_id=str(instruction_id),
                error=type(e).__name__,
            )
