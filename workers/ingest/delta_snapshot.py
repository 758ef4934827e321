"""A delta seen as the full snapshot it stands for: the stored inventory plus the delta's samples.

Cost allocation prices the nodes and running pods of a state over the time its samples cover.
A delta lists only what changed, so the state it describes is the stored inventory with the
delta's upserts laid over it and its deletions taken out (for a delta already applied that is
exactly what is stored; for one that did not apply it is the closest state known). Its container
and GPU series become rows with the fields allocation reads (not a model per sample), so
allocation sees the samples a full snapshot of the same state carries.

The stored nodes and pods come from the caller (read from the inventory, or the worker's
`InventoryCache` of them); `overlay` lays a delta's changes over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from protocol.delta import ClusterDelta, ObjectKind
from protocol.snapshot import ClusterSnapshot, Node, Pod
from recommender.cost.snapshot_hours import ContainerSample, GpuSample


class ContainerRow(NamedTuple):
    """One container sample of a series, with the fields allocation reads."""

    namespace: str
    pod: str
    container: str
    timestamp: datetime
    window_seconds: int
    cpu_cores: float
    memory_bytes: int


class GpuRow(NamedTuple):
    """One DCGM sample of a series, with the fields allocation reads."""

    node: str
    mig_profile: str | None
    namespace: str | None
    pod: str | None
    container: str | None
    timestamp: datetime
    utilization: float
    memory_used_bytes: int
    memory_total_bytes: int | None


def container_samples(delta: ClusterDelta) -> list[ContainerSample]:
    """The delta's container samples, per-sample ones first, then each series' rows."""
    samples: list[ContainerSample] = list(delta.usage.containers)
    moment = datetime.fromtimestamp
    for series in delta.container_series:
        namespace, pod, container, window = (
            series.namespace,
            series.pod,
            series.container,
            series.window_seconds,
        )
        samples.extend(
            ContainerRow(namespace, pod, container, moment(at, UTC), window, cpu, memory)
            for at, cpu, memory, _ in series.samples
        )
    return samples


def gpu_samples(delta: ClusterDelta) -> list[GpuSample]:
    """The delta's DCGM samples, per-sample ones first, then each series' rows."""
    samples: list[GpuSample] = list(delta.usage.gpus)
    moment = datetime.fromtimestamp
    for s in delta.gpu_series:
        samples.extend(
            GpuRow(
                s.node,
                s.mig_profile,
                s.namespace,
                s.pod,
                s.container,
                moment(at, UTC),
                duty,
                used,
                total,
            )
            for at, duty, used, total in s.samples
        )
    return samples


NodesByName = dict[str, Node]
PodsByRef = dict[tuple[str, str], Pod]


def overlay(
    delta: ClusterDelta, nodes: Mapping[str, Node], pods: Mapping[tuple[str, str], Pod]
) -> tuple[NodesByName, PodsByRef]:
    """The nodes and pods of the state `delta` makes of the given ones (which are not changed)."""
    after_nodes, after_pods = dict(nodes), dict(pods)
    for gone in delta.deleted:
        if gone.kind is ObjectKind.NODE:
            after_nodes.pop(gone.name, None)
        elif gone.kind is ObjectKind.POD:
            after_pods.pop((gone.namespace, gone.name), None)
    after_nodes.update((node.name, node) for node in delta.nodes)
    after_pods.update(((pod.namespace, pod.name), pod) for pod in delta.pods)
    return after_nodes, after_pods


def delta_snapshot(
    delta: ClusterDelta, nodes: Mapping[str, Node], pods: Mapping[tuple[str, str], Pod]
) -> ClusterSnapshot:
    """The full snapshot `delta` stands for, given the nodes and pods of the state it makes, with
    the delta's per-sample usage only (its series: `container_samples`, `gpu_samples`)."""
    return ClusterSnapshot.model_construct(
        snapshot_id=delta.delta_id,
        cluster=delta.cluster,
        taken_at=delta.taken_at,
        agent_version=delta.agent_version,
        sequence=delta.sequence,
        nodes=[nodes[name] for name in sorted(nodes)],
        pods=[pods[ref] for ref in sorted(pods)],
        workloads=list(delta.workloads),
        pdbs=list(delta.pdbs),
        hpas=list(delta.hpas),
        usage=delta.usage,
        notes=list(delta.notes),
        keda=delta.keda,
    )
