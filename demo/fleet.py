"""The demo cluster's inventory: trace nodes and running trace pods, placed and grouped.

Pods of one resource shape are replicas of one Deployment (with a PDB from three replicas up),
placed first-fit on the trace's GPU nodes; nodes carry the AWS instance type, zone and capacity
type (`node.kubernetes.io/capacity: spot` on a share of them) they are priced as.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.snapshots.placement import place_first_fit
from bench.snapshots.trace import Shape, TraceNode, TracePod
from demo.instance_types import REGION, instance_type_for, is_spot, zone_for
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_GPU_COUNT,
    LABEL_GPU_MEMORY,
    LABEL_GPU_PRODUCT,
    LABEL_INSTANCE_TYPE,
    LABEL_REGION,
    LABEL_ZONE,
    ClusterInfo,
    Container,
    GpuInfo,
    Node,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    PodPhase,
    PodSpecSummary,
    Provider,
    QosClass,
    Workload,
    WorkloadKind,
)

MIB = 2**20
GPU_MEMORY_MIB = {
    "P100": 16_384,
    "T4": 16_384,
    "V100M16": 16_384,
    "V100M32": 32_768,
    "A10": 24_576,
    # Anonymised in the trace; priced as A10G and L4 machines, so given their memory.
    "G2": 24_576,
    "G3": 24_576,
}
NAMESPACES = ("inference", "training", "notebooks", "batch", "platform")
PDB_FROM_REPLICAS = 3
GPU_MILLI_LABEL = "alibabacloud.com/gpu-milli"
"""Thousandths of a GPU a shared pod holds, as the Alibaba GPU-sharing scheduler names it."""
MILLI_GPU = 1000
_QOS = {"LS": QosClass.GUARANTEED, "Guaranteed": QosClass.GUARANTEED, "BE": QosClass.BEST_EFFORT}


@dataclass(frozen=True)
class FleetSpec:
    """Which cluster to build, and how big."""

    cluster_id: uuid.UUID
    cluster_name: str = "demo-gpu-cluster"
    pod_count: int = 2000
    spot_share: float = 0.25
    """Share of nodes on spot capacity."""
    spare_nodes: float = 0.0
    """Empty nodes beyond those the pods need, as a share of the used ones."""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one running pod is, and what it reserves there."""

    pod: Pod
    workload: int
    """Index of its workload (which usage pattern it draws from)."""
    replica: int
    """Its ordinal among the workload's replicas (the phase it reads the pattern at)."""
    node: str
    gpu_indexes: tuple[int, ...]
    gpu_share: float
    """Share of each of its GPUs it holds (a fraction of one GPU, or all of each)."""
    gpu_memory_bytes: int | None


@dataclass(frozen=True)
class Fleet:
    """Everything a snapshot of the demo cluster lists, and where each running pod is."""

    cluster: ClusterInfo
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    workloads: tuple[Workload, ...]
    pdbs: tuple[PodDisruptionBudget, ...]
    placements: tuple[Placement, ...]

    @property
    def spot_nodes(self) -> tuple[Node, ...]:
        """Nodes on spot capacity."""
        return tuple(node for node in self.nodes if node.is_spot)


def _uid(cluster_id: uuid.UUID, kind: str, name: str) -> str:
    return str(uuid.uuid5(cluster_id, f"{kind}/{name}"))


def _requests(pod: TracePod) -> Resources:
    # A fraction of a GPU (gpu_milli < 1000) is requested as one shared GPU.
    extended = {GPU_RESOURCE: pod.num_gpu} if pod.num_gpu else {}
    return Resources(cpu_millis=pod.cpu_milli, memory_bytes=pod.memory_mib * MIB, extended=extended)


def build_node(node: TraceNode, spec: FleetSpec, created_at: datetime) -> Node:
    """A trace node as the agent would report it, labelled with its pricing identity."""
    memory = GPU_MEMORY_MIB.get(node.model)
    labels = {
        LABEL_ZONE: zone_for(node.name),
        LABEL_REGION: REGION,
        LABEL_CAPACITY: "spot" if is_spot(node.name, spec.spot_share) else "on-demand",
        LABEL_GPU_PRODUCT: node.model,
        LABEL_GPU_COUNT: str(node.gpus),
        "kubernetes.io/hostname": node.name,
    }
    if (instance_type := instance_type_for(node.model, node.gpus)) is not None:
        labels[LABEL_INSTANCE_TYPE] = instance_type
    if memory is not None:
        labels[LABEL_GPU_MEMORY] = str(memory)
    capacity = Resources(
        cpu_millis=node.cpu_milli,
        memory_bytes=node.memory_mib * MIB,
        extended={GPU_RESOURCE: node.gpus} if node.gpus else {},
    )
    return Node(
        name=node.name,
        uid=_uid(spec.cluster_id, "node", node.name),
        resource_version="1",
        labels=labels,
        capacity=capacity,
        allocatable=Resources(
            cpu_millis=max(0, node.cpu_milli - 500),
            memory_bytes=max(0, node.memory_mib - 2048) * MIB,
            extended=dict(capacity.extended),
        ),
        provider_id=f"aws:///{labels[LABEL_ZONE]}/i-{_uid(spec.cluster_id, 'i', node.name)[:17]}",
        gpu=GpuInfo(product=node.model, count=node.gpus, memory_mib=memory) if node.gpus else None,
        created_at=created_at - timedelta(days=30),
    )


def _workload_names(pods: list[TracePod]) -> dict[Shape, str]:
    names: dict[Shape, str] = {}
    for pod in pods:
        names.setdefault(pod.shape, f"model-{len(names):03d}")
    return names


def _namespace(index: int) -> str:
    return NAMESPACES[index % len(NAMESPACES)]


def build_fleet(
    trace_nodes: list[TraceNode], trace_pods: list[TracePod], spec: FleetSpec, now: datetime
) -> Fleet:
    """`spec.pod_count` running trace pods placed on trace nodes, grouped into Deployments."""
    rng = random.Random(spec.seed)  # noqa: S311 - a seeded simulation, not a secret
    gpu_nodes = [node for node in trace_nodes if node.gpus > 0] or trace_nodes
    running = [pod for pod in trace_pods if pod.phase == "Running"] or trace_pods
    chosen = sorted(rng.sample(running, min(spec.pod_count, len(running))), key=lambda p: p.name)
    rooms, placed = place_first_fit(gpu_nodes, chosen, rng)
    chosen = [pod for pod in chosen if pod.name in placed]
    used = {room.node.name for room, _ in placed.values()}
    spare = [r.node for r in rooms if r.node.name not in used][: int(len(used) * spec.spare_nodes)]
    nodes = [build_node(r.node, spec, now) for r in rooms if r.node.name in used]
    nodes += [build_node(node, spec, now) for node in spare]
    names = _workload_names(chosen)
    index_of = {name: i for i, name in enumerate(names.values())}
    members: dict[str, list[TracePod]] = {}
    placements: list[Placement] = []
    for trace_pod in chosen:
        workload = names[trace_pod.shape]
        replicas = members.setdefault(workload, [])
        room, gpus = placed[trace_pod.name]
        pod = _pod(trace_pod, workload, index_of[workload], room.node.name, spec=spec, now=now)
        placements.append(
            Placement(
                pod=pod,
                workload=index_of[workload],
                replica=len(replicas),
                node=room.node.name,
                gpu_indexes=tuple(gpus),
                gpu_share=trace_pod.gpu_milli / 1000 if trace_pod.num_gpu == 1 else 1.0,
                gpu_memory_bytes=(
                    GPU_MEMORY_MIB[room.node.model] * MIB
                    if room.node.model in GPU_MEMORY_MIB
                    else None
                ),
            )
        )
        replicas.append(trace_pod)
    workloads = [_workload(name, index_of[name], group, spec) for name, group in members.items()]
    pdbs = [
        _pdb(name, index_of[name], len(group), spec)
        for name, group in members.items()
        if len(group) >= PDB_FROM_REPLICAS
    ]
    return Fleet(
        cluster=ClusterInfo(
            cluster_id=spec.cluster_id,
            name=spec.cluster_name,
            provider=Provider.AWS,
            region=REGION,
            kubernetes_version="v1.29.4",
        ),
        nodes=tuple(nodes),
        pods=tuple(p.pod for p in placements),
        workloads=tuple(workloads),
        pdbs=tuple(pdbs),
        placements=tuple(placements),
    )


def _pod_labels(pod: TracePod, workload: str) -> dict[str, str]:
    labels = {"app": workload}
    if pod.num_gpu == 1 and 0 < pod.gpu_milli < MILLI_GPU:
        # The Alibaba GPU-sharing scheduler's share, so cost allocation charges the fraction.
        labels[GPU_MILLI_LABEL] = str(pod.gpu_milli)
    return labels


def _pod(
    pod: TracePod, workload: str, index: int, node: str, *, spec: FleetSpec, now: datetime
) -> Pod:
    requests = _requests(pod)
    guaranteed = pod.qos in {"LS", "Guaranteed"}
    return Pod(
        namespace=_namespace(index),
        name=pod.name,
        uid=_uid(spec.cluster_id, "pod", pod.name),
        resource_version="1",
        labels=_pod_labels(pod, workload),
        node_name=node,
        phase=PodPhase.RUNNING,
        qos_class=_QOS.get(pod.qos, QosClass.BURSTABLE),
        owners=[
            OwnerRef(
                kind="ReplicaSet",
                name=f"{workload}-7d9f8",
                uid=_uid(spec.cluster_id, "rs", workload),
            ),
            OwnerRef(
                kind="Deployment", name=workload, uid=_uid(spec.cluster_id, "deploy", workload)
            ),
        ],
        spec=PodSpecSummary(
            containers=[
                Container(
                    name="main",
                    image=f"registry.example/{workload}:1",
                    requests=requests,
                    limits=requests if guaranteed else Resources(),
                )
            ]
        ),
        ready=True,
        started_at=now - timedelta(days=3),
    )


def _workload(name: str, index: int, members: list[TracePod], spec: FleetSpec) -> Workload:
    first = members[0]
    requests = _requests(first)
    guaranteed = first.qos in {"LS", "Guaranteed"}
    selector = {"app": name}
    models = first.gpu_spec
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=_namespace(index),
        name=name,
        uid=_uid(spec.cluster_id, "deploy", name),
        resource_version="1",
        labels=selector,
        replicas=len(members),
        ready_replicas=len(members),
        selector=selector,
        template_labels=selector,
        template=PodSpecSummary(
            containers=[
                Container(
                    name="main",
                    image=f"registry.example/{name}:1",
                    requests=requests,
                    limits=requests if guaranteed else Resources(),
                )
            ],
            node_selector={LABEL_GPU_PRODUCT: models[0]} if len(models) == 1 else {},
        ),
    )


def _pdb(name: str, index: int, replicas: int, spec: FleetSpec) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        namespace=_namespace(index),
        name=f"{name}-pdb",
        uid=_uid(spec.cluster_id, "pdb", name),
        selector={"app": name},
        max_unavailable=1,
        current_healthy=replicas,
        desired_healthy=replicas - 1,
        disruptions_allowed=1,
        expected_pods=replicas,
    )
