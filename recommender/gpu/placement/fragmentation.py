"""FGD's fragmentation measure of a node against the typical-pod mix, kept per node.

For a typical pod p (frequency f_p), a node's free milli-GPU counts as fragmented when p could
not run there: all of it (G) if p is CPU-only, if the node's GPU model is excluded, if fewer than
p.k GPUs have p.m free, or if the node's free CPU is short; otherwise only the free milli on GPUs
with less than p.m free. F = sum_p f_p x frag_p.

Two sufficient statistics per node and type make F cheap to update for a hypothetical placement:
`count[n, t]` (GPUs with at least m_t free) and `stranded[n, t]` (free milli on GPUs below m_t).
Placing m milli on a GPU with g free changes them only through g and g - m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import MILLI
from recommender.gpu.placement.typical_pods import TypicalPods


def fragmentation(
    cpu_free: NDArray[np.int64],
    total_free: NDArray[np.int64],
    count: NDArray[np.int64],
    stranded: NDArray[np.int64],
    *,
    usable: NDArray[np.bool_],
    typical: TypicalPods,
) -> NDArray[np.float64]:
    """F of each row: `[rows]` CPU and GPU totals, `[rows x types]` statistics and access."""
    fits = usable & (cpu_free[:, None] >= typical.cpu_milli) & (count >= typical.num_gpu)
    frag = np.where(fits, stranded, total_free[:, None])
    return np.asarray(frag @ typical.weight, dtype=np.float64)


def gpu_statistics(
    gpu_free: NDArray[np.int64], typical: TypicalPods
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """`count` and `stranded` of each row of a `[rows x GPU slots]` free-milli array."""
    free = gpu_free[:, :, None]
    milli = typical.gpu_milli[None, None, :]
    count = np.count_nonzero(free >= milli, axis=1).astype(np.int64)
    stranded = np.where(free < milli, free, 0).sum(axis=1).astype(np.int64)
    return count, stranded


@dataclass(slots=True)
class FragmentationIndex:
    """Per-node F and its sufficient statistics, refreshed one node at a time."""

    typical: TypicalPods
    usable: NDArray[np.bool_]
    """`[nodes x types]`: the type asks for GPU and may use the node's model."""
    count: NDArray[np.int64]
    stranded: NDArray[np.int64]
    value: NDArray[np.float64]

    @classmethod
    def build(cls, state: ClusterState, typical: TypicalPods) -> FragmentationIndex:
        """Statistics and F of every node of `state`."""
        usable = typical.allowed[:, state.nodes.model_id].T & typical.needs_gpu[None, :]
        count, stranded = gpu_statistics(state.gpu_free, typical)
        value = fragmentation(
            state.cpu_free, state.total_free, count, stranded, usable=usable, typical=typical
        )
        return cls(typical, usable, count, stranded, value)

    def refresh(self, state: ClusterState, node: int) -> None:
        """Recompute one node after a bind."""
        count, stranded = gpu_statistics(state.gpu_free[node : node + 1], self.typical)
        self.count[node] = count[0]
        self.stranded[node] = stranded[0]
        self.value[node] = fragmentation(
            state.cpu_free[node : node + 1],
            state.total_free[node : node + 1],
            count,
            stranded,
            usable=self.usable[node : node + 1],
            typical=self.typical,
        )[0]

    def after_share(
        self,
        state: ClusterState,
        nodes: NDArray[np.int64],
        gpu_free: NDArray[np.int64],
        cpu: int,
        milli: int,
    ) -> NDArray[np.float64]:
        """F of `nodes[j]` after `milli` of the GPU holding `gpu_free[j]` and `cpu` are taken."""
        after = gpu_free - milli
        type_milli = self.typical.gpu_milli[None, :]
        before_col = gpu_free[:, None]
        after_col = after[:, None]
        count = (
            self.count[nodes]
            - (before_col >= type_milli).astype(np.int64)
            + (after_col >= type_milli).astype(np.int64)
        )
        stranded = (
            self.stranded[nodes]
            - np.where(before_col < type_milli, before_col, 0)
            + np.where(after_col < type_milli, after_col, 0)
        )
        return fragmentation(
            state.cpu_free[nodes] - cpu,
            state.total_free[nodes] - milli,
            count,
            stranded,
            usable=self.usable[nodes],
            typical=self.typical,
        )

    def after_whole(
        self, state: ClusterState, nodes: NDArray[np.int64], cpu: int, gpus: int, milli: int
    ) -> NDArray[np.float64]:
        """F of `nodes` after `cpu` and `gpus` fully free GPUs (milli each, 0 or 1000) go."""
        if gpus == 0 or milli == 0:
            return fragmentation(
                state.cpu_free[nodes] - cpu,
                state.total_free[nodes],
                self.count[nodes],
                self.stranded[nodes],
                usable=self.usable[nodes],
                typical=self.typical,
            )
        full = MILLI
        left = full - milli
        type_milli = self.typical.gpu_milli[None, :]
        count = self.count[nodes] - gpus * (
            (full >= type_milli).astype(np.int64) - (left >= type_milli).astype(np.int64)
        )
        stranded = self.stranded[nodes] + gpus * (
            np.where(left < type_milli, left, 0) - np.where(full < type_milli, full, 0)
        )
        return fragmentation(
            state.cpu_free[nodes] - cpu,
            state.total_free[nodes] - gpus * milli,
            count,
            stranded,
            usable=self.usable[nodes],
            typical=self.typical,
        )


class IndexedPolicy:
    """Base of policies that score against a per-run fragmentation index of the typical mix."""

    def __init__(self, typical: TypicalPods) -> None:
        """Measure nodes against `typical`, the original pod list's typical mix."""
        self.typical = typical
        self._index: FragmentationIndex | None = None

    @property
    def index(self) -> FragmentationIndex:
        """The per-node fragmentation cache of the current run."""
        if self._index is None:
            raise RuntimeError("start() must be called before placing pods")
        return self._index

    def start(
        self,
        state: ClusterState,
        rng: np.random.Generator,  # noqa: ARG002 - the PlacementPolicy protocol's signature
    ) -> None:
        """Measure every node of the empty cluster."""
        self._index = FragmentationIndex.build(state, self.typical)

    def bound(self, state: ClusterState, node: int) -> None:
        """Re-measure the node that just changed."""
        self.index.refresh(state, node)
