"""GPU-sharing recommendations of the analysis from the GPU duty histories the workers store."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from protocol.recommendation import Recommendation, RecommendationKind
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
from recommender.analysis import ClusterState, GpuDutySource, recommend_gpu_sharing
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.usage.gpu_duty import GpuDutyHistory
from recommender.usage.key import ContainerKey
from tests.unit.workers.factories import T0

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
    node = "gpu-3" if workload == "train" else f"gpu-{index + 1}"
    return Pod(
        namespace="ml",
        name=f"{workload}-{index}",
        uid=f"uid-{workload}-{index}",
        node_name=node,
        phase=PodPhase.RUNNING,
        owners=[OwnerRef(kind="Deployment", name=workload)],
        spec=_gpu_spec(),
    )


def _node(name: str) -> Node:
    return Node(
        name=name,
        uid=f"uid-{name}",
        labels={LABEL_INSTANCE_TYPE: "p4d.24xlarge", LABEL_CAPACITY: "on-demand"},
        capacity=Resources(cpu_millis=96_000, memory_bytes=1152 * GIB, extended={GPU_RESOURCE: 8}),
        allocatable=Resources(
            cpu_millis=95_000, memory_bytes=1100 * GIB, extended={GPU_RESOURCE: 8}
        ),
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-40GB", count=8, memory_mib=40_960),
    )


def _snapshot() -> ClusterSnapshot:
    """Three on-demand p4d.24xlarge (8 A100 40GB each) in us-east-1.

    The light service runs one replica on gpu-1 and one on gpu-2; a training Job two pods on
    gpu-3.
    """
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=uuid.uuid4(), name="ml", provider=Provider.AWS, region="us-east-1"
        ),
        taken_at=NOW,
        nodes=[_node(f"gpu-{i}") for i in (1, 2, 3)],
        pods=[_pod(w, i) for w in ("embed", "train") for i in range(2)],
        workloads=[_workload("embed")],
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


def _recommend(gpu: dict[ContainerKey, GpuDutySource]) -> list[Recommendation]:
    state = ClusterState(
        snapshot=_snapshot(),
        usage={},
        pricebook=PriceBook(catalogues=bundled_catalogues()),
        now=NOW,
        gpu=gpu,
    )
    return recommend_gpu_sharing(state)


def test_light_service_is_time_sliced_into_one_pool_and_frees_a_node() -> None:
    """20 % duty and 6 GiB: four replicas per GPU, so both replicas share one pool node.

    With 1.25x duty and 1.15x memory headroom one GPU holds min(1 / 0.25, 40 / 6.9) = 4
    replicas; the other node is emptied: 32.7726 USD/h over 730 h = 23923.998. The busy
    trainer's node is never touched.
    """
    gpu: dict[ContainerKey, GpuDutySource] = {
        ContainerKey("ml", "Deployment", "embed", "serve"): _history(0.2, 6 * GIB),
        ContainerKey("ml", "Deployment", "train", "serve"): _history(0.9, 30 * GIB),
    }
    found = _recommend(gpu)
    assert [r.kind for r in found] == [RecommendationKind.GPU_SHARING]
    assert found[0].monthly_saving_usd == 23924.0
    moves = cast("list[dict[str, Any]]", found[0].evidence["moves"])
    assert [(m["workload"], m["replicas_per_gpu"]) for m in moves] == [("ml/embed", 4)]
    after = cast("dict[str, dict[str, Any]]", found[0].evidence["gpu_map_after"])
    assert after["gpu-3"]["mode"] == "whole-gpu"


def test_container_without_enough_history_is_not_advised() -> None:
    """Fewer than 60 GPU samples: too early to judge."""
    history = GpuDutyHistory()
    history.fold(
        [GpuUsage(node="gpu-1", gpu_index=0, timestamp=T0, utilization=0.1, memory_used_bytes=GIB)]
        * 59
    )
    assert _recommend({ContainerKey("ml", "Deployment", "embed", "serve"): history}) == []
