"""The durable embedded broker keeps acknowledged messages and topics across a SIGKILL."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from devstack.kafka import EmbeddedKafka
from devstack.topics import create_topics

MESSAGES = 20


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < expected:
            batches = await consumer.getmany(timeout_ms=10_000)
            if not batches:
                break
            values += [m.value for records in batches.values() for m in records if m.value]
    finally:
        await consumer.stop()
    return values


async def test_acknowledged_messages_survive_a_killed_broker(
    durable_broker: EmbeddedKafka,
) -> None:
    """Messages acknowledged with acks=all are all read back after kill -9 and a restart."""
    await create_topics(durable_broker.bootstrap, "durable")
    producer = AIOKafkaProducer(bootstrap_servers=durable_broker.bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(MESSAGES):
            await producer.send_and_wait("durable", f"m{i}".encode())
    finally:
        await producer.stop()
    durable_broker.kill()
    durable_broker.start()
    values = await _read_all(durable_broker.bootstrap, "durable", MESSAGES)
    assert sorted(values) == sorted(f"m{i}".encode() for i in range(MESSAGES))


async def test_topics_keep_their_partition_counts_across_a_killed_broker(
    durable_broker: EmbeddedKafka,
) -> None:
    """A topic created with 3 partitions still has 3 after kill -9 and a restart."""
    await create_topics(durable_broker.bootstrap, "three", partitions=3)
    durable_broker.kill()
    durable_broker.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=durable_broker.bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics(["three"])
    finally:
        await admin.close()
    assert sorted(p["partition"] for p in described["partitions"]) == [0, 1, 2]
