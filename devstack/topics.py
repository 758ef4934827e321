"""Creating Kafka topics on whichever broker the harness or the environment provides."""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def create_topics(
    bootstrap: str,
    *names: str,
    partitions: int = 1,
    configs: Mapping[str, str] | None = None,
    exist_ok: bool = False,
) -> None:
    """Create each topic with `partitions` partitions (replication 1) and topic `configs`.

    With `exist_ok`, a topic that exists already is kept as it is; otherwise that is an error.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for name in names:
            topic = NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=1,
                topic_configs=dict(configs or {}),
            )
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                if not exist_ok:
                    raise
    finally:
        await admin.close()
