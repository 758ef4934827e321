"""A delta seen as the full snapshot it stands for: the stored inventory plus the delta's samples.

Cost allocation prices the nodes and running pods of a state over the time its samples cover.
A delta lists only what changed, so the state it describes is the stored inventory with the
delta's upserts laid over it and its deletions taken out (for a delta already applied that is
exactly what is stored; for one that did not apply it is the closest state known). Its samples
reach allocation as columns (`upload_samples`), the same figures a full snapshot of the same
state carries.

The stored nodes and pods come from the caller (read from the inventory, or the worker's
`InventoryCache` of them); `overlay` lays a delta's changes over them.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.delta import ClusterDelta, ObjectKind
from protocol.snapshot import ClusterSnapshot, Node, Pod

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


def touched_pods(delta: ClusterDelta) -> set[tuple[str, str]]:
    """The pods `overlay` may add, replace or remove: those the delta lists or deletes."""
    touched = {(pod.namespace, pod.name) for pod in delta.pods}
    touched.update(
        (gone.namespace, gone.name) for gone in delta.deleted if gone.kind is ObjectKind.POD
    )
    return touched


def delta_snapshot(
    delta: ClusterDelta,
    nodes: Mapping[str, Node],
    sorted_pods: list[Pod],
) -> ClusterSnapshot:
    """The full snapshot `delta` stands for, given the nodes and pods of the state it makes, with
    the delta's per-sample usage only (all its samples, as columns: `upload_samples`).

    `sorted_pods` are the state's pods sorted by namespace and name, a list the snapshot takes
    (the container order keeps them so: sorting a thousand pods every minute would be most of
    the work here).
    """
    return ClusterSnapshot.model_construct(
        snapshot_id=delta.delta_id,
        cluster=delta.cluster,
        taken_at=delta.taken_at,
        agent_version=delta.agent_version,
        sequence=delta.sequence,
        nodes=[nodes[name] for name in sorted(nodes)],
        pods=sorted_pods,
        workloads=list(delta.workloads),
        pdbs=list(delta.pdbs),
        hpas=list(delta.hpas),
        usage=delta.usage,
        notes=list(delta.notes),
        keda=delta.keda,
    )
