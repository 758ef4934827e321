"""The placement policies compared by `bench.spot`.

* on-demand: R on-demand replicas.
* spot-cheapest-zone: R spot replicas in the cheapest zone, relaunched there when possible.
* even-spread: R spot replicas assigned to zones in turn, each relaunched in its own zone.
* round-robin: each launch tries the next zone in turn until one has capacity.
* SpotHedge: SkyServe's policy (Mao et al., "SkyServe", arXiv 2411.01438): R - base + N_extra
  spot replicas placed by dynamic fallback (cheapest active zone not in use; a zone that
  preempts or refuses a launch turns "preemptive" until fewer than two remain active), `base`
  on-demand replicas always, and more on-demand replicas filling the gap whenever fewer than
  R - base spot replicas are ready.
* slicewise: `recommender.spot.hedge`: pools ranked by price plus expected preemption cost,
  spot replicas added until the loss of the two largest pools still leaves R, on-demand
  replicas covering whatever the spot side cannot guarantee (never more than R), and one
  on-demand replica kept for two hours after any preemption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.spot_sim import Fleet, Replica
from recommender.spot.hedge import (
    HedgeSettings,
    PoolRecord,
    expected_hourly_cost,
    largest_pools,
    on_demand_needed,
    preemption_rate,
)


def _stop_surplus(fleet: Fleet, replicas: list[Replica], keep: int) -> None:
    # Stop the ones still warming first: they serve nobody yet.
    for replica in sorted(replicas, key=lambda r: (r.ready_at <= fleet.tick, r.launched))[
        : max(len(replicas) - keep, 0)
    ]:
        fleet.stop(replica)


@dataclass
class OnDemandOnly:
    """R on-demand replicas."""

    replicas: int
    name: str = "on-demand"

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Never happens."""

    def step(self, fleet: Fleet) -> None:
        """Keep R on-demand replicas."""
        for _ in range(self.replicas - len(fleet.on_demand())):
            fleet.launch_on_demand()


@dataclass
class CheapestZone:
    """All spot, in the cheapest zone."""

    replicas: int
    spot_prices: Sequence[float]
    name: str = "spot-cheapest-zone"

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Relaunch on the next step."""

    def step(self, fleet: Fleet) -> None:
        """Top up the cheapest zone."""
        zone = min(range(len(self.spot_prices)), key=lambda z: (self.spot_prices[z], z))
        for _ in range(self.replicas - len(fleet.spot())):
            if not fleet.launch_spot(zone):
                break


@dataclass
class EvenSpread:
    """All spot, replica i in zone i mod Z."""

    replicas: int
    zones: int
    name: str = "even-spread"

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Relaunch on the next step."""

    def step(self, fleet: Fleet) -> None:
        """Top up every zone to its share."""
        for zone in range(self.zones):
            share = sum(1 for i in range(self.replicas) if i % self.zones == zone)
            for _ in range(share - len(fleet.in_zone(zone))):
                if not fleet.launch_spot(zone):
                    break


@dataclass
class RoundRobin:
    """All spot; each launch tries the next zone in turn."""

    replicas: int
    zones: int
    name: str = "round-robin"
    _next: int = 0

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Relaunch on the next step."""

    def step(self, fleet: Fleet) -> None:
        """Launch missing replicas, one zone after another."""
        attempts = 0
        while len(fleet.spot()) < self.replicas and attempts < self.zones:
            zone = self._next % self.zones
            self._next += 1
            attempts += 1
            fleet.launch_spot(zone)


@dataclass
class SpotHedge:
    """SkyServe's SpotHedge: spread, over-provisioned spot, dynamic on-demand fallback."""

    replicas: int
    spot_prices: Sequence[float]
    extra: int = 1
    base_on_demand: int = 0
    name: str = "SpotHedge"
    _preemptive: set[int] = field(default_factory=set)

    def _mark(self, zone: int) -> None:
        self._preemptive.add(zone)
        if len(self.spot_prices) - len(self._preemptive) < 2:
            self._preemptive.clear()

    def preempted(self, zone: int, fleet: Fleet) -> None:  # noqa: ARG002 - the Policy protocol's signature
        """The zone turns preemptive."""
        self._mark(zone)

    def _next_zone(self, fleet: Fleet) -> int:
        active = [z for z in range(len(self.spot_prices)) if z not in self._preemptive]
        used = {r.zone for r in fleet.spot()}
        unused = [z for z in active if z not in used]
        candidates = unused or active
        return min(candidates, key=lambda z: (self.spot_prices[z], len(fleet.in_zone(z)), z))

    def step(self, fleet: Fleet) -> None:
        """Top up spot to R - base + N_extra; on-demand: base plus the ready-spot gap."""
        spot_share = self.replicas - self.base_on_demand
        attempts = 0
        while len(fleet.spot()) < spot_share + self.extra and attempts < len(self.spot_prices):
            zone = self._next_zone(fleet)
            attempts += 1
            if fleet.launch_spot(zone):
                self._preemptive.discard(zone)
            else:
                self._mark(zone)
        needed = self.base_on_demand + max(spot_share - fleet.ready(fleet.spot()), 0)
        on_demand = fleet.on_demand()
        for _ in range(needed - len(on_demand)):
            fleet.launch_on_demand()
        if len(on_demand) > needed:
            _stop_surplus(fleet, on_demand, needed)


@dataclass
class Slicewise:
    """Ours: pool-loss hedging with on-demand cover (see `recommender.spot.hedge`)."""

    replicas: int
    spot_prices: Sequence[float]
    on_demand_price: float
    gap_hours: float
    warmup_hours: float
    settings: HedgeSettings = field(default_factory=HedgeSettings)
    name: str = "slicewise"
    _records: dict[int, PoolRecord] = field(default_factory=dict)
    _last_preemption: int | None = None

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Count the preemption against its pool."""
        record = self._records.get(zone, PoolRecord())
        self._records[zone] = PoolRecord(record.preemptions + 1, record.exposure_hours)
        self._last_preemption = fleet.tick

    def _cost(self, zone: int) -> float:
        rate = preemption_rate(self._records.get(zone, PoolRecord()), self.settings)
        return expected_hourly_cost(
            self.spot_prices[zone], self.on_demand_price, rate, self.warmup_hours, self.settings
        )

    def _per_pool(self, replicas: list[Replica]) -> list[int]:
        counts: dict[int | None, int] = {}
        for replica in replicas:
            counts[replica.zone] = counts.get(replica.zone, 0) + 1
        return list(counts.values())

    def _floor(self, fleet: Fleet) -> int:
        if self._last_preemption is None:
            return 0
        calm_hours = (fleet.tick - self._last_preemption) * self.gap_hours
        return self.settings.turbulence_floor if calm_hours <= self.settings.turbulence_hours else 0

    def _top_up_spot(self, fleet: Fleet, wanted: int) -> list[Replica]:
        worth = [z for z in range(len(self.spot_prices)) if self._cost(z) < self.on_demand_price]
        launched: list[Replica] = []
        for _ in range(len(self.spot_prices)):
            spot = fleet.spot()
            covered = len(spot) - largest_pools(self._per_pool(spot), self.settings.spare_pools)
            if spot and covered >= wanted:
                break
            ranked = sorted(worth, key=lambda z: (len(fleet.in_zone(z)), self._cost(z), z))
            zone = next((z for z in ranked if fleet.launch_spot(z)), None)
            if zone is None:
                break
            launched.append(fleet.replicas[-1])
        return launched

    def step(self, fleet: Fleet) -> None:
        """Rank pools, top up spot, drop spot that guarantees nothing, cover with on-demand."""
        for replica in fleet.spot():
            record = self._records.get(replica.zone or 0, PoolRecord())
            self._records[replica.zone or 0] = PoolRecord(
                record.preemptions, record.exposure_hours + self.gap_hours
            )
        floor = self._floor(fleet)
        launched = self._top_up_spot(fleet, self.replicas - floor)
        spot = fleet.spot()
        if len(spot) <= largest_pools(self._per_pool(spot), self.settings.spare_pools):
            # Spot that could all be lost at once replaces no on-demand replica: only a cost.
            for replica in spot:
                if replica in launched or replica.ready_at > fleet.tick:
                    fleet.stop(replica)
        ready_spot = [r for r in fleet.spot() if r.ready_at <= fleet.tick]
        needed = on_demand_needed(
            self.replicas, self._per_pool(ready_spot), self.settings.spare_pools, floor
        )
        on_demand = fleet.on_demand()
        for _ in range(needed - len(on_demand)):
            fleet.launch_on_demand()
        if len(on_demand) > needed:
            _stop_surplus(fleet, on_demand, needed)
