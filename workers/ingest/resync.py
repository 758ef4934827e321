"""Telling the gateway that a cluster's agent should send a full snapshot (a resync).

The database holds the truth (`clusters.resync_requested`, written in the fold's transaction);
this Redis key is how the gateway, which answers every upload, learns it without a database
round trip. It is set after every refused delta (so a lost write heals with the next delta)
and deleted once a full snapshot is applied.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from protocol.topics import resync_key
from workers.errors import TemporaryError

RESYNC_TTL_SECONDS = 86_400
"""An agent that never comes back does not leave its key behind for ever."""


class ResyncSignal(Protocol):
    """Where the ingest worker says whether it wants a cluster's full snapshot."""

    async def request(self, cluster_id: uuid.UUID) -> None:
        """Ask for a full snapshot of the cluster."""

    async def clear(self, cluster_id: uuid.UUID) -> None:
        """Withdraw the request (a full snapshot was applied)."""


class NoResyncSignal:
    """Keeps the request in the database only (tools and benches without a gateway)."""

    async def request(self, cluster_id: uuid.UUID) -> None:
        """Nothing to tell."""
        del cluster_id

    async def clear(self, cluster_id: uuid.UUID) -> None:
        """Nothing to withdraw."""
        del cluster_id


class RedisResyncSignal:
    """The request as a Redis key the gateway reads (`protocol.topics.resync_key`)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def request(self, cluster_id: uuid.UUID) -> None:
        """Set the cluster's key; a Redis failure is temporary (the message is retried)."""
        try:
            await self._redis.set(resync_key(cluster_id), b"1", ex=RESYNC_TTL_SECONDS)
        except RedisError as e:
            raise TemporaryError(f"cannot request a resync: {e}") from e

    async def clear(self, cluster_id: uuid.UUID) -> None:
        """Delete the cluster's key."""
        try:
            await self._redis.delete(resync_key(cluster_id))
        except RedisError as e:
            raise TemporaryError(f"cannot clear a resync request: {e}") from e
