"""Whether the workers want a cluster's full snapshot, for the answer to the agent's uploads.

The ingest worker sets `protocol.topics.resync_key(cluster_id)` in Redis when a delta did not
apply on the stored state and deletes it once a full snapshot is applied. The gateway only reads
it: one `EXISTS` per upload. An unreadable Redis answers "no": the workers set the key again on
every refused delta, so the agent hears of it on a later upload.
"""

from __future__ import annotations

import uuid

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from protocol.topics import resync_key

_log = structlog.get_logger("gateway.resync")


class ResyncRequests:
    """Reads the workers' resync requests."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def wanted(self, cluster_id: uuid.UUID) -> bool:
        """Whether the cluster's agent should send a full snapshot next."""
        try:
            return bool(await self._redis.exists(resync_key(cluster_id)))
        except RedisError as e:
            _log.warning("resync request unreadable", cluster_id=str(cluster_id), error=str(e))
            return False
