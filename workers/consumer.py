"""The at-least-once consumer loop shared by the ingest and spot-notice workers.

Records are handled in partition order. A handler that can handle a polled batch together
(`BatchRecordHandler`, e.g. the ingest fold: one transaction per tenant) is given the whole batch
first; the records it leaves unhandled are then handled one by one. A record's offset is
committed only after its handler returned (its transaction committed) or it was dead-lettered,
so a crash at any point redelivers whatever was not finished; handlers are idempotent, which
makes redelivery harmless. Temporary errors are retried in place with exponential back-off
and nothing after the failing record is committed meanwhile; permanent ones dead-letter the
record and the partition moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from protocol.topics import MESSAGE_ID_HEADER
from protocol.trace_context import context_from_kafka
from workers.dead_letter import DeadLetterSink
from workers.decode import Record, header
from workers.errors import PermanentError, is_temporary
from workers.metrics import ConsumerMetrics, RateMeter

log = structlog.get_logger(__name__)


class RecordHandler(Protocol):
    """Handles one record; returns an outcome label such as "processed" or "duplicate"."""

    async def __call__(self, record: Record) -> str:
        """Apply the record's effects durably, or raise (temporary or permanent error)."""
        ...


@runtime_checkable
class BatchRecordHandler(RecordHandler, Protocol):
    """A handler that can also handle many records at once."""

    async def many(self, records: Sequence[Record]) -> list[str | None]:
        """Handle `records` together, keeping each partition's order; returns each record's
        outcome, None for those left to be handled one by one. Raises nothing: a failure
        leaves records unhandled instead."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off between attempts at a temporarily failing record."""

    initial_seconds: float = 0.5
    max_seconds: float = 30.0

    def delays(self) -> Iterator[float]:
        """Back-off delays: initial, doubled each time, capped."""
        delay = self.initial_seconds
        while True:
            yield delay
            delay = min(delay * 2, self.max_seconds)


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """Keeps the partition gauges in step with the group's assignment."""

    def __init__(self, metrics: ConsumerMetrics, name: str) -> None:
        self._metrics = metrics
        self._name = name

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            with contextlib.suppress(KeyError):
                self._metrics.lag.remove(self._name, tp.topic, str(tp.partition))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._metrics.assigned.labels(self._name).set(len(assigned))
        log.info(
            "partitions assigned",
            consumer=self._name,
            partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned),
        )


class AtLeastOnceConsumer:
    """Polls a subscribed consumer, handles each record, commits what is finished."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        handler: RecordHandler,
        dead_letters: DeadLetterSink,
        metrics: ConsumerMetrics,
        *,
        name: str,
        max_batch: int,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Wire the loop; `consumer` is created but not started, with auto-commit off."""
        self._consumer = consumer
        self._topic = topic
        self._handler = handler
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._name = name
        self._max_batch = max_batch
        self._retry = retry or RetryPolicy()
        self._stopping = asyncio.Event()
        self._rate = RateMeter()
        self._tracer = trace.get_tracer("workers.consumer")

    def stop(self) -> None:
        """Ask the loop to finish the record in hand, commit and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; the consumer is started and stopped here."""
        self._consumer.subscribe([self._topic], listener=_Assignment(self._metrics, self._name))
        await self._consumer.start()
        try:
            while not self._stopping.is_set():
                batch = await self._poll()
                await self._handle_batch(batch)
                await self._observe_lag()
        finally:
            await self._consumer.stop()

    async def _poll(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        try:
            batch: dict[TopicPartition, list[ConsumerRecord]] = await self._consumer.getmany(
                timeout_ms=500, max_records=self._max_batch
            )
        except KafkaError as error:
            if not is_temporary(error):
                raise
            log.warning("poll failed; retrying", consumer=self._name, error=repr(error))
            await self._sleep(self._retry.initial_seconds)
            return {}
        return batch

    async def _handle_batch(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        finished: dict[TopicPartition, int] = {}
        try:
            together = await self._handle_together(batch)
            for tp, records in batch.items():
                for record in records:
                    if tp not in self._consumer.assignment():
                        break  # revoked by a rebalance: the new owner redelivers the rest
                    if (tp, record.offset) not in together and not await self._handle(record):
                        return
                    finished[tp] = record.offset + 1
        finally:
            await self._commit(finished)

    async def _handle_together(
        self, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> set[tuple[TopicPartition, int]]:
        """Offer the batch to a batch handler; the (partition, offset) of the records it handled."""
        records = [record for records in batch.values() for record in records]
        if len(records) < 2 or not isinstance(self._handler, BatchRecordHandler):
            return set()
        started = time.monotonic()
        with self._tracer.start_as_current_span(
            f"{self._topic} process batch",
            kind=SpanKind.CONSUMER,
            attributes={"messaging.batch.message_count": len(records)},
        ):
            outcomes = await self._handler.many(records)
        handled: set[tuple[TopicPartition, int]] = set()
        for record, outcome in zip(records, outcomes, strict=True):
            if outcome is None:
                continue
            handled.add((TopicPartition(record.topic, record.partition), record.offset))
            self._metrics.messages.labels(self._name, record.topic, outcome).inc()
            self._rate.add()
        if handled:
            self._metrics.seconds.labels(self._name, self._topic).observe(
                (time.monotonic() - started) / len(handled)
            )
        return handled

    async def _handle(self, record: Record) -> bool:
        """Handle one record to completion; False if stopped while backing off.

        The handling is a consumer span continuing the trace of whoever produced the record.
        """
        message_id = header(record, MESSAGE_ID_HEADER)
        with (
            self._tracer.start_as_current_span(
                f"{record.topic} process",
                context=context_from_kafka(record.headers or ()),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": record.topic,
                    "messaging.consumer.group.name": self._name,
                    "messaging.kafka.offset": record.offset,
                },
            ),
            structlog.contextvars.bound_contextvars(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                message_id=None if message_id is None else message_id.decode(errors="replace"),
            ),
        ):
            return await self._handle_bound(record)

    async def _handle_bound(self, record: Record) -> bool:
        delays = self._retry.delays()
        started = time.monotonic()
        while True:
            try:
                outcome = await self._handler(record)
            except Exception as error:  # every failure is classified below
                if is_temporary(error):
                    if not await self._back_off(record, error, next(delays)):
                        return False
                    continue
                if not isinstance(error, PermanentError):
                    # Not a refusal we raised on purpose: keep the traceback for whoever fixes it.
                    log.exception("unexpected failure handling a message")
                if not await self._dead_letter(record, error):
                    return False
                outcome = "dead_lettered"
            self._metrics.messages.labels(self._name, record.topic, outcome).inc()
            self._metrics.seconds.labels(self._name, record.topic).observe(
                time.monotonic() - started
            )
            self._rate.add()
            return True

    async def _dead_letter(self, record: Record, error: Exception) -> bool:
        reason = f"{type(error).__name__}: {error}"
        log.warning("dead-lettering message", consumer=self._name, reason=reason)
        delays = self._retry.delays()
        while True:
            try:
                await self._dead_letters.publish(record, reason)
            except Exception as publish_error:
                if not is_temporary(publish_error):
                    raise
                if not await self._back_off(record, publish_error, next(delays)):
                    return False
                continue
            return True

    async def _back_off(self, record: Record, error: BaseException, delay: float) -> bool:
        self._metrics.retries.labels(self._name, record.topic).inc()
        log.warning(
            "temporary failure; backing off",
            consumer=self._name,
            delay_seconds=delay,
            error=repr(error),
        )
        return await self._sleep(delay)

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` unless stopped first; True if the loop should go on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return not self._stopping.is_set()

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        # A partition revoked meanwhile is the new owner's to commit.
        assigned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as error:
            # The group rebalanced under us; the new owner redelivers, handlers are idempotent.
            log.warning("commit refused after a rebalance", consumer=self._name, error=str(error))
        except KafkaError as error:
            if not is_temporary(error):
                raise
            log.warning("commit failed; records will be redelivered", error=repr(error))

    async def _observe_lag(self) -> None:
        assignment = self._consumer.assignment()
        self._metrics.assigned.labels(self._name).set(len(assignment))
        self._metrics.rate.labels(self._name).set(self._rate.rate())
        for tp in assignment:
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(KafkaError):
                position = await self._consumer.position(tp)
                self._metrics.lag.labels(self._name, tp.topic, str(tp.partition)).set(
                    max(highwater - position, 0)
                )
