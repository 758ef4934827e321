"""The bounded per-container demand history and a workload's demand from its containers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind
from recommender.autoscaling.demand_history import (
    SIZE,
    STEP_SECONDS,
    STEPS,
    DemandHistory,
    DemandHistoryError,
    pack_demands,
    unpack_demands,
    workload_demand,
    workload_demands,
)
from recommender.usage.key import ContainerKey

T0 = 1_700_438_400.0


def _minutes(
    count: int, pods: int, usage: float, start: float = T0
) -> list[tuple[float, str, float]]:
    return [(start + 60 * m, f"pod-{p}", usage) for m in range(count) for p in range(pods)]


def test_a_step_holds_the_mean_minute_demand_summed_over_pods() -> None:
    """Three pods at 0.5 cores for five minutes are 1.5 cores of demand in that step."""
    history = DemandHistory()
    history.fold(_minutes(5, 3, 0.5))
    assert history.series().values.tolist() == [1.5]


def test_folding_in_two_batches_gives_the_same_demand() -> None:
    """Minutes of one step folded in separate batches average, not add up."""
    history = DemandHistory()
    history.fold(_minutes(2, 2, 1.0))
    history.fold(_minutes(3, 2, 1.0, start=T0 + 120))
    assert history.series().values.tolist() == [2.0]


def test_steps_without_samples_are_gaps() -> None:
    """A step skipped between two folded ones reads as NaN."""
    history = DemandHistory()
    history.fold(_minutes(1, 1, 1.0))
    history.fold(_minutes(1, 1, 1.0, start=T0 + 2 * STEP_SECONDS))
    values = history.series().values
    assert values.size == 3
    assert math.isnan(values[1])


def test_the_ring_keeps_only_fourteen_days() -> None:
    """After fifteen days of hourly samples only the newest fourteen days remain."""
    history = DemandHistory()
    history.fold([(T0 + 3600 * h, "p", 1.0) for h in range(15 * 24)])
    series = history.series()
    assert series.values.size <= STEPS
    assert series.start >= T0 + 24 * 3600 - STEP_SECONDS


def test_bytes_round_trip_at_a_fixed_size() -> None:
    """Serialised histories all have the same size and read back identically."""
    history = DemandHistory()
    history.fold(_minutes(30, 2, 0.25))
    data = history.to_bytes()
    assert len(data) == SIZE
    assert np.array_equal(DemandHistory.from_bytes(data).series().values, history.series().values)


def test_foreign_bytes_are_refused() -> None:
    """Bytes of the wrong size are not a demand history."""
    with pytest.raises(DemandHistoryError):
        DemandHistory.from_bytes(b"nope")


def test_workload_demand_sums_its_containers() -> None:
    """An app container at 1 core and a sidecar at 0.25 make 1.25 cores."""
    app, sidecar = DemandHistory(), DemandHistory()
    app.fold(_minutes(5, 1, 1.0))
    sidecar.fold(_minutes(5, 1, 0.25))
    assert workload_demand([app, sidecar]).values.tolist() == [1.25]


def test_workload_demands_group_containers_by_workload() -> None:
    """Two containers of one Deployment make one series; a bare Pod's container is skipped."""
    app, sidecar, bare = DemandHistory(), DemandHistory(), DemandHistory()
    for history in (app, sidecar, bare):
        history.fold(_minutes(5, 1, 1.0))
    demands = workload_demands(
        {
            ContainerKey("shop", "Deployment", "web", "app"): app,
            ContainerKey("shop", "Deployment", "web", "sidecar"): sidecar,
            ContainerKey("shop", "Pod", "debug", "sh"): bare,
        }
    )
    web = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")
    assert list(demands) == [web]
    assert demands[web].values.tolist() == [2.0]


def test_cpu_only_stored_demand_reads_with_an_empty_gpu_history() -> None:
    """A value written before GPU demand was kept unpacks to its CPU demand and no GPU demand."""
    cpu = DemandHistory()
    cpu.fold([(600.0, "p", 2.0)])
    restored_cpu, restored_gpu = unpack_demands(cpu.to_bytes())
    assert restored_cpu.series().values.tolist() == [2.0]
    assert restored_gpu.last_step == -1


def test_packed_demands_round_trip_both_histories() -> None:
    """CPU and GPU demand packed together unpack to the same two series."""
    cpu, gpu = DemandHistory(), DemandHistory()
    cpu.fold([(600.0, "p", 2.0)])
    gpu.fold([(600.0, "p/gpu-0", 0.5), (600.0, "p/gpu-1", 0.25)])
    restored_cpu, restored_gpu = unpack_demands(pack_demands(cpu, gpu))
    assert restored_cpu.series().values.tolist() == [2.0]
    assert restored_gpu.series().values.tolist() == [0.75]
