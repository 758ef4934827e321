"""Spot notices take their own consumer group: a deep ingest backlog does not delay them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiokafka import AIOKafkaProducer

from devstack.topics import create_topics
from protocol.topics import message_key, schema_headers
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.recommendations import RecommendationRepository
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import eventually, snapshot_count
from tests.unit.workers.factories import shop_snapshot, snapshot_message, spot_notice
from workers.ingest.handler import SnapshotIngest
from workers.processes import run_ingest, run_spot
from workers.settings import WorkerSettings

BACKLOG = 200


async def _evacuations(database: Database, tenant: TenantView, cluster: ClusterView) -> int:
    async with database.tenant(tenant.id) as session:
        found = await RecommendationRepository(session, tenant.id).list(cluster.id)
    return sum(1 for rec in found if rec.kind == "spot-evacuation")


async def test_notice_is_planned_while_the_ingest_backlog_is_pending(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    *,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
) -> None:
    """With 200 large snapshots queued and an ingest worker busy on them, the plan appears."""
    settings = worker_settings
    await create_topics(
        settings.kafka_bootstrap, settings.snapshots_topic, settings.spot_notices_topic
    )
    await SnapshotIngest(database).apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 0)))
    key = message_key(tenant.id, cluster.id)
    for sequence in range(1, BACKLOG + 1):
        message = snapshot_message(
            tenant.id, shop_snapshot(cluster.id, sequence, workloads=20, replicas=5)
        )
        await producer.send(
            settings.snapshots_topic,
            message.model_dump_json().encode(),
            key=key,
            headers=schema_headers(message.snapshot.snapshot_id),
        )
    await producer.flush()
    notice = spot_notice(tenant.id, cluster.id)
    await producer.send_and_wait(
        settings.spot_notices_topic,
        notice.model_dump_json().encode(),
        key=key,
        headers=schema_headers(notice.notice.notice_id),
    )
    stop = asyncio.Event()
    spot_settings = settings.model_copy(update={"metrics_port": 0})
    workers = [
        asyncio.create_task(run_ingest(settings, stop)),
        asyncio.create_task(run_spot(spot_settings, stop)),
    ]
    try:
        await eventually(
            lambda: _one(_evacuations(database, tenant, cluster)),
            within=60,
            what="the evacuation recommendation",
        )
        folded = await snapshot_count(database, tenant.id, cluster.id)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 30)
    assert folded < BACKLOG + 1


async def _one(count: Awaitable[int]) -> bool:
    return await count == 1
