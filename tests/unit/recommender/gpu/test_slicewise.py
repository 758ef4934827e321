"""Slicewise: FGD's gradient plus CPU-stranded GPU capacity, and CPU-only pods to CPU surplus.

Mix as in test_fragmentation: rho = (0.5 x 2000 + 0.3 x 8000) / (0.5 x 500 + 0.3 x 1000)
= 3400 / 550 milli-CPU per milli-GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.gpu.placement.fgd import FgdPolicy, gradient_scores
from recommender.gpu.placement.slicewise import (
    SlicewisePolicy,
    SlicewiseSettings,
    cpu_per_gpu_milli,
    cpu_stranded,
)
from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.typical_pods import typical_pods
from tests.unit.recommender.gpu.cluster_fixtures import (
    MODEL,
    nodes_of,
    one_node,
    pods,
    share_heavy_mix,
    typical_mix,
)


def test_cpu_per_gpu_ratio_of_the_gpu_types() -> None:
    """3400 / 550 milli-CPU per milli-GPU."""
    assert cpu_per_gpu_milli(typical_mix(), gpu_types_only=True) == pytest.approx(3400 / 550)


def test_cpu_stranded_capacity() -> None:
    """12,000 milli-CPU feeds 1941.18 milli-GPU of 2700: 758.82 stranded; plenty of CPU: 0."""
    stranded = cpu_stranded(
        np.array([12_000, 20_000], dtype=np.int64),
        np.array([2700, 2700], dtype=np.int64),
        3400 / 550,
    )
    assert stranded.tolist() == pytest.approx([2700 - 12_000 * 550 / 3400, 0.0])


def test_slicewise_scores_the_cpu_it_strands() -> None:
    """12,000 cpu: loss 850 + 758.82 -> 800 + 1105.88, sigmoid(-0.297) -> 42 (FGD says 51)."""
    state = one_node(cpu_free=12_000)
    policy = SlicewisePolicy(typical_mix())
    policy.start(state, np.random.default_rng(0))
    node = np.array([0], dtype=np.int64)
    before = policy.loss(policy.index.value, state.cpu_free, state.total_free)
    fragmented = policy.index.after_share(state, node, np.array([500], dtype=np.int64), 4000, 300)
    after = policy.loss(fragmented, state.cpu_free - 4000, state.total_free - 300)
    assert before.tolist() == pytest.approx([850 + 2700 - 12_000 * 550 / 3400])
    assert after.tolist() == pytest.approx([800 + 2400 - 8000 * 550 / 3400])
    assert gradient_scores(before, after).tolist() == [42]


def test_slicewise_prefers_the_node_with_cpu_to_spare() -> None:
    """Same GPUs, 12,000 vs 30,000 cpu: the 4000-cpu share goes where no GPU is stranded."""
    nodes = nodes_of(2)
    state = ClusterState.empty(nodes, np.array([0, 1], dtype=np.int64))
    state.cpu_free[:] = [12_000, 30_000]
    for node in (0, 1):
        state.gpu_free[node, :] = (200, 1000, 1000, 500)
        state.refresh(node)
    policy = SlicewisePolicy(typical_mix())
    policy.start(state, np.random.default_rng(0))
    choice = policy.choose(state, pods([(4000, 1, 300)]), 0, np.array([0, 1], dtype=np.int64))
    assert (choice.node, choice.gpus.tolist()) == (1, [3])


def test_a_share_leaving_a_typical_size_earns_the_exact_fit_bonus() -> None:
    """Shares of 500 and 300 milli: 300 on GPU 0 leaves 500 (exact), on GPU 1 leaves 100.

    Mix 30 % (2000, 500), 30 % (2000, 300), 20 % one GPU, 20 % CPU-only; F = 1000 before, 880
    after GPU 0 (score 52 + 3 bonus = 55), 820 after GPU 1 (score 54): GPU 0 wins (the
    remainder's expected waste not weighed).
    """
    rows = [(2000, 1, 500)] * 3 + [(2000, 1, 300)] * 3 + [(8000, 1, 1000)] * 2 + [(4000, 0, 0)] * 2
    mix = typical_pods(pods(rows), (MODEL,), threshold=1.0)
    state = one_node(cpu_free=60_000, gpu_free=(800, 400, 200, 200))
    policy = SlicewisePolicy(mix, SlicewiseSettings(remainder_weight=0.0))
    policy.start(state, np.random.default_rng(0))
    assert policy.fit_sizes.tolist() == [0, 300, 500]
    choice = policy.choose(state, pods([(2000, 1, 300)]), 0, np.array([0], dtype=np.int64))
    assert (choice.node, choice.gpus.tolist()) == (0, [0])


def test_a_share_takes_the_tightest_of_equally_scored_gpus() -> None:
    """100 milli frees no GPU for a 500 share either way: slicewise takes the 200-milli GPU 1,
    FGD the lowest index (the 300-milli GPU 0)."""
    share = pods([(2000, 1, 100)])
    node = np.array([0], dtype=np.int64)
    chosen = []
    for policy in (SlicewisePolicy(typical_mix()), FgdPolicy(typical_mix())):
        state = one_node(cpu_free=60_000, gpu_free=(300, 200, 200, 200))
        policy.start(state, np.random.default_rng(0))
        chosen.append(policy.choose(state, share, 0, node).gpus.tolist())
    assert chosen == [[1], [0]]


def test_cpu_only_pods_go_to_the_largest_cpu_surplus() -> None:
    """Two idle nodes, 32 and 64 cores with 4 GPUs: a CPU pod lands on the 64-core one."""
    nodes = nodes_of(2)
    state = ClusterState.empty(nodes, np.array([0, 1], dtype=np.int64))
    state.cpu_free[:] = [32_000, 64_000]
    policy = SlicewisePolicy(typical_mix())
    policy.start(state, np.random.default_rng(0))
    choice = policy.choose(state, pods([(4000, 0, 0)]), 0, np.array([0, 1], dtype=np.int64))
    assert (choice.node, choice.gpus.tolist()) == (1, [])


def test_a_mix_without_cpu_strands_nothing() -> None:
    """Ratio 0 (no CPU asked): nothing is CPU-stranded."""
    stranded = cpu_stranded(np.array([0], dtype=np.int64), np.array([4000], dtype=np.int64), 0.0)
    assert stranded.tolist() == [0.0]


def test_a_cpu_only_mix_has_no_cpu_per_gpu_ratio() -> None:
    """No GPU demand in the mix: ratio 0, so CPU never strands a GPU."""
    mix = typical_pods(pods([(4000, 0, 0)] * 3), (MODEL,), threshold=1.0)
    assert cpu_per_gpu_milli(mix, gpu_types_only=True) == 0.0


def test_more_score_points_split_what_100_points_call_equal() -> None:
    """A 50-milli loss drop: 51 of 100 points, 512 of 1000."""
    before = np.array([850.0])
    after = np.array([800.0])
    assert gradient_scores(before, after).tolist() == [51]
    assert gradient_scores(before, after, points=1000).tolist() == [512]


def test_settings_scale_the_exact_fit_bonus_to_the_score_points() -> None:
    """3 of 100 points is 30 of 1000."""
    policy = SlicewisePolicy(typical_mix(), SlicewiseSettings(score_points=1000))
    assert policy.exact_fit_bonus == 30


def test_the_remainder_term_keeps_a_nearly_free_gpu_for_the_large_share() -> None:
    """A 470 share beside GPUs with 900 and 1000 free, 810-milli shares 30 % of the mix.

    FGD's view keeps the whole GPU whole and takes the 900. The expected waste says otherwise:
    900 -> 430 raises it from 233.6 to 377.5 (nothing common fits 430), 1000 -> 530 lowers it from
    82.4 to 68.3 (a 470 fills 530), and the 900 stays for an 810 that leaves 90, not 190.
    """
    mix = share_heavy_mix()
    chosen = []
    for weight in (0.0, 1.0):
        state = one_node(cpu_free=60_000, gpu_free=(900, 1000, 0, 0))
        # One GPU of four is fully free: without `fresh_gpu_fraction` 0 the 470 would start it.
        settings = SlicewiseSettings(remainder_weight=weight, fresh_gpu_fraction=0.0)
        policy = SlicewisePolicy(mix, settings)
        policy.start(state, np.random.default_rng(0))
        share = pods([(2000, 1, 470)])
        chosen.append(policy.choose(state, share, 0, np.array([0], dtype=np.int64)).gpus.tolist())
    assert chosen == [[0], [1]]


def test_cpu_only_pods_can_go_to_the_node_whose_gpus_are_taken() -> None:
    """32 cores beside four taken GPUs, 64 beside four free ones: by CPU surplus the 64-core
    node, with `cpu_pods_to_busy_gpus` the node whose GPUs nothing else can use."""
    nodes = nodes_of(2)
    chosen = []
    for busy_first in (False, True):
        state = ClusterState.empty(nodes, np.array([0, 1], dtype=np.int64))
        state.cpu_free[:] = [32_000, 64_000]
        state.gpu_free[0, :] = 0
        state.refresh(0)
        policy = SlicewisePolicy(typical_mix(), SlicewiseSettings(cpu_pods_to_busy_gpus=busy_first))
        policy.start(state, np.random.default_rng(0))
        candidates = np.array([0, 1], dtype=np.int64)
        chosen.append(policy.choose(state, pods([(4000, 0, 0)]), 0, candidates).node)
    assert chosen == [1, 0]
