"""How many replicas stay on on-demand, and how the rest spread over spot pools.

With N replicas of which the PDB keeps M available, a reclaim may take at most N - M at once.
Spreading all pods over Z zones with a zone topology spread (maxSkew 1, DoNotSchedule) caps
any zone, and so any spot pool in it, at ceil(N / Z) pods. When that cap is within N - M the
spot pools alone never breach the budget and only a small floor stays on on-demand; otherwise
the M pods the budget protects stay on on-demand and the rest go to spot.

The on-demand share is enforced with a topology spread over `node.kubernetes.io/capacity`:
with D pods to keep on on-demand, maxSkew = max(1, N - 2D) leaves at least D there. That
expresses any D up to N / 2 without a custom scheduler; larger floors are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from recommender.consolidation.inventory import WorkloadId
from recommender.spot.pdb import desired_healthy
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool
from recommender.spot.readiness import SpotReadiness


class PlacementRefusal(StrEnum):
    """Why a ready workload still gets no placement."""

    NO_SPOT_POOLS = "no-spot-pools"
    NO_ON_DEMAND_NODES = "no-labelled-on-demand-nodes"
    FLOOR_NOT_EXPRESSIBLE = "on-demand-floor-above-half"
    NOTHING_TO_MOVE = "nothing-to-move"


@dataclass(frozen=True, slots=True)
class SpotPlacement:
    """The split of one workload between on-demand and spot, and its guarantees."""

    workload: WorkloadId
    replicas: int
    min_available: int
    on_demand_replicas: int
    spot_replicas: int
    pools: tuple[SpotPool, ...]
    zones: tuple[str, ...]
    worst_pool_loss: int
    """Most replicas one pool's reclaim can take: never more than replicas - min_available."""
    zone_spread_required: bool
    """Whether the zone spread must be hard (DoNotSchedule) for the guarantee to hold."""
    capacity_max_skew: int | None
    """maxSkew of the capacity-type spread; None when nothing must stay on on-demand."""
    create_pdb: bool


def plan_placement(
    readiness: SpotReadiness, capacity: Capacity, policy: SpotPolicy
) -> SpotPlacement | PlacementRefusal:
    """Split a ready workload's replicas between on-demand and spot pools."""
    replicas = readiness.replicas
    if not capacity.pools:
        return PlacementRefusal.NO_SPOT_POOLS
    minimum = (
        readiness.min_available
        if readiness.has_pdb
        else desired_healthy(None, policy.default_max_unavailable, replicas)
    )
    budget = max(replicas - minimum, 0)
    zones = capacity.zones
    zone_loss = math.ceil(replicas / len(zones))
    spread_is_enough = zone_loss <= budget
    floor = min(policy.on_demand_floor, replicas)
    on_demand = floor if spread_is_enough else max(minimum, floor)
    spot = replicas - on_demand
    if spot <= 0:
        return PlacementRefusal.NOTHING_TO_MOVE
    if on_demand > 0 and not capacity.on_demand_nodes:
        return PlacementRefusal.NO_ON_DEMAND_NODES
    if on_demand > replicas // 2:
        return PlacementRefusal.FLOOR_NOT_EXPRESSIBLE
    return SpotPlacement(
        workload=readiness.workload,
        replicas=replicas,
        min_available=minimum,
        on_demand_replicas=on_demand,
        spot_replicas=spot,
        pools=capacity.pools,
        zones=zones,
        worst_pool_loss=min(spot, zone_loss) if spread_is_enough else spot,
        zone_spread_required=spread_is_enough,
        capacity_max_skew=max(1, replicas - 2 * on_demand) if on_demand > 0 else None,
        create_pdb=not readiness.has_pdb,
    )
