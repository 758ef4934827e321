"""The executor's main loop: poll, verify, refuse replays, execute, audit, report.

Each delivered instruction is verified first. A nonce seen before is either a redelivery whose
result is still waiting in the outbox (that result is sent again) or a replay (refused). Otherwise
the nonce is recorded durably, the instruction is executed (or only previewed, in dry-run mode),
and its result is audited locally and queued for the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from executor.audit import AuditTrail
from executor.errors import (
    ExecutorError,
    GatewayRejectedError,
    RefusalError,
    TemporaryExecutorError,
)
from executor.execution import InstructionExecutor, short, utc_now
from executor.gateway_client import Delivery, GatewayClient
from executor.metrics import ExecutorMetrics
from executor.settings import Mode
from executor.spot_activity import NodeActivity, SaasLink
from executor.spot_surge import SurgeScaleBacks, surges_in
from executor.state import ExecutorState
from executor.verification import VerificationPolicy, verify_instruction
from protocol.instruction import ActionOutcome, Instruction, InstructionResult, Outcome
from protocol.trace_context import context_from_carrier

log = structlog.get_logger("executor.runner")

NONCE_RETENTION = timedelta(hours=24)
"""How long after expiry a nonce is remembered (covers clocks that disagree badly)."""

MIN_POLL_INTERVAL = 1.0


class Runner:
    """Handles delivered instructions for one cluster."""

    def __init__(
        self,
        *,
        gateway: GatewayClient,
        executor: InstructionExecutor,
        policy: VerificationPolicy,
        state: ExecutorState,
        audit: AuditTrail,
        activity: NodeActivity | None = None,
        link: SaasLink | None = None,
        metrics: ExecutorMetrics | None = None,
        clock: Callable[[], datetime] = utc_now,
        surges: SurgeScaleBacks | None = None,
    ) -> None:
        """Wire the loop; everything it touches is passed in (the mode is the policy's).

        `link` learns after each poll whether the gateway answered; `surges` scales back the
        surges of evacuations once applied.
        """
        self.gateway = gateway
        self.executor = executor
        self.policy = policy
        self.state = state
        self.audit = audit
        self.activity = activity
        self.link = link or SaasLink()
        self.metrics = metrics
        self.clock = clock
        self.surges = surges
        self._tracer = trace.get_tracer("executor.runner")

    @property
    def mode(self) -> Mode:
        """How much this executor may do on its own."""
        return self.policy.mode

    async def handle(
        self, instruction: Instruction, trace_context: dict[str, str] | None = None
    ) -> InstructionResult:
        """Verify and execute one instruction; the result is audited and queued for reporting.

        The handling is a span in the trace of the instruction's approval (`trace_context`, as
        delivered), and so is the report of its result.
        """
        body = instruction.body
        with (
            self._tracer.start_as_current_span(
                "handle instruction",
                context=context_from_carrier(trace_context),
                kind=SpanKind.CONSUMER,
                attributes={"slicewise.instruction_id": str(body.instruction_id)},
            ) as span,
            structlog.contextvars.bound_contextvars(
                instruction_id=str(body.instruction_id),
                tenant_id=str(body.tenant_id),
                cluster_id=str(self.policy.cluster_id),
            ),
        ):
            result = await self._handle(instruction)
            span.set_attribute("slicewise.outcome", result.outcome.value)
            return result

    async def _handle(self, instruction: Instruction) -> InstructionResult:
        body = instruction.body
        try:
            verify_instruction(instruction, self.policy, self.clock())
        except RefusalError as refusal:
            return await self._conclude(self._refused(instruction, refusal.reason, refusal))
        seen = self.state.seen(body.nonce)
        if seen is not None:
            waiting = self.state.waiting_result(str(body.instruction_id))
            if seen.instruction_id == str(body.instruction_id) and waiting is not None:
                self.audit.record("redelivered", instruction_id=str(body.instruction_id))
                await self.flush_outbox_quietly()
                return waiting
            reason = f"replayed: nonce already used by instruction {seen.instruction_id}"
            return await self._conclude(self._refused(instruction, reason))
        if self.activity is not None:
            self.activity.note(instruction)
        self.state.claim(instruction)
        started = self.clock()
        try:
            with self._tracer.start_as_current_span("apply instruction"):
                result = await self.executor.execute(instruction, dry_run=self.mode is Mode.DRY_RUN)
        except Exception as e:  # a claimed instruction must always get a result
            log.exception("instruction execution crashed", instruction_id=str(body.instruction_id))
            result = self._failed(instruction, f"executor error: {type(e).__name__}: {e}", started)
        if self.surges is not None and result.outcome is Outcome.APPLIED:
            self.surges.track(surges_in(instruction))
        return await self._conclude(result)

    async def poll_once(
        self, wait_seconds: float, stop: asyncio.Event | None = None
    ) -> list[InstructionResult]:
        """One long-poll and the handling of whatever it delivered.

        Setting `stop` abandons a poll still waiting on the gateway; instructions already
        delivered are always handled to the end.
        """
        try:
            delivery = await _unless_stopped(self.gateway.poll(wait_seconds), stop)
        except ExecutorError:
            self.link.failed()
            raise
        self.link.answered()
        if delivery is None:
            return []
        for reason in delivery.malformed:
            self.audit.record("malformed-instruction", reason=reason)
        return [
            await self.handle(
                instruction, delivery.traces.get(str(instruction.body.instruction_id))
            )
            for instruction in delivery.instructions
        ]

    async def flush_outbox(self) -> int:
        """Report waiting results; returns how many the gateway accepted or finally refused."""
        done = 0
        for result in self.state.outbox():
            key = str(result.instruction_id)
            try:
                await self.gateway.report(result)
            except GatewayRejectedError as e:
                # 404/409/4xx: unknown instruction or a result already recorded; never retried.
                self.audit.record("result-rejected", instruction_id=key, status=e.status_code)
            except TemporaryExecutorError as e:
                log.warning("result report deferred", instruction_id=key, error=str(e))
                return done
            self.state.delivered(key)
            done += 1
        return done

    async def run(
        self, stop: asyncio.Event, *, wait_seconds: float, retry_seconds: float = 5.0
    ) -> None:
        """Poll until `stop` is set, backing off while the gateway is unavailable.

        A gateway that answers an empty long-poll at once is not polled again for a second, so
        a misbehaving server cannot spin the loop.
        """
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            pause = 0.0
            try:
                await self.flush_outbox()
                results = await self.poll_once(wait_seconds, stop)
                self.state.prune(self.clock(), NONCE_RETENTION)
                if not results:
                    pause = MIN_POLL_INTERVAL - (loop.time() - started)
            except ExecutorError as e:
                log.warning("poll failed", error=str(e))
                pause = retry_seconds
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _conclude(self, result: InstructionResult) -> InstructionResult:
        self.audit.instruction(result, mode=self.mode.value)
        if self.metrics is not None:
            self.metrics.instructions.labels(outcome=result.outcome.value).inc()
        self.state.queue_result(result)
        await self.flush_outbox_quietly()
        return result

    async def flush_outbox_quietly(self) -> None:
        """Report what is waiting; failures wait for the next loop."""
        try:
            await self.flush_outbox()
        except ExecutorError as e:
            log.warning("result report deferred", error=str(e))

    def _failed(
        self, instruction: Instruction, reason: str, started: datetime
    ) -> InstructionResult:
        # What was applied before the crash is unknown; the result says so rather than guess.
        return InstructionResult(
            instruction_id=instruction.body.instruction_id,
            cluster_id=self.policy.cluster_id,
            outcome=Outcome.FAILED,
            reason=short(reason + "; the cluster may be partly changed"),
            started_at=started,
            finished_at=self.clock(),
        )

    def _refused(
        self, instruction: Instruction, reason: str, refusal: RefusalError | None = None
    ) -> InstructionResult:
        now = self.clock()
        index = refusal.action_index if refusal is not None else None
        actions = [
            ActionOutcome(
                index=i,
                type=a.type,
                outcome=Outcome.REFUSED if i == index else Outcome.SKIPPED,
                message=short(reason) if i == index else "",
            )
            for i, a in enumerate(instruction.body.actions)
        ]
        return InstructionResult(
            instruction_id=instruction.body.instruction_id,
            cluster_id=self.policy.cluster_id,
            outcome=Outcome.REFUSED,
            reason=short(reason),
            actions=actions,
            started_at=now,
            finished_at=now,
        )


async def _unless_stopped(
    poll: Coroutine[Any, Any, Delivery], stop: asyncio.Event | None
) -> Delivery | None:
    """The poll's delivery, or None if `stop` was set first (the poll is then cancelled)."""
    if stop is None:
        return await poll
    polling = asyncio.ensure_future(poll)
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if polling in done:
        return polling.result()
    polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await polling
    return None
