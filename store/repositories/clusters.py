"""Clusters of the current tenant, with the agent's last report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.tables import Cluster


@dataclass(frozen=True)
class ClusterView:
    """A cluster as the application sees it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    provider: str
    region: str | None
    created_at: datetime
    last_snapshot_at: datetime | None
    last_snapshot_id: uuid.UUID | None
    agent_version: str | None


def _view(row: Cluster) -> ClusterView:
    return ClusterView(
        row.id,
        row.tenant_id,
        row.name,
        row.provider,
        row.region,
        row.created_at,
        row.last_snapshot_at,
        row.last_snapshot_id,
        row.agent_version,
    )


class ClusterRepository:
    """Create, read and update clusters of the session's tenant."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create(
        self, name: str, *, provider: str = "other", region: str | None = None
    ) -> ClusterView:
        """Register a cluster; names are unique per tenant."""
        row = Cluster(
            id=uuid.uuid4(), tenant_id=self._tenant_id, name=name, provider=provider, region=region
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as e:
            raise ConflictError(f"a cluster named {name!r} already exists") from e
        await self._session.refresh(row)
        return _view(row)

    async def get(self, cluster_id: uuid.UUID) -> ClusterView:
        """One cluster; NotFoundError if absent or another tenant's."""
        row = await self._session.get(Cluster, cluster_id)
        if row is None:
            raise NotFoundError(f"cluster {cluster_id} not found")
        return _view(row)

    async def list(self) -> list[ClusterView]:
        """Every cluster of the tenant, by name."""
        rows = await self._session.execute(select(Cluster).order_by(Cluster.name))
        return [_view(row) for row in rows.scalars()]

    async def count(self) -> int:
        """How many clusters the tenant has."""
        return int(await self._session.scalar(select(func.count()).select_from(Cluster)) or 0)


def newest_upload(
    newest_at: datetime | None,
    *,
    snapshot_id: uuid.UUID,
    taken_at: datetime,
    agent_version: str | None,
    provider: str | None,
    region: str | None,
) -> dict[str, object]:
    """The cluster columns an upload taken at `taken_at` sets as the newest one folded (none if
    the newest so far, taken at `newest_at`, is newer: older uploads never move it back)."""
    if newest_at is not None and taken_at < newest_at:
        return {}
    values: dict[str, object] = {
        "last_snapshot_at": taken_at,
        "last_snapshot_id": snapshot_id,
        "agent_version": agent_version,
    }
    if provider is not None:
        values["provider"] = provider
    if region is not None:
        values["region"] = region
    return values


async def list_all_clusters(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, cluster id) of every cluster, for periodic cross-tenant scheduling."""
    rows = await session.execute(
        text("SELECT tenant_id, cluster_id FROM slicewise_list_clusters()")
    )
    return [(row[0], row[1]) for row in rows]
