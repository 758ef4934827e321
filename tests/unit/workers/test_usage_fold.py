"""Folding usage into per-container states; the stored state does not grow with history."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from agent.delta import delta_between, listed_objects
from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.snapshot import ClusterSnapshot, GpuUsage, Usage
from recommender.autoscaling.demand_history import CHUNK_STEPS, STEPS, pack_demands
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from tests.unit.workers.factories import T0, sample, shop_snapshot
from workers.ingest.upload_samples import delta_samples
from workers.ingest.usage_batch import UsageBatch, usage_batch
from workers.ingest.usage_fold import (
    domain_key,
    fold_batch,
    from_record,
    mark_stored,
    stored_key,
    to_record,
)

WEB0 = ContainerKey("shop", "Deployment", "web0", "app")
FIVE_MINUTES = timedelta(minutes=5)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"


def _day_of_samples(cluster_id: uuid.UUID, day: int) -> ClusterSnapshot:
    """288 five-minute samples of web0's first replica over day `day` (a daily cycle)."""
    snapshot = shop_snapshot(cluster_id, 0, workloads=1, replicas=1)
    pod = snapshot.pods[0]
    start = T0 + timedelta(days=day)
    samples = [
        sample(
            pod,
            start + i * FIVE_MINUTES,
            cpu=0.2 + 0.3 * ((i + day) % 288) / 288,
            memory=(400 + (i * 7 + day * 13) % 300) * 2**20,
            throttled=0.1 if i % 17 == 0 else 0.0,
        )
        for i in range(288)
    ]
    return snapshot.model_copy(update={"usage": Usage(containers=samples)})


def _fold_days(days: int) -> ContainerHistory:
    cluster_id = uuid.uuid4()
    states: dict[ContainerKey, ContainerHistory] = {}
    for day in range(days):
        states.update(fold_batch(usage_batch(_day_of_samples(cluster_id, day), {}), states))
    return states[WEB0]


def test_state_after_thirty_days_is_no_bigger_than_after_one() -> None:
    """8,640 five-minute samples store in as many bytes as 288 do."""
    one_day, thirty_days = _fold_days(1), _fold_days(30)
    assert one_day.usage.signals.samples == 288
    assert thirty_days.usage.signals.samples == 8640
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(to_record(WEB0, thirty_days, at).state) <= len(to_record(WEB0, one_day, at).state)


def test_fold_returns_only_states_it_changed() -> None:
    """A snapshot repeating an already-folded OOM kill, with no samples, changes nothing."""
    cluster_id = uuid.uuid4()
    snapshot = shop_snapshot(cluster_id, 1, workloads=1, replicas=1)
    oom = (
        snapshot.pods[0]
        .spec.containers[0]
        .model_copy(update={"last_oom_kill_at": T0, "last_termination_reason": "OOMKilled"})
    )
    pod = snapshot.pods[0].model_copy(
        update={"spec": snapshot.pods[0].spec.model_copy(update={"containers": [oom]})}
    )
    snapshot = snapshot.model_copy(update={"pods": [pod]})
    states = fold_batch(usage_batch(snapshot, {}), {})
    assert states[WEB0].usage.signals.oom_kills == 1
    quiet = snapshot.model_copy(update={"usage": Usage()})
    assert fold_batch(usage_batch(quiet, {}), states) == {}


def test_record_carries_counts_and_sample_times() -> None:
    """Two samples a minute apart: count 2, first and last at those times."""
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=1, replicas=1)
    pod = snapshot.pods[0]
    later = T0 + timedelta(minutes=1)
    samples = [sample(pod, T0, cpu=0.1, memory=2**28), sample(pod, later, cpu=0.3, memory=2**28)]
    states = fold_batch(
        usage_batch(snapshot.model_copy(update={"usage": Usage(containers=samples)}), {}), {}
    )
    stored = to_record(WEB0, states[WEB0], T0 + timedelta(hours=1))
    assert (stored.sample_count, stored.first_sample_at, stored.last_sample_at) == (2, T0, later)
    assert ContainerHistory.from_bytes(stored.state).usage.signals.samples == 2


def test_keys_convert_between_storage_and_recommender() -> None:
    """A key survives the round trip through the storage key."""
    assert domain_key(stored_key(WEB0)) == WEB0


def test_gpu_samples_feed_duty_history_and_gpu_memory_histogram() -> None:
    """Three DCGM samples of web0's GPU: three in the duty history, GPU memory non-empty."""
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=1, replicas=1)
    pod = snapshot.pods[0]
    gpus = [
        GpuUsage(
            node="node-a",
            gpu_index=0,
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=T0 + timedelta(minutes=m),
            utilization=0.3,
            memory_used_bytes=2**31,
        )
        for m in range(3)
    ]
    batch = usage_batch(snapshot.model_copy(update={"usage": Usage(gpus=gpus)}), {})
    history = fold_batch(batch, {})[WEB0]
    profile = history.gpu.profile()
    assert profile is not None
    assert (profile.samples, profile.duty_peak, profile.memory_peak_bytes) == (3, 0.3, 2**31)
    assert not history.usage.gpu_memory.is_empty()


def test_cpu_samples_feed_the_demand_history() -> None:
    """A day of five-minute samples leaves a day of demand steps at the sampled usage."""
    series = _fold_days(1).demand.series()
    assert series.values.size == 288
    assert abs(float(series.values[0]) - 0.2) < 1e-6


def test_the_demand_history_travels_in_chunks() -> None:
    """The stored row carries the demand as the chunks its day fell into, and its newest step;
    reading them restores it."""
    history = _fold_days(1)
    record = to_record(WEB0, history, datetime(2026, 1, 1, tzinfo=UTC))
    assert record.demand is None
    assert record.demand_steps == (history.demand.last_step, -1)
    assert {chunk.ring for chunk in record.demand_chunks} == {0}
    assert from_record(record).demand.to_bytes() == history.demand.to_bytes()


def test_a_row_without_demand_reads_back_with_an_empty_one() -> None:
    """Rows written before demand was kept load with an empty demand history."""
    record = to_record(WEB0, _fold_days(1), datetime(2026, 1, 1, tzinfo=UTC))
    old = replace(record, demand=None, demand_steps=(-1, -1), demand_chunks=())
    assert from_record(old).demand.series().values.size == 0


def test_a_row_holding_whole_rings_reads_back_and_is_next_written_whole() -> None:
    """A row written before rings were chunked reads its whole rings; its history's next write
    replaces every stored chunk with all it holds."""
    history = _fold_days(2)
    record = to_record(WEB0, history, T0)
    old = replace(
        record,
        demand=pack_demands(history.demand, history.gpu_demand),
        demand_steps=(-1, -1),
        demand_chunks=(),
    )
    restored = from_record(old)
    assert restored.demand.to_bytes() == history.demand.to_bytes()
    rewritten = to_record(WEB0, restored, T0)
    assert rewritten.demand_replaced
    assert rewritten.demand_chunks == record.demand_chunks


def test_a_stored_history_writes_only_the_chunks_folded_since() -> None:
    """After its record is written, a history's next record carries just the chunks changed."""
    history = _fold_days(2)
    mark_stored(history)
    cluster_id = uuid.uuid4()
    snapshot = _day_of_samples(cluster_id, 2).model_copy(
        update={"usage": Usage(containers=_day_of_samples(cluster_id, 2).usage.containers[:1])}
    )
    fold_batch(usage_batch(snapshot, {}), {WEB0: history})
    record = to_record(WEB0, history, T0)
    assert not record.demand_replaced
    assert [(chunk.ring, chunk.index) for chunk in record.demand_chunks] == [
        (0, (history.demand.last_step % STEPS) // CHUNK_STEPS)
    ]


def _two_gpu_samples(minutes: int) -> ClusterSnapshot:
    """web0's pod on two GPUs, each 40 % busy, for `minutes` minutes."""
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=1, replicas=1)
    pod = snapshot.pods[0]
    gpus = [
        GpuUsage(
            node="node-a",
            gpu_index=index,
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=T0 + timedelta(minutes=m),
            utilization=0.4,
            memory_used_bytes=2**30,
        )
        for m in range(minutes)
        for index in (0, 1)
    ]
    return snapshot.model_copy(update={"usage": Usage(gpus=gpus)})


def test_gpu_samples_feed_the_gpu_demand_history_summing_devices() -> None:
    """Two GPUs 40 % busy are a GPU demand of 0.8 GPUs, kept apart from the CPU demand."""
    batch = usage_batch(_two_gpu_samples(5), {})
    history = fold_batch(batch, {})[WEB0]
    series = history.gpu_demand.series()
    assert series.values.size == 1
    assert abs(float(series.values[0]) - 0.8) < 1e-6
    assert history.demand.series().values.size == 0


def test_gpu_demand_survives_the_stored_row() -> None:
    """The row written for a history with GPU demand reads back with the same GPU demand."""
    history = fold_batch(usage_batch(_two_gpu_samples(5), {}), {})[WEB0]
    restored = from_record(to_record(WEB0, history, T0))
    assert np.array_equal(restored.gpu_demand.series().values, history.gpu_demand.series().values)


def test_a_deltas_series_fold_exactly_as_the_same_samples_one_by_one() -> None:
    """Interleaved replicas' CPU and GPU samples sent as series store the same bytes."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    web0 = [pod for pod in snapshot.pods if pod.name.startswith("web0")]
    minutes = [T0 + timedelta(minutes=m, seconds=0.3) for m in range(5)]
    containers = [
        sample(pod, at, cpu=0.1 + 0.07 * m + 0.01 * r, memory=(300 + m + r) * 2**20)
        for m, at in enumerate(minutes)
        for r, pod in enumerate(web0)
    ]
    gpus = [
        GpuUsage(
            node=pod.node_name or "node-a",
            gpu_index=r,
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=at,
            utilization=0.1 * (m + 1),
            memory_used_bytes=(m + r + 1) * 2**28,
        )
        for m, at in enumerate(minutes)
        for r, pod in enumerate(web0)
    ]
    samples = snapshot.model_copy(update={"usage": Usage(containers=containers, gpus=gpus)})
    delta = delta_between(
        listed_objects(snapshot), samples, delta_id=uuid.uuid4(), base_sequence=1, compact=False
    )
    assert (delta.usage.containers, delta.usage.gpus) == ([], [])
    one_by_one = fold_batch(usage_batch(samples, {}), {})
    stored = {(pod.namespace, pod.name): pod for pod in snapshot.pods}
    as_series = fold_batch(usage_batch(delta, stored, delta_samples(delta)), {})
    assert {key: h.to_bytes() for key, h in as_series.items()} == {
        key: h.to_bytes() for key, h in one_by_one.items()
    }
    assert as_series[WEB0].demand.to_bytes() == one_by_one[WEB0].demand.to_bytes()


def _alone(batch: UsageBatch, key: ContainerKey) -> ContainerHistory:
    """One container's history folded by itself, one call per part."""
    history = ContainerHistory.empty()
    columns, gpu = batch.columns.get(key), batch.gpu.get(key)
    if columns is not None and len(columns):
        millis = batch.cpu_request_millis.get(key)
        history.usage.fold(
            columns.seconds,
            columns.cpu_cores,
            columns.memory_bytes,
            columns.throttled_fraction,
            millis / 1000 if millis else None,
        )
        history.demand.fold(
            zip(columns.seconds.tolist(), columns.pods, columns.cpu_cores.tolist(), strict=True)
        )
    if gpu is not None and len(gpu):
        history.usage.fold_gpu(gpu.seconds, gpu.memory_used_bytes)
        history.gpu.fold_columns(gpu.seconds, gpu.duty, gpu.memory_used_bytes)
        history.gpu_demand.fold(
            zip(gpu.seconds.tolist(), gpu.devices, gpu.duty.tolist(), strict=True)
        )
    for kill in batch.oom_kills.get(key, []):
        history.usage.record_oom(kill.at, kill.memory_bytes)
    return history


def test_containers_folded_together_store_what_each_folded_alone_stores() -> None:
    """An upload of hundreds of containers (CPU, memory, throttling, GPU samples) folds every
    container's usage state and both demand histories byte for byte as folding it alone does."""
    snapshot = build_snapshot(
        read_trace_nodes(DATA / "openb_node_list_gpu_node.csv"),
        read_trace_pods(DATA / "openb_pod_list_default.csv"),
        SnapshotSpec(
            cluster_id=uuid.uuid4(),
            snapshot_id=uuid.uuid4(),
            taken_at=datetime(2026, 11, 23, 4, 1, 30, tzinfo=UTC),
            pod_count=300,
            samples_per_container=3,
        ),
    )
    batch = usage_batch(snapshot, {})
    together = fold_batch(batch, {})
    assert len(together) > 50
    assert any(len(batch.gpu.get(key, ())) for key in together)
    for key, history in together.items():
        alone = _alone(batch, key)
        assert history.to_bytes() == alone.to_bytes()
        assert history.demand.to_bytes() == alone.demand.to_bytes()
        assert history.gpu_demand.to_bytes() == alone.gpu_demand.to_bytes()
