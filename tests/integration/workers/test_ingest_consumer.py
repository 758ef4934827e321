"""The ingest consumer group on the real broker: dead letters, partition splitting, metrics."""

from __future__ import annotations

import asyncio
import base64
import gc
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack.process import free_port
from devstack.topics import create_topics
from protocol.topics import DeadLetter, message_key
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import (
    equals,
    eventually,
    folded_states,
    metric,
    running_ingest,
    snapshot_count,
)
from tests.unit.workers.factories import headers, shop_snapshot, snapshot_message
from workers.ingest.handler import SnapshotIngest
from workers.processes import INGEST_COLLECTOR_THRESHOLDS
from workers.settings import WorkerSettings

JOIN_SECONDS = 60.0
"""Consumer-group joins on the embedded broker take several seconds each."""


async def _send(
    producer: AIOKafkaProducer,
    topic: str,
    value: bytes,
    *,
    key: bytes = b"k",
    version: str = "1",
    partition: int | None = None,
) -> None:
    await producer.send_and_wait(
        topic, value, key=key, headers=headers(version), partition=partition
    )


async def _dead_letters(bootstrap: str, topic: str, count: int) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        while len(letters) < count:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
            letters += [
                DeadLetter.model_validate_json(r.value) for rs in batch.values() for r in rs
            ]
    finally:
        await consumer.stop()
    return letters


async def _committed(bootstrap: str, group: str, topic: str) -> int | None:
    # A group member that never subscribes only reads the group's offsets; it does not join.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        offset: int | None = await reader.committed(TopicPartition(topic, 0))
    finally:
        await reader.stop()
    return offset


async def test_poison_messages_are_dead_lettered_and_the_partition_moves_on(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
) -> None:
    """Bad JSON, a wrong schema header and an invalid snapshot are parked; both good ones fold."""
    topic = worker_settings.snapshots_topic
    await create_topics(worker_settings.kafka_bootstrap, topic, worker_settings.dead_letter_topic)
    good = [snapshot_message(tenant.id, shop_snapshot(cluster.id, n)) for n in (1, 2)]
    key = message_key(tenant.id, cluster.id)
    await _send(producer, topic, good[0].model_dump_json().encode(), key=key)
    await _send(producer, topic, b"{not json", key=key)
    await _send(producer, topic, good[1].model_dump_json().encode(), key=key, version="9")
    await _send(producer, topic, b'{"tenant_id": "nope"}', key=key)
    await _send(producer, topic, good[1].model_dump_json().encode(), key=key)
    async with running_ingest(worker_settings):
        await eventually(
            lambda: equals(snapshot_count(database, tenant.id, cluster.id), 2),
            within=JOIN_SECONDS,
            what="both good snapshots folded",
        )
        await eventually(
            lambda: equals(
                _committed(worker_settings.kafka_bootstrap, worker_settings.ingest_group_id, topic),
                5,
            ),
            within=30,
            what="offset 5 committed",
        )
    letters = await _dead_letters(
        worker_settings.kafka_bootstrap, worker_settings.dead_letter_topic, 3
    )
    assert [(letter.offset, letter.source_topic) for letter in letters] == [
        (1, topic),
        (2, topic),
        (3, topic),
    ]
    assert "json_invalid" in letters[0].reason or "Invalid JSON" in letters[0].reason
    assert "unsupported schema-version '9'" in letters[1].reason
    assert "tenant_id" in letters[2].reason
    assert base64.b64decode(letters[0].value_base64) == b"{not json"
    assert letters[0].key == key.decode()


async def test_two_workers_split_partitions_and_fold_what_one_would(
    database: Database,
    tenant: TenantView,
    producer: AIOKafkaProducer,
    worker_settings: WorkerSettings,
) -> None:
    """Two workers of one group each take a partition; the folded state equals a direct fold."""
    topic = worker_settings.snapshots_topic
    await create_topics(worker_settings.kafka_bootstrap, topic, partitions=2)
    async with database.tenant(tenant.id) as session:
        repository = ClusterRepository(session, tenant.id)
        clusters = [await repository.create(f"c{i}-{uuid.uuid4().hex[:6]}") for i in range(4)]
        references = [await repository.create(f"r{i}-{uuid.uuid4().hex[:6]}") for i in range(4)]
    second = worker_settings.model_copy(
        update={"client_id": f"{worker_settings.client_id}-b", "metrics_port": free_port()}
    )
    ports = [worker_settings.metrics_port, second.metrics_port]
    async with running_ingest(worker_settings), running_ingest(second):
        await eventually(
            lambda: _both_assigned(ports),
            within=JOIN_SECONDS,
            what="each worker owning one partition",
        )
        for sequence in range(1, 6):
            for index, target in enumerate(clusters):
                message = snapshot_message(tenant.id, shop_snapshot(target.id, sequence))
                await _send(
                    producer,
                    topic,
                    message.model_dump_json().encode(),
                    key=message_key(tenant.id, target.id),
                    partition=index % 2,
                )

        async def all_folded() -> bool:
            counts = [await snapshot_count(database, tenant.id, c.id) for c in clusters]
            return counts == [5, 5, 5, 5]

        await eventually(all_folded, within=JOIN_SECONDS, what="five snapshots of each cluster")
        processed = [
            await metric(port, "slicewise_worker_messages_total", outcome="processed")
            for port in ports
        ]
    assert processed == [10.0, 10.0]
    ingest = SnapshotIngest(database)
    for sequence in range(1, 6):
        for reference in references:
            await ingest.apply(snapshot_message(tenant.id, shop_snapshot(reference.id, sequence)))
    for target, reference in zip(clusters, references, strict=True):
        assert await folded_states(database, tenant.id, target.id) == await folded_states(
            database, tenant.id, reference.id
        )


async def _both_assigned(ports: list[int]) -> bool:
    counts = [await metric(port, "slicewise_worker_assigned_partitions") for port in ports]
    return counts == [1.0, 1.0]


async def test_the_ingest_process_tunes_the_collector_while_it_runs_and_gives_it_back(
    worker_settings: WorkerSettings,
) -> None:
    """Running, the ingest process collects cycles less often; stopped, the thresholds are the
    ones it found (a process hosting it for a while, a test session say, keeps its own)."""
    before = gc.get_threshold()
    assert before != INGEST_COLLECTOR_THRESHOLDS
    async with running_ingest(worker_settings):
        await eventually(
            lambda: _is(gc.get_threshold(), INGEST_COLLECTOR_THRESHOLDS),
            within=JOIN_SECONDS,
            what="the ingest process's collector thresholds",
        )
    assert gc.get_threshold() == before


async def _is(found: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return found == expected
