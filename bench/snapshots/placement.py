"""First-fit placement of trace pods on trace nodes (CPU, memory, whole or shared GPUs)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bench.snapshots.trace import TraceNode, TracePod


@dataclass
class NodeRoom:
    """What is still free on one node while pods are placed first-fit."""

    node: TraceNode
    cpu: int
    memory: int
    gpu_milli: list[int] = field(default_factory=list)

    def fits(self, pod: TracePod) -> list[int] | None:
        """GPU indexes the pod would use here, or None if it does not fit."""
        if pod.cpu_milli > self.cpu or pod.memory_mib > self.memory:
            return None
        if pod.gpu_spec and self.node.model not in pod.gpu_spec:
            return None
        if pod.num_gpu == 0:
            return []
        need = pod.gpu_milli if pod.num_gpu == 1 else 1000
        free = [i for i, milli in enumerate(self.gpu_milli) if milli >= need]
        return free[: pod.num_gpu] if len(free) >= pod.num_gpu else None

    def take(self, pod: TracePod, gpus: list[int]) -> None:
        """Reserve the pod's CPU, memory and GPU share."""
        self.cpu -= pod.cpu_milli
        self.memory -= pod.memory_mib
        need = pod.gpu_milli if pod.num_gpu == 1 else 1000
        for index in gpus:
            self.gpu_milli[index] -= need


def place_first_fit(
    nodes: list[TraceNode], pods: list[TracePod], rng: random.Random
) -> tuple[list[NodeRoom], dict[str, tuple[NodeRoom, list[int]]]]:
    """Nodes in a shuffled order, and where each pod that fits went (with its GPU indexes)."""
    order = list(nodes)
    rng.shuffle(order)
    rooms = [NodeRoom(n, n.cpu_milli, n.memory_mib, [1000] * n.gpus) for n in order]
    placement: dict[str, tuple[NodeRoom, list[int]]] = {}
    for pod in pods:
        for room in rooms:
            gpus = room.fits(pod)
            if gpus is not None:
                room.take(pod, gpus)
                placement[pod.name] = (room, gpus)
                break
    return rooms, placement
