"""Savings over time: the run-rate people approved (estimated) against what was applied (realised).

Estimated is the monthly saving of every recommendation approved so far; realised counts only
those whose instruction the executor applied, from the moment it did. Realised-to-date is the
money already saved: each applied monthly saving accrues over the hours since it was applied.
Spend is the sum of each cluster's newest price at that moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from store.repositories.console_savings import CostPoint, SavingEvent

HOURS_PER_MONTH = 730.0
"""The month prices and savings are quoted in (365 * 24 / 12)."""


@dataclass(frozen=True)
class SavingsPoint:
    """The figures at one moment."""

    at: datetime
    estimated_monthly_usd: float
    realised_monthly_usd: float
    realised_to_date_usd: float
    monthly_cost_usd: float | None
    """None until some cluster has been priced."""


def _run_rate(events: Sequence[SavingEvent], at: datetime) -> float:
    return sum(e.monthly_saving_usd for e in events if e.at <= at)


def _accrued(events: Sequence[SavingEvent], at: datetime) -> float:
    hours = ((at - e.at).total_seconds() / 3600 for e in events if e.at <= at)
    rates = (e.monthly_saving_usd for e in events if e.at <= at)
    return sum(rate * h / HOURS_PER_MONTH for rate, h in zip(rates, hours, strict=True))


def _spend(costs: Sequence[CostPoint], at: datetime) -> float | None:
    latest: dict[uuid.UUID, float] = {}
    for point in costs:
        if point.at <= at:
            latest[point.cluster_id] = point.monthly_cost_usd
    return sum(latest.values()) if latest else None


def savings_series(
    approvals: Sequence[SavingEvent],
    applications: Sequence[SavingEvent],
    costs: Sequence[CostPoint],
    *,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(days=1),
) -> list[SavingsPoint]:
    """The figures at `start`, every `step` after it, and at `end`."""
    if end < start or step <= timedelta(0):
        raise ValueError("need start <= end and a positive step")
    moments: list[datetime] = []
    at = start
    while at < end:
        moments.append(at)
        at += step
    moments.append(end)
    ordered = sorted(costs, key=lambda p: p.at)
    return [
        SavingsPoint(
            at=moment,
            estimated_monthly_usd=_run_rate(approvals, moment),
            realised_monthly_usd=_run_rate(applications, moment),
            realised_to_date_usd=_accrued(applications, moment),
            monthly_cost_usd=_spend(ordered, moment),
        )
        for moment in moments
    ]
