"""A delta's ordinal usage block folds within one histogram bucket (never lower) of its rows,
once read back against the state the delta makes; against another state it is a resync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agent.delta import delta_between, listed_objects
from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.delta import ClusterDelta
from protocol.ordinal_expand import placed_usage
from protocol.snapshot import ClusterSnapshot
from recommender.usage.buckets import LAYOUTS, Quantity
from recommender.usage.container_history import ContainerHistory
from recommender.usage.histogram import DecayingHistogram
from recommender.usage.key import ContainerKey
from workers.ingest.upload_samples import delta_samples
from workers.ingest.usage_batch import usage_batch
from workers.ingest.usage_fold import fold_batch

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
PERCENTILES = (0.5, 0.9, 0.95, 0.99, 1.0)


def _snapshot() -> ClusterSnapshot:
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


def _folded(delta: ClusterDelta, snapshot: ClusterSnapshot) -> dict[ContainerKey, ContainerHistory]:
    stored = {(pod.namespace, pod.name): pod for pod in snapshot.pods}
    placed, matched = placed_usage(delta, snapshot.pods)
    assert matched
    return fold_batch(usage_batch(placed, stored, delta_samples(placed)), {})


def _bucket(histogram: DecayingHistogram, fraction: float) -> int:
    return int(np.searchsorted(histogram.layout.ends(), histogram.percentile(fraction)))


def _one_bucket_up(quantity: Quantity, got: float, expected: float) -> bool:
    layout = LAYOUTS[quantity]
    return got >= expected and layout.find_bucket(got) - layout.find_bucket(expected) in {0, 1}


def test_ordinal_upload_folds_within_one_bucket_never_lower() -> None:
    """Alibaba-trace pods: every percentile read from the ordinal block's CPU, memory and GPU
    memory histograms is in the rows' bucket or the next, signals are equal, memory and duty
    peaks never lower and at most one bucket (one duty percent) higher."""
    snapshot = _snapshot()
    listed, delta_id = listed_objects(snapshot), uuid.uuid4()
    rows = delta_between(listed, snapshot, delta_id=delta_id, base_sequence=1, compact=False)
    ordinal = delta_between(listed, snapshot, delta_id=delta_id, base_sequence=1)
    assert ordinal.ordinal_usage is not None
    assert (ordinal.container_series, ordinal.gpu_series) == ([], [])
    by_rows, by_ordinal = _folded(rows, snapshot), _folded(ordinal, snapshot)
    assert by_rows.keys() == by_ordinal.keys()
    assert any(h.gpu.profile() is not None for h in by_rows.values())
    for key, expected in by_rows.items():
        got = by_ordinal[key]
        assert got.usage.signals == expected.usage.signals
        for part in ("cpu", "memory", "gpu_memory"):
            mine, theirs = getattr(got.usage, part), getattr(expected.usage, part)
            assert mine.total_weight == pytest.approx(theirs.total_weight)
            for fraction in PERCENTILES:
                assert _bucket(mine, fraction) - _bucket(theirs, fraction) in {0, 1}
        assert _one_bucket_up(
            Quantity.MEMORY_BYTES, got.usage.memory_peaks.peak, expected.usage.memory_peaks.peak
        )
        profile, reference = got.gpu.profile(), expected.gpu.profile()
        assert (profile is None) == (reference is None)
        if profile is not None and reference is not None:
            assert reference.duty_peak <= profile.duty_peak <= reference.duty_peak + 0.01
            assert reference.duty_mean <= profile.duty_mean + 1e-12
            assert profile.duty_mean <= reference.duty_mean + 0.01
            assert 0 <= profile.duty_quantile - reference.duty_quantile <= 0.01 + 1e-9
            assert _one_bucket_up(
                Quantity.GPU_MEMORY_BYTES, profile.memory_peak_bytes, reference.memory_peak_bytes
            )
            assert profile.samples == reference.samples


def test_delta_read_against_the_state_before_it_is_a_mismatch() -> None:
    """A receiver that missed the pods a delta adds holds another order: no samples, resync."""
    before = _snapshot()
    after = before.model_copy(update={"pods": before.pods[:-1]})
    delta = delta_between(listed_objects(after), before, delta_id=uuid.uuid4(), base_sequence=1)
    placed, matched = placed_usage(delta, after.pods)
    assert not matched
    assert (placed.ordinal_usage, placed.compact_usage) == (None, None)
