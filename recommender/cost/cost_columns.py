"""A cluster's hourly cost allocation as arrays: what ingest adds to the rollups every minute.

`allocation.allocate` charges containers one object at a time; ingest allocates every minute of
every cluster, a thousand containers each. Here the same charges come from arrays over the
inventory's running containers and priced nodes (`PricedInventory`, whose rows say what does not
change from one minute to the next), computed in the same order with the same operations, so
every figure is the float `allocate` makes: each container pays max(request, usage) of CPU and
memory and its fraction of the node's GPUs at the node's rates, scaled down where a node's
containers together claim more than it has; what they do not pay is the node's idle cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import Node, Pod
from recommender.cost.gpu_share import container_gpu_fraction, physical_gpus
from recommender.cost.rates import ReferencePrices, ResourceRates, split_node_price
from recommender.cost.sample_hours import ContainerRef, KnownIds, SampleFigures, SampleHours
from recommender.ordered_groups import group_sums

GIB = 2**30
SECONDS_PER_HOUR = 3600.0

CONTAINER_SUMS = (
    "seconds",
    "cpu_usd",
    "memory_usd",
    "gpu_usd",
    "gpu_usage_usd",
    "gpu_seconds",
    "gpu_duty_seconds",
    "duty_sampled_seconds",
)
"""The summed figures of a container's stretch (as `allocation.ContainerCost` names them)."""
NODE_SUMS = (
    "seconds",
    "total_usd",
    "cpu_idle_usd",
    "memory_idle_usd",
    "gpu_idle_usd",
    "gpu_allocated_seconds",
    "gpu_duty_seconds",
    "duty_sampled_seconds",
)
"""The summed figures of a node's stretch (as `allocation.NodeCost` names them)."""

_Name = TypeVar("_Name")


@dataclass(frozen=True, slots=True)
class ContainerRow:
    """What a running container's charges depend on, besides its usage."""

    node: str
    namespace: str
    pod: str
    container: str
    workload: str
    """`Kind/name` of the controller, or `Pod/name` for a bare pod."""
    labels: Mapping[str, str]
    cpu_request_cores: float
    memory_request_gib: float
    gpu_fraction: float


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A priced node: its price, capacity and rates."""

    node: str
    hourly_usd: float
    cores: float
    memory_gib: float
    gpus: float
    instance_type: str | None
    spot: bool
    rates: ResourceRates


def _workload(pod: Pod) -> str:
    owner = pod.controller
    return f"{owner.kind}/{owner.name}" if owner is not None else f"Pod/{pod.name}"


def container_rows(pod: Pod, node: Node) -> tuple[ContainerRow, ...]:
    """The rows of a pod's containers, running on `node`."""
    workload = _workload(pod)
    return tuple(
        ContainerRow(
            node=node.name,
            namespace=pod.namespace,
            pod=pod.name,
            container=c.name,
            workload=workload,
            labels=pod.labels,
            cpu_request_cores=(c.requests.cpu_millis or 0) / 1000,
            memory_request_gib=(c.requests.memory_bytes or 0) / GIB,
            gpu_fraction=container_gpu_fraction(c.requests, node, pod.labels),
        )
        for c in pod.spec.containers
    )


def node_row(node: Node, hourly_usd: float, reference: ReferencePrices | None = None) -> NodeRow:
    """The row of a node priced at `hourly_usd`."""
    cores = (node.capacity.cpu_millis or node.allocatable.cpu_millis or 0) / 1000
    memory_gib = (node.capacity.memory_bytes or node.allocatable.memory_bytes or 0) / GIB
    gpus = float(physical_gpus(node))
    return NodeRow(
        node=node.name,
        hourly_usd=hourly_usd,
        cores=cores,
        memory_gib=memory_gib,
        gpus=gpus,
        instance_type=node.instance_type,
        spot=node.is_spot,
        rates=split_node_price(
            hourly_usd, cores=cores, memory_gib=memory_gib, gpus=gpus, reference=reference
        ),
    )


def _column(values: Sequence[float]) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class PricedInventory:
    """The priced nodes and the containers running on them, with their figures as arrays.

    The arrays are read off the rows once, when the inventory is made: a cluster whose nodes
    and pods did not change keeps its inventory, and each hour it is charged for reads them.
    """

    nodes: Sequence[NodeRow]
    containers: Sequence[ContainerRow]
    node_of: NDArray[np.int64]
    """Per container: its node's position in `nodes`."""
    refs: Sequence[ContainerRef]
    """Per container: (namespace, pod, container), as samples name it."""
    ref_index: Mapping[ContainerRef, int]
    """An id per distinct ref (and maybe refs of containers no longer held), 0..len-1."""
    ref_ids: NDArray[np.int64]
    """Per container: its ref's id."""
    node_index: Mapping[str, int]
    """An id per distinct node name, 0..len-1 (its position in `nodes` where names differ)."""
    node_ids: NDArray[np.int64]
    """Per node: its name's id."""
    cpu_request_cores: NDArray[np.float64]
    memory_request_gib: NDArray[np.float64]
    gpu_fraction: NDArray[np.float64]
    """Per container."""
    cores: NDArray[np.float64]
    memory_gib: NDArray[np.float64]
    gpus: NDArray[np.float64]
    hourly_usd: NDArray[np.float64]
    cpu_rate: NDArray[np.float64]
    memory_rate: NDArray[np.float64]
    gpu_rate: NDArray[np.float64]
    """Per node."""
    known: KnownIds = field(default_factory=KnownIds, compare=False, repr=False)
    """The ids of the last samples' series looked up in this numbering (`ref_index`,
    `node_index`), passed on to the inventories `replaced` makes of this one."""

    @classmethod
    def of(cls, nodes: Sequence[NodeRow], containers: Sequence[ContainerRow]) -> PricedInventory:
        """The inventory of these rows (every container's node among `nodes`)."""
        position = {row.node: i for i, row in enumerate(nodes)}
        node_of = np.array([position[row.node] for row in containers], dtype=np.int64)
        refs = [(r.namespace, r.pod, r.container) for r in containers]
        ref_index, ref_ids = _numbered(refs)
        node_index, node_ids = _numbered([row.node for row in nodes])
        return cls(
            nodes,
            containers,
            node_of,
            refs=refs,
            ref_index=ref_index,
            ref_ids=ref_ids,
            node_index=node_index,
            node_ids=node_ids,
            cpu_request_cores=_column([r.cpu_request_cores for r in containers]),
            memory_request_gib=_column([r.memory_request_gib for r in containers]),
            gpu_fraction=_column([r.gpu_fraction for r in containers]),
            cores=_column([n.cores for n in nodes]),
            memory_gib=_column([n.memory_gib for n in nodes]),
            gpus=_column([n.gpus for n in nodes]),
            hourly_usd=_column([n.hourly_usd for n in nodes]),
            cpu_rate=_column([n.rates.cpu_core_hour for n in nodes]),
            memory_rate=_column([n.rates.memory_gib_hour for n in nodes]),
            gpu_rate=_column([n.rates.gpu_hour for n in nodes]),
        )

    def replaced(self, rows: Mapping[int, ContainerRow]) -> PricedInventory:
        """This inventory with the container at each position of `rows` replaced by its row
        (on one of this inventory's nodes); no other container moves."""
        containers = list(self.containers)
        refs = list(self.refs)
        ref_index, ref_ids = self.ref_index, self.ref_ids.copy()
        grown: dict[ContainerRef, int] | None = None
        node_of = self.node_of.copy()
        cpu = self.cpu_request_cores.copy()
        memory = self.memory_request_gib.copy()
        fraction = self.gpu_fraction.copy()
        position = self.node_index
        if len(position) != len(self.nodes):
            position = {row.node: i for i, row in enumerate(self.nodes)}
        for at, row in rows.items():
            ref = (row.namespace, row.pod, row.container)
            containers[at] = row
            refs[at] = ref
            known = ref_index.get(ref)
            if known is None:
                # Ids are only ever added: every id already handed out keeps its meaning.
                grown = dict(ref_index) if grown is None else grown
                known = grown[ref] = len(grown)
                ref_index = grown
            ref_ids[at] = known
            node_of[at] = position[row.node]
            cpu[at] = row.cpu_request_cores
            memory[at] = row.memory_request_gib
            fraction[at] = row.gpu_fraction
        if len(ref_index) > 2 * len(refs) + 64:
            ref_index, ref_ids = _numbered(refs)
        return dataclasses.replace(
            self,
            containers=containers,
            refs=refs,
            ref_index=ref_index,
            ref_ids=ref_ids,
            node_of=node_of,
            cpu_request_cores=cpu,
            memory_request_gib=memory,
            gpu_fraction=fraction,
        )


def _numbered(names: Sequence[_Name]) -> tuple[dict[_Name, int], NDArray[np.int64]]:
    """(an id per distinct name, in first-seen order; each entry's id)."""
    index: dict[_Name, int] = {}
    ids = np.array([index.setdefault(name, len(index)) for name in names], dtype=np.int64)
    return index, ids


@dataclass(frozen=True)
class CostColumns:
    """One clock hour's charges (or the part of it an upload covers), as arrays."""

    hour: datetime
    containers: Sequence[ContainerRow]
    container_sums: Mapping[str, NDArray[np.float64]]
    """Per name of `CONTAINER_SUMS`, one figure per container."""
    nodes: Sequence[NodeRow]
    node_sums: Mapping[str, NDArray[np.float64]]
    """Per name of `NODE_SUMS`, one figure per node."""


def _scale(claimed: NDArray[np.float64], capacity: NDArray[np.float64]) -> NDArray[np.float64]:
    """capacity / claimed where claims exceed a positive capacity; 0 without capacity; else 1."""
    over = (claimed > capacity) & (capacity > 0)
    ratio = np.divide(capacity, claimed, out=np.ones_like(claimed), where=over)
    return np.where(capacity <= 0, 0.0, ratio)


def _hour(
    inventory: PricedInventory, sampled: SampleFigures, hour: datetime, seconds: float
) -> CostColumns:
    rows, nodes, node_of, ids = (
        inventory.containers,
        inventory.nodes,
        inventory.node_of,
        inventory.ref_ids,
    )
    count = len(nodes)
    cpu_use = sampled.cpu.at(hour, ids)
    memory_use = sampled.memory.at(hour, ids)
    gpu_used = sampled.gpu_used.at(hour, ids)
    gpu_duty = sampled.gpu_duty.at(hour, ids)
    fraction = inventory.gpu_fraction
    cores, memory, gpus = inventory.cores, inventory.memory_gib, inventory.gpus
    cpu_rate, memory_rate, gpu_rate = inventory.cpu_rate, inventory.memory_rate, inventory.gpu_rate
    cpu_claim = np.maximum(inventory.cpu_request_cores, cpu_use)
    memory_claim = np.maximum(inventory.memory_request_gib, memory_use)
    # Claims add up container by container, as `allocate` adds them.
    claims_cpu = group_sums(node_of, cpu_claim * seconds, count)
    claims_memory = group_sums(node_of, memory_claim * seconds, count)
    claims_gpu = group_sums(node_of, fraction * seconds, count)
    cpu_scale = _scale(claims_cpu, cores * seconds)
    memory_scale = _scale(claims_memory, memory * seconds)
    gpu_scale = _scale(claims_gpu, gpus * seconds)
    hours = seconds / SECONDS_PER_HOUR
    cpu_usd = cpu_claim * cpu_scale[node_of] * cpu_rate[node_of] * hours
    memory_usd = memory_claim * memory_scale[node_of] * memory_rate[node_of] * hours
    gpu_usd = fraction * gpu_scale[node_of] * gpu_rate[node_of] * hours
    used = np.where(np.isnan(gpu_used), 0.0, np.minimum(gpu_used, gpus[node_of]))
    sampled_duty = ~np.isnan(gpu_duty)
    container_sums = {
        "seconds": np.full(len(rows), seconds),
        "cpu_usd": cpu_usd,
        "memory_usd": memory_usd,
        "gpu_usd": gpu_usd,
        "gpu_usage_usd": used * gpu_rate[node_of] * hours,
        "gpu_seconds": fraction * seconds,
        "gpu_duty_seconds": np.where(sampled_duty, gpu_duty, 0.0) * seconds,
        "duty_sampled_seconds": np.where(sampled_duty, seconds, 0.0),
    }
    cpu_total = cores * cpu_rate * hours
    memory_total = memory * memory_rate * hours
    gpu_total = gpus * gpu_rate * hours
    total = inventory.hourly_usd * hours
    # A node whose capacity is unknown has no rates: its whole price is idle.
    unpriced = np.maximum(total - (cpu_total + memory_total + gpu_total), 0.0)
    paid = {
        name: group_sums(node_of, values, count)
        for name, values in (("cpu", cpu_usd), ("memory", memory_usd), ("gpu", gpu_usd))
    }
    node_duty = sampled.node_duty.at(hour, inventory.node_ids)
    node_sampled = ~np.isnan(node_duty)
    allocated = claims_gpu * gpu_scale / seconds if seconds > 0 else np.zeros(count)
    node_sums = {
        "seconds": np.full(count, seconds),
        "total_usd": total,
        "cpu_idle_usd": np.maximum(cpu_total - paid["cpu"], 0.0) + unpriced,
        "memory_idle_usd": np.maximum(memory_total - paid["memory"], 0.0),
        "gpu_idle_usd": np.maximum(gpu_total - paid["gpu"], 0.0),
        "gpu_allocated_seconds": allocated * seconds,
        "gpu_duty_seconds": np.where(node_sampled, node_duty, 0.0) * seconds,
        "duty_sampled_seconds": np.where(node_sampled, seconds, 0.0),
    }
    return CostColumns(hour, rows, container_sums, nodes, node_sums)


def allocate_hours(
    inventory: PricedInventory, sampled: SampleHours, coverage: Mapping[datetime, float]
) -> list[CostColumns]:
    """The charges of every clock hour `coverage` names (seconds covered), oldest first."""
    figures = sampled.figures(inventory.ref_index, inventory.node_index, inventory.known)
    return [_hour(inventory, figures, hour, seconds) for hour, seconds in sorted(coverage.items())]
