"""Idle-GPU episodes of the session tenant, one per workload: found, ended, and their one notice."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import Cluster, IdleGpuEpisodeRow

MAX_ERROR = 500
_Workload = tuple[uuid.UUID, str, str]


class FoundEpisode(Protocol):
    """An episode as detection found it (`recommender.cost.idle_gpus.IdleWorkloadEpisode`)."""

    @property
    def cluster_id(self) -> uuid.UUID: ...
    @property
    def namespace(self) -> str: ...
    @property
    def workload(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def nodes(self) -> Sequence[str]: ...
    @property
    def owners(self) -> Mapping[str, str]: ...
    @property
    def mean_duty(self) -> float: ...
    @property
    def gpus(self) -> float: ...
    @property
    def cost_per_day_usd(self) -> float: ...


@dataclass(frozen=True)
class IdleGpuEpisodeView:
    """One workload's episode and where its notice stands."""

    cluster_id: uuid.UUID
    cluster_name: str
    namespace: str
    workload: str
    started_at: datetime
    nodes: list[str]
    owners: dict[str, str]
    mean_duty: float
    gpus: float
    cost_per_day_usd: float
    detected_at: datetime
    ended_at: datetime | None
    delivered_at: datetime | None
    attempts: int
    last_error: str | None


_STORED = tuple(f.name for f in fields(IdleGpuEpisodeView) if f.name != "cluster_name")
"""The view's fields read from the episode's row as they are."""


class IdleGpuEpisodeRepository:
    """Record, end and deliver the session tenant's idle-GPU episodes."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def _ongoing(self) -> dict[_Workload, datetime]:
        e = IdleGpuEpisodeRow
        rows = await self._session.execute(
            select(e.cluster_id, e.namespace, e.workload, e.started_at).where(e.ended_at.is_(None))
        )
        return {(c, ns, w): started for c, ns, w, started in rows.all()}

    async def record(self, found: Sequence[FoundEpisode], *, now: datetime) -> None:
        """Add new episodes; refresh the figures of those already known; end every other one.

        A workload's ongoing episode that started before the run detection saw (its look-back
        reaches only so far) is the same episode: it keeps its start, so it is announced once.
        """
        e = IdleGpuEpisodeRow
        ongoing = await self._ongoing()
        kept: set[_Workload] = set()
        for episode in found:
            key = (episode.cluster_id, episode.namespace, episode.workload)
            started_at = min(ongoing.get(key, episode.started_at), episode.started_at)
            kept.add(key)
            statement = insert(e).values(
                tenant_id=self._tenant_id,
                cluster_id=episode.cluster_id,
                namespace=episode.namespace,
                workload=episode.workload,
                started_at=started_at,
                nodes=list(episode.nodes),
                owners=dict(episode.owners),
                detected_at=now,
                mean_duty=episode.mean_duty,
                gpus=episode.gpus,
                cost_per_day_usd=round(episode.cost_per_day_usd, 2),
            )
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        "tenant_id",
                        "cluster_id",
                        "namespace",
                        "workload",
                        "started_at",
                    ],
                    set_={
                        name: getattr(statement.excluded, name)
                        for name in ("nodes", "owners", "mean_duty", "gpus", "cost_per_day_usd")
                    }
                    | {"ended_at": None},
                )
            )
        for key, started_at in ongoing.items():
            if key not in kept:
                await self._session.execute(
                    update(e).where(*self._matches(key, started_at)).values(ended_at=now)
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
            .order_by(e.started_at.desc(), e.cost_per_day_usd.desc(), e.namespace, e.workload)
        )
        return [
            IdleGpuEpisodeView(
                cluster_name=name,
                **{
                    f.name: getattr(row, f.name)
                    for f in fields(IdleGpuEpisodeView)
                    if f.name != "cluster_name"
                },
            )
            for row, name in rows.all()
        ]

    async def delivered(self, episode: IdleGpuEpisodeView, *, at: datetime) -> None:
        """The notice reached the webhook."""
        await self._mark(episode, delivered_at=at, attempts=episode.attempts + 1, last_error=None)

    async def failed(self, episode: IdleGpuEpisodeView, error: str) -> None:
        """A delivery attempt failed; the error stays visible until one succeeds."""
        await self._mark(episode, attempts=episode.attempts + 1, last_error=error[:MAX_ERROR])

    @staticmethod
    def _matches(key: _Workload, started_at: datetime) -> tuple[Any, ...]:
        e = IdleGpuEpisodeRow
        cluster_id, namespace, workload = key
        return (
            e.cluster_id == cluster_id,
            e.namespace == namespace,
            e.workload == workload,
            e.started_at == started_at,
        )

    async def _mark(self, episode: IdleGpuEpisodeView, **values: Any) -> None:
        key = (episode.cluster_id, episode.namespace, episode.workload)
        await self._session.execute(
            update(IdleGpuEpisodeRow)
            .where(*self._matches(key, episode.started_at))
            .values(**values)
        )
