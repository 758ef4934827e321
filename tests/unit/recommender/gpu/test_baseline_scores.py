"""Each published baseline's score on a node with GPUs free [200, 1000, 1000, 500] milli.

Node: 20,000 milli-CPU free, G = 2,700 milli-GPU free. Pod unless said otherwise: 4,000 milli-CPU
and 300 milli of one GPU.
"""

from __future__ import annotations

import numpy as np

from recommender.gpu.placement.baselines import (
    BestFitPolicy,
    best_fit_scores,
    dot_product_scores,
    go_div,
    gpu_clustering_scores,
    gpu_packing_scores,
)
from recommender.gpu.placement.policy import default_gpus
from recommender.gpu.placement.state import ClusterState
from tests.unit.recommender.gpu.cluster_fixtures import nodes_of, one_node, pods

NODE = np.array([0], dtype=np.int64)
SHARE = pods([(4000, 1, 300)])


def test_dot_product_of_free_resources_and_request() -> None:
    """int(100 (1 - (0.15625 x 0.03125 + 0.3375 x 0.0375) / 2)) = int(99.12) = 99."""
    assert dot_product_scores(one_node(), SHARE, 0, NODE).tolist() == [99]


def test_best_fit_prefers_what_is_left_smallest() -> None:
    """s = 0.5 x 16000/128000 + 0.5 x 2400/8000 = 0.2125, int(78.75) = 78."""
    assert best_fit_scores(one_node(), SHARE, 0, NODE).tolist() == [78]


def test_best_fit_of_a_two_gpu_pod_counts_both_gpus() -> None:
    """s = 0.5 x 12000/128000 + 0.5 x 700/8000 = 0.090625, int(90.94) = 90."""
    two = pods([(8000, 2, 1000)])
    assert best_fit_scores(one_node(), two, 0, NODE).tolist() == [90]


def test_gpu_clustering_on_a_node_holding_only_share_pods() -> None:
    """25 x 5300 // 8000 = 16, plus 75 for a node holding only this pod's kind."""
    state = one_node()
    state.affinity[0, 0] = 2
    assert gpu_clustering_scores(state, SHARE, 0, NODE).tolist() == [91]


def test_gpu_clustering_on_a_node_holding_mixed_kinds() -> None:
    """16 plus 50 when the node holds share pods among one-GPU pods."""
    state = one_node()
    state.affinity[0, 0] = 1
    state.affinity[0, 1] = 1
    assert gpu_clustering_scores(state, SHARE, 0, NODE).tolist() == [66]


def test_gpu_clustering_on_an_empty_and_on_a_foreign_node() -> None:
    """16 plus 25 with no GPU pods, 16 plus 0 with only one-GPU pods."""
    empty = one_node()
    foreign = one_node()
    foreign.affinity[0, 1] = 3
    assert gpu_clustering_scores(empty, SHARE, 0, NODE).tolist() == [41]
    assert gpu_clustering_scores(foreign, SHARE, 0, NODE).tolist() == [16]


def test_gpu_clustering_gives_cpu_pods_zero() -> None:
    """A CPU-only pod scores 0 everywhere."""
    cpu_only = pods([(4000, 0, 0)])
    assert gpu_clustering_scores(one_node(), cpu_only, 0, NODE).tolist() == [0]


def test_gpu_packing_on_a_partly_used_gpu() -> None:
    """The tightest fit is the 500 GPU: 100 - (500 x 100 / 1000) / 10 = 95."""
    assert gpu_packing_scores(one_node(), SHARE, 0, NODE).tolist() == [95]


def test_gpu_packing_when_a_free_gpu_is_needed() -> None:
    """600 milli fits only a free GPU: max(50 - 1, 33) = 49; two whole GPUs: 48."""
    assert gpu_packing_scores(one_node(), pods([(4000, 1, 600)]), 0, NODE).tolist() == [49]
    assert gpu_packing_scores(one_node(), pods([(4000, 2, 1000)]), 0, NODE).tolist() == [48]


def test_gpu_packing_on_an_idle_node() -> None:
    """Four free GPUs: max(33 - 4, 4) = 29."""
    idle = one_node(gpu_free=(1000, 1000, 1000, 1000))
    assert gpu_packing_scores(idle, SHARE, 0, NODE).tolist() == [29]


def test_default_gpu_choice_is_the_tightest_fit() -> None:
    """300 milli goes to GPU 3 (500 free); 150 milli to GPU 0 (200 free)."""
    state = one_node()
    assert default_gpus(state, SHARE, 0, 0).tolist() == [3]
    assert default_gpus(state, pods([(1000, 1, 150)]), 0, 0).tolist() == [0]


def test_whole_gpu_pods_take_the_first_free_gpus() -> None:
    """Two whole GPUs on [200, 1000, 1000, 500] are GPUs 1 and 2."""
    assert default_gpus(one_node(), pods([(1000, 2, 1000)]), 0, 0).tolist() == [1, 2]


def test_ties_go_to_the_first_node_in_the_run_order() -> None:
    """Two identical nodes: BestFit ties, and the node ranked first wins."""
    state = ClusterState.empty(nodes_of(2), np.array([1, 0], dtype=np.int64))
    choice = BestFitPolicy().choose(state, SHARE, 0, np.array([0, 1], dtype=np.int64))
    assert choice.node == 1


def test_go_division_truncates_toward_zero() -> None:
    """-7 / 2 is -3 in Go, not -4."""
    assert go_div(np.array([-7, 7], dtype=np.int64), 2).tolist() == [-3, 3]
