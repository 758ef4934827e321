"""An upload's samples read as columns are priced exactly as the per-sample models are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.snapshot import ClusterSnapshot, GpuUsage, Usage
from recommender.cost.sample_hours import sample_hours
from recommender.cost.snapshot_hours import HourAllocation, hourly_allocations
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from tests.unit.workers.factories import T0, sample, shop_snapshot
from workers.ingest.upload_samples import UploadSamples, snapshot_samples

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
PRICES = PriceBook(bundled_catalogues(), bundled_spot_advisor())


def _priced(snapshot: ClusterSnapshot, samples: UploadSamples | None) -> list[HourAllocation]:
    sampled = None if samples is None else sample_hours(samples.containers, samples.gpus)
    return hourly_allocations(snapshot, PRICES, sampled=sampled)


def _realistic() -> ClusterSnapshot:
    return build_snapshot(
        read_trace_nodes(DATA / "openb_node_list_gpu_node.csv"),
        read_trace_pods(DATA / "openb_pod_list_default.csv"),
        SnapshotSpec(
            cluster_id=uuid.uuid4(),
            snapshot_id=uuid.uuid4(),
            # Samples before and at the hour: the upload covers two clock hours.
            taken_at=datetime(2026, 11, 23, 4, 1, 30, tzinfo=UTC),
            pod_count=300,
            samples_per_container=3,
        ),
    )


def test_realistic_upload_as_columns_is_priced_as_its_sample_models() -> None:
    """Alibaba-trace pods with CPU, memory and GPU samples over two clock hours: every container
    and node line of every hour equals the per-sample allocation's."""
    snapshot = _realistic()
    by_models = _priced(snapshot, None)
    assert len(by_models) == 2
    assert any(c.usage.gpu_used for h in by_models for c in h.allocation.containers)
    assert _priced(snapshot, snapshot_samples(snapshot.usage)) == by_models


def test_idle_devices_and_mig_slices_are_priced_as_sample_models() -> None:
    """A device nobody uses counts in its node's duty only; a MIG slice's busy share is its
    fraction of the GPU; a sample naming a pod but no container is the pod's."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pod = snapshot.pods[0]
    node = pod.node_name or "node-a"
    at = T0 + timedelta(minutes=5)
    gpus = [
        GpuUsage(node=node, gpu_index=0, timestamp=at, utilization=0.3, memory_used_bytes=0),
        GpuUsage(
            node=node,
            gpu_index=1,
            mig_profile="3g.40gb",
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=at,
            utilization=0.6,
            memory_used_bytes=2**33,
            memory_total_bytes=2**35,
        ),
        GpuUsage(
            node=node,
            gpu_index=2,
            namespace=pod.namespace,
            pod=pod.name,
            timestamp=at,
            utilization=0.9,
            memory_used_bytes=2**30,
        ),
    ]
    containers = [sample(p, at, cpu=0.25, memory=2**28) for p in snapshot.pods]
    snapshot = snapshot.model_copy(update={"usage": Usage(containers=containers, gpus=gpus)})
    by_models = _priced(snapshot, None)
    assert _priced(snapshot, snapshot_samples(snapshot.usage)) == by_models
    assert by_models
