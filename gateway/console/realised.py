"""Realised savings, measured: each applied change's target costs before and after it.

For a recommendation the executor applied, the cost of what it changed (its workload, or its node
when it names one) is read from the hourly rollups over up to seven days before the change and
up to seven days after it. Each side is a run rate (cost per measured hour of the cluster), and
the realised saving is the drop in run rate over a 730-hour month, beside the estimate it was
approved on. A side with less than an hour measured leaves the figure unknown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.realised_savings import AppliedChange, RealisedSavingsQueries

HOURS_PER_MONTH = 730.0
WINDOW = timedelta(days=7)
MIN_HOURS = 1.0
METHOD = (
    "Measured from the hourly cost allocation: the run rate of what the change touched (its "
    "workload's containers, or its node) over up to 7 days before it was applied, minus the "
    "run rate over up to 7 days after, times 730 hours. Each run rate is the cost over the hours "
    "the cluster was measured, so a removed node counts as costing nothing afterwards."
)


@dataclass(frozen=True)
class RealisedSaving:
    """An applied change: its estimate and what was measured."""

    change: AppliedChange
    before_hourly_usd: float | None
    after_hourly_usd: float | None
    hours_before: float
    hours_after: float

    @property
    def measured_monthly_usd(self) -> float | None:
        """The drop in run rate over a month; None until both sides are measured."""
        if self.before_hourly_usd is None or self.after_hourly_usd is None:
            return None
        return (self.before_hourly_usd - self.after_hourly_usd) * HOURS_PER_MONTH


async def _cost(
    queries: RealisedSavingsQueries, change: AppliedChange, start: datetime, end: datetime
) -> float:
    if change.namespace is not None and change.workload is not None:
        return await queries.workload_cost(
            change.cluster_id, change.namespace, change.workload, start, end
        )
    if change.node is not None:
        return await queries.node_cost(change.cluster_id, change.node, start, end)
    return 0.0


async def _rate(
    queries: RealisedSavingsQueries, change: AppliedChange, start: datetime, end: datetime
) -> tuple[float | None, float]:
    hours = await queries.covered_hours(change.cluster_id, start, end)
    if hours < MIN_HOURS:
        return None, hours
    return await _cost(queries, change, start, end) / hours, hours


@dataclass(frozen=True)
class RealisedTotal:
    """The measured savings of every applied change, summed where both sides are measured."""

    measured_monthly_usd: float
    estimated_monthly_usd: float
    """What the measured changes were estimated to save, for comparison."""
    measured: int
    pending: int
    """Applied changes still lacking an hour of measurement on one side."""


def realised_total(found: list[RealisedSaving]) -> RealisedTotal:
    """Sum of the measured figures, beside the estimates of the same changes."""
    measured = [r for r in found if r.measured_monthly_usd is not None]
    return RealisedTotal(
        measured_monthly_usd=sum(r.measured_monthly_usd or 0.0 for r in measured),
        estimated_monthly_usd=sum(r.change.estimated_monthly_usd for r in measured),
        measured=len(measured),
        pending=len(found) - len(measured),
    )


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def realised_savings(
    session: AsyncSession, tenant_id: uuid.UUID, *, now: datetime
) -> list[RealisedSaving]:
    """Every applied change, newest first, with its measured saving where known."""
    queries = RealisedSavingsQueries(session, tenant_id)
    found = []
    for change in await queries.applied(until=now):
        # Whole hours only: the hour the change landed in belongs to neither side.
        landed = _hour(change.applied_at)
        after_start = landed + timedelta(hours=1)
        before, hours_before = await _rate(queries, change, landed - WINDOW, landed)
        after, hours_after = await _rate(
            queries, change, after_start, min(_hour(now), after_start + WINDOW)
        )
        found.append(RealisedSaving(change, before, after, hours_before, hours_after))
    return found
