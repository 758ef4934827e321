"""The steps one action goes through: precheck, server-side dry-run, apply, roll back.

Planned writes go through the API server twice: first with `dryRun=All` (admission and
validation run, nothing is stored), then for real, guarded by the resourceVersion the
precondition pinned so a concurrent change is answered 409 instead of overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from executor.drain import Backoff, drain_node, plan_drain, require_complete
from executor.errors import ConflictError, RefusalError
from executor.kube.api import KubeObjects
from executor.node_labels import current_label, wait_for_node_label
from executor.planning.changes import plan_change
from executor.planning.merge_patch import (
    JsonObject,
    apply_merge_patch,
    merge_diff,
    with_resource_version,
)
from executor.planning.preconditions import precondition_mismatches
from executor.planning.targets import NODE, ObjectRef, PlannedChange, target_of
from protocol.changes import Action, Drain, WaitForNodeLabel

STATUS_RACE_RETRIES = 5
"""Rereads allowed when a write to an object we last changed races a status update."""
_VOLATILE_METADATA = (
    "managedFields",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
)


def without_volatile(obj: JsonObject | None) -> JsonObject:
    """The object minus status and bookkeeping metadata, for diffs."""
    if obj is None:
        return {}
    stripped = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    if metadata:
        stripped["metadata"] = metadata
    return stripped


@dataclass
class Preview:
    """What an action would do, from the server-side dry-run."""

    diff: Any
    message: str = ""
    created: JsonObject | None = None
    """The object a create would store, as the dry-run returned it."""


@dataclass
class Applied:
    """An applied action, with what it takes to undo it."""

    index: int
    action: Action
    diff: Any
    change: PlannedChange | None = None
    """None for drains: evictions cannot be undone."""
    message: str = ""


@dataclass
class ActionSteps:
    """Runs the steps of actions against one cluster; remembers versions it wrote."""

    kube: KubeObjects
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.time
    """Unix seconds, for actions whose effect depends on the time."""
    _versions: dict[ObjectRef, str] = field(default_factory=dict)
    _generations: dict[ObjectRef, int] = field(default_factory=dict)
    """The spec generation our last write to each object produced."""

    async def precheck(self, index: int, action: Action) -> JsonObject | None:
        """Read the target and refuse if its preconditions no longer hold."""
        live = await self.kube.read(target_of(action))
        mismatches = precondition_mismatches(action.precondition, live)
        if mismatches:
            raise RefusalError(
                f"action {index} ({action.type.value} {target_of(action)}): precondition failed: "
                + "; ".join(mismatches),
                action_index=index,
            )
        return live

    async def preview(
        self,
        action: Action,
        live: JsonObject | None,
        created: Mapping[ObjectRef, JsonObject] | None = None,
    ) -> Preview:
        """Dry-run the action on the server and return the diff it would make.

        `created` holds the objects earlier actions of the instruction would create: an action
        on one of them is dry-run as the create of the object it would leave behind.
        """
        if isinstance(action, Drain):
            evict, skipped = await plan_drain(self.kube, action.node)
            keys = sorted(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in evict)
            return Preview({"evict": keys, "skip": skipped}, f"would evict {len(keys)} pod(s)")
        if isinstance(action, WaitForNodeLabel):
            value = await current_label(self.kube, target_of(action), action.label)
            return Preview(
                {"label": action.label, "now": value, "wait_for": action.value},
                f"would wait up to {action.timeout_seconds} s",
            )
        ref = target_of(action)
        earlier = (created or {}).get(ref) if live is None else None
        if earlier is not None:
            planned = plan_change(action, earlier, now=self.clock())
            body = without_volatile(apply_merge_patch(earlier, planned.forward_patch()))
            after = await self.kube.create(ref, body, dry_run=True)
            diff = merge_diff(earlier, without_volatile(after))
            return Preview(diff, "would change the object an earlier action creates", after)
        change = plan_change(action, live, now=self.clock())
        if change.body is not None:
            created_now = await self.kube.create(change.ref, change.body, dry_run=True)
            return Preview(without_volatile(created_now), "would create", created_now)
        patch = self._guarded(change.forward_patch(), action, change.ref, first_touch=True)
        after = await self.kube.patch(change.ref, patch, change.style, dry_run=True)
        return Preview(merge_diff(without_volatile(live), without_volatile(after)))

    async def apply(self, index: int, action: Action) -> Applied:
        """Apply the action for real (a fresh read, the precondition rechecked on first touch)."""
        ref = target_of(action)
        first_touch = ref not in self._versions
        live = await self.precheck(index, action) if first_touch else await self.kube.read(ref)
        if isinstance(action, Drain):
            report = await drain_node(
                self.kube,
                action.node,
                deadline_seconds=action.deadline_seconds,
                grace_period_seconds=action.grace_period_seconds,
                backoff=self.backoff,
            )
            require_complete(report)
            return Applied(index, action, report.as_json(), None, f"evicted {len(report.evicted)}")
        if isinstance(action, WaitForNodeLabel):
            waited = await wait_for_node_label(self.kube, action)
            message = f"{action.label}={waited.value} after {waited.seconds:.0f} s"
            return Applied(index, action, waited.as_json(), None, message)
        for attempt in range(STATUS_RACE_RETRIES + 1):
            change = plan_change(action, live, now=self.clock())
            try:
                after, diff = await self._write(action, change, live, first_touch=first_touch)
                break
            except ConflictError:
                # Ours was the last spec change and a controller only reported status since:
                # read again and retry rather than fail the instruction on a status heartbeat.
                if first_touch or attempt == STATUS_RACE_RETRIES or not self._ours(ref, live):
                    raise
                live = await self.kube.read(ref)
        metadata = after.get("metadata") or {}
        version = metadata.get("resourceVersion")
        if version:
            self._versions[ref] = version
        if metadata.get("generation") is not None:
            self._generations[ref] = int(metadata["generation"])
        return Applied(index, action, diff, change)

    async def _write(
        self, action: Action, change: PlannedChange, live: JsonObject | None, *, first_touch: bool
    ) -> tuple[JsonObject, Any]:
        if change.body is not None:
            after = await self.kube.create(change.ref, change.body)
            return after, without_volatile(after)
        patch = self._guarded(
            change.forward_patch(), action, change.ref, first_touch=first_touch, live=live
        )
        after = await self.kube.patch(change.ref, patch, change.style)
        return after, merge_diff(without_volatile(live), without_volatile(after))

    def _ours(self, ref: ObjectRef, live: JsonObject | None) -> bool:
        """Whether the live object's spec generation is the one our last write produced."""
        generation = ((live or {}).get("metadata") or {}).get("generation")
        return generation is not None and self._generations.get(ref) == int(generation)

    async def undo(self, applied: Applied) -> None:
        """Restore what the action changed (nothing to do for a drain or a wait)."""
        change = applied.change
        if change is None:
            return
        if change.creates:
            await self.kube.delete(change.ref)
        else:
            await self.kube.patch(change.ref, change.undo_patch(), change.style)

    def _guarded(
        self,
        patch: JsonObject,
        action: Action,
        ref: ObjectRef,
        *,
        first_touch: bool,
        live: JsonObject | None = None,
    ) -> JsonObject:
        # The first write to an object is pinned to the version its precondition named; later
        # writes in the same instruction to the version our own previous write produced, or to
        # the live version when only status moved since (the spec generation is still the one
        # our write made: a controller reported a rollout, nobody changed the object). Not on
        # nodes: their status churns and node actions pin fields instead.
        if first_touch:
            version = action.precondition.resource_version
        elif ref.kind == NODE:
            version = None
        else:
            version = self._versions.get(ref)
            if self._ours(ref, live):
                version = ((live or {}).get("metadata") or {}).get("resourceVersion") or version
        return with_resource_version(patch, version) if version else patch
