"""Shares that start fully free GPUs once few are left, on mixes where that pays."""

from __future__ import annotations

import numpy as np

from recommender.gpu.placement.fresh_gpus import fresh_gpu_openers, fresh_gpus_scarce
from recommender.gpu.placement.remainder_waste import expected_waste
from recommender.gpu.placement.slicewise import SlicewisePolicy, SlicewiseSettings
from recommender.gpu.placement.typical_pods import typical_pods
from tests.unit.recommender.gpu.cluster_fixtures import (
    MODEL,
    one_node,
    pods,
    share_heavy_mix,
    typical_mix,
)


def test_shares_that_close_a_gpu_to_the_largest_share_open_fresh_gpus() -> None:
    """810s 30 % of the mix: W(1000) 82.4 > W(530) 68.3, so shares of 191-809 milli qualify;
    the 160 (840 left still takes an 810) and the 810 itself do not."""
    mix = share_heavy_mix()
    openers = fresh_gpu_openers(mix, expected_waste(mix, 30.0))
    assert np.flatnonzero(openers)[[0, -1]].tolist() == [191, 809]
    assert openers[[160, 470, 810, 1000]].tolist() == [False, True, False, False]


def test_no_share_opens_fresh_gpus_where_whole_gpu_pods_take_them() -> None:
    """500-milli shares and whole GPUs: a fresh GPU ends almost unwasted, no share qualifies."""
    mix = typical_mix()
    assert not fresh_gpu_openers(mix, expected_waste(mix, 30.0)).any()


def test_fresh_gpus_are_scarce_below_the_fraction() -> None:
    """One of four GPUs fully free: scarce below 30 %, not below 25 %."""
    state = one_node(gpu_free=(530, 1000, 0, 0))
    assert fresh_gpus_scarce(state, 0.3)
    assert not fresh_gpus_scarce(state, 0.25)


def test_a_share_starts_a_fresh_gpu_once_few_are_left() -> None:
    """A 470 beside a 530-milli hole and one fresh GPU of four: by default it fills the hole;
    with fresh GPUs scarce below 50 % it takes the fresh GPU, leaving the hole to later 470s."""
    chosen = []
    for fraction in (0.0, 0.5):
        state = one_node(cpu_free=60_000, gpu_free=(530, 1000, 0, 0))
        policy = SlicewisePolicy(share_heavy_mix(), SlicewiseSettings(fresh_gpu_fraction=fraction))
        policy.start(state, np.random.default_rng(0))
        share = pods([(2000, 1, 470)])
        chosen.append(policy.choose(state, share, 0, np.array([0], dtype=np.int64)).gpus.tolist())
    assert chosen == [[0], [1]]


def test_a_share_fills_holes_while_fresh_gpus_are_plentiful() -> None:
    """Two fresh GPUs of four is not below 50 %: the 470 still fills the 530-milli hole."""
    state = one_node(cpu_free=60_000, gpu_free=(530, 1000, 1000, 0))
    policy = SlicewisePolicy(share_heavy_mix(), SlicewiseSettings(fresh_gpu_fraction=0.5))
    policy.start(state, np.random.default_rng(0))
    choice = policy.choose(state, pods([(2000, 1, 470)]), 0, np.array([0], dtype=np.int64))
    assert choice.gpus.tolist() == [0]


def test_shares_of_whole_fractions_of_a_gpu_never_open_fresh_gpus() -> None:
    """Shares of 1000 / n (as the node plan places): one that closes a GPU to the largest is larger
    than it, so none qualifies even when fresh GPUs are expected to end wasted."""
    mix = typical_pods(
        pods([(0, 1, 500)] * 4 + [(0, 1, 333)] * 3 + [(0, 1, 250)] * 3), (MODEL,), threshold=1.0
    )
    waste = np.zeros(1001, dtype=np.float64)
    waste[1000] = 1000.0
    assert not fresh_gpu_openers(mix, waste).any()
