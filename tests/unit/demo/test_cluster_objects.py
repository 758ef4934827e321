"""The demo fleet as Kubernetes manifests: what the API server requires and the scheduler reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from bench.snapshots.trace import TraceNode, TracePod
from demo.cluster_objects import MAX_PODS, Manifest, fleet_manifests
from demo.fleet import FleetSpec, build_fleet
from protocol.snapshot import LABEL_GPU_PRODUCT

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
CLUSTER = uuid.UUID(int=7)


def _manifests() -> list[Manifest]:
    nodes = [TraceNode(f"n-{i}", 16_000, 65_536, 2, "T4") for i in range(4)]
    web = [TracePod(f"web-{i}", 4000, 8192, 1, 1000, ("T4",), "BE", "Running") for i in range(4)]
    job = [TracePod("job-0", 2000, 4096, 0, 0, (), "BE", "Running")]
    return fleet_manifests(build_fleet(nodes, web + job, FleetSpec(CLUSTER), NOW))


def _of_kind(kind: str) -> list[Manifest]:
    return [m for m in _manifests() if m["kind"] == kind]


def test_gpu_limits_equal_gpu_requests() -> None:
    """A GPU request comes with an equal limit, which the API requires of extended resources."""
    for workload in _of_kind("Deployment") + _of_kind("StatefulSet"):
        containers = workload["spec"]["template"]["spec"]["containers"]
        for resources in (c["resources"] for c in containers):
            gpus = resources["requests"].get("nvidia.com/gpu")
            assert resources.get("limits", {}).get("nvidia.com/gpu") == gpus


def test_nodes_report_the_kubelet_pod_capacity() -> None:
    """Every Node can hold the kubelet's default number of Pods."""
    for node in _of_kind("Node"):
        status = node["status"]
        assert status["capacity"]["pods"] == MAX_PODS
        assert status["allocatable"]["pods"] == MAX_PODS


def test_first_workload_is_a_statefulset_the_other_a_deployment() -> None:
    """Workloads alternate into StatefulSets one in four, starting with the first."""
    kinds = [m["kind"] for m in _manifests() if m["kind"] in {"Deployment", "StatefulSet"}]

    assert kinds == ["StatefulSet", "Deployment"]


def test_gpu_model_choice_becomes_a_node_selector() -> None:
    """Pods allowed on one GPU model select it by the GPU feature discovery label."""
    selectors = [
        w["spec"]["template"]["spec"].get("nodeSelector")
        for w in _of_kind("Deployment") + _of_kind("StatefulSet")
    ]

    assert {LABEL_GPU_PRODUCT: "T4"} in selectors
