"""What realised savings are measured from: applied recommendations and the cost of their targets.

An applied recommendation's target is its workload (a namespace and `Kind/name`) or its node.
Costs come from the hourly rollups; covered hours are the clock hours the cluster was measured
in, so a node removed by the change counts as costing nothing in the hours after it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import (
    CostAllocationRow,
    CostNodeHourRow,
    InstructionRecord,
    RecommendationRecord,
)


@dataclass(frozen=True)
class AppliedChange:
    """A recommendation the executor applied, and what it estimated."""

    recommendation_id: uuid.UUID
    cluster_id: uuid.UUID
    applied_at: datetime
    title: str
    kind: str
    estimated_monthly_usd: float
    namespace: str | None
    workload: str | None
    """`Kind/name`, as the rollups name workloads."""
    node: str | None


class RealisedSavingsQueries:
    """Read the session tenant's applied changes and the measured cost of their targets."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def applied(self, *, until: datetime, limit: int = 50) -> list[AppliedChange]:
        """The first successful application of each recommendation, newest first."""
        ins, rec = InstructionRecord, RecommendationRecord
        rows = await self._session.execute(
            select(ins.completed_at, rec)
            .join(rec, rec.id == ins.recommendation_id)
            .where(
                ins.completed_at.is_not(None),
                ins.completed_at <= until,
                or_(ins.status == "applied", ins.result["outcome"].astext == "applied"),
            )
            .order_by(ins.completed_at, rec.id)
        )
        first: dict[uuid.UUID, AppliedChange] = {}
        for at, row in rows.all():
            if at is None or row.id in first:
                continue
            workload = row.body.get("workload") or {}
            first[row.id] = AppliedChange(
                recommendation_id=row.id,
                cluster_id=row.cluster_id,
                applied_at=at,
                title=str(row.body.get("title", "")),
                kind=row.kind,
                estimated_monthly_usd=float(row.monthly_saving_usd),
                namespace=workload.get("namespace"),
                workload=f"{workload['kind']}/{workload['name']}" if workload else None,
                node=row.body.get("node"),
            )
        return sorted(first.values(), key=lambda c: c.applied_at, reverse=True)[:limit]

    async def covered_hours(self, cluster_id: uuid.UUID, start: datetime, end: datetime) -> float:
        """Hours of [start, end) the cluster was measured in."""
        n = CostNodeHourRow
        per_hour = (
            select(func.max(n.seconds).label("seconds"))
            .where(
                n.tenant_id == self._tenant_id,
                n.cluster_id == cluster_id,
                n.hour >= start,
                n.hour < end,
            )
            .group_by(n.hour)
            .subquery()
        )
        seconds = await self._session.scalar(select(func.coalesce(func.sum(per_hour.c.seconds), 0)))
        return float(seconds or 0) / 3600

    async def workload_cost(
        self, cluster_id: uuid.UUID, namespace: str, workload: str, start: datetime, end: datetime
    ) -> float:
        """What the workload's containers cost in [start, end)."""
        a = CostAllocationRow
        total = await self._session.scalar(
            select(func.coalesce(func.sum(a.cpu_usd + a.memory_usd + a.gpu_usd), 0.0)).where(
                a.tenant_id == self._tenant_id,
                a.cluster_id == cluster_id,
                a.namespace == namespace,
                a.workload == workload,
                a.hour >= start,
                a.hour < end,
            )
        )
        return float(total or 0.0)

    async def node_cost(
        self, cluster_id: uuid.UUID, node: str, start: datetime, end: datetime
    ) -> float:
        """What the node cost in [start, end) (nothing for hours it no longer existed)."""
        n = CostNodeHourRow
        total = await self._session.scalar(
            select(func.coalesce(func.sum(n.total_usd), 0.0)).where(
                n.tenant_id == self._tenant_id,
                n.cluster_id == cluster_id,
                n.node == node,
                n.hour >= start,
                n.hour < end,
            )
        )
        return float(total or 0.0)
