"""A lower bound on the GPUs any placement leaves unallocated, from remainders no pod can fill.

A share of m > 500 milli holds a GPU no other such share can join, and leaves h = 1000 - m that
only pods of h milli or less can fill. Some of these shares every policy must place: share j
fails only if every node it may use is blocked by then, by GPU (each of its g GPUs holding more
than 1000 - m), by CPU (more than c_n - c_j taken) or by memory, and the pods arrived before j
can block at most k_gpu + k_cpu + k_mem nodes, k_x being how many of the cheapest-to-block nodes
their milli, CPU or memory could cover. When that is fewer than the nodes j may use, j is placed
under any policy. For any remainder size H, the remainders of at most H of those shares can be
filled only by the pods of at most H milli in the whole arrival sequence, so

    unallocated >= max_H ( sum of remainders <= H - milli of all pods <= H ),   and >= 0.

It is a bound for the arrival sequence, whatever the policy; it ignores what else stays free.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI, NodeTable, PodTable


def _blockable(costs: NDArray[np.int64], budget: int) -> int:
    """How many of the cheapest-to-block nodes `budget` can block."""
    return int(np.searchsorted(np.cumsum(np.sort(costs)), budget, side="right"))


def guaranteed_remainders(nodes: NodeTable, arrivals: PodTable) -> NDArray[np.int64]:
    """Remainders (1000 - m) of the shares over 500 milli that every policy must place."""
    gpu_before = np.concatenate([[0], np.cumsum(arrivals.total_milli())[:-1]])
    cpu_before = np.concatenate([[0], np.cumsum(arrivals.cpu_milli)[:-1]])
    memory_before = np.concatenate([[0], np.cumsum(arrivals.memory_mib)[:-1]])
    big = np.flatnonzero(
        (arrivals.num_gpu == 1) & (arrivals.gpu_milli > MILLI // 2) & (arrivals.gpu_milli < MILLI)
    )
    remainders: list[int] = []
    for j in big:
        milli = int(arrivals.gpu_milli[j])
        cpu = int(arrivals.cpu_milli[j])
        memory = int(arrivals.memory_mib[j])
        usable = (
            arrivals.allowed[j][nodes.model_id]
            & (nodes.gpu_count > 0)
            & (nodes.cpu_milli >= cpu)
            & (nodes.memory_mib >= memory)
        )
        blocked = (
            _blockable(nodes.gpu_count[usable] * (MILLI - milli + 1), int(gpu_before[j]))
            + _blockable(nodes.cpu_milli[usable] - cpu + 1, int(cpu_before[j]))
            + _blockable(nodes.memory_mib[usable] - memory + 1, int(memory_before[j]))
        )
        if blocked < int(np.count_nonzero(usable)):
            remainders.append(MILLI - milli)
    return np.asarray(remainders, dtype=np.int64)


def unfillable_gpus(nodes: NodeTable, arrivals: PodTable) -> float:
    """GPUs any placement of `arrivals` (in order) leaves unallocated, by the bound above."""
    remainders = guaranteed_remainders(nodes, arrivals)
    shares = (arrivals.num_gpu == 1) & (arrivals.gpu_milli > 0) & (arrivals.gpu_milli < MILLI)
    fillers = arrivals.gpu_milli[shares]
    best = 0
    for size in np.unique(remainders):
        unfilled = int(remainders[remainders <= size].sum()) - int(fillers[fillers <= size].sum())
        best = max(best, unfilled)
    return best / MILLI
