"""Hand-built GPU clusters for the cluster-level pool plan tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from protocol.gpu_operator import (
    MIG_PARTED_CONFIG_KEY,
    ConfigRef,
    GpuOperatorState,
    MigStrategy,
    OperatorConfigMap,
)
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    ClusterInfo,
    ClusterSnapshot,
    Container,
    GpuInfo,
    Node,
    OwnerRef,
    Pod,
    PodPhase,
    PodSpecSummary,
    Provider,
    Workload,
    WorkloadKind,
)
from recommender.cost.gpu_share import GPU_MILLI
from recommender.gpu.usage_profile import GpuUsageProfile, profile_usage
from recommender.usage.key import ContainerKey
from tests.unit.recommender.gpu.advice_fixtures import CONFIG

GIB = 2**30
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def gpu_node(name: str) -> Node:
    """An on-demand p4d.24xlarge: eight A100 40GB, labelled as GPU feature discovery does."""
    gpus = Resources(extended={GPU_RESOURCE: 8})
    return Node(
        name=name,
        uid=f"uid-{name}",
        labels={
            LABEL_INSTANCE_TYPE: "p4d.24xlarge",
            LABEL_CAPACITY: "on-demand",
            "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB",
            "nvidia.com/gpu.count": "8",
        },
        capacity=Resources(cpu_millis=96_000, memory_bytes=1152 * GIB, extended=gpus.extended),
        allocatable=Resources(cpu_millis=95_000, memory_bytes=1100 * GIB, extended=gpus.extended),
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-40GB", count=8, memory_mib=40_960),
    )


def _spec(gpus: int = 1) -> PodSpecSummary:
    return PodSpecSummary(
        containers=[Container(name="serve", requests=Resources(extended={GPU_RESOURCE: gpus}))]
    )


def deployment(name: str, replicas: int, namespace: str = "ml") -> Workload:
    """A Deployment of one-GPU replicas."""
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{name}",
        resource_version="7",
        replicas=replicas,
        template=_spec(),
    )


def pods(
    workload: str, nodes: list[str], owner: str = "Deployment", namespace: str = "ml"
) -> list[Pod]:
    """One running one-GPU pod of `workload` (a Deployment, or `owner`) per entry of `nodes`."""
    return [
        Pod(
            namespace=namespace,
            name=f"{workload}-{index}",
            uid=f"uid-{namespace}-{workload}-{index}",
            node_name=node,
            phase=PodPhase.RUNNING,
            owners=[OwnerRef(kind=owner, name=workload)],
            spec=_spec(),
        )
        for index, node in enumerate(nodes)
    ]


def shared_pods(
    workload: str, nodes: list[str], milli: int, owner: str = "Deployment", namespace: str = "ml"
) -> list[Pod]:
    """Pods of `workload` holding `milli` thousandths of one GPU each, as the Alibaba
    GPU-sharing scheduler places them: each asks for one GPU and names its share in a label."""
    return [
        pod.model_copy(update={"labels": {GPU_MILLI: str(milli)}})
        for pod in pods(workload, nodes, owner, namespace)
    ]


def profile(memory_gib: float, duty: float) -> GpuUsageProfile:
    """A steady usage profile over 200 minutes."""
    return profile_usage(np.full(200, duty), np.full(200, memory_gib * GIB))


def bursty_profile() -> GpuUsageProfile:
    """Idle but for short 35 % bursts, 6 GiB: time-slicing, two replicas per GPU."""
    duty = np.array([0.0] * 190 + [0.35] * 10)
    return profile_usage(duty, np.full(duty.size, 6 * GIB))


def key(workload: str, namespace: str = "ml") -> ContainerKey:
    """The usage key of a fixture workload's GPU container."""
    return ContainerKey(namespace, "Deployment", workload, "serve")


def operator(strategy: MigStrategy, *, device_plugin_config: str | None = None) -> GpuOperatorState:
    """A ClusterPolicy with NVIDIA's default mig-parted config in its mig-manager ConfigMap."""
    return GpuOperatorState(
        cluster_policy="cluster-policy",
        namespace="gpu-operator",
        device_plugin_config=ConfigRef(name=device_plugin_config),
        mig_strategy=strategy,
        mig_manager_config=ConfigRef(name="default-mig-parted-config", default="all-disabled"),
        config_maps=[
            OperatorConfigMap(
                namespace="gpu-operator",
                name="default-mig-parted-config",
                resource_version="11",
                data={MIG_PARTED_CONFIG_KEY: CONFIG.read_text()},
            )
        ],
    )


def snapshot(
    nodes: list[Node],
    workloads: list[Workload],
    all_pods: list[Pod],
    gpu_operator: GpuOperatorState | None = None,
) -> ClusterSnapshot:
    """An AWS us-east-1 cluster."""
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=uuid.uuid4(), name="ml", provider=Provider.AWS, region="us-east-1"
        ),
        taken_at=NOW,
        nodes=nodes,
        pods=all_pods,
        workloads=workloads,
        gpu_operator=gpu_operator,
    )
