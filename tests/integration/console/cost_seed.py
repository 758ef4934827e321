"""Cost rollups written the way production writes them: snapshots folded by the ingest handler.

One GPU node time-sliced four ways (8 A100s advertised as 32 devices) runs four inference
replicas holding one device each and a batch pod holding a 500 milli-GPU share; a CPU node runs
two web replicas. Each hourly snapshot carries an hour of 5-minute samples, GPU duty included.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    Container,
    ContainerUsage,
    GpuInfo,
    GpuUsage,
    Node,
    OwnerRef,
    Pod,
    PodPhase,
    PodSpecSummary,
    Provider,
    Usage,
)
from protocol.topics import SnapshotMessage
from recommender.cost.gpu_share import GPU_MILLI
from store.database import Database
from workers.cost_rollup import CostRollup
from workers.ingest.handler import SnapshotIngest

GIB = 2**30
GPU_NODE = "gpu-ts-1"
CPU_NODE = "cpu-1"
STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class CostSeed:
    """The hours folded for one cluster."""

    cluster_id: uuid.UUID
    hours: list[datetime]


def _node(name: str, instance_type: str, *, gpus: int = 0) -> Node:
    advertised = {GPU_RESOURCE: gpus * 4} if gpus else {}
    resources = Resources(
        cpu_millis=96_000 if gpus else 16_000,
        memory_bytes=(1152 if gpus else 64) * GIB,
        extended=advertised,
    )
    return Node(
        name=name,
        uid=f"uid-{name}",
        labels={
            "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/zone": "eu-west-1a",
            "node.kubernetes.io/capacity": "on-demand",
        },
        capacity=resources,
        allocatable=resources,
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-80GB", count=gpus, memory_mib=81_920)
        if gpus
        else None,
    )


def _pod(
    namespace: str, workload: str, index: int, node: str, requests: Resources, *, team: str
) -> Pod:
    labels = {"app": workload, "team": team}
    if requests.extended.get(GPU_MILLI):
        labels[GPU_MILLI] = str(requests.extended[GPU_MILLI])
        requests = Resources(
            cpu_millis=requests.cpu_millis,
            memory_bytes=requests.memory_bytes,
            extended={GPU_RESOURCE: 1},
        )
    return Pod(
        namespace=namespace,
        name=f"{workload}-{index}",
        uid=f"uid-{namespace}-{workload}-{index}",
        labels=labels,
        node_name=node,
        phase=PodPhase.RUNNING,
        owners=[
            OwnerRef(kind="ReplicaSet", name=f"{workload}-6c7d"),
            OwnerRef(kind="Deployment", name=workload),
        ],
        spec=PodSpecSummary(containers=[Container(name="main", requests=requests)]),
        ready=True,
    )


def cost_pods(inference_replicas: int = 4) -> list[Pod]:
    """Time-sliced inference replicas (four), one milli-GPU batch pod, two web replicas."""
    device = Resources(cpu_millis=4000, memory_bytes=32 * GIB, extended={GPU_RESOURCE: 1})
    milli = Resources(cpu_millis=2000, memory_bytes=16 * GIB, extended={GPU_MILLI: 500})
    web = Resources(cpu_millis=2000, memory_bytes=4 * GIB)
    return [
        *(
            _pod("ml", "llm-inference", i, GPU_NODE, device, team="ml-platform")
            for i in range(inference_replicas)
        ),
        _pod("batch", "embedder", 0, GPU_NODE, milli, team="data"),
        *(_pod("shop", "checkout", i, CPU_NODE, web, team="payments") for i in range(2)),
    ]


def _usual(namespace: str) -> float:
    return 0.03 if namespace == "batch" else 0.4


def cost_snapshot(
    cluster_id: uuid.UUID,
    taken_at: datetime,
    *,
    duty: float | None = None,
    inference_replicas: int = 4,
    namespace_duty: Mapping[str, float] | None = None,
) -> ClusterSnapshot:
    """The cluster at `taken_at` with the hour of samples before it.

    Every GPU runs at `duty`, or the duty `namespace_duty` gives its pod's namespace, or by
    default 40 % (inference) and 3 % (batch).
    """
    given = namespace_duty or {}
    pods = cost_pods(inference_replicas)
    times = [taken_at - STEP * k for k in range(11, -1, -1)]
    containers = [
        ContainerUsage(
            namespace=p.namespace,
            pod=p.name,
            container="main",
            timestamp=at,
            window_seconds=int(STEP.total_seconds()),
            cpu_cores=0.5,
            memory_bytes=2 * GIB,
        )
        for at in times
        for p in pods
    ]
    gpus = [
        GpuUsage(
            node=GPU_NODE,
            gpu_index=index,
            namespace=p.namespace,
            pod=p.name,
            container="main",
            timestamp=at,
            utilization=given.get(p.namespace, duty if duty is not None else _usual(p.namespace)),
            memory_used_bytes=8 * GIB,
            memory_total_bytes=80 * GIB,
        )
        for at in times
        for index, p in enumerate(p for p in pods if p.node_name == GPU_NODE)
    ]
    return ClusterSnapshot(
        snapshot_id=uuid.uuid5(cluster_id, f"cost-{taken_at.isoformat()}"),
        cluster=ClusterInfo(
            cluster_id=cluster_id, name="ml", provider=Provider.AWS, region="eu-west-1"
        ),
        taken_at=taken_at,
        nodes=[_node(GPU_NODE, "p4de.24xlarge", gpus=8), _node(CPU_NODE, "m6i.4xlarge")],
        pods=pods,
        usage=Usage(containers=containers, gpus=gpus),
    )


async def fold_cost_hours(
    database: Database,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    *,
    now: datetime,
    hours: int,
    duty: float | None = None,
    inference_replicas: int = 4,
) -> CostSeed:
    """Fold `hours` hourly snapshots ending at the last whole hour before `now`."""
    last = now.replace(minute=0, second=0, microsecond=0)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    folded = []
    for k in range(hours, 0, -1):
        taken_at = last - timedelta(hours=k - 1)
        snapshot = cost_snapshot(
            cluster_id, taken_at, duty=duty, inference_replicas=inference_replicas
        )
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant_id, received_at=taken_at, snapshot=snapshot)
        )
        folded.append(taken_at - timedelta(hours=1))
    return CostSeed(cluster_id, folded)
