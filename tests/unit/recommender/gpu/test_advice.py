"""Sharing advice from observed usage: kind, budget, saving (price 3 USD per GPU-hour).

Default headroom: memory x 1.15, duty x 1.25 on the 99.5th-percentile minute.
"""

from __future__ import annotations

import numpy as np
import pytest

from protocol.recommendation import Risk
from recommender.gpu.advice import AdviceKind, Headroom, advise
from recommender.gpu.sharing_config import SharingMode
from recommender.gpu.usage_profile import profile_usage
from tests.unit.recommender.gpu.advice_fixtures import GIB, bursty_duty, mig_config, workload

PRICE = 3.0


def test_mid_sized_workload_moves_to_the_smallest_mig_profile() -> None:
    """30 GiB, 30 %: need 34.5 GiB and 37.5 % -> 3g.40gb, two per GPU, half a GPU each."""
    advice = advise(
        workload("chat", 30, 0.3, replicas=2), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    assert (advice.kind, advice.mig_profile, advice.mig_layout) == (
        AdviceKind.MIG,
        "3g.40gb",
        "all-3g.40gb",
    )
    assert advice.gpu_share == 0.5
    assert advice.monthly_saving_usd == pytest.approx(2 * 0.5 * PRICE * 730)
    assert advice.risk is Risk.LOW


def test_mig_budget_is_the_profile_memory_and_compute() -> None:
    """3g.40gb gives 38 GiB (95 % of 40) and 3/7 of compute."""
    advice = advise(workload("chat", 30, 0.3), gpu_hourly_usd=PRICE, mig_config=mig_config())
    assert advice.memory_budget_bytes == 38 * GIB
    assert advice.duty_budget == pytest.approx(3 / 7)


def test_many_small_steady_replicas_share_through_mps() -> None:
    """8 GiB, 10 %: need 9.2 GiB and 12.5 % -> 8 per GPU, better than seven 1g.10gb slices."""
    advice = advise(
        workload("embed", 8, 0.1, replicas=3), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    assert advice.kind is AdviceKind.MPS
    assert advice.sharing is not None
    assert (advice.sharing.mode, advice.sharing.replicas) == (SharingMode.MPS, 8)
    assert advice.monthly_saving_usd == pytest.approx(3 * (1 - 1 / 8) * PRICE * 730)


def test_bursty_idle_workload_is_time_sliced() -> None:
    """Bursts to 35 % need 43.75 %: no MIG slice saves, two time-sliced replicas do."""
    advice = advise(
        workload("batch", 10, bursty_duty()), gpu_hourly_usd=PRICE, mig_config=mig_config()
    )
    assert advice.kind is AdviceKind.TIME_SLICING
    assert advice.sharing is not None
    assert advice.sharing.replicas == 2
    assert advice.risk is Risk.MEDIUM
    assert advice.reason.startswith("bursty and mostly idle")


def test_gpu_without_mig_is_time_sliced() -> None:
    """A T4 (16 GiB): 4 GiB and 20 % need 4.6 GiB and 25 % -> three replicas per GPU."""
    advice = advise(
        workload("ocr", 4, 0.2, product="Tesla-T4", gpu_memory_gib=16),
        gpu_hourly_usd=PRICE,
        mig_config=mig_config(),
    )
    assert advice.kind is AdviceKind.TIME_SLICING
    assert advice.sharing is not None
    assert advice.sharing.replicas == 3


def test_workload_using_most_of_the_gpu_keeps_it() -> None:
    """70 GiB x 1.15 does not fit 80 GiB shares: whole GPU, nothing saved."""
    advice = advise(workload("train", 70, 0.9), gpu_hourly_usd=PRICE, mig_config=mig_config())
    assert (advice.kind, advice.monthly_saving_usd, advice.gpus_freed) == (
        AdviceKind.WHOLE_GPU,
        0.0,
        0.0,
    )


def test_multi_gpu_pods_keep_their_gpus() -> None:
    """A pod holding two GPUs is not shared."""
    advice = advise(workload("tp", 5, 0.05, gpus=2), gpu_hourly_usd=PRICE, mig_config=mig_config())
    assert advice.kind is AdviceKind.WHOLE_GPU


def test_a_layout_wasting_the_rest_of_the_gpu_saves_nothing() -> None:
    """56 % of compute needs 4g.40gb, one per GPU under all-4g.40gb: the GPU stays whole."""
    advice = advise(workload("rank", 30, 0.45), gpu_hourly_usd=PRICE, mig_config=mig_config())
    assert advice.kind is AdviceKind.WHOLE_GPU


def test_headroom_scales_the_need() -> None:
    """No headroom: 30 GiB and 45 % -> 4g.40gb saves nothing, time-slicing two per GPU does."""
    advice = advise(
        workload("rank", 30, 0.45),
        gpu_hourly_usd=PRICE,
        mig_config=mig_config(),
        headroom=Headroom(memory=1.0, duty=1.0),
    )
    assert advice.kind is AdviceKind.TIME_SLICING
    assert advice.evidence["duty_need"] == 0.45


def test_usage_profile_summary() -> None:
    """Peak memory, mean and peak duty and the active share of a bursty series."""
    usage = profile_usage(np.array(bursty_duty()), np.full(200, 2.0 * GIB))
    assert (usage.memory_peak_bytes, usage.duty_peak, usage.active_share) == (2.0 * GIB, 0.35, 0.05)
    assert usage.duty_mean == pytest.approx(0.0175)
    assert usage.bursty
