"""The typical-pod mix: the workload distribution that fragmentation is measured against.

Pod types are (CPU, milli per GPU, GPU count, GPU spec). Types are sorted by how many pods share
them and kept, most frequent first, until they cover the popularity threshold (95 % of pods);
their frequencies are then renormalised to sum to one. This is the only knowledge of the future
that FGD (and our policy) use: a distribution, never the arrivals themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import PodTable, allowed_models

POPULARITY_THRESHOLD = 0.95


@dataclass(frozen=True, slots=True)
class TypicalPods:
    """Typical pod types as columns, with their renormalised frequencies."""

    cpu_milli: NDArray[np.int64]
    gpu_milli: NDArray[np.int64]
    num_gpu: NDArray[np.int64]
    gpu_spec: tuple[str, ...]
    weight: NDArray[np.float64]
    allowed: NDArray[np.bool_]
    """`[types x models]`: whether the type may run on each GPU model."""

    @property
    def size(self) -> int:
        """Number of typical types."""
        return len(self.gpu_spec)

    @property
    def needs_gpu(self) -> NDArray[np.bool_]:
        """Types that ask for GPU (CPU-only types never count a node's GPUs as usable)."""
        return self.gpu_milli > 0


def typical_pods(
    pods: PodTable, models: Sequence[str], threshold: float = POPULARITY_THRESHOLD
) -> TypicalPods:
    """The most frequent pod types of `pods` that together cover `threshold` of them."""
    keys = [
        (int(c), int(m), int(k), spec)
        for c, m, k, spec in zip(
            pods.cpu_milli, pods.gpu_milli, pods.num_gpu, pods.gpu_spec, strict=True
        )
    ]
    counts = Counter(keys)
    # Most frequent first; equal counts ordered by the type itself, largest first, so the cut
    # at the threshold is deterministic.
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    total = float(len(keys))
    kept: list[tuple[tuple[int, int, int, str], int]] = []
    covered = 0.0
    for key, count in ranked:
        if covered >= threshold * total:
            break
        kept.append((key, count))
        covered += count
    weights = np.array([count / covered for _, count in kept], dtype=np.float64)
    specs = tuple(key[3] for key, _ in kept)
    allowed = np.array([allowed_models(spec, models) for spec in specs], dtype=np.bool_)
    return TypicalPods(
        cpu_milli=np.array([key[0] for key, _ in kept], dtype=np.int64),
        gpu_milli=np.array([key[1] for key, _ in kept], dtype=np.int64),
        num_gpu=np.array([key[2] for key, _ in kept], dtype=np.int64),
        gpu_spec=specs,
        weight=weights,
        allowed=allowed.reshape(len(kept), len(models)),
    )
