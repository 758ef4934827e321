"""Small hand-built clusters and pod tables for the placement tests."""

from __future__ import annotations

import numpy as np

from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import NodeTable, PodTable, build_node_table, build_pod_table
from recommender.gpu.placement.typical_pods import TypicalPods, typical_pods

MODEL = "V100"


def one_node(
    cpu_free: int = 20_000, gpu_free: tuple[int, ...] = (200, 1000, 1000, 500)
) -> ClusterState:
    """One 4-GPU node with the given free CPU and free milli per GPU."""
    nodes = build_node_table(["n0"], [64_000], [262_144], [len(gpu_free)], [MODEL])
    state = ClusterState.empty(nodes, np.zeros(1, dtype=np.int64))
    state.cpu_free[0] = cpu_free
    state.gpu_free[0, :] = gpu_free
    state.refresh(0)
    return state


def nodes_of(count: int, gpus: int = 4, cpu: int = 32_000) -> NodeTable:
    """`count` identical nodes."""
    return build_node_table(
        [f"n{i}" for i in range(count)],
        [cpu] * count,
        [262_144] * count,
        [gpus] * count,
        [MODEL] * count,
    )


def pods(rows: list[tuple[int, int, int]], models: tuple[str, ...] = (MODEL,)) -> PodTable:
    """Pods from (cpu milli, GPU count, milli per GPU) rows, no GPU spec, 1 GiB each."""
    return build_pod_table(
        names=[f"p{i:03d}" for i in range(len(rows))],
        cpu_milli=[r[0] for r in rows],
        memory_mib=[1024] * len(rows),
        num_gpu=[r[1] for r in rows],
        gpu_milli=[r[2] for r in rows],
        gpu_spec=[""] * len(rows),
        models=models,
    )


def typical_mix() -> TypicalPods:
    """Types (2000 cpu, 500 milli) 50 %, (8000 cpu, 1 GPU) 30 %, CPU-only 4000 cpu 20 %."""
    rows = [(2000, 1, 500)] * 5 + [(8000, 1, 1000)] * 3 + [(4000, 0, 0)] * 2
    return typical_pods(pods(rows), (MODEL,), threshold=1.0)


def share_heavy_mix() -> TypicalPods:
    """470- and 810-milli shares 30 % each, 160-milli 1 %, one GPU 20 %, CPU-only 19 %."""
    rows = (
        [(2000, 1, 470)] * 30
        + [(2000, 1, 810)] * 30
        + [(2000, 1, 160)]
        + [(8000, 1, 1000)] * 20
        + [(4000, 0, 0)] * 19
    )
    return typical_pods(pods(rows), (MODEL,), threshold=1.0)
