"""Offer pods to a cluster one by one under a policy and record allocation after every event.

Pods are never deleted, and a pod that no node can take fails at once and is never retried (it
still counts as arrived), as in the published simulation protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.policy import PlacementPolicy
from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import NodeTable, PodTable


@dataclass(frozen=True, slots=True)
class RunTrace:
    """Per-event record of one run: cumulative arrived and allocated milli-GPU, chosen nodes."""

    arrived_milli: NDArray[np.int64]
    allocated_milli: NDArray[np.int64]
    node: NDArray[np.int64]
    """Node index each pod went to, -1 when it failed."""
    final: ClusterState

    @property
    def failed(self) -> int:
        """Pods that found no node."""
        return int(np.count_nonzero(self.node < 0))


def simulate(
    nodes: NodeTable,
    arrivals: PodTable,
    policy: PlacementPolicy,
    rng: np.random.Generator,
) -> RunTrace:
    """Place `arrivals` in order on an empty cluster of `nodes` with `policy`."""
    state = ClusterState.empty(nodes, rng.permutation(nodes.size).astype(np.int64))
    policy.start(state, rng)
    demand = arrivals.total_milli()
    arrived = np.cumsum(demand).astype(np.int64)
    allocated = np.zeros(arrivals.size, dtype=np.int64)
    chosen = np.full(arrivals.size, -1, dtype=np.int64)
    in_use = 0
    for i in range(arrivals.size):
        candidates = np.flatnonzero(state.feasible(arrivals, i))
        if candidates.size:
            placement = policy.choose(state, arrivals, i, candidates)
            state.bind(placement.node, placement.gpus, arrivals, i)
            policy.bound(state, placement.node)
            chosen[i] = placement.node
            in_use += int(demand[i])
        allocated[i] = in_use
    return RunTrace(arrived, allocated, chosen, state)
