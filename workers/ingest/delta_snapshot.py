"""A delta seen as the full snapshot it stands for: the stored inventory plus the delta's samples.

Cost allocation prices the nodes and running pods of a state over the time its samples cover.
A delta lists only what changed, so the state it describes is the stored inventory with the
delta's upserts laid over it and its deletions taken out (for a delta already applied that is
exactly what is stored; for one that did not apply it is the closest state known). Its container
and GPU series become per-sample models again, unvalidated (they were validated on arrival), so
allocation sees the samples a full snapshot of the same state carries.

The stored nodes and pods come from the caller (read from the inventory, or the worker's
`InventoryCache` of them); `overlay` lays a delta's changes over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from protocol.delta import ClusterDelta, ObjectKind
from protocol.snapshot import ClusterSnapshot, ContainerUsage, GpuUsage, Node, Pod, Usage


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def container_samples(delta: ClusterDelta) -> list[ContainerUsage]:
    """The delta's container samples, per-sample ones first, then each series' rows."""
    samples = list(delta.usage.containers)
    for series in delta.container_series:
        samples.extend(
            ContainerUsage.model_construct(
                namespace=series.namespace,
                pod=series.pod,
                container=series.container,
                timestamp=_moment(at),
                window_seconds=series.window_seconds,
                cpu_cores=cpu,
                memory_bytes=memory,
                cpu_throttled_fraction=throttled,
            )
            for at, cpu, memory, throttled in series.samples
        )
    return samples


def gpu_samples(delta: ClusterDelta) -> list[GpuUsage]:
    """The delta's DCGM samples, per-sample ones first, then each series' rows."""
    samples = list(delta.usage.gpus)
    for series in delta.gpu_series:
        samples.extend(
            GpuUsage.model_construct(
                node=series.node,
                gpu_index=series.gpu_index,
                gpu_uuid=series.gpu_uuid,
                mig_profile=series.mig_profile,
                namespace=series.namespace,
                pod=series.pod,
                container=series.container,
                timestamp=_moment(at),
                utilization=duty,
                memory_used_bytes=used,
                memory_total_bytes=total,
            )
            for at, duty, used, total in series.samples
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
    """The full snapshot `delta` stands for, given the nodes and pods of the state it makes."""
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
        usage=Usage.model_construct(
            containers=container_samples(delta),
            nodes=list(delta.usage.nodes),
            gpus=gpu_samples(delta),
        ),
        notes=list(delta.notes),
    )
