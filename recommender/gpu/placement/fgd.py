"""FGD: fragmentation gradient descent (Weng et al., USENIX ATC '23).

A placement's score is int(100 x sigmoid((F_before - F_after) / 1000)): the node whose
fragmentation grows least (or shrinks most) wins. A shared pod tries every GPU with room and keeps
the best (lowest index on ties); whole-GPU pods take the first free GPUs by index.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.fragmentation import IndexedPolicy
from recommender.gpu.placement.policy import NO_GPUS, Placement, best_node, first_free_gpus
from recommender.gpu.placement.state import ClusterState, is_shared
from recommender.gpu.placement.tables import PodTable

MAX_SCORE = 100
SIGMOID_SCALE = 1000.0


def gradient_scores(
    before: NDArray[np.float64], after: NDArray[np.float64], *, points: int = MAX_SCORE
) -> NDArray[np.int64]:
    """int(points x sigmoid((before - after) / 1000)), truncated as the published scorer does.

    The published scorer has 100 points.
    """
    sigmoid = 1.0 / (1.0 + np.exp(-(before - after) / SIGMOID_SCALE))
    return (sigmoid * points).astype(np.int64)


def share_candidates(
    state: ClusterState, candidates: NDArray[np.int64], milli: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Every (node, GPU index, free milli) among `candidates` whose GPU holds `milli`.

    GPUs of one node with equal free milli would score alike; only the lowest-indexed of them is
    listed, which is also the one the lowest-index tie rule would pick.
    """
    rows = state.gpu_free[candidates]
    width = rows.shape[1]
    earlier = np.tri(width, width, -1, dtype=np.bool_)
    repeated = ((rows[:, :, None] == rows[:, None, :]) & earlier[None, :, :]).any(axis=2)
    local, gpu = np.nonzero((rows >= milli) & ~repeated)
    return candidates[local], gpu.astype(np.int64), rows[local, gpu]


def best_per_node(
    nodes: NDArray[np.int64], scores: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct nodes of a node-sorted candidate list and the best score of each."""
    starts = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
    return nodes[starts], np.maximum.reduceat(scores, starts)


class FgdPolicy(IndexedPolicy):
    """FGD as published: one scorer, highest score wins, ties to the run's node order."""

    name = "FGD"

    def choose(
        self, state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
    ) -> Placement:
        """The placement with the best fragmentation gradient."""
        cpu = int(pods.cpu_milli[i])
        k = int(pods.num_gpu[i])
        m = int(pods.gpu_milli[i])
        index = self.index
        if is_shared(k, m):
            nodes, gpus, free = share_candidates(state, candidates, m)
            after = index.after_share(state, nodes, free, cpu, m)
            scores = gradient_scores(index.value[nodes], after)
            distinct, node_best = best_per_node(nodes, scores)
            node = best_node(node_best, distinct, state)
            mine = (nodes == node) & (scores == node_best[np.searchsorted(distinct, node)])
            return Placement(node, gpus[np.argmax(mine)][None])
        after = index.after_whole(state, candidates, cpu, k, m)
        node = best_node(gradient_scores(index.value[candidates], after), candidates, state)
        gpus_taken = first_free_gpus(state.gpu_free[node], k) if k and m else NO_GPUS
        return Placement(node, gpus_taken)
