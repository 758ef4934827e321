"""How many replicas stay on on-demand, and how the rest spread over spot pools.

The split itself is `recommender.spot.split.plan_split`, the policy `bench.spot` measures; this
module states a workload's promises to it (`recommender.spot.world.request_for_cluster`) and
turns the answer into what the unchanged kube-scheduler can enforce.

* Many replicas: the floor is the PDB's minAvailable M (of the PDB the plan creates when none
  exists), kept on on-demand so that losing the worst pool, or every spot pool at once, leaves
  M serving. The floor D is held by a topology spread over `node.kubernetes.io/capacity`
  (DoNotSchedule): with D up to half the replicas, spot is preferred and maxSkew = N - 2D caps
  spot at N - D; above half, on-demand is preferred and maxSkew = 2D - N caps on-demand at D, so
  spot receives exactly the rest.
* How hard that floor is. A DoNotSchedule spread over the two capacity domains bounds only
  |O - S| (on-demand and spot pods) at each binding, so with all N bound it enforces O >= D
  exactly when D <= N/2 (maxSkew max(N - 2D, 1) gives S - O <= it): there the floor is hard,
  whatever the scores. The largest floor any such spread enforces is floor(N/2) (maxSkew >= 1).
  Above half, maxSkew 2D - N enforces D >= O >= N - D; the rest of the way to D is the on-demand
  preference, the template's only preferred term (pool preferences and soft spreads are left
  out there, as they score for spot), worth 100 points to an on-demand node against 0 to a
  spot node. So spot takes a pod an on-demand node could hold only when the other default
  scores (least allocated, balanced allocation, image locality, inter-pod affinity, taint
  toleration, weight 1 each, and the template's own soft spreads) favour the spot node by more
  than 100, or when on-demand has no room, which the headroom check prices at planning time.
  The worst case is bounded: losing every spot pool leaves at least N - D replicas (2 of 6 for
  a floor of 4), and pods rescheduled later prefer on-demand again. Either way the spread is
  judged when a pod binds, against the pods running then: spot pods never move, so on-demand
  pods lost while on-demand cannot take their replacements may leave spot above the bound
  until those are rescheduled (below half, such replacements can only go to on-demand). A
  required on-demand affinity would put every replica there (one template), and a PDB does not
  limit reclaims, so neither makes it hard.
* One replica: on-demand unless the owner opts in with `slicewise.io/spot: allow`; then it runs
  on spot with a PDB of minAvailable 1, so an evacuation scales it to two, waits for the new
  pod to be Ready and only then drains (the surge on notice). A capacity spread of maxSkew 1
  sends that second pod to on-demand: a second spot pod would make the skew 2. The split
  prices the reclaims with that surge's warm-up.
* StatefulSets: a pod template cannot place single ordinals, so a StatefulSet gets the same
  count-based floor: the PDB keeps M pods available and the capacity spread keeps D pods, of
  whichever ordinals the scheduler placed first, on on-demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from recommender.inventory import WorkloadId
from recommender.pricing.spot_advisor import InterruptionBucket
from recommender.spot.pdb import desired_healthy
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool
from recommender.spot.readiness import SpotReadiness
from recommender.spot.split import SplitSettings, plan_split
from recommender.spot.world import ClusterPool, request_for_cluster


class PlacementRefusal(StrEnum):
    """Why a ready workload still gets no placement."""

    NO_SPOT_POOLS = "no-spot-pools"
    NO_ON_DEMAND_NODES = "no-labelled-on-demand-nodes"
    NOTHING_TO_MOVE = "nothing-to-move"


@dataclass(frozen=True, slots=True)
class PoolTerms:
    """What one replica costs in a pool, and how often the pool reclaims."""

    spot_hourly: float
    interruption: InterruptionBucket | None


@dataclass(frozen=True, slots=True)
class PlacementInputs:
    """Prices and timings the split needs, from the price book and the pods' history."""

    per_replica_on_demand_hourly: float
    pools: Mapping[SpotPool, PoolTerms]
    startup_seconds: float
    running: Mapping[SpotPool, int]


@dataclass(frozen=True, slots=True)
class SpotPlacement:
    """The split of one workload between on-demand and spot, and its guarantees."""

    workload: WorkloadId
    replicas: int
    min_available: int
    on_demand_replicas: int
    spot_replicas: int
    pools: tuple[SpotPool, ...]
    """Pools the split uses."""
    spot_by_pool: Mapping[SpotPool, int]
    zones: tuple[str, ...]
    worst_pool_loss: int
    """Replicas the split puts in its largest pool: what that pool's reclaim takes at once."""
    zone_spread_required: bool
    """Whether the zone spread must be hard; the on-demand floor makes it never necessary."""
    capacity_max_skew: int | None
    """maxSkew of the capacity-type spread; None when nothing must stay on on-demand."""
    prefer_on_demand: bool
    """Whether the template prefers on-demand (floor above half) rather than spot."""
    surge_on_notice: bool
    create_pdb: bool
    pdb_min_available: int | None
    """minAvailable of the PDB created (None: the policy's default maxUnavailable)."""
    expected_hourly: float
    on_demand_only_hourly: float


def _pool_key(pool: SpotPool) -> str:
    return f"{pool.instance_type}/{pool.zone}"


def floor_expression(replicas: int, on_demand: int) -> tuple[int | None, bool]:
    """(capacity maxSkew, prefer on-demand) keeping exactly `on_demand` replicas there."""
    if on_demand <= 0:
        return None, False
    if 2 * on_demand <= replicas:
        return max(replicas - 2 * on_demand, 1), False
    return 2 * on_demand - replicas, True


def plan_placement(
    readiness: SpotReadiness,
    capacity: Capacity,
    inputs: PlacementInputs,
    policy: SpotPolicy,
    settings: SplitSettings,
) -> SpotPlacement | PlacementRefusal:
    """Split a ready workload's replicas between on-demand and spot pools."""
    replicas = readiness.replicas
    priced = [pool for pool in capacity.pools if pool in inputs.pools]
    if not priced:
        return PlacementRefusal.NO_SPOT_POOLS
    surge = replicas == 1
    if surge:
        minimum, pdb_min = (readiness.min_available if readiness.has_pdb else 1), 1
    elif readiness.has_pdb:
        minimum, pdb_min = readiness.min_available, None
    else:
        minimum = desired_healthy(None, policy.default_max_unavailable, replicas)
        pdb_min = None
    request = request_for_cluster(
        replicas=replicas,
        min_available=minimum,
        surge_on_notice=surge,
        pools=[
            ClusterPool(
                key=_pool_key(pool),
                spot_hourly=inputs.pools[pool].spot_hourly,
                interruption=inputs.pools[pool].interruption,
                running=inputs.running.get(pool, 0),
            )
            for pool in priced
        ],
        on_demand_hourly=inputs.per_replica_on_demand_hourly,
        startup_seconds=inputs.startup_seconds,
    )
    split = plan_split(request, settings)
    if split.spot_replicas == 0:
        return PlacementRefusal.NOTHING_TO_MOVE
    if (split.on_demand > 0 or surge) and not capacity.on_demand_nodes:
        return PlacementRefusal.NO_ON_DEMAND_NODES
    by_pool = {pool: split.spot[_pool_key(pool)] for pool in priced if split.spot[_pool_key(pool)]}
    skew, prefer_on_demand = (1, False) if surge else floor_expression(replicas, split.on_demand)
    return SpotPlacement(
        workload=readiness.workload,
        replicas=replicas,
        min_available=minimum,
        on_demand_replicas=split.on_demand,
        spot_replicas=split.spot_replicas,
        pools=tuple(by_pool),
        spot_by_pool=by_pool,
        zones=tuple(sorted({pool.zone for pool in by_pool})),
        worst_pool_loss=max(by_pool.values()),
        zone_spread_required=False,
        capacity_max_skew=skew,
        prefer_on_demand=prefer_on_demand,
        surge_on_notice=surge,
        create_pdb=not readiness.has_pdb,
        pdb_min_available=pdb_min,
        expected_hourly=split.expected_hourly,
        on_demand_only_hourly=split.on_demand_only_hourly,
    )
