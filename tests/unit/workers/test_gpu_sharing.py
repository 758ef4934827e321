"""GPU-sharing recommendations from stored GPU duty histories."""

from __future__ import annotations

import uuid
from datetime import timedelta

from protocol.recommendation import RecommendationKind
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    ClusterInfo,
    ClusterSnapshot,
    Container,
    GpuInfo,
    GpuUsage,
    Node,
    OwnerRef,
    Pod,
    PodPhase,
    PodSpecSummary,
    Provider,
    Workload,
    WorkloadKind,
)
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey
from tests.unit.workers.factories import T0
from workers.gpu_sharing import recommend_gpu_sharing
from workers.ingest.gpu_duty import GpuDutyHistory

GIB = 2**30
NOW = T0 + timedelta(days=1)


def _gpu_spec() -> PodSpecSummary:
    return PodSpecSummary(
        containers=[Container(name="serve", requests=Resources(extended={GPU_RESOURCE: 1}))]
    )


def _workload(name: str) -> Workload:
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="ml",
        name=name,
        uid=f"uid-{name}",
        resource_version="3",
        replicas=2,
        template=_gpu_spec(),
    )


def _pod(workload: str, index: int) -> Pod:
    return Pod(
        namespace="ml",
        name=f"{workload}-{index}",
        uid=f"uid-{workload}-{index}",
        node_name="gpu-1",
        phase=PodPhase.RUNNING,
        owners=[OwnerRef(kind="Deployment", name=workload)],
        spec=_gpu_spec(),
    )


def _snapshot() -> ClusterSnapshot:
    """One on-demand p4d.24xlarge (8 A100 40GB) in us-east-1 running two 2-replica services."""
    node = Node(
        name="gpu-1",
        uid="uid-gpu-1",
        labels={LABEL_INSTANCE_TYPE: "p4d.24xlarge", LABEL_CAPACITY: "on-demand"},
        capacity=Resources(cpu_millis=96_000, memory_bytes=1152 * GIB, extended={GPU_RESOURCE: 8}),
        allocatable=Resources(
            cpu_millis=95_000, memory_bytes=1100 * GIB, extended={GPU_RESOURCE: 8}
        ),
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-40GB", count=8, memory_mib=40_960),
    )
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=uuid.uuid4(), name="ml", provider=Provider.AWS, region="us-east-1"
        ),
        taken_at=NOW,
        nodes=[node],
        pods=[_pod(w, i) for w in ("embed", "train") for i in range(2)],
        workloads=[_workload("embed"), _workload("train")],
    )


def _history(duty: float, memory: int) -> GpuDutyHistory:
    history = GpuDutyHistory()
    history.fold(
        [
            GpuUsage(
                node="gpu-1",
                gpu_index=0,
                timestamp=T0 + timedelta(minutes=m),
                utilization=duty,
                memory_used_bytes=memory,
            )
            for m in range(120)
        ]
    )
    return history


def test_light_service_is_time_sliced_and_busy_one_keeps_its_gpus() -> None:
    """20 % duty and 6 GiB: four replicas per GPU; a 90 %-busy trainer gets no advice.

    With 1.25x duty and 1.15x memory headroom one GPU holds min(1 / 0.25, 40 / 6.9) = 4
    replicas; two replicas then free 2 x 0.75 GPU at 32.7726 / 8 USD/h over 730 h = 4485.75.
    """
    gpu = {
        ContainerKey("ml", "Deployment", "embed", "serve"): _history(0.2, 6 * GIB),
        ContainerKey("ml", "Deployment", "train", "serve"): _history(0.9, 30 * GIB),
    }
    found = recommend_gpu_sharing(_snapshot(), gpu, PriceBook(catalogues=bundled_catalogues()), NOW)
    assert [(r.kind, r.workload.name if r.workload else None) for r in found] == [
        (RecommendationKind.GPU_SHARING, "embed")
    ]
    assert found[0].monthly_saving_usd == 4485.75
    assert found[0].evidence["replicas_per_gpu"] == 4


def test_container_without_enough_history_is_not_advised() -> None:
    """Fewer than 60 GPU samples: too early to judge."""
    history = GpuDutyHistory()
    history.fold(
        [GpuUsage(node="gpu-1", gpu_index=0, timestamp=T0, utilization=0.1, memory_used_bytes=GIB)]
        * 59
    )
    gpu = {ContainerKey("ml", "Deployment", "embed", "serve"): history}
    assert (
        recommend_gpu_sharing(_snapshot(), gpu, PriceBook(catalogues=bundled_catalogues()), NOW)
        == []
    )
