"""Allocate node cost to containers for one stretch of time, OpenCost style, with idle left over.

Each container pays max(request, usage) of CPU and memory, and its fraction of the node's GPUs,
at the node's per-resource rates, for the seconds it ran. When a node's containers together claim
more of a resource than the node has (usage bursting past requests), their charges for that
resource are scaled down to the node's capacity, so no node is ever charged more than its price.
What the containers do not pay is the node's idle cost: allocated + idle = node cost, always.

Beside that request-based GPU cost, each container has a usage-based GPU cost: the GPU rate times
the GPU it actually used (DCGM duty cycle or memory used, the larger, in physical GPUs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from recommender.cost.rates import ReferencePrices, ResourceRates, split_node_price

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class NodeHour:
    """A node for a stretch of time: its price, its capacity and how long it ran."""

    node: str
    hourly_usd: float
    cores: float
    memory_gib: float
    gpus: float
    """Physical GPUs."""
    seconds: float
    instance_type: str | None = None
    spot: bool = False
    gpu_duty: float | None = None
    """Mean duty cycle over the node's GPUs, where DCGM reported one."""


@dataclass(frozen=True, slots=True)
class ContainerHour:
    """A container for a stretch of time: what it reserved and what it used, on which node."""

    node: str
    namespace: str
    pod: str
    container: str
    workload: str
    """`Kind/name` of the controller, or `Pod/name` for a bare pod."""
    seconds: float
    cpu_request_cores: float = 0.0
    cpu_usage_cores: float = 0.0
    memory_request_gib: float = 0.0
    memory_usage_gib: float = 0.0
    gpu_fraction: float = 0.0
    """Physical GPUs held (MIG slice, shared replica, milli share or claim, as a fraction)."""
    gpu_used: float | None = None
    """Physical GPUs actually busy (duty cycle or memory), where DCGM reported any."""
    gpu_duty: float | None = None
    """Mean duty cycle of the GPUs DCGM attributed to the container, where it did."""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContainerCost:
    """What one container costs for the stretch, by resource."""

    usage: ContainerHour
    cpu_usd: float
    memory_usd: float
    gpu_usd: float
    gpu_usage_usd: float

    @property
    def total_usd(self) -> float:
        """CPU + memory + request-based GPU cost."""
        return self.cpu_usd + self.memory_usd + self.gpu_usd

    @property
    def seconds(self) -> float:
        """How long the container ran in the stretch."""
        return self.usage.seconds

    @property
    def gpu_seconds(self) -> float:
        """Physical GPUs held times the seconds held."""
        return self.usage.gpu_fraction * self.usage.seconds

    @property
    def gpu_duty_seconds(self) -> float:
        """Its own GPUs' duty cycle times the seconds (0 where DCGM attributed none)."""
        return (self.usage.gpu_duty or 0.0) * self.usage.seconds

    @property
    def duty_sampled_seconds(self) -> float:
        """The seconds its own GPUs' duty cycle covers."""
        return self.usage.seconds if self.usage.gpu_duty is not None else 0.0


@dataclass(frozen=True, slots=True)
class NodeCost:
    """What one node costs for the stretch, what its containers pay and what is idle."""

    node: NodeHour
    rates: ResourceRates
    total_usd: float
    cpu_idle_usd: float
    memory_idle_usd: float
    gpu_idle_usd: float
    gpu_allocated: float
    """Physical GPUs held by containers, averaged over the stretch."""

    @property
    def idle_usd(self) -> float:
        """The node's cost no container pays."""
        return self.cpu_idle_usd + self.memory_idle_usd + self.gpu_idle_usd

    @property
    def allocated_usd(self) -> float:
        """The node's cost its containers pay."""
        return self.total_usd - self.idle_usd

    @property
    def seconds(self) -> float:
        """How long the node ran in the stretch."""
        return self.node.seconds

    @property
    def gpu_allocated_seconds(self) -> float:
        """Physical GPUs held by containers times the seconds."""
        return self.gpu_allocated * self.node.seconds

    @property
    def gpu_duty_seconds(self) -> float:
        """Its GPUs' mean duty cycle times the seconds (0 where DCGM reported none)."""
        return (self.node.gpu_duty or 0.0) * self.node.seconds

    @property
    def duty_sampled_seconds(self) -> float:
        """The seconds its GPUs' duty cycle covers."""
        return self.node.seconds if self.node.gpu_duty is not None else 0.0


@dataclass(frozen=True, slots=True)
class Allocation:
    """Every container's and every node's cost for one stretch of time."""

    containers: tuple[ContainerCost, ...]
    nodes: tuple[NodeCost, ...]

    @property
    def total_usd(self) -> float:
        """What all nodes cost."""
        return sum(node.total_usd for node in self.nodes)

    @property
    def idle_usd(self) -> float:
        """What no container pays."""
        return sum(node.idle_usd for node in self.nodes)


@dataclass
class _Claims:
    cpu: float = 0.0
    memory: float = 0.0
    gpu: float = 0.0


def _scale(claimed: float, capacity: float) -> float:
    return capacity / claimed if claimed > capacity > 0 else (0.0 if capacity <= 0 else 1.0)


def _allocate_node(
    node: NodeHour, containers: Sequence[ContainerHour], rates: ResourceRates
) -> tuple[NodeCost, list[ContainerCost]]:
    hours = node.seconds / SECONDS_PER_HOUR
    claims = _Claims()
    for c in containers:
        claims.cpu += max(c.cpu_request_cores, c.cpu_usage_cores) * c.seconds
        claims.memory += max(c.memory_request_gib, c.memory_usage_gib) * c.seconds
        claims.gpu += c.gpu_fraction * c.seconds
    cpu_scale = _scale(claims.cpu, node.cores * node.seconds)
    memory_scale = _scale(claims.memory, node.memory_gib * node.seconds)
    gpu_scale = _scale(claims.gpu, node.gpus * node.seconds)
    costs = []
    for c in containers:
        c_hours = c.seconds / SECONDS_PER_HOUR
        cpu = max(c.cpu_request_cores, c.cpu_usage_cores) * cpu_scale
        memory = max(c.memory_request_gib, c.memory_usage_gib) * memory_scale
        used = min(c.gpu_used, node.gpus) if c.gpu_used is not None else 0.0
        costs.append(
            ContainerCost(
                usage=c,
                cpu_usd=cpu * rates.cpu_core_hour * c_hours,
                memory_usd=memory * rates.memory_gib_hour * c_hours,
                gpu_usd=c.gpu_fraction * gpu_scale * rates.gpu_hour * c_hours,
                gpu_usage_usd=used * rates.gpu_hour * c_hours,
            )
        )
    cpu_total = node.cores * rates.cpu_core_hour * hours
    memory_total = node.memory_gib * rates.memory_gib_hour * hours
    gpu_total = node.gpus * rates.gpu_hour * hours
    total = node.hourly_usd * hours
    gpu_allocated = claims.gpu * gpu_scale / node.seconds if node.seconds > 0 else 0.0
    # A node whose capacity is unknown has no rates: its whole price is idle.
    unpriced = max(total - (cpu_total + memory_total + gpu_total), 0.0)
    cost = NodeCost(
        node=node,
        rates=rates,
        total_usd=total,
        cpu_idle_usd=max(cpu_total - sum(c.cpu_usd for c in costs), 0.0) + unpriced,
        memory_idle_usd=max(memory_total - sum(c.memory_usd for c in costs), 0.0),
        gpu_idle_usd=max(gpu_total - sum(c.gpu_usd for c in costs), 0.0),
        gpu_allocated=gpu_allocated,
    )
    return cost, costs


def allocate(
    nodes: Iterable[NodeHour],
    containers: Iterable[ContainerHour],
    reference: ReferencePrices | None = None,
) -> Allocation:
    """Charge every container on a priced node its share; containers elsewhere are left out."""
    by_node: defaultdict[str, list[ContainerHour]] = defaultdict(list)
    for container in containers:
        by_node[container.node].append(container)
    node_costs: list[NodeCost] = []
    container_costs: list[ContainerCost] = []
    for node in nodes:
        rates = split_node_price(
            node.hourly_usd,
            cores=node.cores,
            memory_gib=node.memory_gib,
            gpus=node.gpus,
            reference=reference,
        )
        node_cost, costs = _allocate_node(node, by_node.get(node.node, ()), rates)
        node_costs.append(node_cost)
        container_costs.extend(costs)
    return Allocation(tuple(container_costs), tuple(node_costs))
