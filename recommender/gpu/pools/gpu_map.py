"""The GPU map of a cluster: every GPU node's product, GPU count, sharing mode and GPU pods.

A recommendation shows it before and after its plan, so a reviewer sees which nodes change mode,
which are emptied and where each moved replica lands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from protocol.snapshot import LABEL_DEVICE_PLUGIN_CONFIG, LABEL_MIG_CONFIG, Node
from recommender.gpu.pools.operator import UNCONFIGURED_MIG
from recommender.gpu.pools.subjects import pod_uses_gpu
from recommender.inventory import Inventory
from recommender.pricing.cost import node_gpus


def gpu_count(node: Node) -> int:
    """Whole GPUs of a node (0 without GPUs)."""
    return round(node_gpus(node)) if node.gpu is not None else 0


def _mode(node: Node) -> str:
    if node.labels.get(LABEL_DEVICE_PLUGIN_CONFIG):
        return f"device-plugin:{node.labels[LABEL_DEVICE_PLUGIN_CONFIG]}"
    layout = node.labels.get(LABEL_MIG_CONFIG, "")
    return "whole-gpu" if layout in UNCONFIGURED_MIG else f"mig:{layout}"


def gpu_pods(inventory: Inventory, moved: set[str] | None) -> dict[str, list[str]]:
    """GPU pods per node; with `moved`, only those of workloads not in it."""
    found: dict[str, list[str]] = {}
    for node in inventory.snapshot.nodes:
        for pod in inventory.pods_on(node.name):
            workload = inventory.workload_of(pod)
            name = f"{workload.namespace}/{workload.name}" if workload else ""
            if pod_uses_gpu(pod) and (moved is None or name not in moved):
                found.setdefault(node.name, []).append(f"{pod.namespace}/{pod.name}")
    return found


def gpu_map(
    inventory: Inventory, pods: Mapping[str, Sequence[str]], modes: Mapping[str, str]
) -> dict[str, object]:
    """Every GPU node: product, GPUs, sharing mode and the GPU pods on it."""
    return {
        node.name: {
            "product": node.gpu.product,
            "gpus": gpu_count(node),
            "mode": modes.get(node.name, _mode(node)),
            "pods": sorted(pods.get(node.name, ())),
        }
        for node in inventory.snapshot.nodes
        if node.gpu is not None and gpu_count(node) > 0
    }
