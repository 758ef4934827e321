"""Poll a cloud's metadata service and send each interruption notice once, at once.

A notice's id is derived from the cluster, node, provider and the cloud's own event identity,
so the same event always has the same id: a watcher restarted mid-notice sends it again
under that id, and everything downstream is idempotent on it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

import structlog

from agent.errors import TemporaryError
from agent.metrics import AgentMetrics
from agent.spot.observation import Observation, SpotSource
from protocol.spot import SpotNotice

NOTICE_NAMESPACE = uuid.UUID("5b0f3f55-1c7e-4d0e-9b1e-6f1c2a9e5d11")
"""uuid5 namespace of notice ids."""


class NoticeSink(Protocol):
    """Where notices go (the uplink)."""

    async def submit_notice(self, notice: SpotNotice) -> None:
        """Accept a notice for immediate delivery."""


def notice_id(cluster_id: UUID, node_name: str, source: SpotSource, key: str) -> UUID:
    """The stable id of one interruption event on one node."""
    return uuid.uuid5(NOTICE_NAMESPACE, f"{cluster_id}/{node_name}/{source.provider}/{key}")


class SpotWatcher:
    """Turns new observations of one source into `SpotNotice`s for the sink."""

    def __init__(
        self,
        source: SpotSource,
        sink: NoticeSink,
        *,
        cluster_id: UUID,
        node_name: str,
        poll_seconds: float,
        clock: Callable[[], datetime],
        metrics: AgentMetrics | None = None,
    ) -> None:
        """Watch `source` for the node `node_name` of cluster `cluster_id`."""
        self._metrics = metrics or AgentMetrics()
        self._source = source
        self._sink = sink
        self._cluster_id = cluster_id
        self._node_name = node_name
        self._poll_seconds = poll_seconds
        self._clock = clock
        self.sent: set[str] = set()
        """Event keys already sent; each is sent once."""
        self._log = structlog.get_logger("agent.spot").bind(
            provider=source.provider.value, node=node_name
        )

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await self.poll_once()
            if not self._source.waits:
                await asyncio.sleep(self._poll_seconds)

    async def poll_once(self) -> list[SpotNotice]:
        """One poll; returns (and sends) the notices not sent before."""
        try:
            observations = await self._source.poll()
        except TemporaryError as e:
            self._log.warning("metadata_poll_failed", error=str(e))
            if self._source.waits:
                # A hanging poll that fails fast must not spin.
                await asyncio.sleep(self._poll_seconds)
            return []
        notices = []
        for observation in observations:
            if observation.key in self.sent:
                continue
            notice = self._notice(observation)
            try:
                await self._sink.submit_notice(notice)
            except TemporaryError as e:
                # Not marked as sent: the next poll sees the event again and retries.
                self._log.error("notice_not_queued", error=str(e))
                continue
            self.sent.add(observation.key)
            self._metrics.notices_seen.labels(notice.kind.value).inc()
            notices.append(notice)
            self._log.warning(
                "spot_notice",
                kind=notice.kind.value,
                deadline=notice.deadline.isoformat() if notice.deadline else None,
                notice_id=str(notice.notice_id),
            )
        return notices

    def _notice(self, observation: Observation) -> SpotNotice:
        """The wire notice for an observation."""
        return SpotNotice(
            notice_id=notice_id(self._cluster_id, self._node_name, self._source, observation.key),
            cluster_id=self._cluster_id,
            provider=self._source.provider,
            kind=observation.kind,
            node_name=self._node_name,
            instance_id=observation.instance_id,
            zone=observation.zone,
            detected_at=self._clock(),
            deadline=observation.deadline,
            action=observation.action,
        )
