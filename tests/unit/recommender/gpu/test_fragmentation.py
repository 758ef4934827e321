"""FGD's typical-pod mix, fragmentation measure and scores, by hand.

Mix: (2000 cpu, 500 milli) 50 %, (8000 cpu, 1 GPU) 30 %, CPU-only 20 %. Node: 20,000 milli-CPU,
GPUs free [200, 1000, 1000, 500]. F = 0.5 x 200 + 0.3 x (200 + 500) + 0.2 x 2700 = 850.
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.gpu.placement.fgd import FgdPolicy, gradient_scores
from recommender.gpu.placement.fragmentation import FragmentationIndex
from recommender.gpu.placement.typical_pods import typical_pods
from tests.unit.recommender.gpu.cluster_fixtures import MODEL, one_node, pods, typical_mix

NODE = np.array([0], dtype=np.int64)


def test_typical_pods_keep_the_most_frequent_types_up_to_the_threshold() -> None:
    """6/3/1 pods of three types at 80 %: the first two, renormalised to 2/3 and 1/3."""
    mix = typical_pods(
        pods([(1000, 1, 500)] * 6 + [(2000, 1, 1000)] * 3 + [(3000, 0, 0)]), (MODEL,), 0.8
    )
    assert mix.gpu_milli.tolist() == [500, 1000]
    assert mix.weight.tolist() == pytest.approx([2 / 3, 1 / 3])


def test_fragmentation_of_the_node_against_the_mix() -> None:
    """F = 100 + 210 + 540 = 850."""
    index = FragmentationIndex.build(one_node(), typical_mix())
    assert index.value.tolist() == pytest.approx([850.0])


def test_cpu_shortage_makes_all_free_gpu_fragmented_for_that_type() -> None:
    """With 6000 milli-CPU the one-GPU type (8000 cpu) sees all 2700: F = 100 + 810 + 540."""
    index = FragmentationIndex.build(one_node(cpu_free=6000), typical_mix())
    assert index.value.tolist() == pytest.approx([1450.0])


def test_fragmentation_after_a_share_on_each_gpu() -> None:
    """300 milli on the 500 GPU gives F' = 800; on a free GPU F' = 1000."""
    state = one_node()
    index = FragmentationIndex.build(state, typical_mix())
    after = index.after_share(
        state, np.array([0, 0], dtype=np.int64), np.array([500, 1000], dtype=np.int64), 4000, 300
    )
    assert after.tolist() == pytest.approx([800.0, 1000.0])


def test_fragmentation_after_a_whole_gpu() -> None:
    """One whole GPU and 8000 cpu: F' = 100 + 210 + 340 = 650."""
    state = one_node()
    index = FragmentationIndex.build(state, typical_mix())
    assert index.after_whole(state, NODE, 8000, 1, 1000).tolist() == pytest.approx([650.0])


def test_gradient_score_is_a_truncated_sigmoid() -> None:
    """dF = 50 -> int(51.25) = 51; dF = -150 -> int(46.26) = 46; dF = 0 -> 50."""
    scores = gradient_scores(np.array([850.0, 850.0, 850.0]), np.array([800.0, 1000.0, 850.0]))
    assert scores.tolist() == [51, 46, 50]


def test_fgd_puts_a_share_on_the_gpu_that_fragments_least() -> None:
    """300 milli goes to GPU 3 (score 51) rather than a free GPU (46)."""
    state = one_node()
    policy = FgdPolicy(typical_mix())
    policy.start(state, np.random.default_rng(0))
    choice = policy.choose(state, pods([(4000, 1, 300)]), 0, NODE)
    assert (choice.node, choice.gpus.tolist()) == (0, [3])


def test_fgd_refresh_follows_a_bind() -> None:
    """After binding 300 milli on GPU 3 the cached F is 800."""
    state = one_node()
    policy = FgdPolicy(typical_mix())
    policy.start(state, np.random.default_rng(0))
    share = pods([(4000, 1, 300)])
    state.bind(0, np.array([3], dtype=np.int64), share, 0)
    policy.bound(state, 0)
    assert policy.index.value.tolist() == pytest.approx([800.0])
