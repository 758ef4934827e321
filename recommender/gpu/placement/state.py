"""The mutable free-resource arrays of a cluster while pods are being placed.

One row per node; `gpu_free` is `[nodes x GPU slots]` with slots beyond a node's GPU count held at
0 free, which no GPU pod can use and which adds nothing to any sum. Derived columns (total free
milli, fully free GPUs, largest free GPU) are kept up to date on every bind so that filters and
scorers never recompute them over the whole cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI, NodeTable, PodTable

DEFAULT_MAX_PODS = 1001
"""Pods one node accepts, as in the published simulator's node filter."""

SHARE_TAG = 0
"""Affinity column of GPU-sharing pods; column k counts pods holding k whole GPUs."""


def is_shared(num_gpu: int, gpu_milli: int) -> bool:
    """True for a pod that takes a fraction of one GPU."""
    return num_gpu == 1 and gpu_milli < MILLI


def affinity_tag(num_gpu: int, gpu_milli: int) -> int:
    """Affinity column of a GPU pod: `SHARE_TAG` for a fraction of a GPU, else its GPU count."""
    return SHARE_TAG if is_shared(num_gpu, gpu_milli) else num_gpu


@dataclass(slots=True)
class ClusterState:
    """Free CPU, memory, pod slots and per-GPU milli of every node, updated in place by `bind`."""

    nodes: NodeTable
    cpu_free: NDArray[np.int64]
    mem_free: NDArray[np.int64]
    pod_count: NDArray[np.int64]
    gpu_free: NDArray[np.int64]
    total_free: NDArray[np.int64]
    full_free: NDArray[np.int64]
    max_free: NDArray[np.int64]
    affinity: NDArray[np.int64]
    tie_key: NDArray[np.int64]
    """Higher wins among equal scores: `nodes - 1 - rank` in a per-run random node order."""
    max_pods: int = DEFAULT_MAX_PODS

    @classmethod
    def empty(
        cls, nodes: NodeTable, tie_rank: NDArray[np.int64], max_pods: int = DEFAULT_MAX_PODS
    ) -> ClusterState:
        """A cluster with nothing placed; `tie_rank` is a permutation of node indices."""
        width = nodes.gpu_slots
        slots = np.arange(width, dtype=np.int64)
        gpu_free = np.where(slots[None, :] < nodes.gpu_count[:, None], MILLI, 0).astype(np.int64)
        return cls(
            nodes=nodes,
            cpu_free=nodes.cpu_milli.copy(),
            mem_free=nodes.memory_mib.copy(),
            pod_count=np.zeros(nodes.size, dtype=np.int64),
            gpu_free=gpu_free,
            total_free=gpu_free.sum(axis=1),
            full_free=(gpu_free == MILLI).sum(axis=1).astype(np.int64),
            max_free=gpu_free.max(axis=1),
            affinity=np.zeros((nodes.size, width + 1), dtype=np.int64),
            tie_key=(nodes.size - 1 - np.asarray(tie_rank, dtype=np.int64)),
            max_pods=max_pods,
        )

    def feasible(self, pods: PodTable, i: int) -> NDArray[np.bool_]:
        """Nodes that pass the filter for pod `i`: CPU, memory, pod count, GPU model and room."""
        mask: NDArray[np.bool_] = (
            (self.cpu_free >= pods.cpu_milli[i])
            & (self.mem_free >= pods.memory_mib[i])
            & (self.pod_count < self.max_pods)
        )
        k = int(pods.num_gpu[i])
        m = int(pods.gpu_milli[i])
        if k == 0 or m == 0:
            return mask
        mask &= pods.allowed[i][self.nodes.model_id]
        room: NDArray[np.bool_] = self.max_free >= m if is_shared(k, m) else self.full_free >= k
        return mask & room

    def bind(self, node: int, gpus: NDArray[np.int64], pods: PodTable, i: int) -> None:
        """Place pod `i` on `node`, taking its milli-GPU from each of `gpus`."""
        k = int(pods.num_gpu[i])
        m = int(pods.gpu_milli[i])
        self.cpu_free[node] -= pods.cpu_milli[i]
        self.mem_free[node] -= pods.memory_mib[i]
        self.pod_count[node] += 1
        if k == 0 or m == 0:
            return
        self.gpu_free[node, gpus] -= m
        self.refresh(node)
        self.affinity[node, min(affinity_tag(k, m), self.affinity.shape[1] - 1)] += 1

    def refresh(self, node: int) -> None:
        """Recompute a node's derived columns after its `gpu_free` row was changed."""
        row = self.gpu_free[node]
        self.total_free[node] = row.sum()
        self.full_free[node] = int(np.count_nonzero(row == MILLI))
        self.max_free[node] = row.max()

    def allocated_milli(self) -> int:
        """Milli-GPU in use over the whole cluster."""
        return int(self.nodes.gpu_count.sum()) * MILLI - int(self.total_free.sum())
