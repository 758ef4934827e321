"""GPU-sharing advice for every GPU workload of a cluster, from its stored duty-cycle history.

For each Deployment or StatefulSet container that requests whole GPUs, the recommender's
`advise` weighs MIG, time-slicing and MPS against keeping the GPU, given the container's GPU
usage profile, the GPUs of the nodes it runs on and their price per GPU. Advice to keep the
whole GPU is no recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from protocol.recommendation import Recommendation, RecommendationKind
from protocol.snapshot import ClusterSnapshot, Node, Workload, WorkloadKind
from recommender.consolidation.inventory import (
    Inventory,
    recommendation_id,
    workload_ref,
)
from recommender.gpu.advice import AdviceKind, GpuWorkload, advise
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.recommendations import to_recommendation
from recommender.pricing.cost import node_gpus, price_node
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey
from workers.ingest.gpu_duty import GpuDutyHistory

MIN_GPU_SAMPLES = 60
"""An hour of minute samples before a GPU is judged shareable."""
MIB = 2**20
_SHARED_KINDS = frozenset({WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET})


def _gpu_node(workload: Workload, inventory: Inventory) -> tuple[Node, tuple[str, ...]] | None:
    """A GPU node the workload runs on (for product, memory and price) and all its nodes."""
    names = sorted({p.node_name for p in inventory.pods_of(workload) if p.node_name})
    nodes = [inventory.nodes[n] for n in names if n in inventory.nodes]
    with_gpus = [n for n in nodes if n.gpu is not None and n.gpu.memory_mib]
    if not with_gpus:
        return None
    return with_gpus[0], tuple(names)


def recommend_gpu_sharing(
    snapshot: ClusterSnapshot,
    gpu: Mapping[ContainerKey, GpuDutyHistory],
    pricebook: PriceBook,
    now: datetime,
    mig_config: MigConfig | None = None,
) -> list[Recommendation]:
    """Sharing recommendations for the cluster's GPU workloads, largest saving first."""
    inventory = Inventory.build(snapshot)
    found: list[Recommendation] = []
    for workload in snapshot.workloads:
        placed = _gpu_node(workload, inventory) if workload.kind in _SHARED_KINDS else None
        if placed is None:
            continue
        node, nodes = placed
        price = price_node(node, snapshot.cluster, pricebook)
        if price is None or node.gpu is None or node.gpu.memory_mib is None:
            continue
        per_gpu_hourly = price.hourly_usd / max(node_gpus(node), 1.0)
        for container in workload.template.containers:
            key = ContainerKey(
                workload.namespace, workload.kind.value, workload.name, container.name
            )
            history = gpu.get(key)
            profile = history.profile() if history is not None else None
            if container.requests.gpus < 1 or profile is None or profile.samples < MIN_GPU_SAMPLES:
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
            advice = advise(subject, gpu_hourly_usd=per_gpu_hourly, mig_config=mig_config)
            if advice.kind is AdviceKind.WHOLE_GPU:
                continue
            subject_name = (
                f"{workload.kind.value}/{workload.namespace}/{workload.name}/{container.name}"
            )
            found.append(
                to_recommendation(
                    advice,
                    recommendation_id=recommendation_id(
                        snapshot, RecommendationKind.GPU_SHARING, subject_name
                    ),
                    cluster_id=snapshot.cluster.cluster_id,
                    created_at=now,
                )
            )
    return sorted(found, key=lambda r: -r.monthly_saving_usd)
