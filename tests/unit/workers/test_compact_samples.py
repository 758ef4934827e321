"""A delta's compact usage block folds as its series rows do: exactly on the grid, within one
histogram bucket (never lower) on a realistic upload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agent.delta import delta_between, listed_objects
from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot, GpuUsage, Usage
from recommender.usage.container_history import ContainerHistory
from recommender.usage.histogram import DecayingHistogram
from recommender.usage.key import ContainerKey
from tests.unit.workers.factories import T0, sample, shop_snapshot
from workers.ingest.upload_samples import CompactUsageError, UploadSamples, delta_samples
from workers.ingest.usage_batch import usage_batch
from workers.ingest.usage_fold import fold_batch

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
MIB = 2**20
PERCENTILES = (0.5, 0.9, 0.95, 0.99, 1.0)


def _deltas(after: ClusterSnapshot, before: ClusterSnapshot) -> tuple[ClusterDelta, ClusterDelta]:
    """(rows, compact) deltas from `before` to `after`."""
    listed, delta_id = listed_objects(before), uuid.uuid4()
    rows = delta_between(listed, after, delta_id=delta_id, base_sequence=1, compact=False)
    compact = delta_between(listed, after, delta_id=delta_id, base_sequence=1, ordinal=False)
    return rows, compact


def _folded(delta: ClusterDelta, snapshot: ClusterSnapshot) -> dict[ContainerKey, ContainerHistory]:
    stored = {(pod.namespace, pod.name): pod for pod in snapshot.pods}
    return fold_batch(usage_batch(delta, stored, delta_samples(delta)), {})


def _on_grid_snapshot() -> ClusterSnapshot:
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    containers = [
        sample(pod, T0, cpu=0.125 * (r + 1), memory=(300 + r) * MIB, throttled=0.06)
        for r, pod in enumerate(snapshot.pods)
    ]
    gpus = [
        GpuUsage(
            node=pod.node_name or "node-a",
            gpu_index=r,
            gpu_uuid=f"GPU-{r}",
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=T0,
            utilization=0.43,
            memory_used_bytes=(r + 1) * 256 * MIB,
            memory_total_bytes=80 * 1024 * MIB,
        )
        for r, pod in enumerate(snapshot.pods)
    ]
    return snapshot.model_copy(update={"usage": Usage(containers=containers, gpus=gpus)})


def _figures(samples: UploadSamples) -> list[list[float]]:
    c, g = samples.containers, samples.gpus
    columns = (c.seconds, c.cpu_cores, c.memory_bytes, c.throttled_fraction, g.seconds, g.duty)
    return [column.tolist() for column in (*columns, g.memory_used_bytes, g.memory_total_bytes)]


def test_figures_on_the_grid_read_back_as_the_same_columns() -> None:
    """Samples already in millicores, MiB and per-mille read back as exactly the rows sent."""
    snapshot = _on_grid_snapshot()
    rows, compact = _deltas(snapshot, snapshot)
    by_rows, by_compact = delta_samples(rows), delta_samples(compact)
    assert _figures(by_compact) == _figures(by_rows)
    assert by_compact.containers.refs == by_rows.containers.refs
    assert by_compact.containers.window_seconds.tolist() == (
        by_rows.containers.window_seconds.tolist()
    )
    assert by_compact.gpus.refs == by_rows.gpus.refs
    # A device is named by its table entry, not its UUID (which the block does not carry).
    assert [d[:2] + d[3:] for d in by_compact.devices] == [d[:2] + d[3:] for d in by_rows.devices]
    assert len(set(by_compact.devices)) == len(by_compact.devices)


def test_figures_on_the_grid_fold_to_the_same_stored_bytes() -> None:
    """On the grid, the compact block's histories store byte for byte what the rows' do."""
    snapshot = _on_grid_snapshot()
    rows, compact = _deltas(snapshot, snapshot)
    by_rows, by_compact = _folded(rows, snapshot), _folded(compact, snapshot)
    assert {k: h.to_bytes() for k, h in by_compact.items()} == {
        k: h.to_bytes() for k, h in by_rows.items()
    }


def test_devices_alike_but_for_their_uuid_fold_as_two() -> None:
    """Two MIG devices of one profile on one GPU used by one pod add up in its GPU demand, as
    their UUIDs made them do in rows."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pod = snapshot.pods[0]
    gpus = [
        GpuUsage(
            node=pod.node_name or "node-a",
            gpu_index=0,
            gpu_uuid=device,
            mig_profile="1g.10gb",
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=T0,
            utilization=duty,
            memory_used_bytes=MIB,
        )
        for device, duty in (("MIG-a", 0.25), ("MIG-b", 0.5))
    ]
    with_gpus = snapshot.model_copy(update={"usage": Usage(gpus=gpus)})
    rows, compact = _deltas(with_gpus, with_gpus)
    by_rows, by_compact = _folded(rows, with_gpus), _folded(compact, with_gpus)
    assert {k: h.to_bytes() for k, h in by_compact.items()} == {
        k: h.to_bytes() for k, h in by_rows.items()
    }
    [history] = by_compact.values()
    assert float(history.gpu_demand.series().values[0]) == 0.75


def test_block_with_an_index_outside_its_table_is_refused_naming_it() -> None:
    """A series naming a string past the table's end cannot be read back."""
    snapshot = _on_grid_snapshot()
    _, compact = _deltas(snapshot, snapshot)
    assert compact.compact_usage is not None
    broken = compact.compact_usage.model_copy(deep=True)
    broken.gpus.series_pod[0] = len(broken.strings)
    with pytest.raises(CompactUsageError, match=r"compact_usage\.gpus\.series_pod\.0"):
        delta_samples(compact.model_copy(update={"compact_usage": broken}))


def _bucket(histogram: DecayingHistogram, fraction: float) -> int:
    return int(np.searchsorted(histogram.layout.ends(), histogram.percentile(fraction)))


def _realistic() -> ClusterSnapshot:
    return build_snapshot(
        read_trace_nodes(DATA / "openb_node_list_gpu_node.csv"),
        read_trace_pods(DATA / "openb_pod_list_default.csv"),
        SnapshotSpec(
            cluster_id=uuid.uuid4(),
            snapshot_id=uuid.uuid4(),
            taken_at=datetime(2026, 11, 23, 4, tzinfo=UTC),
            pod_count=300,
            samples_per_container=3,
        ),
    )


def test_realistic_upload_folds_within_one_bucket_never_lower() -> None:
    """Alibaba-trace pods with random figures: every percentile the recommender reads from the
    compact block's CPU, memory and GPU-memory histograms is in the rows' bucket or the next,
    signals are equal, and duty and peaks are at most one grid step higher."""
    snapshot = _realistic()
    rows, compact = _deltas(snapshot, snapshot)
    by_rows, by_compact = _folded(rows, snapshot), _folded(compact, snapshot)
    assert by_rows.keys() == by_compact.keys()
    assert any(h.gpu.profile() is not None for h in by_rows.values())
    moved = 0
    for key, expected in by_rows.items():
        got = by_compact[key]
        assert got.usage.signals == expected.usage.signals
        for part in ("cpu", "memory", "gpu_memory"):
            mine, theirs = getattr(got.usage, part), getattr(expected.usage, part)
            assert mine.total_weight == pytest.approx(theirs.total_weight)
            for fraction in PERCENTILES:
                step = _bucket(mine, fraction) - _bucket(theirs, fraction)
                assert step in {0, 1}, (key, part, fraction)
                moved += step
        peaks, reference_peaks = got.usage.memory_peaks, expected.usage.memory_peaks
        assert 0 <= peaks.peak - reference_peaks.peak < MIB
        assert peaks.window_end == reference_peaks.window_end
        profile, reference = got.gpu.profile(), expected.gpu.profile()
        assert (profile is None) == (reference is None)
        if profile is not None and reference is not None:
            assert reference.duty_peak <= profile.duty_peak <= reference.duty_peak + 0.001
            assert reference.duty_mean <= profile.duty_mean + 1e-12
            assert profile.duty_mean <= reference.duty_mean + 0.001
            assert 0 <= profile.duty_quantile - reference.duty_quantile <= 0.01 + 1e-9
            assert 0 <= profile.memory_peak_bytes - reference.memory_peak_bytes < MIB
            assert profile.samples == reference.samples
    assert moved < len(by_rows) * len(PERCENTILES)
