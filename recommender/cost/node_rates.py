"""Per-resource rates of one node, and what a set of CPU and memory requests costs at them.

The same split cost allocation uses, so a saving and an allocation price a core alike: on a GPU
node most of the price is the GPUs', and a CPU request cut is worth only the CPU's share.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.resources import Resources
from protocol.snapshot import Node, PodSpecSummary
from recommender.cost.gpu_share import container_gpu_fraction, physical_gpus
from recommender.cost.rates import ReferencePrices, ResourceRates, split_node_price

GIB = 2**30


def node_rates(
    node: Node, hourly_usd: float, reference: ReferencePrices | None = None
) -> ResourceRates:
    """The node's price split over its capacity of cores, memory and physical GPUs."""
    cpu = node.capacity.cpu_millis or node.allocatable.cpu_millis or 0
    memory = node.capacity.memory_bytes or node.allocatable.memory_bytes or 0
    return split_node_price(
        hourly_usd,
        cores=cpu / 1000,
        memory_gib=memory / GIB,
        gpus=float(physical_gpus(node)),
        reference=reference,
    )


def cpu_memory_hourly_usd(requests: Resources, rates: ResourceRates) -> float:
    """USD per hour of the CPU and memory `requests` reserve at `rates`."""
    cores = (requests.cpu_millis or 0) / 1000
    gib = (requests.memory_bytes or 0) / GIB
    return cores * rates.cpu_core_hour + gib * rates.memory_gib_hour


def pod_hourly_usd(
    spec: PodSpecSummary,
    node: Node,
    hourly_usd: float,
    labels: Mapping[str, str] | None = None,
    reference: ReferencePrices | None = None,
) -> float:
    """USD per hour of what a pod requests on `node`: cores, memory and its fraction of GPUs.

    The GPU fraction follows the node's sharing (a time-sliced replica, a MIG slice or a
    `gpu_milli` share is charged its fraction of a physical GPU), as in cost allocation.
    """
    rates = node_rates(node, hourly_usd, reference)
    total = 0.0
    for container in spec.containers:
        gpus = container_gpu_fraction(container.requests, node, labels)
        total += cpu_memory_hourly_usd(container.requests, rates) + gpus * rates.gpu_hour
    return total
