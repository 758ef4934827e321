"""The console decodes the usage histories the ingest workers store, without the recommender."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from gateway.console.usage_reader import UsageStateFormatError, read_container_usage
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from recommender.usage.state import ContainerUsageState
from workers.ingest.usage_fold import to_record

GIB = 2**30


def _state(cores: list[float], memory: list[float]) -> ContainerUsageState:
    state = ContainerUsageState()
    seconds = 1_700_000_000.0 + 60.0 * np.arange(len(cores), dtype=np.float64)
    state.fold(seconds, np.array(cores), np.array(memory), cpu_request_cores=1.0)
    return state


def _stored(state: ContainerUsageState) -> bytes:
    """What the ingest workers write for a container with this usage state."""
    key = ContainerKey("ns", "Deployment", "web", "app")
    return to_record(key, ContainerHistory(state), datetime.now(UTC)).state


def test_one_sample_lands_in_the_bucket_the_layout_says() -> None:
    """A single 1.0-core sample reads back as the end of bucket 36: 0.2 * (1.05**37 - 1)."""
    usage = read_container_usage("app", _stored(_state([1.0], [GIB])))
    assert usage.cpu.percentile(0.5) == pytest.approx(0.2 * (1.05**37 - 1))
    assert usage.cpu.percentile(0.5) == pytest.approx(1.0163, abs=1e-4)


def test_percentiles_match_the_recommenders_own() -> None:
    """Every percentile the console draws equals the recommender's for the same stored state."""
    rng = np.random.default_rng(7)
    cores = rng.gamma(2.0, 0.2, size=500).tolist()
    memory = (rng.normal(2.0, 0.3, size=500) * GIB).clip(1e8).tolist()
    state = _state(cores, memory)
    usage = read_container_usage("app", _stored(state))
    for fraction in (0.5, 0.9, 0.95, 0.99, 1.0):
        assert usage.cpu.percentile(fraction) == state.cpu.percentile(fraction)
        assert usage.memory.percentile(fraction) == state.memory.percentile(fraction)
        assert usage.memory_peaks.percentile(fraction) == state.memory_peaks.histogram.percentile(
            fraction
        )


def test_shares_sum_to_one() -> None:
    """Bucket shares are normalised weights."""
    usage = read_container_usage("app", _stored(_state([0.1, 0.2, 0.4], [GIB] * 3)))
    assert float(usage.cpu.shares.sum()) == pytest.approx(1.0)


def test_signals_are_decoded() -> None:
    """Sample count, history span and OOM kills come from the counters."""
    state = _state([0.5] * 10, [GIB] * 10)
    state.record_oom(1_700_001_000.0, 2 * GIB)
    usage = read_container_usage("app", _stored(state))
    assert (usage.samples, usage.history_seconds, usage.oom_kills) == (10, 540.0, 1)


def test_empty_state_has_empty_distributions() -> None:
    """A container never sampled has nothing to chart and zero percentiles."""
    usage = read_container_usage("app", _stored(ContainerUsageState()))
    assert usage.cpu.empty
    assert usage.gpu_memory.percentiles() == {
        "p50": 0.0,
        "p90": 0.0,
        "p95": 0.0,
        "p99": 0.0,
        "max": 0.0,
    }
    assert math.isclose(usage.history_seconds, 0.0)


@pytest.mark.parametrize("data", [b"", b"\x00" * 10, b"garbage" * 100])
def test_unreadable_state_is_refused(data: bytes) -> None:
    """Truncated or foreign bytes raise the reader's own error."""
    with pytest.raises(UsageStateFormatError):
        read_container_usage("app", data)


def test_a_bare_usage_state_is_not_taken_for_a_stored_history() -> None:
    """Only the workers' stored form (the container history) is read, not its inner part."""
    with pytest.raises(UsageStateFormatError):
        read_container_usage("app", _state([1.0], [GIB]).to_bytes())
