"""Dead-lettering: a message no retry can fix is parked on the dead-letter topic, with why."""

from __future__ import annotations

import base64
import uuid
from typing import Protocol

from aiokafka import AIOKafkaProducer

from protocol.topics import DEAD_LETTER_REASON_HEADER, DeadLetter, schema_headers
from workers.decode import Record

MAX_REASON = 2048
MAX_KEY = 512


def dead_letter_for(record: Record, reason: str) -> DeadLetter:
    """The dead letter describing `record` and why it was given up on."""
    key = None if record.key is None else record.key.decode("utf-8", errors="replace")[:MAX_KEY]
    return DeadLetter(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason[:MAX_REASON],
        key=key,
        value_base64=base64.b64encode(record.value or b"").decode("ascii"),
    )


class DeadLetterSink(Protocol):
    """Where messages that cannot be processed go."""

    async def publish(self, record: Record, reason: str) -> None:
        """Park `record` durably; raise a temporary error if that is not possible now."""
        ...


class KafkaDeadLetters:
    """Dead letters produced to a Kafka topic, keyed like the source message."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        """Publish through a started `producer` to `topic`."""
        self._producer = producer
        self._topic = topic

    async def publish(self, record: Record, reason: str) -> None:
        """Produce the dead letter and wait for the broker's acknowledgement."""
        letter = dead_letter_for(record, reason)
        headers = [
            *schema_headers(uuid.uuid4()),
            (DEAD_LETTER_REASON_HEADER, letter.reason[:256].encode("utf-8", errors="replace")),
        ]
        await self._producer.send_and_wait(
            self._topic, letter.model_dump_json().encode(), key=record.key, headers=headers
        )
