"""Create the Kafka topics the gateway produces to and the workers consume, if missing."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from protocol.topics import DEAD_LETTER_TOPIC, SNAPSHOTS_TOPIC, SPOT_NOTICES_TOPIC

MAX_MESSAGE_BYTES = 64 * 2**20
"""As large as the gateway's largest decompressed snapshot."""


def ensure_topics(bootstrap: str) -> None:
    """Create the snapshot, spot-notice and dead-letter topics (existing ones are kept)."""
    asyncio.run(_ensure(bootstrap))


async def _ensure(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for name in (SNAPSHOTS_TOPIC, SPOT_NOTICES_TOPIC, DEAD_LETTER_TOPIC):
            topic = NewTopic(
                name,
                num_partitions=1,
                replication_factor=1,
                topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
            )
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue
    finally:
        await admin.close()
