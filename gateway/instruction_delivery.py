"""Handing signed instructions to executors: long-polls, results, and status for people.

A long-poll answers at once when something is deliverable for its cluster. Otherwise it waits
for a wake-up (an approval for that cluster), a periodic re-check, the end of its wait or its
client going away, and looks again. Delivery is at-least-once: the repository hands out again
whatever has no result `redeliver_after` after its last delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from auth.clock import Clock
from gateway.instruction_results import RecordedResult, record_result
from gateway.instruction_wakeups import InstructionWakeups
from gateway.metrics import GatewayMetrics
from gateway.result_notifications import ResultNotifier
from protocol.instruction import Instruction, InstructionResult
from protocol.trace_context import context_from_carrier, current_carrier
from store.database import Database
from store.errors import NotFoundError
from store.repositories.instructions import (
    DEFAULT_REDELIVER_AFTER,
    InstructionRepository,
    InstructionView,
)

SUBSCRIBE_TIMEOUT = 5.0
"""How long start-up waits for the wake-up subscription before serving without it."""
NOTIFY_TIMEOUT = 10.0
"""How long shutdown waits for notifications still being queued."""


@dataclass(frozen=True)
class DeliveredInstruction:
    """An instruction handed to its executor, with the trace context its handling continues."""

    instruction: Instruction
    trace_context: dict[str, str]
    """`traceparent`/`tracestate` of the delivery span (empty when the approval had none)."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long long-polls wait, how often they re-check, when instructions are redelivered."""

    max_wait_seconds: float = 60.0
    """Longer waits asked for are shortened to this (executors poll again at once)."""
    recheck_seconds: float = 15.0
    """A waiting long-poll looks in the database this often even without a wake-up."""
    redeliver_after: timedelta = DEFAULT_REDELIVER_AFTER
    batch: int = 10
    """Most instructions one answer carries."""


class InstructionDelivery:
    """The executor-facing instruction service of one gateway process."""

    def __init__(
        self,
        database: Database,
        wakeups: InstructionWakeups,
        notifier: ResultNotifier,
        *,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.database = database
        self.wakeups = wakeups
        self.notifier = notifier
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.metrics = metrics or GatewayMetrics()
        self._listener: asyncio.Task[None] | None = None
        self._notifying: set[asyncio.Task[bool]] = set()
        self._tracer = trace.get_tracer("gateway.instructions")

    async def start(self) -> None:
        """Start the wake-up subscription; give it a moment to come up before serving."""
        self._listener = asyncio.create_task(self.wakeups.run(), name="instruction-wakeups")
        await self.wakeups.first_attempt(SUBSCRIBE_TIMEOUT)

    async def stop(self) -> None:
        """Stop the subscription, let queued notifications finish, close the broker client."""
        await self.settled()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self.notifier.close()

    async def poll(
        self,
        tenant_id: uuid.UUID,
        cluster_id: uuid.UUID,
        wait_seconds: float,
        *,
        gone: asyncio.Event | None = None,
    ) -> list[DeliveredInstruction]:
        """What is deliverable for the cluster, waiting up to `wait_seconds` for something.

        Returns early (empty) once `gone` is set: the client stopped listening.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_seconds, 0.0), self.policy.max_wait_seconds)
        with self.wakeups.waiter(cluster_id) as wakeup:
            while True:
                wakeup.clear()
                found = await self._deliver(tenant_id, cluster_id)
                remaining = deadline - loop.time()
                if found or remaining <= 0:
                    return found
                await _first_of(wakeup, gone, min(remaining, self.policy.recheck_seconds))
                if gone is not None and gone.is_set():
                    return []

    async def record(
        self, tenant_id: uuid.UUID, actor: str, result: InstructionResult
    ) -> RecordedResult:
        """Store an executor's result (idempotent) with its effects; notify when it is new."""
        recorded = await record_result(self.database, tenant_id, actor, result, now=self.clock())
        if recorded.stored:
            self.metrics.instruction_results.labels(result.outcome.value).inc()
            # In the background: the executor's report need not wait for the broker.
            task = asyncio.create_task(
                self.notifier.instruction_completed(tenant_id, result.instruction_id)
            )
            self._notifying.add(task)
            task.add_done_callback(self._notifying.discard)
        return recorded

    async def settled(self, within: float = NOTIFY_TIMEOUT) -> None:
        """Wait (at most `within` seconds) for the notifications being queued right now."""
        if self._notifying:
            await asyncio.wait(set(self._notifying), timeout=within)

    async def get(
        self, tenant_id: uuid.UUID, cluster_id: uuid.UUID, instruction_id: uuid.UUID
    ) -> InstructionView:
        """One instruction of the cluster; NotFoundError if absent, elsewhere, another tenant's."""
        async with self.database.tenant(tenant_id) as session:
            view = await InstructionRepository(session, tenant_id).get(instruction_id)
        if view.cluster_id != cluster_id:
            raise NotFoundError(f"instruction {instruction_id} not found")
        return view

    async def _deliver(
        self, tenant_id: uuid.UUID, cluster_id: uuid.UUID
    ) -> list[DeliveredInstruction]:
        now = self.clock()
        async with self.database.tenant(tenant_id) as session:
            views = await InstructionRepository(session, tenant_id).next_deliverable(
                cluster_id,
                now=now,
                limit=self.policy.batch,
                redeliver_after=self.policy.redeliver_after,
            )
        for view in views:
            self._count_delivery(view, now)
        return [self._traced(view) for view in views]

    def _count_delivery(self, view: InstructionView, now: datetime) -> None:
        if view.delivery_count > 1:
            self.metrics.instructions_delivered.labels("repeat").inc()
            return
        self.metrics.instructions_delivered.labels("first").inc()
        if view.approved_at is not None:
            waited = (now - view.approved_at).total_seconds()
            self.metrics.instruction_pickup.observe(max(waited, 0.0))

    def _traced(self, view: InstructionView) -> DeliveredInstruction:
        """The instruction with a delivery span in its approval's trace (not the poll's)."""
        if not view.trace_context:
            return DeliveredInstruction(view.instruction, {})
        with self._tracer.start_as_current_span(
            "deliver instruction",
            context=context_from_carrier(view.trace_context),
            kind=SpanKind.PRODUCER,
            attributes={
                "slicewise.instruction_id": str(view.id),
                "slicewise.delivery_count": view.delivery_count,
            },
        ):
            return DeliveredInstruction(view.instruction, current_carrier())


async def _first_of(wakeup: asyncio.Event, gone: asyncio.Event | None, seconds: float) -> None:
    """Wait until `wakeup` or `gone` is set, or `seconds` pass."""
    waits = [asyncio.ensure_future(wakeup.wait())]
    if gone is not None:
        waits.append(asyncio.ensure_future(gone.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
