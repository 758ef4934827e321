"""Whether on-demand capacity absorbs the pods of the worst spot pool's loss.

The on-demand floor keeps `on_demand_replicas` pods on on-demand nodes; when the largest pool
is reclaimed its pods need room too until spot returns. Room is counted in whole pods of the
workload's template, best case first: each on-demand node that admits the template offers as
many as fit in its free allocatable (what its pods do not request). Pods of the workload
already on on-demand keep their room. What is missing is bought as nodes of the cheapest
on-demand instance type the cluster already runs for this workload, and their cost is part of
the recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.resources import Resources
from protocol.snapshot import Node, PodSpecSummary
from recommender.consolidation.fit import Room
from recommender.inventory import Inventory
from recommender.pricing.cost import pod_requests, price_node
from recommender.pricing.pricebook import PriceBook

MAX_PODS_COUNTED = 10_000
"""Stop counting room on one node beyond this many pods (a template without requests)."""


@dataclass(frozen=True, slots=True)
class Headroom:
    """On-demand room for the floor plus the worst pool's pods, and what must be added."""

    pods_needed: int
    pods_free: int
    nodes_to_add: int
    node_instance_type: str | None
    added_hourly_usd: float

    @property
    def sufficient(self) -> bool:
        """Whether existing on-demand nodes absorb the worst loss."""
        return self.pods_free >= self.pods_needed


def pods_fitting(room: Room, requests: Resources) -> int:
    """How many pods of `requests` fit in `room` (consumes it)."""
    count = 0
    while count < MAX_PODS_COUNTED and room.fits(requests):
        room.take(requests)
        count += 1
    return count


def on_demand_headroom(
    template: PodSpecSummary,
    own_on_demand: int,
    on_demand_nodes: Sequence[str],
    inventory: Inventory,
    pricebook: PriceBook,
    *,
    floor: int,
    worst_pool_loss: int,
) -> Headroom:
    """Room on on-demand for `floor + worst_pool_loss` pods, and the nodes that would add it."""
    requests = pod_requests(template)
    needed = max(floor + worst_pool_loss - own_on_demand, 0)
    free = 0
    for name in on_demand_nodes:
        node = inventory.nodes[name]
        room = Room.of(node, [pod.spec for pod in inventory.pods_on(name)])
        free += pods_fitting(room, requests)
    missing = max(needed - free, 0)
    if missing == 0:
        return Headroom(needed, free, 0, None, 0.0)
    cluster = inventory.snapshot.cluster
    offers: list[tuple[float, int, Node]] = []
    for name in on_demand_nodes:
        node = inventory.nodes[name]
        price = price_node(node, cluster, pricebook)
        per_node = pods_fitting(Room.of(node, []), requests)
        if price is not None and per_node > 0:
            offers.append((price.on_demand_hourly_usd / per_node, per_node, node))
    if not offers:
        return Headroom(needed, free, missing, None, math.inf)
    _unit, per_node, node = min(offers, key=lambda o: (o[0], o[2].name))
    count = math.ceil(missing / per_node)
    price = price_node(node, cluster, pricebook)
    hourly = price.on_demand_hourly_usd if price is not None else math.inf
    return Headroom(needed, free, count, node.instance_type, count * hourly)
