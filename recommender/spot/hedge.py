"""Hedging replicas across spot pools: which pools to use and how much on-demand backs them.

A pool (instance type x zone) that reclaims one replica often reclaims its neighbours too, so
pools are the unit of loss. The service stays up through the loss of its `spare_pools`
largest pools when the on-demand replicas cover the difference:

    on_demand = clamp(R + (replicas in the largest spare_pools pools) - spot replicas, floor, R)

Pools are ranked by their expected hourly cost: the spot price plus the pool's observed
preemption rate times what a preemption costs (an on-demand replica for the warm-up, plus a
risk allowance). A pool whose expected cost reaches the on-demand price is not worth using.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """What has been seen of one pool: preemptions over replica-hours of exposure."""

    preemptions: int = 0
    exposure_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class HedgeSettings:
    """Priors and allowances of the pool ranking."""

    prior_preemptions: float = 1.0
    prior_hours: float = 10.0
    """A pool never seen is assumed to reclaim once every ten replica-hours."""
    risk_hours: float = 0.5
    """On-demand hours charged per preemption on top of the warm-up, for the risk it brings."""
    spare_pools: int = 2
    """Pools whose simultaneous loss the service must survive (back-to-back reclaims within a
    warm-up count as simultaneous)."""
    turbulence_hours: float = 2.0
    turbulence_floor: int = 1
    """On-demand replicas kept for `turbulence_hours` after any preemption."""


def preemption_rate(record: PoolRecord, settings: HedgeSettings) -> float:
    """Preemptions per replica-hour, shrunk towards the prior while evidence is thin."""
    return (record.preemptions + settings.prior_preemptions) / (
        record.exposure_hours + settings.prior_hours
    )


def expected_hourly_cost(
    spot_hourly: float,
    on_demand_hourly: float,
    rate: float,
    warmup_hours: float,
    settings: HedgeSettings,
) -> float:
    """Spot price plus the expected cost of being preempted, per replica-hour."""
    return spot_hourly + rate * (warmup_hours + settings.risk_hours) * on_demand_hourly


def largest_pools(counts: Iterable[int], pools: int) -> int:
    """Replicas held by the `pools` largest pools."""
    return sum(sorted(counts, reverse=True)[: max(pools, 0)])


def on_demand_needed(
    replicas: int, spot_by_pool: Iterable[int], spare_pools: int, floor: int = 0
) -> int:
    """On-demand replicas that keep `replicas` serving through the loss of `spare_pools` pools."""
    counts = [c for c in spot_by_pool if c > 0]
    exposed = largest_pools(counts, spare_pools)
    return min(max(replicas + exposed - sum(counts), floor, 0), replicas)
