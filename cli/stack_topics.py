"""Create the Kafka topics the gateway produces to and the workers consume, if missing."""

from __future__ import annotations

import asyncio

from devstack.topics import create_topics
from protocol.topics import DEAD_LETTER_TOPIC, SNAPSHOTS_TOPIC, SPOT_NOTICES_TOPIC

MAX_MESSAGE_BYTES = 64 * 2**20
"""As large as the gateway's largest decompressed snapshot."""


def ensure_topics(bootstrap: str) -> None:
    """Create the snapshot, spot-notice and dead-letter topics (existing ones are kept)."""
    asyncio.run(
        create_topics(
            bootstrap,
            SNAPSHOTS_TOPIC,
            SPOT_NOTICES_TOPIC,
            DEAD_LETTER_TOPIC,
            configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
            exist_ok=True,
        )
    )
