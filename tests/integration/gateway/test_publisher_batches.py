"""Messages produced together to one partition: each acknowledged, all in the order produced."""

from __future__ import annotations

import asyncio
import uuid

from devstack.services import ServiceUrls
from gateway.metrics import GatewayMetrics
from gateway.publisher import BATCH_BYTES, EventPublisher
from tests.integration.gateway.harness import read_topic


async def _published(services: ServiceUrls, topic: str, values: list[bytes]) -> None:
    publisher = EventPublisher(
        services.kafka_bootstrap,
        GatewayMetrics(),
        request_timeout_ms=20_000,
        max_message_bytes=8 * 2**20,
        compression=None,
    )
    await publisher.start()
    try:
        # Produced at once: those behind the first go in the partition's next batches.
        await asyncio.gather(
            *(publisher.publish(topic, b"one-cluster", value, []) for value in values)
        )
    finally:
        await publisher.stop()


async def test_concurrent_messages_of_one_key_keep_their_order(services: ServiceUrls) -> None:
    """Uploads of one cluster produced at once are all acknowledged and stored in order."""
    topic = f"test.batches.{uuid.uuid4().hex[:8]}"
    values = [b"%04d" % i + b"x" * 50_000 for i in range(60)]
    await _published(services, topic, values)
    stored = await read_topic(services.kafka_bootstrap, topic, lambda m: len(m) >= len(values))
    assert [message.value for message in stored] == values


async def test_message_larger_than_a_batch_goes_alone(services: ServiceUrls) -> None:
    """A message beyond the batch size (a full snapshot) is produced, beside smaller ones."""
    topic = f"test.batches.{uuid.uuid4().hex[:8]}"
    values = [b"small-1", b"L" * (BATCH_BYTES + 500_000), b"small-2"]
    await _published(services, topic, values)
    stored = await read_topic(services.kafka_bootstrap, topic, lambda m: len(m) >= len(values))
    assert [message.value for message in stored] == values
