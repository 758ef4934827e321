"""Tick-by-tick replay of a service that needs R ready replicas on spot and on-demand capacity.

At every tick the cloud first reclaims spot replicas beyond what each zone can hold (a
preemption), then the policy launches or stops replicas. A spot launch succeeds only while the
zone holds fewer of our replicas than it offers; on-demand launches always succeed. A new
replica serves after the warm-up. Cost accrues for every running replica, warming or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(slots=True)
class Replica:
    """One running replica."""

    spot: bool
    zone: int | None
    launched: int
    ready_at: int


@dataclass(slots=True)
class Fleet:
    """Replicas of the service and the environment's current tick."""

    availability: NDArray[np.int64]
    warmup_ticks: int
    tick: int = 0
    replicas: list[Replica] = field(default_factory=list)

    @property
    def zones(self) -> int:
        """Number of zones."""
        return int(self.availability.shape[0])

    def in_zone(self, zone: int) -> list[Replica]:
        """Spot replicas running in a zone."""
        return [r for r in self.replicas if r.spot and r.zone == zone]

    def spot(self) -> list[Replica]:
        """Running spot replicas."""
        return [r for r in self.replicas if r.spot]

    def on_demand(self) -> list[Replica]:
        """Running on-demand replicas."""
        return [r for r in self.replicas if not r.spot]

    def ready(self, replicas: list[Replica] | None = None) -> int:
        """How many of `replicas` (default all) serve now."""
        return sum(
            1 for r in (self.replicas if replicas is None else replicas) if r.ready_at <= self.tick
        )

    def launch_spot(self, zone: int) -> bool:
        """Try to launch a spot replica in a zone; False when the zone has no capacity."""
        if len(self.in_zone(zone)) >= int(self.availability[zone, self.tick]):
            return False
        self.replicas.append(Replica(True, zone, self.tick, self.tick + self.warmup_ticks))
        return True

    def launch_on_demand(self) -> None:
        """Launch an on-demand replica (always obtainable)."""
        self.replicas.append(Replica(False, None, self.tick, self.tick + self.warmup_ticks))

    def stop(self, replica: Replica) -> None:
        """Stop a replica."""
        self.replicas.remove(replica)


class Policy(Protocol):
    """A placement policy: reacts to preemptions, then adjusts the fleet each tick."""

    name: str

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """A spot replica in `zone` was just reclaimed."""

    def step(self, fleet: Fleet) -> None:
        """Launch and stop replicas for the current tick."""


@dataclass(frozen=True, slots=True)
class Prices:
    """Hourly prices: on-demand (one figure) and spot per zone."""

    on_demand: float
    spot: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one policy achieved on one scenario."""

    cost: float
    on_demand_cost: float
    available_ticks: int
    scored_ticks: int
    preemptions: int
    spot_hours: float
    on_demand_hours: float

    @property
    def availability(self) -> float:
        """Share of scored ticks with at least R ready replicas."""
        return self.available_ticks / self.scored_ticks if self.scored_ticks else 0.0


def warmup_ticks(warmup_seconds: float, gap_seconds: float) -> int:
    """Ticks a new replica needs before serving."""
    return math.ceil(warmup_seconds / gap_seconds)


def replay(
    policy: Policy,
    availability: NDArray[np.int64],
    prices: Prices,
    *,
    replicas: int,
    warmup_seconds: float,
    gap_seconds: float,
) -> Outcome:
    """Run a policy over a scenario; ticks before the first warm-up completes are not scored."""
    fleet = Fleet(availability, warmup_ticks(warmup_seconds, gap_seconds))
    hours = gap_seconds / 3600.0
    cost = spot_hours = od_hours = 0.0
    available = preemptions = 0
    for tick in range(availability.shape[1]):
        fleet.tick = tick
        for zone in range(fleet.zones):
            running = fleet.in_zone(zone)
            excess = len(running) - int(availability[zone, tick])
            for victim in sorted(running, key=lambda r: -r.launched)[: max(excess, 0)]:
                fleet.stop(victim)
                preemptions += 1
                policy.preempted(zone, fleet)
        policy.step(fleet)
        if tick >= fleet.warmup_ticks and fleet.ready() >= replicas:
            available += 1
        for replica in fleet.replicas:
            if replica.spot and replica.zone is not None:
                cost += prices.spot[replica.zone] * hours
                spot_hours += hours
            else:
                cost += prices.on_demand * hours
                od_hours += hours
    scored = max(availability.shape[1] - fleet.warmup_ticks, 0)
    return Outcome(
        cost=cost,
        on_demand_cost=prices.on_demand * hours * replicas * availability.shape[1],
        available_ticks=available,
        scored_ticks=scored,
        preemptions=preemptions,
        spot_hours=spot_hours,
        on_demand_hours=od_hours,
    )
