"""Snapshots the broker acknowledged while no consumer ran are folded once after a broker crash."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaProducer

from devstack.kafka import EmbeddedKafka
from devstack.topics import create_topics
from protocol.topics import message_key
from store.database import Database
from store.repositories.clusters import ClusterView
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
from workers.settings import WorkerSettings

SNAPSHOTS = 12
REPLICAS = 3


async def _send(settings: WorkerSettings, tenant: TenantView, cluster: ClusterView) -> None:
    # acks=all is what the gateway waits for before it answers 202.
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=False
    )
    await producer.start()
    try:
        for sequence in range(1, SNAPSHOTS + 1):
            snapshot = shop_snapshot(cluster.id, sequence, workloads=4, replicas=REPLICAS)
            await producer.send_and_wait(
                settings.snapshots_topic,
                snapshot_message(tenant.id, snapshot).model_dump_json().encode(),
                key=message_key(tenant.id, cluster.id),
                headers=headers(),
            )
    finally:
        await producer.stop()


async def test_snapshots_acknowledged_before_a_broker_kill_are_folded_once(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    durable_broker: EmbeddedKafka,
    worker_settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    """Consumer stopped, N sent, broker kill -9 and restarted, consumer restarted: N folds."""
    settings = worker_settings.model_copy(update={"kafka_bootstrap": durable_broker.bootstrap})
    await create_topics(settings.kafka_bootstrap, settings.snapshots_topic)
    first = ingest_worker(settings, tmp_path / "first.log")
    try:
        await eventually(
            lambda: at_least(
                metric(settings.metrics_port, "slicewise_worker_assigned_partitions"), 1
            ),
            within=60,
            what="the first consumer to join its group",
        )
    finally:
        first.stop()

    await _send(settings, tenant, cluster)
    durable_broker.kill()
    durable_broker.start()

    second = ingest_worker(settings, tmp_path / "second.log")
    try:
        await wait_until_folded(
            database,
            tenant.id,
            cluster.id,
            snapshots=SNAPSHOTS,
            metrics_port=settings.metrics_port,
            handled=SNAPSHOTS,
        )
        handled = await metric(settings.metrics_port, "slicewise_worker_messages_total")
        duplicates = await metric(
            settings.metrics_port, "slicewise_worker_messages_total", outcome="duplicate"
        )
    finally:
        second.stop()
    assert (handled, duplicates) == (SNAPSHOTS, 0), second.log_tail()
    assert await snapshot_count(database, tenant.id, cluster.id) == SNAPSHOTS
    states = await folded_states(database, tenant.id, cluster.id)
    assert {count for _, count in states.values()} == {SNAPSHOTS * REPLICAS}
