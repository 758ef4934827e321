"""Executing a verified instruction: precheck all, dry-run all, apply in order, watch, roll back.

Nothing is written unless every action's precondition holds and every action passes the
server-side dry-run. Actions then apply in order; if one fails, or the changed workloads do not
turn (and stay) healthy within the verification window, everything applied so far is undone in
reverse order from the recorded prior state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from executor import __version__
from executor.drain import DEFAULT_BACKOFF, Backoff
from executor.errors import ExecutorError, RefusalError
from executor.kube.api import KubeObjects
from executor.planning.merge_patch import JsonObject
from executor.planning.targets import ObjectRef, target_of
from executor.readiness import ReadinessCheck, watch_health
from executor.steps import ActionSteps, Applied, Preview, without_volatile
from protocol.changes import PatchResources, PatchScheduling, Scale, WorkloadRef
from protocol.instruction import ActionOutcome, Instruction, InstructionResult, Outcome

MAX_TEXT = 1000
MAX_JSON_STRING = 4000


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def short(text: str) -> str:
    """Text cut to what a result's message fields hold."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def bounded(value: Any) -> Any:
    """A JSON value with every string cut to what the wire models accept."""
    if isinstance(value, str) and len(value) > MAX_JSON_STRING:
        return value[:MAX_JSON_STRING] + "...(truncated)"
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bounded(v) for v in value]
    return value


@dataclass(frozen=True)
class VerificationWindow:
    """How long, and how often, applied workloads are watched."""

    seconds: float = 120.0
    poll_seconds: float = 5.0


class InstructionExecutor:
    """Runs verified instructions against one cluster."""

    def __init__(
        self,
        kube: KubeObjects,
        checks: Sequence[ReadinessCheck],
        *,
        window: VerificationWindow = VerificationWindow(),
        backoff: Backoff = DEFAULT_BACKOFF,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """`checks` judge workload health after a change; `clock` stamps results."""
        self.kube = kube
        self.checks = list(checks)
        self.window = window
        self.backoff = backoff
        self.clock = clock

    async def execute(
        self, instruction: Instruction, *, dry_run: bool = False
    ) -> InstructionResult:
        """Carry out (or, with `dry_run`, only preview) an instruction already verified."""
        run = _Run(instruction, self.clock())
        steps = ActionSteps(self.kube, self.backoff, lambda: self.clock().timestamp())
        actions = instruction.body.actions
        try:
            lives = [await steps.precheck(i, a) for i, a in enumerate(actions)]
        except RefusalError as refusal:
            return run.stop(Outcome.REFUSED, refusal.reason, refusal.action_index, self.clock())
        except ExecutorError as e:
            return run.stop(Outcome.FAILED, f"precheck failed: {e}", None, self.clock())
        previews: list[Preview] = []
        created: dict[ObjectRef, JsonObject] = {}
        for index, (action, live) in enumerate(zip(actions, lives, strict=True)):
            try:
                preview = await steps.preview(action, live, created)
                previews.append(preview)
                if preview.created is not None:
                    created[target_of(action)] = without_volatile(preview.created)
            except ExecutorError as e:
                reason = f"action {index} ({action.type.value}) failed the dry-run: {e}"
                return run.stop(Outcome.FAILED, reason, index, self.clock())
        if dry_run:
            return run.previewed(previews, self.clock())
        return await self._apply(run, steps)

    async def _apply(self, run: _Run, steps: ActionSteps) -> InstructionResult:
        applied: list[Applied] = []
        started = self.clock()
        for index, action in enumerate(run.instruction.body.actions):
            try:
                applied.append(await steps.apply(index, action))
            except ExecutorError as e:
                outcome = Outcome.REFUSED if isinstance(e, RefusalError) else Outcome.FAILED
                kind = "refused" if outcome is Outcome.REFUSED else "failed"
                reason = f"action {index} ({action.type.value}) {kind}: {e}"
                return await self._undo(run, steps, applied, reason, (index, outcome))
        verdict = await watch_health(
            self.kube,
            _workloads(applied),
            self.checks,
            since=started,
            window_seconds=self.window.seconds,
            poll_seconds=self.window.poll_seconds,
        )
        if not verdict.healthy:
            return await self._undo(run, steps, applied, f"verification failed: {verdict.reason}")
        return run.applied(applied, verdict.reason, self.clock())

    async def _undo(
        self,
        run: _Run,
        steps: ActionSteps,
        applied: list[Applied],
        reason: str,
        failed: tuple[int, Outcome] | None = None,
    ) -> InstructionResult:
        errors: dict[int, str] = {}
        for item in reversed(applied):
            try:
                await steps.undo(item)
            except ExecutorError as e:
                errors[item.index] = str(e)
        return run.rolled_back(applied, reason, failed, errors, self.clock())


def _workloads(applied: Sequence[Applied]) -> list[WorkloadRef]:
    seen: dict[tuple[str, str, str], WorkloadRef] = {}
    for item in applied:
        if isinstance(item.action, PatchResources | PatchScheduling | Scale):
            target = item.action.target
            seen.setdefault((target.kind.value, target.namespace, target.name), target)
    return list(seen.values())


class _Run:
    """Builds the result of one execution."""

    def __init__(self, instruction: Instruction, started_at: datetime) -> None:
        self.instruction = instruction
        self.started_at = started_at

    def _result(
        self, outcome: Outcome, reason: str, actions: list[ActionOutcome], finished: datetime
    ) -> InstructionResult:
        return InstructionResult(
            instruction_id=self.instruction.body.instruction_id,
            cluster_id=self.instruction.body.cluster_id,
            outcome=outcome,
            reason=short(reason),
            actions=actions,
            started_at=self.started_at,
            finished_at=finished,
            executor_version=__version__,
        )

    def _outcome(
        self,
        index: int,
        outcome: Outcome,
        message: str = "",
        diff: Any = None,
        rollback: Any = None,
    ) -> ActionOutcome:
        action = self.instruction.body.actions[index]
        return ActionOutcome(
            index=index,
            type=action.type,
            outcome=outcome,
            message=short(message),
            diff=bounded(diff),
            rollback=bounded(rollback),
        )

    def stop(
        self, outcome: Outcome, reason: str, index: int | None, finished: datetime
    ) -> InstructionResult:
        """Nothing was written: the named action has `outcome`, the others were skipped."""
        actions = [
            self._outcome(i, outcome, reason) if i == index else self._outcome(i, Outcome.SKIPPED)
            for i in range(len(self.instruction.body.actions))
        ]
        return self._result(outcome, reason, actions, finished)

    def previewed(self, previews: list[Preview], finished: datetime) -> InstructionResult:
        """Dry-run mode: every action's would-be diff."""
        actions = [
            self._outcome(i, Outcome.DRY_RUN, p.message, p.diff) for i, p in enumerate(previews)
        ]
        return self._result(Outcome.DRY_RUN, "dry-run: nothing was changed", actions, finished)

    def applied(self, applied: list[Applied], detail: str, finished: datetime) -> InstructionResult:
        """Every action applied and the workloads verified healthy."""
        actions = [
            self._outcome(
                a.index,
                Outcome.APPLIED,
                a.message,
                a.diff,
                a.change.rollback_record() if a.change else None,
            )
            for a in applied
        ]
        return self._result(Outcome.APPLIED, f"applied; {detail}", actions, finished)

    def rolled_back(
        self,
        applied: list[Applied],
        reason: str,
        failed: tuple[int, Outcome] | None,
        errors: dict[int, str],
        finished: datetime,
    ) -> InstructionResult:
        """Something failed after writes began; what was applied has been undone (or not)."""
        by_index = {a.index: a for a in applied}
        actions: list[ActionOutcome] = []
        for index in range(len(self.instruction.body.actions)):
            item = by_index.get(index)
            if item is not None:
                record = item.change.rollback_record() if item.change else None
                if index in errors:
                    outcome, message = Outcome.FAILED, f"rollback failed: {errors[index]}"
                elif item.change is None:
                    outcome, message = Outcome.APPLIED, "evictions cannot be undone"
                else:
                    outcome, message = Outcome.ROLLED_BACK, "undone"
                actions.append(self._outcome(index, outcome, message, item.diff, record))
            elif failed is not None and index == failed[0]:
                actions.append(self._outcome(index, failed[1], reason))
            else:
                actions.append(self._outcome(index, Outcome.SKIPPED))
        if errors:
            overall = Outcome.FAILED
            reason = f"{reason}; rollback incomplete for action(s) {sorted(errors)}"
        elif not applied:
            overall = failed[1] if failed is not None else Outcome.FAILED
        else:
            overall = Outcome.ROLLED_BACK
            reason = f"{reason}; rolled back"
        return self._result(overall, reason, actions, finished)
