"""The workers bench's streams: successive minutes of real usage series, the same in snapshots
and in deltas."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pytest

from bench.ingest_usage import DEFAULT_GENAI, DEFAULT_VMS, UsageTraces, read_usage_traces
from bench.worker_stream import EncodedMessage, TraceFigures, delta_stream, snapshot_stream
from bench.workers import CLUSTERS as BENCH_CLUSTERS
from bench.workers import DEFAULT_NODES, DEFAULT_PODS, Config
from protocol.snapshot import ClusterSnapshot
from protocol.topics import SnapshotMessage

MINUTES = 4
TENANT = uuid.UUID(int=1)
CLUSTERS = [uuid.UUID(int=2), uuid.UUID(int=3)]


@pytest.fixture(scope="module")
def traces() -> UsageTraces:
    return read_usage_traces(DEFAULT_VMS, DEFAULT_GENAI, 2 * MINUTES)


def _messages(
    stream: Callable[..., list[EncodedMessage]], traces: UsageTraces
) -> list[EncodedMessage]:
    """`MINUTES` uploads of each of `CLUSTERS`, as `stream` (either stream) makes them."""
    return stream(
        nodes_path=DEFAULT_NODES,
        pods_path=DEFAULT_PODS,
        tenant_id=TENANT,
        cluster_ids=CLUSTERS,
        per_cluster=MINUTES,
        pod_count=30,
        seed=5,
        traces=traces,
    )


def _snapshots(traces: UsageTraces) -> list[ClusterSnapshot]:
    messages = _messages(snapshot_stream, traces)
    return [SnapshotMessage.model_validate_json(m.value).snapshot for m in messages]


def test_each_minute_carries_figures_of_the_series_each_container_follows(
    traces: UsageTraces,
) -> None:
    """A container's CPU over the minutes is its requests times a run of successive minutes of
    one VM's CPU share, and the figures change from minute to minute."""
    snapshots = [s for s in _snapshots(traces) if s.cluster.cluster_id == CLUSTERS[0]]
    assert len(snapshots) == MINUTES
    first = snapshots[0]
    cores = {
        (p.namespace, p.name): (p.spec.containers[0].requests.cpu_millis or 1000) / 1000
        for p in first.pods
    }
    shares = [np.asarray(series) for series in traces.cpu_share]
    changed = 0
    for index, sample in enumerate(first.usage.containers):
        figures = [s.usage.containers[index] for s in snapshots]
        assert [f.timestamp - sample.timestamp for f in figures] == [
            snapshots[m].taken_at - first.taken_at for m in range(MINUTES)
        ]
        run = np.array([f.cpu_cores for f in figures]) / cores[(sample.namespace, sample.pod)]
        assert any(
            np.allclose(run, series[start : start + MINUTES], atol=1e-5)
            for series in shares
            for start in range(len(series) - MINUTES + 1)
        ), f"{sample.pod}: {run} is no run of a VM's CPU share"
        changed += len(set(run.round(6))) > 1
    assert changed > len(first.usage.containers) // 2


def test_the_delta_stream_opens_with_the_snapshot_streams_first_minute(
    traces: UsageTraces,
) -> None:
    """The delta stream's opening snapshot is the snapshot stream's first, samples included."""
    [opening, *_] = [m for m in _messages(delta_stream, traces) if m.cluster_index == 0]
    snapshot = SnapshotMessage.model_validate_json(opening.value).snapshot
    assert snapshot.usage == _snapshots(traces)[0].usage


def test_traces_shorter_than_the_stream_are_refused(traces: UsageTraces) -> None:
    """A stream longer than the series would run off their end: refused with the figures."""
    with pytest.raises(ValueError, match=f"{traces.minutes} minutes, not {traces.minutes + 1}"):
        TraceFigures.reading(traces, seed=0, minutes=traces.minutes + 1)


def test_runs_of_deltas_are_as_long_as_asked_and_the_traces_cover_the_longest() -> None:
    """Deltas run `deltas` cluster-minutes when given, else as many as the full snapshots; the
    traces are read for the longest cluster's uploads twice over."""
    config = Config(DEFAULT_NODES, DEFAULT_PODS, 100, 48, 24, 1, deltas=400)
    assert config.cluster_minutes("snapshots", direct=False) == 48
    assert config.cluster_minutes("snapshots", direct=True) == 24
    assert config.cluster_minutes("deltas", direct=True) == 400
    assert config.minutes_per_cluster == 400 // BENCH_CLUSTERS + 1
    same = Config(DEFAULT_NODES, DEFAULT_PODS, 100, 48, 24, 1)
    assert same.cluster_minutes("deltas", direct=False) == 48
    assert same.cluster_minutes("deltas_rows", direct=True) == 24
