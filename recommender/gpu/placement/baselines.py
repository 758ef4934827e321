"""The published non-fragmentation baselines: Random, DotProd, GpuClustering, GpuPacking, BestFit.

Each scorer follows the formulas of the FGD paper's simulator (Weng et al., USENIX ATC '23), with
its integer truncations, so that the reproduction lands on the published allocation figures.
Notation: node free CPU c and free milli-GPU G (sum over GPUs); pod CPU r, milli per GPU m and
GPU count k; normalising constants 128,000 milli-CPU and 8,000 milli-GPU.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.policy import Placement, best_node, default_gpus
from recommender.gpu.placement.state import ClusterState, affinity_tag, is_shared
from recommender.gpu.placement.tables import MILLI, PodTable

MAX_SPEC_CPU = 128_000
MAX_SPEC_GPU = 8_000
MAX_SCORE = 100


def go_div(numerator: NDArray[np.int64], denominator: int) -> NDArray[np.int64]:
    """Integer division truncating toward zero, as Go's `/` on int64 does."""
    quotient = np.abs(numerator) // denominator
    return np.where(numerator < 0, -quotient, quotient)


class _Stateless:
    """Shared no-op hooks of policies that keep no per-node cache."""

    def start(self, state: ClusterState, rng: np.random.Generator) -> None:
        """Nothing to prepare."""

    def bound(self, state: ClusterState, node: int) -> None:
        """Nothing cached."""


class RandomPolicy(_Stateless):
    """A uniformly random feasible node and a random qualifying GPU on it."""

    name = "Random"

    def __init__(self) -> None:
        """Start without a random stream; `start` supplies the run's."""
        self._rng = np.random.default_rng(0)

    def start(
        self,
        state: ClusterState,  # noqa: ARG002 - the PlacementPolicy protocol's signature
        rng: np.random.Generator,
    ) -> None:
        """Draw from the run's random stream."""
        self._rng = rng

    def choose(
        self, state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
    ) -> Placement:
        """Any feasible node; any GPU with room (any k fully free GPUs for whole-GPU pods)."""
        node = int(candidates[self._rng.integers(len(candidates))])
        k = int(pods.num_gpu[i])
        m = int(pods.gpu_milli[i])
        row = state.gpu_free[node]
        if k == 0 or m == 0:
            return Placement(node, np.zeros(0, dtype=np.int64))
        fitting = np.flatnonzero(row >= m) if is_shared(k, m) else np.flatnonzero(row == MILLI)
        chosen = self._rng.choice(fitting, size=k, replace=False)
        return Placement(node, np.sort(chosen).astype(np.int64))


def dot_product_scores(
    state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
) -> NDArray[np.int64]:
    """DotProd: int(100 x (1 - ((c/128000)(r/128000) + (G/8000)(mk/8000)) / 2))."""
    cpu = state.cpu_free[candidates] / MAX_SPEC_CPU * (pods.cpu_milli[i] / MAX_SPEC_CPU)
    gpu_request = pods.gpu_milli[i] * pods.num_gpu[i]
    gpu = state.total_free[candidates] / MAX_SPEC_GPU * (gpu_request / MAX_SPEC_GPU)
    scores: NDArray[np.float64] = MAX_SCORE * (1.0 - (cpu + gpu) / 2)
    return scores.astype(np.int64)


def gpu_clustering_scores(
    state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
) -> NDArray[np.int64]:
    """GpuClustering: 25 (8000 - G)/8000 plus 75/50/25/0 by the kinds of GPU pods on the node."""
    k = int(pods.num_gpu[i])
    m = int(pods.gpu_milli[i])
    if k == 0 or m == 0:
        return np.zeros(len(candidates), dtype=np.int64)
    quarter = MAX_SCORE // 4
    base = go_div(quarter * (MAX_SPEC_GPU - state.total_free[candidates]), MAX_SPEC_GPU)
    kinds = state.affinity[candidates]
    tag = min(affinity_tag(k, m), kinds.shape[1] - 1)
    holds_kind = kinds[:, tag] > 0
    kind_count = np.count_nonzero(kinds > 0, axis=1)
    bonus = np.where(
        holds_kind,
        np.where(kind_count == 1, 3 * quarter, 2 * quarter),
        np.where(kind_count == 0, quarter, 0),
    )
    return (base + bonus).astype(np.int64)


def gpu_packing_scores(
    state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
) -> NDArray[np.int64]:
    """GpuPacking: prefer partly used GPUs, then free GPUs on used nodes, then idle nodes."""
    k = int(pods.num_gpu[i])
    m = int(pods.gpu_milli[i])
    if k == 0 or m == 0:
        return np.zeros(len(candidates), dtype=np.int64)
    full = state.full_free[candidates]
    idle_node = full == state.nodes.gpu_count[candidates]
    idle_score = np.maximum(MAX_SCORE // 3 - full, full)
    if is_shared(k, m):
        rows = state.gpu_free[candidates]
        tight = np.where(rows >= m, rows, np.iinfo(np.int64).max).min(axis=1)
        uses_free_gpu = tight == MILLI
        shared_score = np.maximum(MAX_SCORE - (tight * 100 // MILLI) // 10, MAX_SCORE // 2)
    else:
        uses_free_gpu = np.ones(len(candidates), dtype=np.bool_)
        shared_score = np.zeros(len(candidates), dtype=np.int64)
    free_gpu_score = max(MAX_SCORE // 2 - k, MAX_SCORE // 3)
    return np.where(
        idle_node, idle_score, np.where(uses_free_gpu, free_gpu_score, shared_score)
    ).astype(np.int64)


def best_fit_scores(
    state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
) -> NDArray[np.int64]:
    """BestFit: s = 0.5 (c - r)/128000 + 0.5 (G - mk)/8000; score int((1 - s) x 100)."""
    cpu_left = (state.cpu_free[candidates] - pods.cpu_milli[i]) / MAX_SPEC_CPU * 0.5
    gpu_request = pods.gpu_milli[i] * pods.num_gpu[i]
    gpu_left = (state.total_free[candidates] - gpu_request) / MAX_SPEC_GPU * 0.5
    scores: NDArray[np.float64] = (1.0 - (cpu_left + gpu_left)) * MAX_SCORE
    return scores.astype(np.int64)


class _ScoredPolicy(_Stateless):
    """A policy defined by one vectorised scorer and the default GPU choice."""

    name = ""

    @staticmethod
    def scores(
        state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Score of each candidate node (higher is better)."""
        raise NotImplementedError

    def choose(
        self, state: ClusterState, pods: PodTable, i: int, candidates: NDArray[np.int64]
    ) -> Placement:
        """The best-scoring node, and the tightest GPU (or first free GPUs) on it."""
        node = best_node(self.scores(state, pods, i, candidates), candidates, state)
        return Placement(node, default_gpus(state, pods, i, node))


class DotProdPolicy(_ScoredPolicy):
    """Tetris-style dot product of free resources and request."""

    name = "DotProd"
    scores = staticmethod(dot_product_scores)


class GpuClusteringPolicy(_ScoredPolicy):
    """Keep pods of one kind (share-gpu, k-gpu) together."""

    name = "GpuClustering"
    scores = staticmethod(gpu_clustering_scores)


class GpuPackingPolicy(_ScoredPolicy):
    """Pack onto partly used GPUs before touching free ones."""

    name = "GpuPacking"
    scores = staticmethod(gpu_packing_scores)


class BestFitPolicy(_ScoredPolicy):
    """The node left with the least free CPU and GPU after placement."""

    name = "BestFit"
    scores = staticmethod(best_fit_scores)
