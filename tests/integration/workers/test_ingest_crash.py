"""A worker process killed mid-batch loses nothing and double-counts nothing once restarted."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agent.delta import DeltaTracker
from devstack.topics import create_topics
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, DeltaMessage, message_key
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import (
    at_least,
    eventually,
    folded_states,
    ingest_worker,
    metric,
    snapshot_count,
    wait_until_folded,
)
from tests.unit.workers.factories import headers, on_grid, shop_snapshot, snapshot_message
from workers.ingest.handler import SnapshotIngest
from workers.settings import WorkerSettings

SNAPSHOTS = 30
BATCH = 10
BEFORE_KILL = 2 * BATCH
"""Uploads produced before the first worker is killed; the rest only after, so that the kill
finds uploads not yet folded however fast the worker is."""


async def _committed(settings: WorkerSettings) -> int | None:
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.ingest_group_id,
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        offset: int | None = await reader.committed(TopicPartition(settings.snapshots_topic, 0))
    finally:
        await reader.stop()
    return offset


async def _produce(
    producer: AIOKafkaProducer,
    settings: WorkerSettings,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    messages: list[tuple[bytes, list[tuple[str, bytes]]]],
) -> None:
    for value, message_headers in messages:
        await producer.send_and_wait(
            settings.snapshots_topic,
            value,
            key=message_key(tenant_id, cluster_id),
            headers=message_headers,
        )


async def test_killed_worker_restarts_without_loss_or_double_counting(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    """SIGKILL once a batch is folded; after a restart the state is exact."""
    settings = worker_settings.model_copy(update={"max_batch": BATCH})
    await create_topics(settings.kafka_bootstrap, settings.snapshots_topic)
    messages = [
        (
            snapshot_message(
                tenant.id, shop_snapshot(cluster.id, sequence, workloads=20, replicas=5)
            )
            .model_dump_json()
            .encode(),
            headers(),
        )
        for sequence in range(1, SNAPSHOTS + 1)
    ]
    await _produce(producer, settings, tenant.id, cluster.id, messages[:BEFORE_KILL])

    first = ingest_worker(settings, tmp_path / "first.log")
    try:
        await eventually(
            lambda: at_least(snapshot_count(database, tenant.id, cluster.id), 3),
            within=60,
            what="the first folds",
            interval=0.01,
        )
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.stop()
    folded_at_kill = await snapshot_count(database, tenant.id, cluster.id)
    committed_at_kill = await _committed(settings) or 0
    # A batch folds in one transaction: the kill lands before or after its offsets are committed.
    assert committed_at_kill <= folded_at_kill <= BEFORE_KILL, first.log_tail()
    await _produce(producer, settings, tenant.id, cluster.id, messages[BEFORE_KILL:])

    second = ingest_worker(settings, tmp_path / "second.log")
    try:
        await wait_until_folded(
            database,
            tenant.id,
            cluster.id,
            snapshots=SNAPSHOTS,
            metrics_port=settings.metrics_port,
            handled=SNAPSHOTS - committed_at_kill,
        )
        duplicates = await metric(
            settings.metrics_port, "slicewise_worker_messages_total", outcome="duplicate"
        )
    finally:
        second.stop()
    assert duplicates == folded_at_kill - committed_at_kill, second.log_tail()

    async with database.tenant(tenant.id) as session:
        reference = await ClusterRepository(session, tenant.id).create("uninterrupted")
    ingest = SnapshotIngest(database)
    for sequence in range(1, SNAPSHOTS + 1):
        await ingest.apply(
            snapshot_message(
                tenant.id, shop_snapshot(reference.id, sequence, workloads=20, replicas=5)
            )
        )
    interrupted = await folded_states(database, tenant.id, cluster.id)
    assert interrupted == await folded_states(database, tenant.id, reference.id)
    assert {count for _, count in interrupted.values()} == {SNAPSHOTS * 5}


def _delta_uploads(cluster_id: uuid.UUID) -> list[ClusterSnapshot | ClusterDelta]:
    """A v2 agent's uploads: a full snapshot, then deltas in which one pod changes a minute."""
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    uploads: list[ClusterSnapshot | ClusterDelta] = []
    for sequence in range(1, SNAPSHOTS + 1):
        state = _state(cluster_id, sequence)
        uploads.append(tracker.next_upload(state, delta_id=uuid.uuid5(cluster_id, str(sequence))))
    return uploads


def _state(cluster_id: uuid.UUID, sequence: int) -> ClusterSnapshot:
    """Minute `sequence` of the crash test's cluster: pod `sequence % pods` is not ready (figures
    on the grid deltas carry exactly, so the full-snapshot reference folds the same)."""
    snapshot = shop_snapshot(cluster_id, sequence, workloads=20, replicas=5)
    snapshot = snapshot.model_copy(update={"usage": on_grid(snapshot.usage)})
    pods = list(snapshot.pods)
    changed = sequence % len(pods)
    pods[changed] = pods[changed].model_copy(
        update={"ready": False, "resource_version": f"v{sequence}"}
    )
    return snapshot.model_copy(update={"pods": pods})


def _upload_headers(upload: ClusterSnapshot | ClusterDelta) -> list[tuple[str, bytes]]:
    kind = [(PAYLOAD_KIND_HEADER, DELTA_PAYLOAD)] if isinstance(upload, ClusterDelta) else []
    return [*headers(), *kind]


def _upload_value(tenant_id: uuid.UUID, upload: ClusterSnapshot | ClusterDelta) -> bytes:
    if isinstance(upload, ClusterDelta):
        message = DeltaMessage(tenant_id=tenant_id, received_at=upload.taken_at, delta=upload)
        return message.model_dump_json().encode()
    return snapshot_message(tenant_id, upload).model_dump_json().encode()


async def test_killed_worker_folding_deltas_restarts_without_loss_or_double_counting(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    """SIGKILL amid batches of deltas; after a restart inventory, usage and sequence are exact."""
    settings = worker_settings.model_copy(update={"max_batch": BATCH})
    await create_topics(settings.kafka_bootstrap, settings.snapshots_topic)
    uploads = _delta_uploads(cluster.id)
    messages = [(_upload_value(tenant.id, upload), _upload_headers(upload)) for upload in uploads]
    await _produce(producer, settings, tenant.id, cluster.id, messages[:BEFORE_KILL])

    first = ingest_worker(settings, tmp_path / "first.log")
    try:
        await eventually(
            lambda: at_least(snapshot_count(database, tenant.id, cluster.id), 3),
            within=60,
            what="the first folds",
            interval=0.01,
        )
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.stop()
    folded_at_kill = await snapshot_count(database, tenant.id, cluster.id)
    committed_at_kill = await _committed(settings) or 0
    # A batch folds in one transaction: the kill lands before or after its offsets are committed.
    assert committed_at_kill <= folded_at_kill <= BEFORE_KILL, first.log_tail()
    await _produce(producer, settings, tenant.id, cluster.id, messages[BEFORE_KILL:])

    second = ingest_worker(settings, tmp_path / "second.log")
    try:
        await wait_until_folded(
            database,
            tenant.id,
            cluster.id,
            snapshots=SNAPSHOTS,
            metrics_port=settings.metrics_port,
            handled=SNAPSHOTS - committed_at_kill,
        )
        duplicates = await metric(
            settings.metrics_port, "slicewise_worker_messages_total", outcome="duplicate"
        )
        resyncs = await metric(
            settings.metrics_port, "slicewise_worker_messages_total", outcome="resync"
        )
    finally:
        second.stop()
    assert (duplicates, resyncs) == (folded_at_kill - committed_at_kill, 0), second.log_tail()

    async with database.tenant(tenant.id) as session:
        reference = await ClusterRepository(session, tenant.id).create("uninterrupted-full")
    ingest = SnapshotIngest(database)
    for sequence in range(1, SNAPSHOTS + 1):
        await ingest.apply(snapshot_message(tenant.id, _state(reference.id, sequence)))
    interrupted = await folded_states(database, tenant.id, cluster.id)
    assert interrupted == await folded_states(database, tenant.id, reference.id)
    async with database.tenant(tenant.id) as session:
        inventory = InventoryRepository(session, tenant.id)
        stored = [
            (o.kind, o.namespace, o.name, o.resource_version, o.body)
            for o in await inventory.list(cluster.id)
        ]
        expected = [
            (o.kind, o.namespace, o.name, o.resource_version, o.body)
            for o in await inventory.list(reference.id)
        ]
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert stored == expected
    last = uploads[-1]
    assert isinstance(last, ClusterDelta)
    assert state is not None
    assert (state.sequence, state.resync_requested) == (last.sequence, False)
