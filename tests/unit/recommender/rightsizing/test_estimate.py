"""Per-container targets: evidence, confidence and bumps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from protocol.resources import Resources
from recommender.rightsizing.estimate import Bump, estimate_container
from recommender.rightsizing.policy import MIB, RightsizingPolicy
from recommender.usage.state import ContainerUsageState
from tests.unit.recommender.rightsizing.history import DAY, T0, end_of_history, steady

POLICY = RightsizingPolicy()


def test_too_little_history_gives_no_estimate() -> None:
    """Twelve hours of samples are below the one-day minimum."""
    assert estimate_container(steady(0.5), POLICY, end_of_history(0.5)) is None


def test_too_few_samples_gives_no_estimate() -> None:
    """Two samples two days apart are not evidence."""
    state = ContainerUsageState()
    state.fold(np.array([T0, T0 + 2 * DAY]), np.array([1.0, 1.0]), np.array([1e9, 1e9]))
    assert estimate_container(state, POLICY, T0 + 2 * DAY) is None


def test_steady_usage_is_requested_at_its_bucket_end() -> None:
    """Steady 0.5 core and 1 GiB, no tail prior: bucket ends 0.5111 cores and 1028 MiB."""
    policy = replace(POLICY, memory_tail=None)
    estimate = estimate_container(steady(8), policy, end_of_history(8))
    assert estimate is not None
    assert estimate.cpu_millis == 512
    assert estimate.memory_bytes == 1028 * MIB
    assert (estimate.confidence, estimate.bumps) == (1.0, ())


def test_tail_prior_adds_cheap_memory_headroom_to_a_small_container() -> None:
    """Steady 1 GiB with the fleet prior: 1364 MiB, near the optimum of 1.3587 x 1027 MiB."""
    estimate = estimate_container(steady(8), POLICY, end_of_history(8))
    assert estimate is not None
    assert estimate.cpu_millis == 512
    assert estimate.memory_bytes == 1364 * MIB


def test_container_never_seen_running_gives_no_estimate() -> None:
    """Eight days of zero memory readings are idle time, not evidence of what it needs."""
    seconds = T0 + np.arange(0.0, 8 * DAY, 300.0)
    state = ContainerUsageState()
    state.fold(seconds, np.zeros(seconds.size), np.zeros(seconds.size))
    assert estimate_container(state, POLICY, seconds[-1]) is None


def test_idle_readings_lower_the_memory_request_of_a_spiky_container() -> None:
    """1 GiB with a tenth of samples at 2 GiB, at a 12 GiB penalty: 2106 MiB, or 1028 if idle.

    Running only: covering the spikes costs 0.9 GiB of headroom against 0.1 x 12 = 1.2 GiB of
    exceedance, so the request covers them. With as many zero readings besides, the request is
    held while idle too: 0.5 x 2 + 0.45 x 1 = 1.45 GiB of headroom against 0.5 x 1 GiB idle
    headroom plus 0.05 x 12 = 0.6 GiB of exceedance (1.1 GiB), so it does not.
    """
    seconds = T0 + np.arange(0.0, 8 * DAY, 300.0)
    memory = np.where(np.arange(seconds.size) % 10 == 0, 2 * 2**30, 2**30).astype(np.float64)
    cpu = np.full(seconds.size, 0.5)
    policy = replace(POLICY, memory_penalty_bytes=12 * 2**30, memory_tail=None)
    running = ContainerUsageState()
    running.fold(seconds, cpu, memory)
    with_idle = ContainerUsageState()
    both = np.concatenate([seconds, seconds + 150.0])
    order = np.argsort(both)
    with_idle.fold(
        both[order],
        np.concatenate([cpu, cpu])[order],
        np.concatenate([memory, np.zeros(seconds.size)])[order],
    )
    busy = estimate_container(running, policy, seconds[-1])
    idle = estimate_container(with_idle, policy, seconds[-1] + 150.0)
    assert busy is not None
    assert idle is not None
    assert (busy.memory_bytes, idle.memory_bytes) == (2106 * MIB, 1028 * MIB)


def test_short_history_adds_a_confidence_margin() -> None:
    """Half a week of history is half confidence: 15 % more on top, 588 millicores."""
    estimate = estimate_container(steady(3.5), POLICY, end_of_history(3.5))
    assert estimate is not None
    assert abs(estimate.confidence - (3.5 * DAY - 300) / (7 * DAY)) < 1e-9
    assert Bump.LOW_CONFIDENCE in estimate.bumps
    assert estimate.cpu_millis == 588


def test_recent_oom_sets_a_memory_floor() -> None:
    """An OOM at a 2 GiB limit asks for at least 2.4 GiB."""
    state = steady(8)
    state.record_oom(end_of_history(8) - 3600, 2 * 2**30)
    estimate = estimate_container(state, POLICY, end_of_history(8))
    assert estimate is not None
    assert Bump.OOM in estimate.bumps
    assert estimate.memory_bytes == 2458 * MIB


def test_old_oom_no_longer_bumps() -> None:
    """An OOM ten days ago is past the seven-day window."""
    state = steady(8)
    state.record_oom(end_of_history(8) - 10 * DAY, 2 * 2**30)
    estimate = estimate_container(state, POLICY, end_of_history(8))
    assert estimate is not None
    assert Bump.OOM not in estimate.bumps


def test_throttling_raises_cpu_above_the_current_request() -> None:
    """Throttled half the time with a 1-core request: 1.25 cores."""
    seconds = T0 + np.arange(0.0, 8 * DAY, 300.0)
    state = ContainerUsageState()
    throttled = np.where(np.arange(seconds.size) % 2 == 0, 0.3, 0.0)
    state.fold(seconds, np.full(seconds.size, 0.5), np.full(seconds.size, 1e9), throttled)
    estimate = estimate_container(state, POLICY, seconds[-1], Resources(cpu_millis=1000))
    assert estimate is not None
    assert Bump.THROTTLING in estimate.bumps
    assert estimate.cpu_millis == 1250


def test_gpu_memory_estimate_comes_from_its_histogram() -> None:
    """Steady 10 GB of GPU memory: about 11 GB with the 10 % margin."""
    from datetime import UTC, datetime, timedelta

    from protocol.snapshot import GpuUsage

    state = steady(8)
    start = datetime.fromtimestamp(T0, tz=UTC)
    state.fold_gpu_usage(
        [
            GpuUsage(
                node="g",
                gpu_index=0,
                timestamp=start + timedelta(minutes=i),
                utilization=0.5,
                memory_used_bytes=10**10,
            )
            for i in range(100)
        ]
    )
    estimate = estimate_container(state, POLICY, end_of_history(8))
    assert estimate is not None
    assert estimate.gpu_memory_bytes is not None
    assert 1.1e10 <= estimate.gpu_memory_bytes <= 1.1e10 * 1.05 + MIB
