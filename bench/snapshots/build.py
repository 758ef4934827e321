"""A cluster snapshot from trace rows: pods sampled, placed, grouped into workloads, sampled."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from bench.snapshots.objects import WireObjects
from bench.snapshots.placement import place_first_fit
from bench.snapshots.trace import Shape, TraceNode, TracePod
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Provider, Usage


@dataclass(frozen=True)
class SnapshotSpec:
    """What to build: which cluster, when, how big, which seed."""

    cluster_id: uuid.UUID
    snapshot_id: uuid.UUID
    taken_at: datetime
    pod_count: int = 1000
    samples_per_container: int = 3
    """Usage samples per running container (and per GPU it uses); an agent sends one per read."""
    spare_nodes: float = 0.05
    """Empty nodes added beyond those the pods need, as a share of the used ones."""
    seed: int = 0
    cluster_name: str = "alibaba-openb"


def build_snapshot(
    nodes: list[TraceNode], pods: list[TracePod], spec: SnapshotSpec
) -> ClusterSnapshot:
    """A snapshot of `spec.pod_count` trace pods placed on trace nodes, with usage samples."""
    rng = random.Random(spec.seed)
    # A snapshot shows the pods that exist now: the trace's running ones (all, if none is marked).
    alive = [pod for pod in pods if pod.phase == "Running"] or pods
    chosen = sorted(rng.sample(alive, min(spec.pod_count, len(alive))), key=lambda p: p.name)
    rooms, placement = place_first_fit(nodes, chosen, rng)
    used = {room.node.name for room, _ in placement.values()}
    spare = [r.node for r in rooms if r.node.name not in used][: int(len(used) * spec.spare_nodes)]
    cluster_nodes = [r.node for r in rooms if r.node.name in used] + spare
    workloads = _workloads(chosen)
    builder = WireObjects(spec.cluster_id, spec.taken_at, spec.samples_per_container, rng)
    snapshot_pods = [
        builder.pod(pod, workloads[pod.shape], placement.get(pod.name)) for pod in chosen
    ]
    return ClusterSnapshot(
        snapshot_id=spec.snapshot_id,
        cluster=ClusterInfo(
            cluster_id=spec.cluster_id,
            name=spec.cluster_name,
            provider=Provider.OTHER,
            region="region-1",
            kubernetes_version="v1.29.4",
        ),
        taken_at=spec.taken_at,
        agent_version="0.1.0",
        nodes=[builder.node(node) for node in cluster_nodes],
        pods=snapshot_pods,
        workloads=[
            builder.workload(name, shape, members)
            for shape, (name, members) in _members(chosen, workloads).items()
        ],
        pdbs=[
            builder.pdb(name, members)
            for name, members in sorted(_members(chosen, workloads).values())
            if len(members) >= 3
        ],
        usage=Usage(
            containers=builder.container_samples,
            nodes=[builder.node_sample(node) for node in cluster_nodes],
            gpus=builder.gpu_samples,
        ),
    )


def _workloads(pods: list[TracePod]) -> dict[Shape, str]:
    names: dict[Shape, str] = {}
    for pod in pods:
        names.setdefault(pod.shape, f"workload-{len(names):03d}")
    return names


def _members(
    pods: list[TracePod], names: dict[Shape, str]
) -> dict[Shape, tuple[str, list[TracePod]]]:
    groups: dict[Shape, tuple[str, list[TracePod]]] = {}
    for pod in pods:
        groups.setdefault(pod.shape, (names[pod.shape], []))[1].append(pod)
    return groups
