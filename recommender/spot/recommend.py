"""Spot recommendations for a snapshot: ready workloads, placed and priced.

Saving = replicas moved x per-replica on-demand cost x spot discount, over a 730-hour month.
The per-replica cost is the replica's share of the node it runs on, at that node's on-demand
price; the discount is the mean advisor discount of the pools the replicas go to.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from pydantic import JsonValue

from protocol.recommendation import Recommendation, RecommendationKind, Risk
from protocol.snapshot import LABEL_REGION, ClusterSnapshot, Workload
from recommender.consolidation.inventory import (
    Inventory,
    WorkloadId,
    recommendation_id,
    workload_ref,
    workload_version,
)
from recommender.pricing.cost import monthly_usd, pod_requests, price_node, share_of_node
from recommender.pricing.pricebook import InstancePrice, PriceBook
from recommender.spot.placement import PlacementRefusal, SpotPlacement, plan_placement
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool, capacity_for
from recommender.spot.readiness import SpotReadiness, assess_readiness
from recommender.spot.scheduling import placement_change_set

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
    """Median on-demand cost of one replica's share of the node it runs on."""
    cluster = inventory.snapshot.cluster
    costs = []
    for pod in inventory.pods_of(workload):
        node = inventory.nodes.get(pod.node_name or "")
        price = price_node(node, cluster, pricebook) if node else None
        if node is not None and price is not None:
            costs.append(price.on_demand_hourly_usd * share_of_node(pod_requests(pod.spec), node))
    if costs:
        return statistics.median(costs)
    # Nothing running yet: price the template on the cheapest on-demand node that admits it.
    requests = pod_requests(workload.template)
    candidates = []
    for name in capacity.on_demand_nodes:
        node = inventory.nodes[name]
        price = price_node(node, cluster, pricebook)
        if price is not None:
            candidates.append(price.on_demand_hourly_usd * share_of_node(requests, node))
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
) -> dict[str, JsonValue]:
    return {
        "replicas": placement.replicas,
        "min_available": placement.min_available,
        "on_demand_replicas": placement.on_demand_replicas,
        "spot_replicas": placement.spot_replicas,
        "replicas_moved": moved,
        "worst_pool_loss": placement.worst_pool_loss,
        "zones": list(placement.zones),
        "pools": [_pool_evidence(pool, prices.get(pool)) for pool in placement.pools],
        "per_replica_on_demand_hourly_usd": round(per_replica, 6),
        "spot_discount": round(discount, 4),
        "pdb_created": placement.create_pdb,
        "waived_reasons": [r.value for r in readiness.reasons],
    }


def recommend_spot_for(
    workload: Workload,
    inventory: Inventory,
    pricebook: PriceBook,
    now: datetime,
    *,
    policy: SpotPolicy,
    observed_startup_seconds: Mapping[WorkloadId, float] | None = None,
) -> Recommendation | None:
    """The spot recommendation of one workload, or None when there is none worth making."""
    readiness = assess_readiness(workload, inventory, policy, observed_startup_seconds)
    if not readiness.ready:
        return None
    capacity, prices = _usable_pools(
        capacity_for(workload, inventory), inventory, pricebook, policy
    )
    placement = plan_placement(readiness, capacity, policy)
    if isinstance(placement, PlacementRefusal):
        return None
    per_replica = per_replica_on_demand_hourly(workload, inventory, pricebook, capacity)
    on_spot = sum(
        1
        for pod in inventory.pods_of(workload)
        if (node := inventory.nodes.get(pod.node_name or "")) is not None and node.is_spot
    )
    moved = max(placement.spot_replicas - on_spot, 0)
    if per_replica is None or moved == 0:
        return None
    discount = statistics.mean(p.spot_savings for p in prices.values()) if prices else 0.0
    saving = monthly_usd(moved * per_replica * discount)
    if saving < policy.min_monthly_saving_usd:
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
        reason=(
            f"{placement.on_demand_replicas} replica(s) stay on on-demand and the rest spread "
            f"over {len(placement.pools)} spot pools in {len(placement.zones)} zone(s), so one "
            f"pool's reclaim takes at most {placement.worst_pool_loss} replica(s) and never "
            f"breaks the budget of {placement.min_available} available"
        ),
        evidence=_evidence(
            readiness, placement, prices, per_replica=per_replica, discount=discount, moved=moved
        ),
        risk=risk,
        risk_note=note,
        monthly_saving_usd=round(saving, 2),
        confidence=1.0 if all(not p.estimated for p in prices.values()) else 0.7,
        change_set=placement_change_set(workload, placement, capacity.tolerations, policy),
        computed_from=[workload_version(workload)],
        created_at=now,
    )


def recommend_spot(
    snapshot: ClusterSnapshot,
    pricebook: PriceBook,
    now: datetime,
    policy: SpotPolicy | None = None,
    observed_startup_seconds: Mapping[WorkloadId, float] | None = None,
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
                observed_startup_seconds=observed_startup_seconds,
            )
        )
        is not None
    ]
    return sorted(found, key=lambda r: -r.monthly_saving_usd)
