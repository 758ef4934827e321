"""One simulation run per (workload, policy, seed), fit for a process pool.

Workers load the traces once (in the pool initialiser) and receive only small task tuples, so the
pool never pickles pod tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.gpusim.arrivals import arrival_order
from bench.gpusim.metric import CURVE_END, allocation_curve
from bench.gpusim.trace import read_nodes, read_pods
from recommender.gpu.placement.baselines import (
    BestFitPolicy,
    DotProdPolicy,
    GpuClusteringPolicy,
    GpuPackingPolicy,
    RandomPolicy,
)
from recommender.gpu.placement.fgd import FgdPolicy
from recommender.gpu.placement.policy import PlacementPolicy
from recommender.gpu.placement.simulate import simulate
from recommender.gpu.placement.slicewise import SlicewisePolicy
from recommender.gpu.placement.tables import NodeTable, PodTable
from recommender.gpu.placement.typical_pods import TypicalPods, typical_pods

POLICIES: dict[str, Callable[[TypicalPods], PlacementPolicy]] = {
    "Random": lambda _typical: RandomPolicy(),
    "DotProd": lambda _typical: DotProdPolicy(),
    "GpuClustering": lambda _typical: GpuClusteringPolicy(),
    "GpuPacking": lambda _typical: GpuPackingPolicy(),
    "BestFit": lambda _typical: BestFitPolicy(),
    "FGD": FgdPolicy,
    "slicewise": SlicewisePolicy,
}
"""Every policy by its published name; ours is `slicewise`."""


@dataclass(frozen=True, slots=True)
class Workload:
    """A node list and a pod list, subsampled for quick runs."""

    nodes: NodeTable
    pods: PodTable
    typical: TypicalPods


@dataclass(frozen=True, slots=True)
class RunResult:
    """Figures of one run."""

    workload: str
    policy: str
    seed: int
    curve: list[float | None]
    arrived_pods: int
    failed_pods: int
    seconds: float


def load_workload(nodes_path: Path, pods_path: Path, stride: int = 1) -> Workload:
    """Read a workload; `stride` > 1 keeps every stride-th node and pod (quick runs)."""
    nodes = read_nodes(nodes_path)
    return make_workload(nodes, read_pods(pods_path, nodes.models), stride)


def make_workload(nodes: NodeTable, pods: PodTable, stride: int = 1) -> Workload:
    """A workload of these tables; `stride` > 1 keeps every stride-th node and pod."""
    if stride > 1:
        keep_nodes = np.arange(0, nodes.size, stride)
        nodes = NodeTable(
            names=tuple(nodes.names[i] for i in keep_nodes),
            cpu_milli=nodes.cpu_milli[keep_nodes],
            memory_mib=nodes.memory_mib[keep_nodes],
            gpu_count=nodes.gpu_count[keep_nodes],
            model_id=nodes.model_id[keep_nodes],
            models=nodes.models,
        )
        pods = pods.take(np.arange(0, pods.size, stride, dtype=np.int64))
    # Typical pods come from the original list, before any top-up: the distribution only.
    return Workload(nodes, pods, typical_pods(pods, nodes.models))


_LOADED: dict[str, Workload] = {}


def init_worker(workloads: dict[str, tuple[Path, Path, int]]) -> None:
    """Pool initialiser: read every workload once per process."""
    for name, (nodes_path, pods_path, stride) in workloads.items():
        _LOADED[name] = load_workload(nodes_path, pods_path, stride)


def run_task(task: tuple[str, str, int]) -> RunResult:
    """Simulate one (workload, policy, seed) on a workload loaded by `init_worker`."""
    name, policy_name, seed = task
    return run(name, _LOADED[name], policy_name, seed)


def run(name: str, workload: Workload, policy_name: str, seed: int) -> RunResult:
    """Shuffle and top up the pods for `seed`, place them with the policy, measure the curve."""
    started = time.perf_counter()
    order = arrival_order(workload.pods, workload.nodes.total_gpus, seed)
    arrivals = workload.pods.take(order)
    policy = POLICIES[policy_name](workload.typical)
    # One tie order per seed, shared by every policy, so policies differ only by their scores.
    trace = simulate(workload.nodes, arrivals, policy, np.random.default_rng((seed, 1)))
    curve = allocation_curve(trace.arrived_milli, trace.allocated_milli, workload.nodes.total_gpus)
    return RunResult(
        workload=name,
        policy=policy_name,
        seed=seed,
        curve=curve,
        arrived_pods=arrivals.size,
        failed_pods=trace.failed,
        seconds=time.perf_counter() - started,
    )


def allocation_at_130(workload: Workload, policy: PlacementPolicy, seed: int) -> float:
    """Allocation % at 130 % arrived of one run of `policy` on `workload` for `seed`."""
    order = arrival_order(workload.pods, workload.nodes.total_gpus, seed)
    trace = simulate(
        workload.nodes, workload.pods.take(order), policy, np.random.default_rng((seed, 1))
    )
    curve = allocation_curve(trace.arrived_milli, trace.allocated_milli, workload.nodes.total_gpus)
    return float(curve[CURVE_END] or 0.0)
