"""Nodes convert with capacity, taints, readiness and GPUs from GFD labels."""

from __future__ import annotations

from typing import Any

from lightkube.resources.core_v1 import Node as KubeNode

from agent.convert.nodes import to_node
from tests.unit.agent.kube_objects import kube


def _node(labels: dict[str, str] | None = None, **extra: Any) -> KubeNode:
    body: dict[str, Any] = {
        "metadata": {
            "name": "gpu-node-1",
            "uid": "0b0c-node",
            "resourceVersion": "812",
            "creationTimestamp": "2026-03-01T10:00:00Z",
            "labels": labels or {},
        },
        "spec": {"providerID": "aws:///us-east-1a/i-0abc"},
        "status": {
            "capacity": {"cpu": "48", "memory": "192Gi", "nvidia.com/gpu": "4"},
            "allocatable": {"cpu": "47500m", "memory": "190Gi", "nvidia.com/gpu": "4"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
        },
    }
    body.update(extra)
    return kube(KubeNode, body)


GFD_LABELS = {
    "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    "nvidia.com/gpu.count": "4",
    "nvidia.com/gpu.memory": "81920",
    "nvidia.com/mig.config": "all-1g.10gb",
    "nvidia.com/mig.config.state": "success",
    "nvidia.com/device-plugin.config": "a100-mig",
    "node.kubernetes.io/instance-type": "p4d.24xlarge",
    "node.kubernetes.io/capacity": "spot",
}


def test_gpu_info_comes_from_gfd_and_mig_labels() -> None:
    """Product, count, memory, MIG config and state and sharing config are read from labels."""
    node = to_node(_node(GFD_LABELS))
    assert node.gpu is not None
    assert node.gpu.model_dump() == {
        "product": "NVIDIA-A100-SXM4-80GB",
        "count": 4,
        "memory_mib": 81920,
        "mig_config": "all-1g.10gb",
        "mig_config_state": "success",
        "sharing_config": "a100-mig",
    }


def test_gpu_count_falls_back_to_capacity_without_gfd() -> None:
    """A node advertising nvidia.com/gpu without GFD labels has GPUs of unknown product."""
    node = to_node(_node())
    assert node.gpu is not None
    assert (node.gpu.product, node.gpu.count, node.gpu.memory_mib) == ("unknown", 4, None)


def test_cpu_node_has_no_gpu_info() -> None:
    """No GPU labels and no GPU capacity means no GpuInfo."""
    body = _node().to_dict()
    body["status"]["capacity"] = {"cpu": "8", "memory": "32Gi"}
    assert to_node(kube(KubeNode, body)).gpu is None


def test_capacity_allocatable_and_identity_are_kept() -> None:
    """Capacity and allocatable are normalised; uid, version, provider id and labels kept."""
    node = to_node(_node(GFD_LABELS))
    assert node.capacity.cpu_millis == 48_000
    assert node.allocatable.cpu_millis == 47_500
    assert node.allocatable.memory_bytes == 190 * 2**30
    assert (node.name, node.uid, node.resource_version) == ("gpu-node-1", "0b0c-node", "812")
    assert node.provider_id == "aws:///us-east-1a/i-0abc"
    assert node.is_spot
    assert node.instance_type == "p4d.24xlarge"
    assert node.ready


def test_taints_and_cordon_are_kept() -> None:
    """Scheduling taints and spec.unschedulable survive the conversion."""
    node = to_node(
        _node(
            spec={
                "unschedulable": True,
                "taints": [
                    {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                ],
            }
        )
    )
    assert node.unschedulable
    assert [(t.key, t.value, t.effect) for t in node.taints] == [
        ("nvidia.com/gpu", "present", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "", "NoSchedule"),
    ]


def test_node_without_ready_condition_is_not_ready() -> None:
    """A node whose kubelet never reported is not Ready."""
    body = _node().to_dict()
    body["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    assert not to_node(kube(KubeNode, body)).ready
