"""Keeping HPAs' `minReplicas` schedules in force: the floor changes at each window boundary.

A `schedule_hpa_min_replicas` action stores a schedule on an HPA; this loop finds every HPA
that carries one, and where `spec.minReplicas` differs from the schedule's value now, patches
it (pinned to the resourceVersion read, so a concurrent edit is retried on the next pass, not
overwritten) and reads it back to verify. It sleeps until the earliest next boundary, at most
`interval_seconds`, so a boundary is acted on within a pass and a missed one (executor down)
is caught up on start. Dry-run mode patches with `dryRun=All` and changes nothing.

Every floor change, set or not, counts in `slicewise_executor_min_replica_floors` by outcome
and is written to the executor's audit trail, like every other change the executor makes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog
from pydantic import ValidationError

from executor.audit import AuditTrail
from executor.errors import ExecutorError
from executor.kube.api import KubeObjects
from executor.metrics import ExecutorMetrics
from executor.planning.merge_patch import JsonObject, with_resource_version
from executor.planning.targets import HORIZONTAL_POD_AUTOSCALER, ObjectRef, PatchStyle
from protocol.min_replicas_schedule import MIN_REPLICAS_SCHEDULE_ANNOTATION, MinReplicasSchedule

log = structlog.get_logger("executor.min_replicas_scheduler")


AUDIT_EVENT = "min-replicas-floor"


class FloorOutcome(StrEnum):
    """What became of one floor change."""

    SET = "set"
    """Patched and read back as wanted."""
    DRY_RUN = "dry_run"
    """Accepted by the API server's dry run; nothing changed."""
    UNVERIFIED = "unverified"
    """Patched, but the floor read back is not the one wanted."""
    FAILED = "failed"
    """The patch was refused (a concurrent edit, a permission); the next pass retries."""


@dataclass(frozen=True)
class FloorChange:
    """One HPA whose `minReplicas` was (or, dry-run, would be) set."""

    ref: ObjectRef
    before: int | None
    after: int
    verified: bool
    outcome: FloorOutcome
    error: str | None = None


def scheduled(hpa: JsonObject) -> MinReplicasSchedule | None:
    """The schedule an HPA carries, or None (absent or unreadable)."""
    annotations = (hpa.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(MIN_REPLICAS_SCHEDULE_ANNOTATION)
    if raw is None:
        return None
    try:
        return MinReplicasSchedule.model_validate_json(raw)
    except ValidationError:
        log.warning("unreadable minReplicas schedule", hpa=hpa.get("metadata", {}).get("name"))
        return None


class MinReplicasScheduler:
    """Sets scheduled HPAs' `minReplicas` to their schedule's value at the current time."""

    def __init__(
        self,
        kube: KubeObjects,
        *,
        audit: AuditTrail,
        metrics: ExecutorMetrics,
        clock: Callable[[], float] = time.time,
        dry_run: bool = False,
        interval_seconds: float = 60.0,
    ) -> None:
        """`clock` gives Unix seconds; `interval_seconds` caps the sleep between passes."""
        self.kube = kube
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.dry_run = dry_run
        self.interval_seconds = interval_seconds

    async def sync_once(self) -> tuple[list[FloorChange], float]:
        """One pass: the floors set, and the Unix time of the next boundary of any schedule."""
        now = self.clock()
        changes: list[FloorChange] = []
        wake = now + self.interval_seconds
        for hpa in await self.kube.list_all(HORIZONTAL_POD_AUTOSCALER):
            schedule = scheduled(hpa)
            if schedule is None:
                continue
            wake = min(wake, schedule.next_boundary(now))
            wanted = schedule.min_replicas_at(now)
            current = (hpa.get("spec") or {}).get("minReplicas")
            if current == wanted:
                continue
            change = await self._set(hpa, current, wanted)
            self._report(change)
            changes.append(change)
        return changes, wake

    async def _set(self, hpa: JsonObject, current: int | None, wanted: int) -> FloorChange:
        metadata = hpa.get("metadata") or {}
        ref = ObjectRef(HORIZONTAL_POD_AUTOSCALER, metadata["name"], metadata.get("namespace"))
        patch: JsonObject = {"spec": {"minReplicas": wanted}}
        version = metadata.get("resourceVersion")
        if version:
            patch = with_resource_version(patch, version)
        try:
            after = await self.kube.patch(ref, patch, PatchStyle.MERGE, dry_run=self.dry_run)
            verified = (after.get("spec") or {}).get("minReplicas") == wanted
            if not self.dry_run:
                stored = await self.kube.read(ref)
                verified = (
                    stored is not None and (stored.get("spec") or {}).get("minReplicas") == wanted
                )
        except ExecutorError as e:
            return FloorChange(ref, current, wanted, False, FloorOutcome.FAILED, str(e))
        if self.dry_run:
            outcome = FloorOutcome.DRY_RUN if verified else FloorOutcome.UNVERIFIED
        else:
            outcome = FloorOutcome.SET if verified else FloorOutcome.UNVERIFIED
        return FloorChange(ref, current, wanted, verified, outcome)

    def _report(self, change: FloorChange) -> None:
        """Count the change by outcome and write it to the audit trail."""
        self.metrics.min_replica_floors.labels(outcome=change.outcome.value).inc()
        self.audit.record(
            AUDIT_EVENT,
            kind=change.ref.kind,
            namespace=change.ref.namespace,
            name=change.ref.name,
            before=change.before,
            after=change.after,
            outcome=change.outcome.value,
            dry_run=self.dry_run,
            error=change.error,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until `stop` is set; API errors wait for the next pass."""
        while not stop.is_set():
            wake = self.clock() + self.interval_seconds
            try:
                _, wake = await self.sync_once()
            except ExecutorError as e:
                log.warning("minReplicas schedule pass failed", error=str(e))
            delay = min(self.interval_seconds, max(0.0, wake - self.clock()))
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue
