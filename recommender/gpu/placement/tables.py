"""Column tables of nodes and pods: the immutable inputs of a placement run.

Pods are held as parallel numpy columns rather than one object per pod, so a simulation over ten
thousand arrivals touches only integers in its inner loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MILLI = 1000
"""Milli-GPU in one whole GPU."""

SPEC_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class NodeTable:
    """Nodes of a cluster: capacity columns and the GPU model of each node."""

    names: tuple[str, ...]
    cpu_milli: NDArray[np.int64]
    memory_mib: NDArray[np.int64]
    gpu_count: NDArray[np.int64]
    model_id: NDArray[np.int64]
    models: tuple[str, ...]
    """GPU model names; `model_id` indexes this tuple ("" for a node without GPUs)."""

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.names)

    @property
    def total_gpus(self) -> int:
        """GPUs in the whole cluster."""
        return int(self.gpu_count.sum())

    @property
    def gpu_slots(self) -> int:
        """Width of the per-GPU arrays: the most GPUs any node has (at least one)."""
        return max(1, int(self.gpu_count.max(initial=0)))


@dataclass(frozen=True, slots=True)
class PodTable:
    """Pods to place, as columns; `allowed[i, model]` says whether pod i may use that model."""

    names: tuple[str, ...]
    cpu_milli: NDArray[np.int64]
    memory_mib: NDArray[np.int64]
    num_gpu: NDArray[np.int64]
    gpu_milli: NDArray[np.int64]
    gpu_spec: tuple[str, ...]
    allowed: NDArray[np.bool_]

    @property
    def size(self) -> int:
        """Number of pods."""
        return len(self.names)

    def total_milli(self) -> NDArray[np.int64]:
        """Milli-GPU each pod asks for in all (`gpu_milli x num_gpu`)."""
        return self.gpu_milli * self.num_gpu

    def take(self, order: NDArray[np.int64]) -> PodTable:
        """The pods at `order`, in that order (indices may repeat: clones)."""
        return PodTable(
            names=tuple(self.names[i] for i in order),
            cpu_milli=self.cpu_milli[order],
            memory_mib=self.memory_mib[order],
            num_gpu=self.num_gpu[order],
            gpu_milli=self.gpu_milli[order],
            gpu_spec=tuple(self.gpu_spec[i] for i in order),
            allowed=self.allowed[order],
        )


def build_node_table(
    names: Sequence[str],
    cpu_milli: Sequence[int],
    memory_mib: Sequence[int],
    gpu_count: Sequence[int],
    model: Sequence[str],
) -> NodeTable:
    """Columns of a node list; GPU models are numbered in order of first appearance."""
    models: dict[str, int] = {}
    model_ids = [models.setdefault(name, len(models)) for name in model]
    return NodeTable(
        names=tuple(names),
        cpu_milli=np.asarray(cpu_milli, dtype=np.int64),
        memory_mib=np.asarray(memory_mib, dtype=np.int64),
        gpu_count=np.asarray(gpu_count, dtype=np.int64),
        model_id=np.asarray(model_ids, dtype=np.int64),
        models=tuple(models),
    )


def allowed_models(gpu_spec: str, models: Sequence[str]) -> NDArray[np.bool_]:
    """Which of `models` a `|`-separated GPU spec admits (an empty spec admits every model)."""
    wanted = {part for part in gpu_spec.split(SPEC_SEPARATOR) if part}
    if not wanted:
        return np.ones(len(models), dtype=np.bool_)
    return np.array([name in wanted for name in models], dtype=np.bool_)


def build_pod_table(
    *,
    names: Sequence[str],
    cpu_milli: Sequence[int],
    memory_mib: Sequence[int],
    num_gpu: Sequence[int],
    gpu_milli: Sequence[int],
    gpu_spec: Sequence[str],
    models: Sequence[str],
) -> PodTable:
    """Columns of a pod list, with each pod's GPU spec resolved against the cluster's models."""
    masks = {spec: allowed_models(spec, models) for spec in set(gpu_spec)}
    allowed = np.array([masks[spec] for spec in gpu_spec], dtype=np.bool_).reshape(
        len(gpu_spec), len(models)
    )
    return PodTable(
        names=tuple(names),
        cpu_milli=np.asarray(cpu_milli, dtype=np.int64),
        memory_mib=np.asarray(memory_mib, dtype=np.int64),
        num_gpu=np.asarray(num_gpu, dtype=np.int64),
        gpu_milli=np.asarray(gpu_milli, dtype=np.int64),
        gpu_spec=tuple(gpu_spec),
        allowed=allowed,
    )
