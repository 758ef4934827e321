"""Wire objects (nodes, pods, workloads, PDBs, usage samples) for trace rows."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from bench.snapshots.placement import NodeRoom
from bench.snapshots.trace import Shape, TraceNode, TracePod
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_GPU_COUNT,
    LABEL_GPU_MEMORY,
    LABEL_GPU_PRODUCT,
    LABEL_INSTANCE_TYPE,
    LABEL_REGION,
    LABEL_ZONE,
    Container,
    ContainerUsage,
    GpuInfo,
    GpuUsage,
    Node,
    NodeUsage,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    PodPhase,
    PodSpecSummary,
    QosClass,
    Workload,
    WorkloadKind,
)

MIB = 1024 * 1024
GPU_MEMORY_MIB = {"P100": 16_384, "T4": 16_384, "V100M16": 16_384, "V100M32": 32_768, "A10": 24_576}
"""Per-GPU memory of the trace's named models; the anonymised ones (G2, G3) stay unknown."""
_ZONES = ("zone-a", "zone-b", "zone-c")
_NAMESPACES = ("inference", "training", "notebooks", "batch", "platform")
_QOS = {"LS": QosClass.GUARANTEED, "Guaranteed": QosClass.GUARANTEED, "BE": QosClass.BEST_EFFORT}
_GPU_LABEL_MILLI = "alibaba.com/gpu-milli"


class WireObjects:
    """Turns trace rows into wire objects, collecting usage samples on the way."""

    def __init__(
        self,
        cluster_id: uuid.UUID,
        taken_at: datetime,
        samples_per_container: int,
        rng: random.Random,
    ) -> None:
        self._cluster_id = cluster_id
        self._taken_at = taken_at
        self._samples = samples_per_container
        self._rng = rng
        self.container_samples: list[ContainerUsage] = []
        self.gpu_samples: list[GpuUsage] = []

    def _uid(self, kind: str, name: str) -> str:
        return str(uuid.uuid5(self._cluster_id, f"{kind}/{name}"))

    def node(self, node: TraceNode) -> Node:
        memory = GPU_MEMORY_MIB.get(node.model)
        zone = _ZONES[int(self._uid("zone", node.name)[:8], 16) % len(_ZONES)]
        spot = int(self._uid("capacity", node.name)[:8], 16) % 4 == 0
        labels = {
            LABEL_INSTANCE_TYPE: f"openb.{node.model.lower()}.{node.gpus}gpu",
            LABEL_ZONE: zone,
            LABEL_REGION: "region-1",
            LABEL_CAPACITY: "spot" if spot else "on-demand",
            LABEL_GPU_PRODUCT: node.model,
            LABEL_GPU_COUNT: str(node.gpus),
            "kubernetes.io/hostname": node.name,
        }
        if memory is not None:
            labels[LABEL_GPU_MEMORY] = str(memory)
        capacity = Resources(
            cpu_millis=node.cpu_milli,
            memory_bytes=node.memory_mib * MIB,
            extended={GPU_RESOURCE: node.gpus} if node.gpus else {},
        )
        allocatable = Resources(
            cpu_millis=max(0, node.cpu_milli - 500),
            memory_bytes=max(0, node.memory_mib - 2048) * MIB,
            extended=dict(capacity.extended),
        )
        return Node(
            name=node.name,
            uid=self._uid("node", node.name),
            resource_version=str(1000 + len(node.name)),
            labels=labels,
            capacity=capacity,
            allocatable=allocatable,
            provider_id=f"openb://{node.name}",
            gpu=GpuInfo(product=node.model, count=node.gpus, memory_mib=memory)
            if node.gpus
            else None,
            created_at=self._taken_at - timedelta(days=30),
        )

    def pod(self, pod: TracePod, workload: str, placed: tuple[NodeRoom, list[int]] | None) -> Pod:
        namespace = _NAMESPACES[int(workload.rsplit("-", 1)[1]) % len(_NAMESPACES)]
        requests = _requests(pod)
        running = placed is not None
        container = Container(
            name="main",
            image=f"registry.example/{workload}:1",
            requests=requests,
            limits=requests if pod.qos in {"LS", "Guaranteed"} else Resources(),
        )
        if placed is not None:
            self._sample(pod, namespace, placed[0].node, placed[1])
        return Pod(
            namespace=namespace,
            name=pod.name,
            uid=self._uid("pod", pod.name),
            resource_version=str(5000 + int(pod.name.rsplit("-", 1)[-1] or 0)),
            labels={"app": workload, _GPU_LABEL_MILLI: str(pod.gpu_milli)},
            node_name=placed[0].node.name if placed is not None else None,
            phase=PodPhase.RUNNING if running else PodPhase.PENDING,
            qos_class=_QOS.get(pod.qos, QosClass.BURSTABLE),
            owners=[
                OwnerRef(
                    kind="ReplicaSet", name=f"{workload}-7d9f8", uid=self._uid("rs", workload)
                ),
                OwnerRef(kind="Deployment", name=workload, uid=self._uid("deploy", workload)),
            ],
            spec=PodSpecSummary(containers=[container]),
            ready=running,
            started_at=self._taken_at - timedelta(hours=6) if running else None,
        )

    def workload(
        self,
        name: str,
        shape: Shape,
        members: list[TracePod],
    ) -> Workload:
        pod = members[0]
        namespace = _NAMESPACES[int(name.rsplit("-", 1)[1]) % len(_NAMESPACES)]
        requests = _requests(pod)
        selector = {"app": name}
        return Workload(
            kind=WorkloadKind.DEPLOYMENT,
            namespace=namespace,
            name=name,
            uid=self._uid("deploy", name),
            resource_version="1",
            labels=selector,
            replicas=len(members),
            ready_replicas=sum(1 for m in members if m.phase == "Running"),
            selector=selector,
            template_labels=selector,
            template=PodSpecSummary(
                containers=[
                    Container(name="main", image=f"registry.example/{name}:1", requests=requests)
                ],
                node_selector={LABEL_GPU_PRODUCT: shape[4][0]} if len(shape[4]) == 1 else {},
            ),
        )

    def pdb(self, name: str, members: list[TracePod]) -> PodDisruptionBudget:
        namespace = _NAMESPACES[int(name.rsplit("-", 1)[1]) % len(_NAMESPACES)]
        healthy = sum(1 for m in members if m.phase == "Running")
        return PodDisruptionBudget(
            namespace=namespace,
            name=f"{name}-pdb",
            uid=self._uid("pdb", name),
            selector={"app": name},
            max_unavailable=1,
            current_healthy=healthy,
            desired_healthy=max(0, len(members) - 1),
            disruptions_allowed=1 if healthy >= len(members) else 0,
            expected_pods=len(members),
        )

    def node_sample(self, node: TraceNode) -> NodeUsage:
        return NodeUsage(
            node=node.name,
            timestamp=self._taken_at,
            cpu_cores=round(node.cpu_milli / 1000 * self._rng.uniform(0.1, 0.7), 3),
            memory_bytes=int(node.memory_mib * MIB * self._rng.uniform(0.2, 0.8)),
        )

    def _sample(self, pod: TracePod, namespace: str, node: TraceNode, gpus: list[int]) -> None:
        memory_total = GPU_MEMORY_MIB.get(node.model)
        for step in range(self._samples):
            at = self._taken_at - timedelta(minutes=step)
            self.container_samples.append(
                ContainerUsage(
                    namespace=namespace,
                    pod=pod.name,
                    container="main",
                    timestamp=at,
                    cpu_cores=round(pod.cpu_milli / 1000 * self._rng.uniform(0.05, 0.9), 3),
                    memory_bytes=int(pod.memory_mib * MIB * self._rng.uniform(0.3, 0.95)),
                    cpu_throttled_fraction=round(self._rng.uniform(0.0, 0.05), 4),
                )
            )
            share = (pod.gpu_milli if pod.num_gpu == 1 else 1000) / 1000
            for index in gpus:
                used = share * self._rng.uniform(0.2, 0.95)
                self.gpu_samples.append(
                    GpuUsage(
                        node=node.name,
                        gpu_index=index,
                        gpu_uuid=f"GPU-{self._uid('gpu', f'{node.name}/{index}')}",
                        namespace=namespace,
                        pod=pod.name,
                        container="main",
                        timestamp=at,
                        utilization=round(min(1.0, used * self._rng.uniform(0.3, 1.0)), 4),
                        memory_used_bytes=int((memory_total or 16_384) * MIB * used),
                        memory_total_bytes=memory_total * MIB if memory_total else None,
                    )
                )


def _requests(pod: TracePod) -> Resources:
    # A fraction of a GPU (gpu_milli < 1000) is requested as one shared GPU.
    extended = {GPU_RESOURCE: pod.num_gpu} if pod.num_gpu else {}
    return Resources(cpu_millis=pod.cpu_milli, memory_bytes=pod.memory_mib * MIB, extended=extended)
