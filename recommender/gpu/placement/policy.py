"""What a placement policy is, and the choices every scoring policy shares.

A policy scores the feasible nodes of one pod; the highest score wins and ties go to the node that
comes first in a per-run random order (`ClusterState.tie_key`). Inside the chosen node, policies
other than FGD-style ones take the GPU with the least free milli that still fits (lowest index on
ties); whole-GPU pods take the first fully free GPUs by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.state import ClusterState, is_shared
from recommender.gpu.placement.tables import MILLI, PodTable

NO_GPUS: NDArray[np.int64] = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Placement:
    """The node and GPU indices chosen for one pod."""

    node: int
    gpus: NDArray[np.int64]


class PlacementPolicy(Protocol):
    """A node-and-GPU chooser driven by the simulator or by the planner."""

    name: str

    def start(self, state: ClusterState, rng: np.random.Generator) -> None:
        """Prepare for a run on `state` (caches, random streams)."""

    def choose(
        self, state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
    ) -> Placement:
        """Pick a node among `candidates` (feasible, non-empty) and GPUs on it for pod `i`."""
        ...

    def bound(self, state: ClusterState, node: int) -> None:
        """Called after a pod was bound to `node`, so caches of that node can be refreshed."""


def best_node(
    scores: NDArray[np.int64] | NDArray[np.float64],
    candidates: NDArray[np.int64],
    state: ClusterState,
) -> int:
    """The candidate with the highest score; ties go to the first node in the run's order."""
    top = scores.max()
    tied = candidates[scores == top]
    return int(tied[np.argmax(state.tie_key[tied])])


def tightest_gpu(row: NDArray[np.int64], milli: int) -> int:
    """Index of the GPU with the least free milli that still holds `milli` (lowest on ties)."""
    room = np.where(row >= milli, row, np.iinfo(np.int64).max)
    return int(np.argmin(room))


def first_free_gpus(row: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """Indices of the first `count` fully free GPUs."""
    return np.flatnonzero(row == MILLI)[:count].astype(np.int64)


def default_gpus(state: ClusterState, pods: PodTable, i: int, node: int) -> NDArray[np.int64]:
    """GPUs the non-FGD policies take on `node`: tightest fit for a share, first free otherwise."""
    k = int(pods.num_gpu[i])
    m = int(pods.gpu_milli[i])
    if k == 0 or m == 0:
        return NO_GPUS
    row = state.gpu_free[node]
    if is_shared(k, m):
        return np.array([tightest_gpu(row, m)], dtype=np.int64)
    return first_free_gpus(row, k)
