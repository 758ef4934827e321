"""An upload's samples read as columns, priced as arrays, cost exactly what the per-object
allocation of the same snapshot charges, line by line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.snapshot import ClusterSnapshot, GpuUsage, Usage
from recommender.cost.cost_columns import CONTAINER_SUMS, NODE_SUMS
from recommender.cost.snapshot_hours import hourly_allocations
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from tests.unit.workers.factories import T0, sample, shop_snapshot
from workers.cost_rollup import CostRollup
from workers.ingest.upload_samples import UploadSamples, snapshot_samples

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
PRICES = PriceBook(bundled_catalogues(), bundled_spot_advisor())


Line = tuple[Any, ...]


def _by_objects(snapshot: ClusterSnapshot) -> list[tuple[datetime, list[Line], list[Line]]]:
    """Each hour's container lines (sorted) and node lines of the per-object allocation."""
    return [
        (
            hour.hour,
            sorted(
                (
                    c.usage.namespace,
                    c.usage.pod,
                    c.usage.container,
                    c.usage.node,
                    c.usage.workload,
                    dict(c.usage.labels),
                    *tuple(getattr(c, name) for name in CONTAINER_SUMS),
                )
                for c in hour.allocation.containers
            ),
            [
                (
                    n.node.node,
                    n.node.instance_type,
                    n.node.spot,
                    n.node.gpus,
                    *tuple(getattr(n, name) for name in NODE_SUMS),
                )
                for n in hour.allocation.nodes
            ],
        )
        for hour in hourly_allocations(snapshot, PRICES)
    ]


def _as_columns(
    snapshot: ClusterSnapshot, samples: UploadSamples
) -> list[tuple[datetime, list[Line], list[Line]]]:
    """Each hour's container lines (sorted) and node lines of the columnar allocation."""
    stretches = CostRollup(PRICES).allocate_columns(snapshot, samples.containers, samples.gpus)
    return [
        (
            s.hour,
            sorted(
                (
                    r.namespace,
                    r.pod,
                    r.container,
                    r.node,
                    r.workload,
                    dict(r.labels),
                    *tuple(float(s.container_sums[name][i]) for name in CONTAINER_SUMS),
                )
                for i, r in enumerate(s.containers)
            ),
            [
                (
                    r.node,
                    r.instance_type,
                    r.spot,
                    r.gpus,
                    *tuple(float(s.node_sums[name][i]) for name in NODE_SUMS),
                )
                for i, r in enumerate(s.nodes)
            ],
        )
        for s in stretches
    ]


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
    by_objects = _by_objects(snapshot)
    assert len(by_objects) == 2
    gpu_usage_usd = 6 + CONTAINER_SUMS.index("gpu_usage_usd")
    assert any(line[gpu_usage_usd] for _, lines, _ in by_objects for line in lines)
    assert _as_columns(snapshot, snapshot_samples(snapshot.usage)) == by_objects


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
    by_objects = _by_objects(snapshot)
    assert by_objects
    assert _as_columns(snapshot, snapshot_samples(snapshot.usage)) == by_objects
