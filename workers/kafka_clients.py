"""Kafka clients configured for at-least-once consumption from the worker settings."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from workers.settings import WorkerSettings


def build_consumer(settings: WorkerSettings, group_id: str) -> AIOKafkaConsumer:
    """A group consumer that never commits on its own and starts new groups at the beginning."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=settings.client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=settings.max_message_bytes,
        fetch_max_bytes=max(settings.max_message_bytes, 50 * 2**20),
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(settings.session_timeout_ms // 3, 500),
    )


def build_producer(settings: WorkerSettings) -> AIOKafkaProducer:
    """A producer for dead letters: waits for every in-sync replica.

    Idempotence stays off: not every Kafka-API broker implements it, and dead letters are
    keyed by their source offset, so a duplicate is recognisable.
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.client_id}-producer",
        acks="all",
        enable_idempotence=False,
        # A dead letter carries the original value base64-encoded: a third larger, plus JSON.
        max_request_size=settings.max_message_bytes * 2,
    )
