"""Offering pods one by one: binds, failures never retried, allocation after every event."""

from __future__ import annotations

import numpy as np

from recommender.gpu.placement.baselines import BestFitPolicy, RandomPolicy
from recommender.gpu.placement.simulate import simulate
from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import allowed_models, build_pod_table
from tests.unit.recommender.gpu.cluster_fixtures import MODEL, nodes_of, pods

ARRIVALS = pods([(1000, 1, 600), (1000, 1, 600), (1000, 1, 600), (1000, 1, 1000)])


def test_failed_pods_count_as_arrived_but_not_allocated() -> None:
    """Two 600 shares fill a 2-GPU node; the third share and a whole-GPU pod fail."""
    trace = simulate(nodes_of(1, gpus=2), ARRIVALS, BestFitPolicy(), np.random.default_rng(0))
    assert trace.arrived_milli.tolist() == [600, 1200, 1800, 2800]
    assert trace.allocated_milli.tolist() == [600, 1200, 1200, 1200]
    assert trace.node.tolist() == [0, 0, -1, -1]
    assert trace.failed == 2
    assert trace.final.gpu_free[0].tolist() == [400, 400]


def test_random_policy_places_only_on_feasible_nodes() -> None:
    """Random still respects the filter: same binds and failures on one node."""
    trace = simulate(nodes_of(1, gpus=2), ARRIVALS, RandomPolicy(), np.random.default_rng(3))
    assert trace.allocated_milli.tolist() == [600, 1200, 1200, 1200]


def test_filter_checks_cpu_memory_model_and_gpu_room() -> None:
    """Too much CPU, a foreign GPU model, or no fully free GPU each rule the node out."""
    state = ClusterState.empty(nodes_of(1, gpus=2, cpu=8000), np.zeros(1, dtype=np.int64))
    table = build_pod_table(
        names=["cpu", "model", "room", "ok"],
        cpu_milli=[9000, 1000, 1000, 1000],
        memory_mib=[1, 1, 1, 1],
        num_gpu=[0, 1, 3, 2],
        gpu_milli=[0, 500, 1000, 1000],
        gpu_spec=["", "T4", "", f"T4|{MODEL}"],
        models=(MODEL,),
    )
    assert [bool(state.feasible(table, i)[0]) for i in range(4)] == [False, False, False, True]


def test_gpu_spec_lists_allowed_models() -> None:
    """`G2|T4` admits T4 and G2 only; an empty spec admits all."""
    assert allowed_models("G2|T4", ("T4", "V100", "G2")).tolist() == [True, False, True]
    assert allowed_models("", ("T4", "V100")).tolist() == [True, True]
