"""Idle-GPU episodes of the session tenant: found, ended, and the delivery of their one notice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Cluster, IdleGpuEpisodeRow

MAX_ERROR = 500


@dataclass(frozen=True)
class IdleGpuEpisodeView:
    """One episode and where its notice stands."""

    cluster_id: uuid.UUID
    cluster_name: str
    node: str
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    mean_duty: float
    gpus: float
    cost_per_day_usd: float
    holders: list[dict[str, Any]] = field(default_factory=list)
    delivered_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class FoundEpisode:
    """An episode as detection found it."""

    cluster_id: uuid.UUID
    node: str
    started_at: datetime
    mean_duty: float
    gpus: float
    cost_per_day_usd: float
    holders: list[dict[str, Any]]


class IdleGpuEpisodeRepository:
    """Record, end and deliver the session tenant's idle-GPU episodes."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record(self, found: Sequence[FoundEpisode], *, now: datetime) -> None:
        """Add new episodes; refresh the figures of those already known; end every other one."""
        e = IdleGpuEpisodeRow
        for episode in found:
            statement = insert(e).values(
                tenant_id=self._tenant_id,
                cluster_id=episode.cluster_id,
                node=episode.node,
                started_at=episode.started_at,
                detected_at=now,
                mean_duty=episode.mean_duty,
                gpus=episode.gpus,
                cost_per_day_usd=episode.cost_per_day_usd,
                holders=episode.holders,
            )
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=["tenant_id", "cluster_id", "node", "started_at"],
                    set_={
                        "mean_duty": statement.excluded.mean_duty,
                        "cost_per_day_usd": statement.excluded.cost_per_day_usd,
                        "holders": statement.excluded.holders,
                        "ended_at": None,
                    },
                )
            )
        ongoing = {(f.cluster_id, f.node, f.started_at) for f in found}
        rows = await self._session.execute(
            select(e.cluster_id, e.node, e.started_at).where(e.ended_at.is_(None))
        )
        for cluster_id, node, started_at in rows.all():
            if (cluster_id, node, started_at) not in ongoing:
                await self._session.execute(
                    update(e)
                    .where(e.cluster_id == cluster_id, e.node == node, e.started_at == started_at)
                    .values(ended_at=now)
                )

    async def undelivered(self, *, max_attempts: int) -> list[IdleGpuEpisodeView]:
        """Ongoing episodes whose notice has not gone out and may be tried again."""
        return await self._list(
            IdleGpuEpisodeRow.ended_at.is_(None),
            IdleGpuEpisodeRow.delivered_at.is_(None),
            IdleGpuEpisodeRow.attempts < max_attempts,
        )

    async def recent(self, limit: int = 50) -> list[IdleGpuEpisodeView]:
        """The newest episodes, ongoing or ended, for the console."""
        return (await self._list())[:limit]

    async def _list(self, *where: Any) -> list[IdleGpuEpisodeView]:
        e = IdleGpuEpisodeRow
        rows = await self._session.execute(
            select(e, Cluster.name)
            .join(Cluster, Cluster.id == e.cluster_id)
            .where(*where)
            .order_by(e.started_at.desc(), e.node)
        )
        return [
            IdleGpuEpisodeView(
                cluster_id=row.cluster_id,
                cluster_name=name,
                node=row.node,
                started_at=row.started_at,
                detected_at=row.detected_at,
                ended_at=row.ended_at,
                mean_duty=row.mean_duty,
                gpus=row.gpus,
                cost_per_day_usd=row.cost_per_day_usd,
                holders=list(row.holders),
                delivered_at=row.delivered_at,
                attempts=row.attempts,
                last_error=row.last_error,
            )
            for row, name in rows.all()
        ]

    async def delivered(self, episode: IdleGpuEpisodeView, *, at: datetime) -> None:
        """The notice reached the webhook."""
        await self._mark(episode, delivered_at=at, attempts=episode.attempts + 1, last_error=None)

    async def failed(self, episode: IdleGpuEpisodeView, error: str) -> None:
        """A delivery attempt failed; the error stays visible until one succeeds."""
        await self._mark(episode, attempts=episode.attempts + 1, last_error=error[:MAX_ERROR])

    async def _mark(self, episode: IdleGpuEpisodeView, **values: Any) -> None:
        e = IdleGpuEpisodeRow
        await self._session.execute(
            update(e)
            .where(
                e.cluster_id == episode.cluster_id,
                e.node == episode.node,
                e.started_at == episode.started_at,
            )
            .values(**values)
        )
