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
* slicewise: `recommender.spot.split.plan_split`, the function the live recommendations call,
  re-planned every tick: zones are pools, R must survive the loss of the `spare_pools` largest
  (more while reclaims are frequent: `recommender.spot.split.spares_needed`),
  each spot replica-hour is priced with its zone's observed reclaim rate, and the cheapest
  split in expectation is kept (all on-demand when spot is not worth it); on-demand covers
  spot replicas still warming up once anything serves. Every start of spot replicas is put to
  `recommender.spot.move.decide_move`, the rule the live recommendations also follow, with the
  saving the replay has realised (`recommender.spot.ledger.SavingsLedger`) and, as "in place",
  whether the availability budget (1 - target of the scored time so far, less the time already
  short) has room for a warm-up with the replaced on-demand replicas stopped at once. A tick
  whose excess the savings do not cover runs plain on-demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.spot_sim import Fleet, Replica
from recommender.spot.ledger import SavingsLedger
from recommender.spot.move import MoveDecision, MoveRule, MoveTerms, decide_move
from recommender.spot.split import (
    SplitRequest,
    SplitSettings,
    SpotSplit,
    on_demand_cover,
    plan_split,
)
from recommender.spot.world import TraceAssumptions, ZoneRecord, aged, request_for_trace


def _stop_surplus(fleet: Fleet, replicas: list[Replica], keep: int) -> None:
    # Stop the ones still warming first: they serve nobody yet.
    for replica in sorted(replicas, key=lambda r: (r.ready_at <= fleet.tick, r.launched))[
        : max(len(replicas) - keep, 0)
    ]:
        fleet.stop(replica)


def _stop_surplus_spot(fleet: Fleet, replicas: list[Replica], keep: int) -> None:
    # Stop the ones still warming first, the latest started first: the earlier ones serve sooner.
    for replica in sorted(replicas, key=lambda r: (r.ready_at <= fleet.tick, -r.launched))[
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
    """Ours: `recommender.spot.split.plan_split`, re-planned every tick, fed through
    `recommender.spot.world.request_for_trace`."""

    replicas: int
    spot_prices: Sequence[float]
    on_demand_price: float
    gap_hours: float
    warmup_hours: float
    settings: SplitSettings = field(default_factory=SplitSettings)
    assumptions: TraceAssumptions = field(default_factory=TraceAssumptions)
    rule: MoveRule = field(default_factory=MoveRule)
    name: str = "slicewise"
    _records: dict[str, ZoneRecord] = field(default_factory=dict)
    _reclaimed_at: dict[str, int] = field(default_factory=dict)
    _ledger: SavingsLedger = field(default_factory=SavingsLedger)
    _in_place: list[Replica] = field(default_factory=list)
    _scored_ticks: int = 0
    _short_ticks: int = 0

    def _key(self, zone: int) -> str:
        return str(zone)

    def preempted(self, zone: int, fleet: Fleet) -> None:
        """Count the reclaim against its zone."""
        record = self._records.get(self._key(zone), ZoneRecord())
        self._records[self._key(zone)] = ZoneRecord(record.reclaims + 1, record.exposure_hours)
        self._reclaimed_at[self._key(zone)] = fleet.tick

    def _request(self, fleet: Fleet, caps: dict[str, int]) -> SplitRequest:
        zones = range(len(self.spot_prices))
        return request_for_trace(
            replicas=self.replicas,
            zones=[self._key(z) for z in zones],
            spot_hourly=self.spot_prices,
            records=self._records,
            prior=self.assumptions,
            caps=caps,
            running={self._key(z): len(fleet.in_zone(z)) for z in zones},
            on_demand_hourly=self.on_demand_price,
            warmup_hours=self.warmup_hours,
            cooling=frozenset(
                key
                for key, tick in self._reclaimed_at.items()
                if (fleet.tick - tick) * self.gap_hours < self.assumptions.cooldown_hours
            ),
        )

    def _launch(self, fleet: Fleet, split: SpotSplit, caps: dict[str, int]) -> bool:
        """Launch towards the split; False (and the zone capped) when a launch fails."""
        for zone in range(len(self.spot_prices)):
            key = self._key(zone)
            while len(fleet.in_zone(zone)) < split.spot[key]:
                if not fleet.launch_spot(zone):
                    caps[key] = len(fleet.in_zone(zone))
                    return False
        return True

    def _hourly(self, fleet: Fleet) -> float:
        return sum(
            self.spot_prices[r.zone] if r.spot and r.zone is not None else self.on_demand_price
            for r in fleet.replicas
        )

    def _plan(self, fleet: Fleet, caps: dict[str, int]) -> tuple[SplitRequest, SpotSplit]:
        """Plan and launch towards the split, re-planning when a zone refuses a launch."""
        request = self._request(fleet, caps)
        split = plan_split(request, self.settings)
        for _ in range(len(self.spot_prices)):
            if self._launch(fleet, split, caps):
                break
            request = self._request(fleet, caps)
            split = plan_split(request, self.settings)
        return request, split

    def _settle(self, fleet: Fleet, request: SplitRequest, split: SpotSplit) -> None:
        """Cover with on-demand while spot warms (once anything serves), stop surplus."""
        planned = [self._key(z) for z in range(len(self.spot_prices))]
        # Spot started in place counts as serving: the on-demand it replaced is not covered.
        ready = [
            min(
                fleet.ready(fleet.in_zone(z))
                + sum(1 for r in self._in_place if r.zone == z and r.ready_at > fleet.tick),
                split.spot[key],
            )
            for z, key in enumerate(planned)
        ]
        # Before anything serves, on-demand cover started now would serve no sooner than the
        # spot it covers; on-demand already warming serves sooner, so it is kept.
        on_demand = fleet.on_demand()
        cover = on_demand_cover(request, split, ready, self.settings)
        needed = cover if fleet.ready() else max(split.on_demand, min(cover, len(on_demand)))
        for _ in range(needed - len(on_demand)):
            fleet.launch_on_demand()
        if len(on_demand) > needed:
            _stop_surplus(fleet, on_demand, needed)
        # Surplus spot that serves is kept while any replica warms up: stopping it first would
        # leave a gap as long as the warm-up.
        warming = any(r.ready_at > fleet.tick for r in fleet.replicas)
        for zone, key in enumerate(planned):
            running = fleet.in_zone(zone)
            keep = max(split.spot[key], fleet.ready(running)) if warming else split.spot[key]
            _stop_surplus_spot(fleet, running, keep)

    def _on_demand_only(self, fleet: Fleet) -> None:
        for replica in fleet.spot():
            fleet.stop(replica)
        _stop_surplus(fleet, fleet.on_demand(), self.replicas)
        for _ in range(self.replicas - len(fleet.on_demand())):
            fleet.launch_on_demand()

    def _budget_allows_warmup(self, fleet: Fleet) -> bool:
        """Whether the availability budget so far has room for a warm-up with fewer serving."""
        target = self.settings.availability_target
        if target is None:
            return False
        budget = (1.0 - target) * self._scored_ticks - self._short_ticks
        return budget >= fleet.warmup_ticks

    def _move_terms(
        self, fleet: Fleet, request: SplitRequest, split: SpotSplit, started: list[Replica]
    ) -> MoveTerms:
        baseline = self.replicas * self.on_demand_price
        rate = {pool.key: pool.reclaims_per_hour for pool in request.pools}
        return MoveTerms(
            saving_hourly=baseline - split.expected_hourly,
            excess_usd=(self._hourly(fleet) - baseline) * fleet.warmup_ticks * self.gap_hours,
            realised_saving_usd=self._ledger.saved_usd,
            reclaims_per_hour=sum(rate[self._key(r.zone or 0)] for r in started),
            in_place_allowed=self._budget_allows_warmup(fleet),
        )

    def _count(self, fleet: Fleet) -> None:
        if fleet.tick >= fleet.warmup_ticks:
            self._scored_ticks += 1
            self._short_ticks += fleet.ready() < self.replicas

    def step(self, fleet: Fleet) -> None:
        """Plan, launch (re-planning when a zone refuses), stop surplus, cover with on-demand;
        a start of spot only as `decide_move` allows, a tick only as the savings allow."""
        self._records = {
            key: aged(record, self.gap_hours, self.assumptions)
            for key, record in self._records.items()
        }
        for replica in fleet.spot():
            key = self._key(replica.zone or 0)
            record = self._records.get(key, ZoneRecord())
            self._records[key] = ZoneRecord(record.reclaims, record.exposure_hours + self.gap_hours)
        self._in_place = [
            r for r in self._in_place if r.ready_at > fleet.tick and r in fleet.replicas
        ]
        baseline = self.replicas * self.on_demand_price
        caps: dict[str, int] = {}
        request, split = self._plan(fleet, caps)
        self._settle(fleet, request, split)
        started = [r for r in fleet.spot() if r.launched == fleet.tick]
        decision = (
            decide_move(self._move_terms(fleet, request, split, started), self.rule)
            if started and fleet.ready()
            else MoveDecision.BESIDE
        )
        if decision is MoveDecision.IN_PLACE:
            self._in_place.extend(started)
            self._settle(fleet, request, split)
        elif decision is MoveDecision.STAY:
            for replica in started:
                fleet.stop(replica)
            caps = {self._key(z): len(fleet.in_zone(z)) for z in range(len(self.spot_prices))}
            request, split = self._plan(fleet, caps)
            self._settle(fleet, request, split)
        if not self._ledger.affordable(baseline, self._hourly(fleet), self.gap_hours):
            self._on_demand_only(fleet)
            self._in_place.clear()
        self._ledger = self._ledger.after(baseline, self._hourly(fleet), self.gap_hours)
        self._count(fleet)
