"""Per-container usage state: folding, signals and storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from protocol.snapshot import ContainerUsage
from recommender.usage.key import container_key
from recommender.usage.state import ContainerUsageState
from tests.unit.recommender.factories import pod_of, workload

T0 = 1_700_000_000.0


def _fold(state: ContainerUsageState, count: int, memory: float = 5e8) -> None:
    seconds = T0 + np.arange(count, dtype=np.float64) * 300.0
    state.fold(seconds, np.full(count, 0.5), np.full(count, memory))


def test_zero_memory_readings_are_kept_as_idle_time() -> None:
    """A zero reading is folded: a third of the weight (decay aside) is in the first bucket."""
    state = ContainerUsageState()
    used = state.fold(
        np.array([T0, T0 + 300, T0 + 600]), np.array([0.2, 0.3, 0.0]), np.array([1e8, 2e8, 0.0])
    )
    assert used == 3
    assert state.memory.weights[0] / state.memory.total_weight == pytest.approx(1 / 3, rel=1e-3)
    assert state.memory.percentile(0.3) == pytest.approx(1e7)


def test_zero_memory_readings_are_not_evidence() -> None:
    """Only the two running samples count, and history spans them alone."""
    state = ContainerUsageState()
    state.fold(
        np.array([T0, T0 + 300, T0 + 600]), np.array([0.2, 0.3, 0.0]), np.array([1e8, 2e8, 0.0])
    )
    assert state.signals.samples == 2
    assert state.signals.history_seconds == 300


def test_missing_or_negative_figures_are_dropped() -> None:
    """NaN memory and negative CPU are not samples at all."""
    state = ContainerUsageState()
    used = state.fold(
        np.array([T0, T0 + 300, T0 + 600]),
        np.array([0.2, -1.0, 0.1]),
        np.array([1e8, 2e8, np.nan]),
    )
    assert used == 1
    assert state.memory.max_value() == pytest.approx(state.memory.percentile(0.0))


def test_history_span_is_first_to_last_sample() -> None:
    """288 five-minute samples span 287 x 300 seconds."""
    state = ContainerUsageState()
    _fold(state, 288)
    assert state.signals.history_seconds == 287 * 300


def test_throttled_share_counts_samples_above_five_percent() -> None:
    """Two of four samples throttled more than 5 % of periods."""
    state = ContainerUsageState()
    state.fold(
        T0 + np.arange(4, dtype=np.float64) * 60.0,
        np.full(4, 1.0),
        np.full(4, 1e9),
        throttled_fraction=np.array([0.0, 0.5, 0.2, np.nan]),
    )
    assert (state.signals.throttled, state.signals.throttle_observed) == (2, 3)


def test_agent_samples_fold_through_the_protocol_model() -> None:
    """ContainerUsage samples feed the CPU histogram."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    samples = [
        ContainerUsage(
            namespace="shop",
            pod="web-1",
            container="app",
            timestamp=start + timedelta(minutes=i),
            cpu_cores=2.0,
            memory_bytes=10**9,
        )
        for i in range(10)
    ]
    state = ContainerUsageState()
    assert state.fold_usage(samples, cpu_request_millis=1000) == 10
    assert state.cpu.percentile(0.5) >= 2.0


def test_the_same_oom_is_counted_once() -> None:
    """An OOM reported twice bumps once."""
    state = ContainerUsageState()
    state.record_oom(T0, 1e9)
    state.record_oom(T0, 1e9)
    assert state.signals.oom_kills == 1


def test_bytes_round_trip_keeps_histograms_and_signals() -> None:
    """Restored state answers as the original."""
    state = ContainerUsageState()
    _fold(state, 500)
    state.record_oom(T0 + 1000, 2e9)
    restored = ContainerUsageState.from_bytes(state.to_bytes())
    assert restored.signals == state.signals
    assert restored.memory.percentile(0.9) == state.memory.percentile(0.9)
    assert restored.memory_peaks.histogram.max_value() == pytest.approx(2.4e9, rel=0.05)


def test_dict_round_trip_keeps_signals() -> None:
    """The JSON form restores the counters."""
    state = ContainerUsageState()
    _fold(state, 50)
    assert ContainerUsageState.from_dict(state.to_dict()).signals == state.signals


def test_state_bytes_do_not_grow_with_history() -> None:
    """Thirty days of five-minute samples take no more bytes than one day."""
    one, thirty = ContainerUsageState(), ContainerUsageState()
    _fold(one, 288)
    _fold(thirty, 30 * 288)
    assert len(thirty.to_bytes()) <= len(one.to_bytes())


def test_replicas_of_a_deployment_share_one_key() -> None:
    """Pods of one Deployment map to the Deployment's container key."""
    web = workload("web")
    assert container_key(pod_of(web, 0, "n1"), "app") == container_key(pod_of(web, 1, "n2"), "app")
    assert container_key(pod_of(web, 0, "n1"), "app").workload == "web"
