"""Wiring of the two consumer processes: ingest and spot notices, one function each.

Each function builds everything its process needs from the settings (database pool, Kafka
clients, metrics registry and endpoint), runs until `stop` is set, and releases it all.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from auth.instruction_keys import InstructionKeys
from auth.sealing import KeyEncryptionKey
from store.database import Database
from workers.consumer import AtLeastOnceConsumer, RecordHandler, RetryPolicy
from workers.cost_rollup import CostRollup
from workers.dead_letter import KafkaDeadLetters
from workers.ingest.handler import SnapshotIngest
from workers.ingest.resync import RedisResyncSignal
from workers.instructions import InstructionIssuer, StoredKeysInstructionIssuer
from workers.kafka_clients import build_consumer, build_producer
from workers.metrics import ConsumerMetrics, MetricsServer
from workers.settings import WorkerSettings
from workers.spot.handler import SpotNoticeHandler
from workers.spot.wakeup import RedisExecutorWakeup

log = structlog.get_logger(__name__)

INGEST_COLLECTOR_THRESHOLDS = (100_000, 50, 100)
"""Cyclic collector thresholds of the ingest process (Python's default is 700, 10, 10)."""


@contextmanager
def ingest_collector() -> Iterator[None]:
    """The cyclic collector as ingest folds with it (`INGEST_COLLECTOR_THRESHOLDS`), given back
    as it was on leaving.

    A fold allocates hundreds of thousands of short-lived objects (decoded uploads, sample
    arrays, cost rows) freed by reference counting; the default thresholds would run the
    collector thousands of times a minute over the cached inventories, finding no cycles.
    """
    previous = gc.get_threshold()
    gc.set_threshold(*INGEST_COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


async def run_ingest(settings: WorkerSettings, stop: asyncio.Event) -> None:
    """The ingest process: fold snapshots until `stop` is set."""
    with ingest_collector():
        await _run_ingest(settings, stop)


async def _run_ingest(settings: WorkerSettings, stop: asyncio.Event) -> None:
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    redis = Redis.from_url(settings.redis_url)
    try:
        await _consume(
            settings,
            SnapshotIngest(
                database,
                cost_rollup=CostRollup(objects=settings.ingest_cache_pods),
                resync=RedisResyncSignal(redis),
                cache_pods=settings.ingest_cache_pods,
                cache_histories=settings.ingest_cache_histories,
                run_bytes=settings.ingest_run_bytes,
            ),
            group_id=settings.ingest_group_id,
            topic=settings.snapshots_topic,
            stop=stop,
        )
    finally:
        await redis.aclose()
        await database.dispose()


async def run_spot(
    settings: WorkerSettings, stop: asyncio.Event, issuer: InstructionIssuer | None = None
) -> None:
    """The spot-notice process: plan evacuations until `stop` is set.

    `issuer` signs auto-approved plans; by default the stored instruction keys are used when
    a key-encryption key is configured, and without one nothing is auto-approved.
    """
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    if issuer is None and settings.key_encryption_key is not None:
        keys = InstructionKeys(
            database, KeyEncryptionKey.from_base64(settings.key_encryption_key.get_secret_value())
        )
        await keys.start()
        issuer = StoredKeysInstructionIssuer(keys)
    redis = Redis.from_url(settings.redis_url)
    handler = SpotNoticeHandler(
        database,
        issuer,
        instruction_ttl_seconds=settings.instruction_ttl_seconds,
        wakeup=RedisExecutorWakeup(redis),
    )
    try:
        await _consume(
            settings,
            handler,
            group_id=settings.spot_group_id,
            topic=settings.spot_notices_topic,
            stop=stop,
        )
    finally:
        await redis.aclose()
        await database.dispose()


async def _consume(
    settings: WorkerSettings,
    handler: RecordHandler,
    *,
    group_id: str,
    topic: str,
    stop: asyncio.Event,
) -> None:
    registry = CollectorRegistry()
    producer = build_producer(settings)
    consumer = AtLeastOnceConsumer(
        build_consumer(settings, group_id),
        topic,
        handler,
        KafkaDeadLetters(producer, settings.dead_letter_topic),
        ConsumerMetrics(registry),
        name=settings.client_id,
        max_batch=settings.max_batch,
        retry=RetryPolicy(settings.retry_initial_seconds, settings.retry_max_seconds),
    )
    await producer.start()
    try:
        with MetricsServer(registry, settings.metrics_host, settings.metrics_port):
            log.info("consuming", topic=topic, group_id=group_id, client_id=settings.client_id)
            running = asyncio.create_task(consumer.run())
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                consumer.stop()
                stopping.cancel()
                await running
    finally:
        await producer.stop()
