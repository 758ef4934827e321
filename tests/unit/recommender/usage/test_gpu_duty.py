"""GPU duty-cycle histories: the profile they give, decay, fixed size, and their storage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from protocol.snapshot import GpuUsage
from recommender.usage.container_history import ContainerHistory, ContainerHistoryError
from recommender.usage.gpu_duty import SIZE, GpuDutyHistory
from tests.unit.workers.factories import T0

GIB = 2**30


def _samples(duty: float, count: int, *, memory: int = GIB, minutes: int = 0) -> list[GpuUsage]:
    return [
        GpuUsage(
            node="gpu-1",
            gpu_index=0,
            namespace="ml",
            pod="p",
            container="c",
            timestamp=T0 + timedelta(minutes=minutes),
            utilization=duty,
            memory_used_bytes=memory,
        )
        for _ in range(count)
    ]


def test_profile_summarises_duty_and_memory() -> None:
    """90 samples at 2 % and 10 at 50 %: mean 6.8 %, p99.5 50 %, active 10 %, peak 3 GiB."""
    history = GpuDutyHistory()
    history.fold(_samples(0.02, 90) + _samples(0.5, 10, memory=3 * GIB))
    profile = history.profile()
    assert profile is not None
    assert profile.samples == 100
    assert profile.duty_mean == pytest.approx(0.068)
    assert profile.duty_quantile == 0.5
    assert profile.active_share == pytest.approx(0.1)
    assert (profile.duty_peak, profile.memory_peak_bytes) == (0.5, 3 * GIB)


def test_older_samples_weigh_half_after_one_half_life() -> None:
    """10 % then, one half-life later, 90 %: the mean is (0.5 x 0.1 + 0.9) / 1.5."""
    history = GpuDutyHistory(half_life_seconds=3600.0)
    history.fold(_samples(0.1, 1))
    history.fold(_samples(0.9, 1, minutes=60))
    profile = history.profile()
    assert profile is not None
    assert profile.duty_mean == pytest.approx((0.5 * 0.1 + 0.9) / 1.5)


def test_history_is_the_same_size_however_many_samples() -> None:
    """One sample or 10,000 minutes of them serialise to the same number of bytes."""
    short, long = GpuDutyHistory(), GpuDutyHistory()
    short.fold(_samples(0.3, 1))
    for minute in range(100):
        long.fold(_samples(minute / 100, 100, minutes=minute))
    assert len(short.to_bytes()) == len(long.to_bytes()) == SIZE


def test_no_sample_no_profile() -> None:
    """An empty history offers no profile to advise on."""
    assert GpuDutyHistory().profile() is None


def test_container_history_round_trips_through_bytes() -> None:
    """Usage state and GPU history come back as stored."""
    history = ContainerHistory.empty()
    history.gpu.fold(_samples(0.4, 5))
    restored = ContainerHistory.from_bytes(history.to_bytes())
    assert restored.gpu.profile() == history.gpu.profile()
    assert restored.usage.to_bytes() == history.usage.to_bytes()


def test_unreadable_container_history_is_refused() -> None:
    """Truncated bytes raise the history's own error."""
    with pytest.raises(ContainerHistoryError):
        ContainerHistory.from_bytes(ContainerHistory.empty().to_bytes()[:-8])
