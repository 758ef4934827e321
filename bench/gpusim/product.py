"""The product's GPU sharing analysis on a node list and pod list, beside the placement engine.

The lists become a cluster snapshot as it runs without sharing: the GPU pods arrive in a seeded
order until they hold 80 % of the GPUs (a cluster keeps slack), and each takes whole GPUs (a pod
asking for a fraction of a GPU holds one, as the default device plugin gives it) on the node a
fragmentation-unaware scheduler picks. Each pod is a one-replica Deployment whose measured GPU
usage is its trace share of a GPU (peak memory and busiest-minutes duty cycle at that share,
steady). The product's `analyse_cluster`, the function the analysis workers call, then analyses
the snapshot; the figures come from its GPU sharing recommendation: the GPU nodes it empties and
the allocation it reaches on the GPUs still in use, both for its first instruction and for the
whole conversion (the first instruction's GPU map marks the nodes a later plan empties).

Beside it, the placement engine packs the same pods at their exact shares on an empty cluster
(the same slicewise policy, the placement bench's measure) to show what a from-scratch packing
frees; the product moves pods only by draining nodes, so it frees at most that.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np

from bench.gpusim.runs import Workload
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    Container,
    GpuInfo,
    Node,
    OwnerRef,
    Pod,
    PodPhase,
    PodSpecSummary,
    WorkloadKind,
)
from protocol.snapshot import (
    Workload as KubeWorkload,
)
from recommender.analysis import ClusterState, MeasuredGpuUsage, analyse_cluster
from recommender.gpu.advice import Headroom
from recommender.gpu.placement.baselines import RandomPolicy
from recommender.gpu.placement.simulate import simulate
from recommender.gpu.placement.slicewise import SlicewisePolicy
from recommender.gpu.placement.tables import MILLI, PodTable
from recommender.gpu.pools.recommend import EMPTIED_LATER
from recommender.gpu.usage_profile import GpuUsageProfile
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey

GIB = 2**30
GPU_MEMORY_GIB = {"V100M16": 16, "V100M32": 32, "P100": 16, "T4": 16, "A10": 24, "G2": 16, "G3": 24}
"""GPU memory of the trace's models (unknown models: 16 GiB)."""
NAMESPACE = "trace"
AS_IS_LOAD = 0.8
"""Share of the cluster's GPUs the pods hold whole before the analysis (the rest is slack)."""
CONTAINER = "main"


@dataclass(frozen=True, slots=True)
class ProductRun:
    """Figures of one product-path run."""

    seed: int
    figures: dict[str, Any]


def _as_is(workload: Workload, seed: int, load: float) -> tuple[PodTable, np.ndarray[Any, Any]]:
    """GPU pods in seeded order, each on whole GPUs, until they hold `load` of the GPUs.

    Returns the pods and the node each went to (-1: none fitted).
    """
    pods = workload.pods
    gpu_pods = np.random.default_rng(seed).permutation(np.flatnonzero(pods.num_gpu > 0))
    held = np.cumsum(pods.num_gpu[gpu_pods])
    order = gpu_pods[held <= load * workload.nodes.total_gpus]
    arrivals = pods.take(order.astype(np.int64))
    whole = PodTable(
        names=arrivals.names,
        cpu_milli=arrivals.cpu_milli,
        memory_mib=arrivals.memory_mib,
        num_gpu=arrivals.num_gpu,
        gpu_milli=np.full(arrivals.size, MILLI, dtype=np.int64),
        gpu_spec=arrivals.gpu_spec,
        allowed=arrivals.allowed,
    )
    trace = simulate(workload.nodes, whole, RandomPolicy(), np.random.default_rng((seed, 2)))
    return arrivals, trace.node


def _profile(share: float, gpu_memory_gib: float, headroom: Headroom) -> GpuUsageProfile:
    """A steady usage whose headroom-scaled need is just under `share` of one GPU."""
    return GpuUsageProfile(
        samples=1440,
        memory_peak_bytes=share * gpu_memory_gib * GIB / headroom.memory * 0.999,
        duty_mean=share / headroom.duty * 0.999,
        duty_quantile=share / headroom.duty * 0.999,
        duty_peak=share / headroom.duty * 0.999,
        active_share=1.0,
    )


def _snapshot(
    workload: Workload, arrivals: PodTable, chosen: np.ndarray[Any, Any]
) -> tuple[ClusterSnapshot, dict[ContainerKey, GpuUsageProfile]]:
    nodes_table = workload.nodes
    nodes = []
    for i, name in enumerate(nodes_table.names):
        model = nodes_table.models[int(nodes_table.model_id[i])]
        gpus = int(nodes_table.gpu_count[i])
        capacity = Resources(
            cpu_millis=int(nodes_table.cpu_milli[i]),
            memory_bytes=int(nodes_table.memory_mib[i]) * 2**20,
            extended={GPU_RESOURCE: gpus},
        )
        memory_gib = GPU_MEMORY_GIB.get(model, 16)
        nodes.append(
            Node(
                name=name,
                uid=name,
                capacity=capacity,
                allocatable=capacity,
                gpu=GpuInfo(product=model, count=gpus, memory_mib=memory_gib * 1024),
            )
        )
    headroom = Headroom()
    pods: list[Pod] = []
    workloads: list[KubeWorkload] = []
    profiles: dict[ContainerKey, GpuUsageProfile] = {}
    for i, name in enumerate(arrivals.names):
        node = int(chosen[i])
        if node < 0:
            continue
        gpus = int(arrivals.num_gpu[i])
        spec = PodSpecSummary(
            containers=[
                Container(name=CONTAINER, requests=Resources(extended={GPU_RESOURCE: gpus}))
            ]
        )
        deployment = f"w-{name}-{i}"
        workloads.append(
            KubeWorkload(
                kind=WorkloadKind.DEPLOYMENT,
                namespace=NAMESPACE,
                name=deployment,
                uid=deployment,
                replicas=1,
                template=spec,
            )
        )
        pods.append(
            Pod(
                namespace=NAMESPACE,
                name=f"{deployment}-0",
                uid=f"{deployment}-0",
                node_name=nodes_table.names[node],
                phase=PodPhase.RUNNING,
                owners=[OwnerRef(kind="Deployment", name=deployment)],
                spec=spec,
            )
        )
        share = int(arrivals.gpu_milli[i]) / MILLI
        if gpus == 1 and share < 1.0:
            model = nodes_table.models[int(nodes_table.model_id[node])]
            key = ContainerKey(NAMESPACE, "Deployment", deployment, CONTAINER)
            profiles[key] = _profile(share, GPU_MEMORY_GIB.get(model, 16), headroom)
    snapshot = ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=uuid.uuid4(), name="trace"),
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        nodes=nodes,
        pods=pods,
        workloads=workloads,
    )
    return snapshot, profiles


def _engine_nodes_used(
    workload: Workload, arrivals: PodTable, chosen: np.ndarray[Any, Any], seed: int
) -> tuple[int, float]:
    """Nodes the slicewise policy uses for the same pods at their exact shares, and allocation %."""
    placed = np.flatnonzero(chosen >= 0).astype(np.int64)
    pods = arrivals.take(placed)
    policy = SlicewisePolicy(workload.typical)
    trace = simulate(workload.nodes, pods, policy, np.random.default_rng((seed, 1)))
    used = {int(n) for n in trace.node if n >= 0}
    gpus_used = int(workload.nodes.gpu_count[sorted(used)].sum()) if used else 0
    milli = int(pods.total_milli()[trace.node >= 0].sum())
    return len(used), 100.0 * milli / (gpus_used * MILLI) if gpus_used else 0.0


def _gpu_sharing(recommendations: list[Recommendation]) -> Recommendation | None:
    found = [r for r in recommendations if r.kind is RecommendationKind.GPU_SHARING]
    return found[0] if found else None


def _emptied(plan: Recommendation | None) -> tuple[set[str], set[str]]:
    """Nodes the plan's instruction empties, and those it leaves for a later plan to empty."""
    if plan is None:
        return set(), set()
    now = set(cast("list[str]", plan.evidence["nodes_emptied"]))
    after = cast("dict[str, dict[str, Any]]", plan.evidence["gpu_map_after"])
    later = {node for node, entry in after.items() if entry["mode"] == EMPTIED_LATER}
    return now, later


def product_run(
    workload: Workload, seed: int, pricebook: PriceBook, load: float = AS_IS_LOAD
) -> ProductRun:
    """One seed of the product path and of the engine on the same pods."""
    started = time.perf_counter()
    arrivals, chosen = _as_is(workload, seed, load)
    snapshot, profiles = _snapshot(workload, arrivals, chosen)
    gpu_nodes = [n for n in snapshot.nodes if n.gpu is not None and n.gpu.count > 0]
    state = ClusterState(
        snapshot=snapshot,
        usage={},
        pricebook=pricebook,
        now=snapshot.taken_at,
        gpu={key: MeasuredGpuUsage(profile) for key, profile in profiles.items()},
        placement_seed=seed,
    )
    plan = _gpu_sharing(analyse_cluster(state).recommendations)
    first, later = _emptied(plan)
    occupied = {p.node_name for p in snapshot.pods}
    emptied = first | later
    still_used = occupied - emptied
    gpus_by_node = {n.name: n.gpu.count for n in gpu_nodes if n.gpu}
    gpus_in_use = sum(gpus_by_node[n] for n in still_used if n)
    placed = chosen >= 0
    exact_milli = int(arrivals.total_milli()[placed].sum())
    engine_nodes, engine_alloc = _engine_nodes_used(workload, arrivals, chosen, seed)
    total_gpus = sum(gpus_by_node.values())
    figures = {
        "gpu_nodes": len(gpu_nodes),
        "gpus": total_gpus,
        "pods_placed_as_is": int(placed.sum()),
        "pods_pending_as_is": int((~placed).sum()),
        "moved_workloads": len(cast("list[Any]", plan.evidence["moves"])) if plan else 0,
        "pool_nodes": len(cast("list[Any]", plan.evidence["pools"])) if plan else 0,
        "gpu_nodes_in_use_before": len(occupied),
        "gpu_nodes_freed": len(emptied),
        "gpus_freed": sum(gpus_by_node[n] for n in emptied),
        "first_instruction_gpu_nodes_freed": len(first),
        "allocation_before_pct": round(
            100.0 * exact_milli / (sum(gpus_by_node[n] for n in occupied if n) * MILLI), 2
        ),
        "allocation_reached_pct": round(100.0 * exact_milli / (gpus_in_use * MILLI), 2)
        if gpus_in_use
        else 0.0,
        "engine_gpu_nodes_in_use": engine_nodes,
        "engine_gpu_nodes_free": len(gpu_nodes) - engine_nodes,
        "engine_allocation_pct": round(engine_alloc, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return ProductRun(seed, figures)


def product_figures(workload: Workload, seeds: list[int], pricebook: PriceBook) -> dict[str, Any]:
    """Every seed's product-path figures and their medians."""
    runs = [product_run(workload, seed, pricebook) for seed in seeds]
    keys = [k for k in runs[0].figures if k != "seconds"]
    return {
        "as_is_load": AS_IS_LOAD,
        "median": {k: statistics.median(r.figures[k] for r in runs) for k in keys},
        "seconds_median": statistics.median(r.figures["seconds"] for r in runs),
        "runs": [{"seed": r.seed, **r.figures} for r in runs],
    }
