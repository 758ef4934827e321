"""Spot recommendations for a snapshot: ready workloads, placed and priced.

Saving = what the workload's replicas cost today minus what the split is expected to cost
(spot prices plus the expected cost of reclaims, `recommender.spot.split`), minus the on-demand
nodes the worst pool's loss would need and the cluster lacks (`recommender.spot.headroom`), over
a 730-hour month. A replica's cost is its share of the node it runs on, at that node's
on-demand price; in a pool it is that share at the pool's advisor discount. A plan whose
expected cost, headroom nodes included, is not strictly below running every replica on
on-demand is not recommended: the workload stays on on-demand (`split.beats_on_demand`).
Nor is a move whose start-up beside the on-demand replicas is not expected to pay back well
before its spot is reclaimed, or that has to run beside them because the plan's floor keeps
every replica (`move.decide_move`, with nothing saved yet and the pools' interruption buckets).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from pydantic import JsonValue

from protocol.recommendation import Recommendation, RecommendationKind, Risk
from protocol.snapshot import LABEL_REGION, ClusterSnapshot, Workload
from recommender.cost.node_rates import pod_hourly_usd
from recommender.inventory import (
    Inventory,
    WorkloadId,
    recommendation_id,
    workload_ref,
    workload_version,
)
from recommender.pricing.cost import monthly_usd, price_node
from recommender.pricing.pricebook import InstancePrice, PriceBook
from recommender.spot.headroom import Headroom, on_demand_headroom
from recommender.spot.move import MoveDecision, MoveRule, MoveTerms, decide_move
from recommender.spot.placement import (
    PlacementInputs,
    PlacementRefusal,
    PoolTerms,
    SpotPlacement,
    plan_placement,
)
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool, capacity_for
from recommender.spot.readiness import SpotReadiness, assess_readiness, startup_seconds_of
from recommender.spot.scheduling import placement_change_set
from recommender.spot.split import SplitSettings, beats_on_demand
from recommender.spot.world import reclaims_per_hour

RISKY_INTERRUPTION_BUCKET = 3
"""Interruption buckets from 15-20 % a month up make a placement medium risk."""


def _pool_price(pool: SpotPool, inventory: Inventory, pricebook: PriceBook) -> InstancePrice | None:
    node = inventory.nodes[pool.nodes[0]]
    cluster = inventory.snapshot.cluster
    region = node.labels.get(LABEL_REGION) or cluster.region
    return pricebook.price(cluster.provider.value, region, pool.instance_type)


def _usable_pools(
    capacity: Capacity, inventory: Inventory, pricebook: PriceBook, policy: SpotPolicy
) -> tuple[Capacity, dict[SpotPool, InstancePrice]]:
    prices: dict[SpotPool, InstancePrice] = {}
    kept = []
    for pool in capacity.pools:
        price = _pool_price(pool, inventory, pricebook)
        bucket = price.interruption.index if price and price.interruption else 0
        if bucket <= policy.max_interruption_bucket:
            kept.append(pool)
            if price is not None:
                prices[pool] = price
    return replace(capacity, pools=tuple(kept)), prices


def per_replica_on_demand_hourly(
    workload: Workload, inventory: Inventory, pricebook: PriceBook, capacity: Capacity
) -> float | None:
    """Median on-demand cost of what one replica requests, at its node's per-resource rates."""
    cluster = inventory.snapshot.cluster
    costs = []
    for pod in inventory.pods_of(workload):
        node = inventory.nodes.get(pod.node_name or "")
        price = price_node(node, cluster, pricebook) if node else None
        if node is not None and price is not None:
            costs.append(pod_hourly_usd(pod.spec, node, price.on_demand_hourly_usd, pod.labels))
    if costs:
        return statistics.median(costs)
    # Nothing running yet: price the template on the cheapest on-demand node that admits it.
    candidates = []
    for name in capacity.on_demand_nodes:
        node = inventory.nodes[name]
        price = price_node(node, cluster, pricebook)
        if price is not None:
            candidates.append(
                pod_hourly_usd(workload.template, node, price.on_demand_hourly_usd, workload.labels)
            )
    return min(candidates) if candidates else None


def _risk(readiness: SpotReadiness, prices: Mapping[SpotPool, InstancePrice]) -> tuple[Risk, str]:
    if readiness.reasons:
        waived = ", ".join(r.value for r in readiness.reasons)
        return Risk.HIGH, f"spot allowed by annotation despite: {waived}"
    worst = max(
        (p.interruption.index for p in prices.values() if p.interruption is not None), default=0
    )
    if worst >= RISKY_INTERRUPTION_BUCKET:
        labels = sorted({p.interruption.label for p in prices.values() if p.interruption})
        return Risk.MEDIUM, f"pools with frequent interruptions ({', '.join(labels)} a month)"
    return Risk.LOW, ""


def _pool_evidence(pool: SpotPool, price: InstancePrice | None) -> dict[str, JsonValue]:
    return {
        "instance_type": pool.instance_type,
        "zone": pool.zone,
        "nodes": len(pool.nodes),
        "spot_discount": round(price.spot_savings, 4) if price else None,
        "interruption": price.interruption.label if price and price.interruption else None,
    }


def _evidence(
    readiness: SpotReadiness,
    placement: SpotPlacement,
    prices: Mapping[SpotPool, InstancePrice],
    *,
    per_replica: float,
    discount: float,
    moved: int,
    headroom: Headroom,
) -> dict[str, JsonValue]:
    return {
        "replicas": placement.replicas,
        "min_available": placement.min_available,
        "on_demand_replicas": placement.on_demand_replicas,
        "spot_replicas": placement.spot_replicas,
        "replicas_moved": moved,
        "worst_pool_loss": placement.worst_pool_loss,
        "zones": list(placement.zones),
        "pools": [
            {**_pool_evidence(pool, prices.get(pool)), "replicas": placement.spot_by_pool[pool]}
            for pool in placement.pools
        ],
        "surge_on_notice": placement.surge_on_notice,
        "expected_hourly_usd": round(placement.expected_hourly, 6),
        "on_demand_only_hourly_usd": round(placement.on_demand_only_hourly, 6),
        "on_demand_headroom": {
            "pods_needed": headroom.pods_needed,
            "pods_free": headroom.pods_free,
            "nodes_to_add": headroom.nodes_to_add,
            "node_instance_type": headroom.node_instance_type,
            "added_monthly_usd": round(monthly_usd(headroom.added_hourly_usd), 2),
        },
        "per_replica_on_demand_hourly_usd": round(per_replica, 6),
        "spot_discount": round(discount, 4),
        "pdb_created": placement.create_pdb,
        "waived_reasons": [r.value for r in readiness.reasons],
    }


def _pool_terms(
    prices: Mapping[SpotPool, InstancePrice], per_replica: float
) -> dict[SpotPool, PoolTerms]:
    return {
        pool: PoolTerms(per_replica * (1.0 - price.spot_savings), price.interruption)
        for pool, price in prices.items()
    }


def _running(workload: Workload, inventory: Inventory, capacity: Capacity) -> dict[SpotPool, int]:
    pool_of = {name: pool for pool in capacity.pools for name in pool.nodes}
    running: dict[SpotPool, int] = {}
    for pod in inventory.pods_of(workload):
        pool = pool_of.get(pod.node_name or "")
        if pool is not None:
            running[pool] = running.get(pool, 0) + 1
    return running


def recommend_spot_for(
    workload: Workload,
    inventory: Inventory,
    pricebook: PriceBook,
    now: datetime,
    *,
    policy: SpotPolicy,
    settings: SplitSettings | None = None,
    observed_startup_seconds: Mapping[WorkloadId, float] | None = None,
) -> Recommendation | None:
    """The spot recommendation of one workload, or None when there is none worth making."""
    readiness = assess_readiness(workload, inventory, policy, observed_startup_seconds)
    if not readiness.ready:
        return None
    capacity, prices = _usable_pools(
        capacity_for(workload, inventory), inventory, pricebook, policy
    )
    per_replica = per_replica_on_demand_hourly(workload, inventory, pricebook, capacity)
    if per_replica is None:
        return None
    inputs = PlacementInputs(
        per_replica_on_demand_hourly=per_replica,
        pools=_pool_terms(prices, per_replica),
        startup_seconds=startup_seconds_of(workload, observed_startup_seconds),
        running=_running(workload, inventory, capacity),
    )
    placement = plan_placement(readiness, capacity, inputs, policy, settings or SplitSettings())
    if isinstance(placement, PlacementRefusal):
        return None
    on_spot = sum(
        1
        for pod in inventory.pods_of(workload)
        if (node := inventory.nodes.get(pod.node_name or "")) is not None and node.is_spot
    )
    moved = max(placement.spot_replicas - on_spot, 0)
    if moved == 0:
        return None
    headroom = on_demand_headroom(
        workload.template,
        len(inventory.pods_of(workload)) - on_spot,
        capacity.on_demand_nodes,
        inventory,
        pricebook,
        floor=placement.on_demand_replicas,
        worst_pool_loss=placement.worst_pool_loss,
    )
    used = [prices[pool] for pool in placement.pools if pool in prices]
    discount = statistics.mean(p.spot_savings for p in used) if used else 0.0
    current_hourly = (placement.replicas - on_spot) * per_replica + on_spot * per_replica * (
        1.0 - discount
    )
    planned_hourly = placement.expected_hourly + headroom.added_hourly_usd
    saving = monthly_usd(current_hourly - planned_hourly)
    move = MoveTerms(
        saving_hourly=placement.on_demand_only_hourly - planned_hourly,
        excess_usd=moved * per_replica * (1.0 - discount) * inputs.startup_seconds / 3600.0,
        realised_saving_usd=0.0,
        reclaims_per_hour=sum(
            reclaims_per_hour(price.interruption) * placement.spot_by_pool[pool]
            for pool, price in prices.items()
            if pool in placement.spot_by_pool
        ),
        # The floor the split keeps (world.request_for_cluster): 0 for a surge on notice.
        in_place_allowed=placement.surge_on_notice or placement.min_available < placement.replicas,
    )
    if (
        not beats_on_demand(planned_hourly, placement.on_demand_only_hourly)
        or decide_move(move, MoveRule()) is MoveDecision.STAY
        or saving <= 0.0
        or saving < policy.min_monthly_saving_usd
    ):
        return None
    risk, note = _risk(readiness, prices)
    snapshot = inventory.snapshot
    return Recommendation(
        recommendation_id=recommendation_id(
            snapshot,
            RecommendationKind.SPOT,
            f"{workload.kind}/{workload.namespace}/{workload.name}",
        ),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.SPOT,
        workload=workload_ref(workload),
        title=(
            f"Run {placement.spot_replicas} of {placement.replicas} replicas of "
            f"{workload.namespace}/{workload.name} on spot"
        ),
        reason=_reason(placement, headroom),
        evidence=_evidence(
            readiness,
            placement,
            prices,
            per_replica=per_replica,
            discount=discount,
            moved=moved,
            headroom=headroom,
        ),
        risk=risk,
        risk_note=note,
        monthly_saving_usd=round(saving, 2),
        confidence=1.0 if all(not p.estimated for p in prices.values()) else 0.7,
        change_set=placement_change_set(workload, placement, capacity.tolerations, policy),
        computed_from=[workload_version(workload)],
        created_at=now,
    )


def _reason(placement: SpotPlacement, headroom: Headroom) -> str:
    if placement.surge_on_notice:
        text = (
            "the single replica runs on spot; on a reclaim notice a second replica starts on "
            "on-demand and the spot one is drained only once it is Ready"
        )
    else:
        text = (
            f"{placement.on_demand_replicas} replica(s) stay on on-demand, so losing the worst "
            f"spot pool or every spot pool at once leaves {placement.min_available} available; "
            f"the rest spread over {len(placement.pools)} spot pool(s) in "
            f"{len(placement.zones)} zone(s)"
        )
    if headroom.nodes_to_add:
        text += (
            f"; on-demand nodes lack room for the worst pool's {placement.worst_pool_loss} "
            f"pod(s), so {headroom.nodes_to_add} {headroom.node_instance_type} node(s) are "
            f"added (${monthly_usd(headroom.added_hourly_usd):.2f} a month, net of the saving)"
        )
    return text


def recommend_spot(
    snapshot: ClusterSnapshot,
    pricebook: PriceBook,
    now: datetime,
    policy: SpotPolicy | None = None,
    observed_startup_seconds: Mapping[WorkloadId, float] | None = None,
    *,
    settings: SplitSettings | None = None,
) -> list[Recommendation]:
    """Spot recommendations for every workload of a snapshot, largest saving first."""
    inventory = Inventory.build(snapshot)
    chosen = policy or SpotPolicy()
    found = [
        rec
        for workload in snapshot.workloads
        if (
            rec := recommend_spot_for(
                workload,
                inventory,
                pricebook,
                now,
                policy=chosen,
                settings=settings,
                observed_startup_seconds=observed_startup_seconds,
            )
        )
        is not None
    ]
    return sorted(found, key=lambda r: -r.monthly_saving_usd)
