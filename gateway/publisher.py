"""Producing to Kafka: acks from every in-sync replica before a request is answered.

Each message carries the trace context of its producing span. A process that does not trace
(no SDK tracer provider installed) makes no span: the API's span would record nothing and carry
its parent's context, which the message then carries as it is, for a quarter of the cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, SpanKind

from gateway.key_partitions import KeyPartitioner
from gateway.metrics import GatewayMetrics
from protocol.trace_context import kafka_headers

_ENVELOPE_BYTES = 64 * 1024
BATCH_BYTES = 1_000_000
"""Largest batch of several messages to one partition (a larger message goes alone, as always).

A partition's messages produced while its previous batch is on its way to the broker go
together in its next one, each still acknowledged (or failed) as the batch is, in order. With
aiokafka's default (16 kB) a batch held one upload, and each upload behind it waited for that
batch to be sent before it was even queued. Below Kafka's default `message.max.bytes`
(1 MiB + 12 bytes): a broker never refuses a batch whose messages it would accept one by one.
"""


class PublishError(Exception):
    """The broker did not acknowledge the message; the caller may retry later."""


class EventPublisher:
    """One aiokafka producer per app, started and stopped with it."""

    def __init__(
        self,
        bootstrap: str,
        metrics: GatewayMetrics,
        *,
        request_timeout_ms: int,
        max_message_bytes: int,
        compression: str | None,
        client_id: str = "slicewise-gateway",
    ) -> None:
        self._bootstrap = bootstrap
        self._metrics = metrics
        self._options = {
            "client_id": client_id,
            "request_timeout_ms": request_timeout_ms,
            "max_request_size": max_message_bytes + _ENVELOPE_BYTES,
            "max_batch_size": BATCH_BYTES,
            "compression_type": compression,
        }
        self._producer: AIOKafkaProducer | None = None
        self._tracer = trace.get_tracer("gateway.publisher")

    async def start(self) -> None:
        """Connect to the cluster (fails if no broker answers)."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            # Every in-sync replica has the message before we answer 202.
            acks="all",
            # Kafka-API brokers without idempotent producers exist (Tansu); dedupe is ours.
            enable_idempotence=False,
            linger_ms=0,
            partitioner=KeyPartitioner(),
            **self._options,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Produce one message and wait for the broker's acknowledgement.

        The message carries the producing span's trace context, so its consumer continues it.
        """
        if self._producer is None:
            raise PublishError("producer not started")
        if not tracing():
            await self._send(self._producer, topic, key, value, headers)
            return
        with self._tracer.start_as_current_span(
            f"{topic} publish",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
        ):
            await self._send(self._producer, topic, key, value, headers)

    async def _send(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        key: bytes,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        """Produce with the current trace context; PublishError if the broker did not ack."""
        started = time.perf_counter()
        try:
            await producer.send_and_wait(
                topic, value=value, key=key, headers=[*headers, *kafka_headers()]
            )
        except (KafkaError, TimeoutError, OSError) as e:
            self._metrics.produce_failures.labels(topic).inc()
            raise PublishError(f"{type(e).__name__}: {e}") from e
        self._metrics.produce_latency_of(topic).observe(time.perf_counter() - started)

    async def ping(self, within_seconds: float) -> None:
        """Raise PublishError unless a broker answers a metadata request in time."""
        if self._producer is None:
            raise PublishError("producer not started")
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), within_seconds)
        except (KafkaError, TimeoutError, OSError) as e:
            raise PublishError(f"{type(e).__name__}: {e}") from e


def tracing() -> bool:
    """Whether this process records spans: a tracer provider other than the API's own
    placeholders is installed (the SDK's, by `protocol.tracing_setup` or a test)."""
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)
