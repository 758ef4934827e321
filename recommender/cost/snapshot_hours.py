"""One cluster snapshot as hours of cost: which nodes and containers ran, for how long, using what.

A snapshot carries the inventory as it was at `taken_at` and the usage samples gathered since the
previous snapshot. The samples say which time the snapshot covers (each container sample covers
the `window_seconds` before its timestamp); the inventory is taken to hold over that time. Each
clock hour the covered time touches becomes one allocation, so consecutive snapshots add up to
hourly totals without overlapping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from protocol.snapshot import ClusterInfo, ClusterSnapshot, Node, Pod, PodPhase
from recommender.cost.allocation import Allocation, ContainerHour, NodeHour, allocate
from recommender.cost.gpu_share import container_gpu_fraction, mig_fraction, physical_gpus
from recommender.cost.rates import ReferencePrices
from recommender.cost.sample_hours import covered_hours
from recommender.pricing.cost import price_node
from recommender.pricing.pricebook import PriceBook

GIB = 2**30
NODE_SAMPLE_SECONDS = 60
"""What a node sample covers when a snapshot has no container samples (nodes carry no window)."""
HOUR = timedelta(hours=1)

_Key = tuple[str, str, str]
_T = TypeVar("_T")


class ContainerSample(Protocol):
    """What allocation reads of a container sample (`protocol.snapshot.ContainerUsage`, or a
    lighter row with the same fields)."""

    @property
    def namespace(self) -> str: ...
    @property
    def pod(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def window_seconds(self) -> int: ...
    @property
    def cpu_cores(self) -> float: ...
    @property
    def memory_bytes(self) -> int: ...


class GpuSample(Protocol):
    """What allocation reads of a DCGM sample (`protocol.snapshot.GpuUsage`, or a lighter row)."""

    @property
    def node(self) -> str: ...
    @property
    def mig_profile(self) -> str | None: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def pod(self) -> str | None: ...
    @property
    def container(self) -> str | None: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def utilization(self) -> float: ...
    @property
    def memory_used_bytes(self) -> int: ...
    @property
    def memory_total_bytes(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class HourAllocation:
    """The cost of one clock hour (or the part of it the snapshot covers)."""

    hour: datetime
    seconds: float
    allocation: Allocation


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def covered_seconds(
    snapshot: ClusterSnapshot, containers: Sequence[ContainerSample] | None = None
) -> dict[datetime, float]:
    """Seconds of each clock hour the snapshot's samples (or `containers` instead) cover."""
    intervals = [
        (s.timestamp - timedelta(seconds=s.window_seconds), s.timestamp)
        for s in (snapshot.usage.containers if containers is None else containers)
    ]
    if not intervals:
        step = timedelta(seconds=NODE_SAMPLE_SECONDS)
        intervals = [(s.timestamp - step, s.timestamp) for s in snapshot.usage.nodes]
    return covered_hours([start for start, _ in intervals], [end for _, end in intervals])


def _bucket(timestamp: datetime, window_seconds: float) -> datetime:
    return _hour_of(timestamp - timedelta(seconds=window_seconds / 2))


def _container_usage(
    samples: Iterable[ContainerSample],
) -> dict[datetime, dict[_Key, tuple[float, float]]]:
    """Window-weighted mean CPU cores and memory GiB per container and hour."""
    sums: defaultdict[tuple[datetime, _Key], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    # An upload's samples share a few timestamps: each one's hour is worked out once.
    buckets: dict[tuple[datetime, int], datetime] = {}
    for s in samples:
        moment = (s.timestamp, s.window_seconds)
        bucket = buckets.get(moment)
        if bucket is None:
            bucket = buckets[moment] = _bucket(s.timestamp, s.window_seconds)
        acc = sums[(bucket, (s.namespace, s.pod, s.container))]
        acc[0] += s.cpu_cores * s.window_seconds
        acc[1] += s.memory_bytes / GIB * s.window_seconds
        acc[2] += s.window_seconds
    found: defaultdict[datetime, dict[_Key, tuple[float, float]]] = defaultdict(dict)
    for (hour, key), (cpu, memory, weight) in sums.items():
        found[hour][key] = (cpu / weight, memory / weight)
    return found


def _busy(sample: GpuSample) -> float:
    memory = (
        sample.memory_used_bytes / sample.memory_total_bytes if sample.memory_total_bytes else 0.0
    )
    share = mig_fraction(sample.mig_profile) if sample.mig_profile else 1.0
    return max(sample.utilization, memory) * share


@dataclass(frozen=True, slots=True)
class _GpuHours:
    """Per hour: physical GPUs busy and duty cycle per container, duty cycle per node."""

    used: dict[datetime, dict[_Key, float]]
    duty: dict[datetime, dict[_Key, float]]
    node_duty: dict[datetime, dict[str, float]]


def _means(values: dict[tuple[datetime, _T], list[float]]) -> dict[datetime, dict[_T, float]]:
    found: defaultdict[datetime, dict[_T, float]] = defaultdict(dict)
    for (hour, key), samples in values.items():
        found[hour][key] = sum(samples) / len(samples)
    return dict(found)


def _gpu_usage(samples: Iterable[GpuSample]) -> _GpuHours:
    """Mean physical GPUs busy and duty cycle per container, and duty cycle per node, per hour."""
    per_moment: defaultdict[tuple[datetime, _Key, datetime], float] = defaultdict(float)
    own_duty: defaultdict[tuple[datetime, _Key], list[float]] = defaultdict(list)
    duty: defaultdict[tuple[datetime, str], list[float]] = defaultdict(list)
    hours: dict[datetime, datetime] = {}
    for s in samples:
        hour = hours.get(s.timestamp)
        if hour is None:
            hour = hours[s.timestamp] = _hour_of(s.timestamp - timedelta(seconds=1))
        duty[(hour, s.node)].append(s.utilization)
        if s.namespace and s.pod:
            key = (s.namespace, s.pod, s.container or "")
            per_moment[(hour, key, s.timestamp)] += _busy(s)
            own_duty[(hour, key)].append(s.utilization)
    moments: defaultdict[tuple[datetime, _Key], list[float]] = defaultdict(list)
    for (hour, key, _), busy in per_moment.items():
        moments[(hour, key)].append(busy)
    return _GpuHours(used=_means(moments), duty=_means(own_duty), node_duty=_means(duty))


def workload_of(pod: Pod) -> str:
    """`Kind/name` of the pod's controller, or `Pod/name` for a bare pod."""
    owner = pod.controller
    return f"{owner.kind}/{owner.name}" if owner is not None else f"Pod/{pod.name}"


def _node_hour(node: Node, hourly: float, seconds: float, duty: float | None) -> NodeHour:
    cpu = node.capacity.cpu_millis or node.allocatable.cpu_millis or 0
    memory = node.capacity.memory_bytes or node.allocatable.memory_bytes or 0
    return NodeHour(
        node=node.name,
        hourly_usd=hourly,
        cores=cpu / 1000,
        memory_gib=memory / GIB,
        gpus=float(physical_gpus(node)),
        seconds=seconds,
        instance_type=node.instance_type,
        spot=node.is_spot,
        gpu_duty=duty,
    )


NodeHourly = Callable[[Node, ClusterInfo, PriceBook], float | None]
"""A node's price in USD per hour (None if it cannot be priced)."""


def _catalogue_hourly(node: Node, cluster: ClusterInfo, pricebook: PriceBook) -> float | None:
    price = price_node(node, cluster, pricebook)
    return None if price is None else price.hourly_usd


def hourly_allocations(
    snapshot: ClusterSnapshot,
    pricebook: PriceBook,
    reference: ReferencePrices | None = None,
    *,
    containers: Sequence[ContainerSample] | None = None,
    gpus: Sequence[GpuSample] | None = None,
    node_hourly: NodeHourly | None = None,
) -> list[HourAllocation]:
    """The allocation of every clock hour the snapshot covers, oldest first.

    `containers` and `gpus`, if given, are the samples instead of the snapshot's own (a delta's
    series, read without a model per sample). `node_hourly` prices a node (by default from the
    price book's catalogues; a caller pricing the same nodes again and again may remember them).
    """
    coverage = covered_seconds(snapshot, containers)
    if not coverage:
        return []
    prices = {
        node.name: hourly
        for node in snapshot.nodes
        if (hourly := (node_hourly or _catalogue_hourly)(node, snapshot.cluster, pricebook))
        is not None
    }
    nodes = {node.name: node for node in snapshot.nodes if node.name in prices}
    running = [
        pod for pod in snapshot.pods if pod.phase is PodPhase.RUNNING and pod.node_name in nodes
    ]
    usage = _container_usage(snapshot.usage.containers if containers is None else containers)
    gpu = _gpu_usage(snapshot.usage.gpus if gpus is None else gpus)
    hours = []
    for hour, seconds in sorted(coverage.items()):
        node_hours = [
            _node_hour(node, prices[name], seconds, gpu.node_duty.get(hour, {}).get(name))
            for name, node in nodes.items()
        ]
        container_hours = []
        for pod in running:
            node = nodes[pod.node_name or ""]
            for c in pod.spec.containers:
                key = (pod.namespace, pod.name, c.name)
                cpu, memory = usage.get(hour, {}).get(key, (0.0, 0.0))
                container_hours.append(
                    ContainerHour(
                        node=node.name,
                        namespace=pod.namespace,
                        pod=pod.name,
                        container=c.name,
                        workload=workload_of(pod),
                        seconds=seconds,
                        cpu_request_cores=(c.requests.cpu_millis or 0) / 1000,
                        cpu_usage_cores=cpu,
                        memory_request_gib=(c.requests.memory_bytes or 0) / GIB,
                        memory_usage_gib=memory,
                        gpu_fraction=container_gpu_fraction(c.requests, node, pod.labels),
                        gpu_used=gpu.used.get(hour, {}).get(key),
                        gpu_duty=gpu.duty.get(hour, {}).get(key),
                        labels=pod.labels,
                    )
                )
        hours.append(
            HourAllocation(hour, seconds, allocate(node_hours, container_hours, reference))
        )
    return hours
