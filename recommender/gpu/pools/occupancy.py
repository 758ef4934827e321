"""What the GPU pods of a cluster hold on their nodes, as the pool plan counts it.

A pod that asks for whole GPUs holds that many; a MIG slice fixes its GPU's mode, so it holds the
whole GPU. A pod that asks for a thousandth-share of a GPU (`alibabacloud.com/gpu-milli`, the
Alibaba GPU-sharing scheduler's unit) shares its GPU with other such pods: the shares on one
node fill as many GPUs as their sum, rounded up, not one GPU each. Counting every shared pod as a
whole GPU would find more GPUs held than a node has, and a plan that must re-place them as whole
replicas would find no room for them anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from protocol.snapshot import Pod
from recommender.cost.gpu_share import MILLI, gpu_milli
from recommender.gpu.pools.subjects import pod_uses_gpu
from recommender.inventory import Inventory


def shared_milli(pod: Pod) -> int:
    """Thousandths of GPUs the pod holds as shares of GPUs (0 when it holds whole GPUs only)."""
    total = 0
    for container in pod.spec.containers:
        milli = gpu_milli(container.requests, pod.labels)
        if milli is not None and milli < MILLI:
            total += milli * max(container.requests.gpus, 1)
    return total


def holds_gpu_share(pod: Pod) -> bool:
    """Whether the pod holds a share of a GPU rather than whole GPUs."""
    return shared_milli(pod) > 0


def whole_gpus(pod: Pod) -> int:
    """Whole GPUs the pod holds (a MIG slice holds its GPU's mode, so it counts as one)."""
    if holds_gpu_share(pod):
        return 0
    return sum(
        max(c.requests.gpus, c.limits.gpus, 1)
        for c in pod.spec.containers
        if c.requests.gpus or c.limits.gpus or c.requests.mig_slices
    )


@dataclass(slots=True)
class _Held:
    whole: int = 0
    milli: int = 0

    def add(self, pod: Pod) -> None:
        self.whole += whole_gpus(pod)
        self.milli += shared_milli(pod)

    @property
    def gpus(self) -> int:
        return self.whole + math.ceil(self.milli / MILLI)


def gpus_held(pods: Iterable[Pod]) -> int:
    """GPUs a group of pods on one node fills: whole GPUs plus their shares, rounded up."""
    held = _Held()
    for pod in pods:
        held.add(pod)
    return held.gpus


def gpus_by_node(pods: Iterable[Pod]) -> dict[str, int]:
    """GPUs the pods fill on each node they are bound to."""
    held: dict[str, _Held] = {}
    for pod in pods:
        if pod.node_name:
            held.setdefault(pod.node_name, _Held()).add(pod)
    return {node: found.gpus for node, found in held.items() if found.gpus}


@dataclass(frozen=True, slots=True)
class Occupancy:
    """Who holds the GPUs of each node: the plan's moved workloads, or pods that stay."""

    moved: dict[str, list[str]] = field(default_factory=dict)
    """Per node, the pods (`namespace/name`) of moved workloads on it."""
    moved_gpus: dict[str, int] = field(default_factory=dict)
    """Per node, GPUs held by the pods of moved workloads."""
    other_gpus: dict[str, int] = field(default_factory=dict)
    """Per node, GPUs held by pods that do not move (Jobs, bare pods, DaemonSets, shares)."""


def gpu_occupancy(inventory: Inventory, names: Set[str]) -> Occupancy:
    """The GPUs held on each node by the workloads `names` (`namespace/name`) and by the rest."""
    moved: dict[str, list[str]] = {}
    moving: list[Pod] = []
    staying: list[Pod] = []
    for node in inventory.snapshot.nodes:
        for pod in inventory.pods_on(node.name):
            workload = inventory.workload_of(pod)
            if workload is not None and f"{workload.namespace}/{workload.name}" in names:
                moved.setdefault(node.name, []).append(f"{pod.namespace}/{pod.name}")
                moving.append(pod)
            elif pod_uses_gpu(pod):
                staying.append(pod)
    return Occupancy(moved, gpus_by_node(moving), gpus_by_node(staying))
