"""Spend history: what each cluster's nodes cost per month, one row per priced analysis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.tables import Cluster, ClusterCost


@dataclass(frozen=True)
class ClusterCostView:
    """One priced moment of one cluster."""

    cluster_id: uuid.UUID
    computed_at: datetime
    monthly_cost_usd: float
    node_count: int
    price_book_version: str | None = None
    """The price book the analysis run priced with."""


def _view(row: ClusterCost) -> ClusterCostView:
    return ClusterCostView(
        row.cluster_id,
        row.computed_at,
        row.monthly_cost_usd,
        row.node_count,
        row.price_book_version,
    )


class ClusterCostRepository:
    """Record and read the session tenant's cluster spend history."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record(
        self,
        cluster_id: uuid.UUID,
        *,
        computed_at: datetime,
        monthly_cost_usd: float,
        node_count: int,
        price_book_version: str | None = None,
    ) -> None:
        """Store what the cluster cost at `computed_at` (the same moment again overwrites)."""
        # Foreign keys are checked without row-level security: look the cluster up explicitly
        # so that a tenant can only price its own clusters.
        if await self._session.get(Cluster, cluster_id) is None:
            raise NotFoundError(f"cluster {cluster_id} not found")
        statement = insert(ClusterCost).values(
            cluster_id=cluster_id,
            computed_at=computed_at,
            tenant_id=self._tenant_id,
            monthly_cost_usd=monthly_cost_usd,
            node_count=node_count,
            price_book_version=price_book_version,
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["cluster_id", "computed_at"],
                set_={
                    "monthly_cost_usd": statement.excluded.monthly_cost_usd,
                    "node_count": statement.excluded.node_count,
                    "price_book_version": statement.excluded.price_book_version,
                },
            )
        )

    async def history(
        self, cluster_id: uuid.UUID, *, since: datetime | None = None
    ) -> list[ClusterCostView]:
        """The cluster's priced moments, oldest first."""
        query = select(ClusterCost).where(ClusterCost.cluster_id == cluster_id)
        if since is not None:
            query = query.where(ClusterCost.computed_at >= since)
        rows = await self._session.execute(query.order_by(ClusterCost.computed_at))
        return [_view(row) for row in rows.scalars()]
