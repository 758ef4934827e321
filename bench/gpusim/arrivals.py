"""Arrival sequences: the pod list shuffled per seed, then topped up or trimmed to a target.

Below the target (130 % of the cluster's GPU capacity) clones are sampled with replacement from
the original list (sorted by name) and appended after the shuffled originals until the next clone
would pass it; above it, random pods are removed until the sequence is under it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI, PodTable

TARGET_RATIO = 1.3


def arrival_order(
    pods: PodTable, total_gpus: int, seed: int, target_ratio: float = TARGET_RATIO
) -> NDArray[np.int64]:
    """Indices into `pods` (sorted by name) in arrival order for `seed`."""
    rng = np.random.default_rng(seed)
    demand = pods.total_milli()
    target = target_ratio * total_gpus * MILLI
    order = list(rng.permutation(pods.size).tolist())
    total = int(demand.sum())
    if total <= target:
        while True:
            clone = int(rng.integers(pods.size))
            if total + int(demand[clone]) > target:
                break
            order.append(clone)
            total += int(demand[clone])
    else:
        while total > target:
            gone = order.pop(int(rng.integers(len(order))))
            total -= int(demand[gone])
    return np.asarray(order, dtype=np.int64)
