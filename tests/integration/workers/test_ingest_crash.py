"""A worker process killed mid-batch loses nothing and double-counts nothing once restarted."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack.topics import create_topics
from protocol.topics import message_key
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
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
from tests.unit.workers.factories import headers, shop_snapshot, snapshot_message
from workers.ingest.handler import SnapshotIngest
from workers.settings import WorkerSettings

SNAPSHOTS = 30
BATCH = 10


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


async def test_killed_worker_restarts_without_loss_or_double_counting(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    """SIGKILL after some folds of an uncommitted batch; after a restart the state is exact."""
    settings = worker_settings.model_copy(update={"max_batch": BATCH})
    await create_topics(settings.kafka_bootstrap, settings.snapshots_topic)
    snapshots = [
        shop_snapshot(cluster.id, sequence, workloads=20, replicas=5)
        for sequence in range(1, SNAPSHOTS + 1)
    ]
    for snapshot in snapshots:
        await producer.send_and_wait(
            settings.snapshots_topic,
            snapshot_message(tenant.id, snapshot).model_dump_json().encode(),
            key=message_key(tenant.id, cluster.id),
            headers=headers(),
        )

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
    assert committed_at_kill < folded_at_kill < SNAPSHOTS, first.log_tail()

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
