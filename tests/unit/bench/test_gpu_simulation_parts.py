"""The GPU-sharing bench's parts: trace reading, arrival sequences, the metric, references."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.gpusim.arrivals import arrival_order
from bench.gpusim.metric import allocation_curve, unallocated_gpus
from bench.gpusim.reference import read_reference
from bench.gpusim.trace import read_nodes, read_pods
from recommender.gpu.placement.tables import build_pod_table

MILLI = [1000, 500, 0, 250]
PODS = build_pod_table(
    names=["a", "b", "c", "d"],
    cpu_milli=[1, 1, 1, 1],
    memory_mib=[1, 1, 1, 1],
    num_gpu=[1, 1, 0, 1],
    gpu_milli=MILLI,
    gpu_spec=["", "", "", ""],
    models=("T4",),
)


def test_top_up_appends_clones_until_the_next_would_pass_130_percent() -> None:
    """Two GPUs: originals first (shuffled), then clones, ending within one pod of 2600 milli."""
    order = arrival_order(PODS, total_gpus=2, seed=42)
    assert sorted(order[:4].tolist()) == [0, 1, 2, 3]
    total = sum(MILLI[i] for i in order)
    assert 2600 - 1000 < total <= 2600


def test_lists_above_the_target_are_trimmed() -> None:
    """One GPU: 1750 milli arrive against 1300, so pods are removed until under it."""
    order = arrival_order(PODS, total_gpus=1, seed=7)
    assert len(set(order.tolist())) == len(order)
    assert sum(MILLI[i] for i in order) <= 1300


def test_same_seed_same_sequence() -> None:
    """Arrivals depend on the seed only."""
    assert arrival_order(PODS, 2, 42).tolist() == arrival_order(PODS, 2, 42).tolist()


def test_curve_averages_events_by_rounded_arrived_percent() -> None:
    """One GPU: events at 0, 50, 50, 100 % arrived; 49 % falls back to its neighbours."""
    arrived = np.array([0, 500, 500, 1000], dtype=np.int64)
    allocated = np.array([0, 400, 500, 900], dtype=np.int64)
    curve = allocation_curve(arrived, allocated, total_gpus=1)
    assert len(curve) == 131
    assert (curve[0], curve[50], curve[100]) == (0.0, 45.0, 90.0)
    assert curve[49] == 45.0
    assert curve[10] is None


def test_unallocated_gpus_at_an_allocation() -> None:
    """95.391 % of 6212 GPUs leaves 286.3 unallocated."""
    assert round(unallocated_gpus(95.391, 6212), 1) == 286.3


def test_trace_files_with_and_without_gpu_spec(tmp_path: Path) -> None:
    """Columns are found by header; pods are read sorted by name."""
    nodes_file = tmp_path / "nodes.csv"
    nodes_file.write_text("sn,cpu_milli,memory_mib,gpu,model\nn1,32000,1000,2,T4\nn2,8000,10,0,\n")
    pods_file = tmp_path / "pods.csv"
    pods_file.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np2,1000,10,1,500\np1,2000,20,2,1000\n"
    )
    nodes = read_nodes(nodes_file)
    pods = read_pods(pods_file, nodes.models)
    assert (nodes.total_gpus, nodes.models) == (2, ("T4", ""))
    assert pods.names == ("p1", "p2")
    assert pods.total_milli().tolist() == [2000, 500]
    assert pods.allowed.tolist() == [[True, True], [True, True]]


def test_reference_figures_and_curves(tmp_path: Path) -> None:
    """Policy prefixes are dropped and curves averaged over seeds."""
    summary = tmp_path / "summary_at_130.csv"
    summary.write_text(
        "workload,sc_policy,n_seeds,total_gpus,alloc130_mean,alloc130_std,unalloc_gpus_mean,"
        "unalloc_gpus_std\nw,06-FGD,2,10,95.0,0.1,0.5,0.01\n"
    )
    header = "workload,sc_policy,tune,seed,total_gpus," + ",".join(str(x) for x in range(131))
    rows = [f"w,06-FGD,1.3,{seed},10," + ",".join([str(seed)] * 131) for seed in (42, 44)]
    (tmp_path / "allocation_by_arrival.csv").write_text("\n".join([header, *rows]) + "\n")
    figures = read_reference(summary)["w"]["FGD"]
    assert (figures.alloc_130_mean, figures.unallocated_gpus_mean) == (95.0, 0.5)
    assert figures.curve_mean[130] == 43.0
