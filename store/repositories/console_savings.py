"""Events the savings-over-time chart is folded from: approvals, applications and spend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import ClusterCost, InstructionRecord, RecommendationRecord

APPROVED_STATUSES = ("approved", "applied", "failed")
"""Recommendation statuses that went through an approval."""


@dataclass(frozen=True)
class SavingEvent:
    """A recommendation's monthly saving entering the estimate (approved) or the realised sum."""

    at: datetime
    recommendation_id: uuid.UUID
    monthly_saving_usd: float


@dataclass(frozen=True)
class CostPoint:
    """What one cluster cost per month from `at` on."""

    cluster_id: uuid.UUID
    at: datetime
    monthly_cost_usd: float


class SavingsHistoryQueries:
    """Read the session tenant's decisions, executions and spend over time."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def approvals(self, *, until: datetime) -> list[SavingEvent]:
        """Every approval up to `until`, oldest first."""
        rec = RecommendationRecord
        rows = await self._session.execute(
            select(rec.decided_at, rec.id, rec.monthly_saving_usd)
            .where(
                rec.status.in_(APPROVED_STATUSES),
                rec.decided_at.is_not(None),
                rec.decided_at <= until,
            )
            .order_by(rec.decided_at, rec.id)
        )
        return [SavingEvent(at, rid, float(saving)) for at, rid, saving in rows if at]

    async def applications(self, *, until: datetime) -> list[SavingEvent]:
        """The first successful application of each approved recommendation up to `until`."""
        ins, rec = InstructionRecord, RecommendationRecord
        rows = await self._session.execute(
            select(ins.completed_at, rec.id, rec.monthly_saving_usd)
            .join(rec, rec.id == ins.recommendation_id)
            .where(
                ins.completed_at.is_not(None),
                ins.completed_at <= until,
                or_(ins.status == "applied", ins.result["outcome"].astext == "applied"),
            )
            .order_by(ins.completed_at, rec.id)
        )
        seen: set[uuid.UUID] = set()
        events: list[SavingEvent] = []
        for at, rid, saving in rows:
            if at is not None and rid not in seen:
                seen.add(rid)
                events.append(SavingEvent(at, rid, float(saving)))
        return events

    async def costs(self, *, since: datetime, until: datetime) -> list[CostPoint]:
        """Priced moments in [since, until] plus each cluster's last one before `since`."""
        cost = ClusterCost
        before = await self._session.execute(
            select(cost.cluster_id, cost.computed_at, cost.monthly_cost_usd)
            .where(cost.computed_at < since)
            .ext(distinct_on(cost.cluster_id))
            .order_by(cost.cluster_id, cost.computed_at.desc())
        )
        within = await self._session.execute(
            select(cost.cluster_id, cost.computed_at, cost.monthly_cost_usd)
            .where(cost.computed_at >= since, cost.computed_at <= until)
            .order_by(cost.computed_at, cost.cluster_id)
        )
        points = [CostPoint(c, at, float(v)) for c, at, v in before]
        points += [CostPoint(c, at, float(v)) for c, at, v in within]
        return sorted(points, key=lambda p: (p.at, str(p.cluster_id)))
