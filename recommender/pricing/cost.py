"""What a node, a pod's share of a node and a saving cost, from the price book.

A pod pays for the share of its node it reserves: the larger of its CPU and memory shares, or
its GPU share when the node has GPUs and the pod holds any (GPUs dominate such a node's price).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.resources import Resources
from protocol.snapshot import LABEL_REGION, ClusterInfo, Node, PodSpecSummary
from recommender.pricing.estimate import Shape
from recommender.pricing.pricebook import InstancePrice, PriceBook

HOURS_PER_MONTH = 730.0
GIB = 2**30
MIG_COMPUTE_SLICES = 7
"""Compute slices of an A100/H100; a `3g.40gb` device is 3/7 of a GPU."""


@dataclass(frozen=True, slots=True)
class NodePrice:
    """What one node costs per hour, and at which terms."""

    node: str
    hourly_usd: float
    """The price actually paid: the spot price on spot capacity, on-demand otherwise."""
    on_demand_hourly_usd: float
    spot: bool
    estimated: bool
    price: InstancePrice


def monthly_usd(hourly_usd: float) -> float:
    """An hourly amount over a month of 730 hours."""
    return hourly_usd * HOURS_PER_MONTH


def gpu_equivalents(resources: Resources) -> float:
    """Whole GPUs plus MIG devices as fractions of a GPU."""
    fraction = 0.0
    for profile, count in resources.mig_slices.items():
        head = profile.split("g.", 1)[0]
        slices = int(head) if head.isdigit() else 1
        fraction += count * slices / MIG_COMPUTE_SLICES
    return resources.gpus + fraction


def node_gpus(node: Node) -> float:
    """GPUs a node offers (allocatable, or the discovered count)."""
    allocatable = gpu_equivalents(node.allocatable)
    if allocatable > 0:
        return allocatable
    return float(node.gpu.count) if node.gpu is not None else 0.0


def node_shape(node: Node) -> Shape:
    """The node's shape from its capacity, used when its instance type is not catalogued."""
    cpu = node.capacity.cpu_millis or node.allocatable.cpu_millis
    memory = node.capacity.memory_bytes or node.allocatable.memory_bytes
    return Shape(
        vcpu=cpu / 1000 if cpu else None,
        memory_gib=memory / GIB if memory else None,
        gpus=round(node_gpus(node)),
    )


def price_node(node: Node, cluster: ClusterInfo, pricebook: PriceBook) -> NodePrice | None:
    """Price a node from its instance type, region and capacity label."""
    region = node.labels.get(LABEL_REGION) or cluster.region
    price = pricebook.price(cluster.provider.value, region, node.instance_type, node_shape(node))
    if price is None:
        return None
    hourly = price.spot_hourly if node.is_spot else price.on_demand_hourly
    return NodePrice(
        node=node.name,
        hourly_usd=hourly,
        on_demand_hourly_usd=price.on_demand_hourly,
        spot=node.is_spot,
        estimated=price.estimated or (node.is_spot and price.spot_savings_estimated),
        price=price,
    )


def pod_requests(spec: PodSpecSummary) -> Resources:
    """The sum of a pod's container requests."""
    cpu = sum(c.requests.cpu_millis or 0 for c in spec.containers)
    memory = sum(c.requests.memory_bytes or 0 for c in spec.containers)
    extended: dict[str, int] = {}
    for container in spec.containers:
        for name, count in container.requests.extended.items():
            extended[name] = extended.get(name, 0) + count
    return Resources(cpu_millis=cpu, memory_bytes=memory, extended=extended)


def share_of_node(requests: Resources, node: Node) -> float:
    """The share of a node that `requests` reserve (GPU share dominating on GPU nodes)."""
    gpus = node_gpus(node)
    wanted_gpus = gpu_equivalents(requests)
    if gpus > 0 and wanted_gpus > 0:
        return min(wanted_gpus / gpus, 1.0)
    cpu_alloc = node.allocatable.cpu_millis or 0
    memory_alloc = node.allocatable.memory_bytes or 0
    cpu_share = (requests.cpu_millis or 0) / cpu_alloc if cpu_alloc else 0.0
    memory_share = (requests.memory_bytes or 0) / memory_alloc if memory_alloc else 0.0
    return min(max(cpu_share, memory_share), 1.0)


def requests_hourly_cost(requests: Resources, node: Node, node_price: NodePrice) -> float:
    """USD per hour of the share of `node` that `requests` reserve."""
    return node_price.hourly_usd * share_of_node(requests, node)
