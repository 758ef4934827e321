"""The GPU workloads of a cluster that a share of a GPU holds, from their measured usage.

For each Deployment or StatefulSet container that requests exactly one whole GPU per replica,
`advise` weighs MIG, time-slicing and MPS against keeping the GPU, from the container's GPU
usage profile (peak memory, busiest-minutes duty cycle from DCGM) and the GPU it runs on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol.snapshot import Node, Pod, Workload, WorkloadKind
from recommender.gpu.advice import AdviceKind, GpuWorkload, SharingAdvice, advise
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.usage_profile import GpuUsageProfile
from recommender.inventory import Inventory, workload_ref
from recommender.usage.key import ContainerKey

MIN_GPU_SAMPLES = 60
"""An hour of minute samples before a GPU is judged shareable."""
MIB = 2**20
SHARED_KINDS = frozenset({WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET})


@dataclass(frozen=True, slots=True)
class Subject:
    """A workload the plan may move into a sharing pool, with its advice."""

    workload: Workload
    advice: SharingAdvice

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, namespace, name) of the workload."""
        w = self.workload
        return w.kind.value, w.namespace, w.name


def pod_uses_gpu(pod: Pod) -> bool:
    """Whether any container of the pod requests a GPU or a MIG device."""
    return any(
        c.requests.gpus > 0 or c.requests.mig_slices or c.limits.gpus > 0
        for c in pod.spec.containers
    )


def _gpu_node(workload: Workload, inventory: Inventory) -> tuple[Node, tuple[str, ...]] | None:
    names = sorted({p.node_name for p in inventory.pods_of(workload) if p.node_name})
    nodes = [inventory.nodes[n] for n in names if n in inventory.nodes]
    with_gpus = [n for n in nodes if n.gpu is not None and n.gpu.memory_mib]
    if not with_gpus:
        return None
    return with_gpus[0], tuple(names)


def shareable_subjects(
    inventory: Inventory,
    profiles: Mapping[ContainerKey, GpuUsageProfile],
    mig_config: MigConfig | None,
    gpu_hourly_usd: Mapping[str, float],
) -> list[Subject]:
    """Workloads whose one GPU container a share of a GPU holds, in snapshot order.

    `gpu_hourly_usd` prices one GPU of each node by name; a workload with more than one GPU
    container, or whose nodes are unpriced, is left out.
    """
    found: list[Subject] = []
    for workload in inventory.snapshot.workloads:
        if workload.kind not in SHARED_KINDS:
            continue
        gpu_containers = [c for c in workload.template.containers if c.requests.gpus > 0]
        placed = _gpu_node(workload, inventory)
        if len(gpu_containers) != 1 or placed is None:
            continue
        node, nodes = placed
        container = gpu_containers[0]
        key = ContainerKey(workload.namespace, workload.kind.value, workload.name, container.name)
        profile = profiles.get(key)
        price = gpu_hourly_usd.get(node.name)
        if profile is None or profile.samples < MIN_GPU_SAMPLES or price is None:
            continue
        if node.gpu is None or node.gpu.memory_mib is None:
            continue
        subject = GpuWorkload(
            workload=workload_ref(workload),
            container=container.name,
            replicas=workload.replicas or len(inventory.pods_of(workload)),
            gpus_per_replica=container.requests.gpus,
            gpu_product=node.gpu.product,
            gpu_memory_bytes=node.gpu.memory_mib * MIB,
            usage=profile,
            nodes=nodes,
            resource_version=workload.resource_version,
        )
        advice = advise(subject, gpu_hourly_usd=price, mig_config=mig_config)
        if advice.kind is not AdviceKind.WHOLE_GPU and subject.replicas > 0:
            found.append(Subject(workload, advice))
    return found
