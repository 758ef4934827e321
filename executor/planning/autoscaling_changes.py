"""Planning autoscaler changes: create an HPA or ScaledObject, set its spec, schedule its floor."""

from __future__ import annotations

from typing import Any

from executor.planning.merge_patch import JsonObject, invert_merge_patch, merge_diff
from executor.planning.targets import PatchStyle, PlannedChange, target_of
from protocol.changes import ApplyHpa, ApplyScaledObject, ScheduleHpaMinReplicas
from protocol.min_replicas_schedule import MIN_REPLICAS_SCHEDULE_ANNOTATION, MinReplicasSchedule


def plan_apply_autoscaler(
    action: ApplyHpa | ApplyScaledObject, live: JsonObject | None
) -> PlannedChange:
    """Create the object, or patch the live one's spec to exactly the action's.

    The undo of a patch restores the spec as it was; the undo of a create deletes the object.
    """
    manifest: dict[str, Any] = action.manifest()
    if live is None:
        return PlannedChange(ref=target_of(action), style=PatchStyle.MERGE, body=manifest)
    wanted: JsonObject = manifest["spec"]
    current = live.get("spec") or {}
    patch = {"spec": merge_diff({k: current.get(k) for k in wanted}, wanted)}
    return PlannedChange(
        ref=target_of(action),
        style=PatchStyle.MERGE,
        patch=patch,
        undo=invert_merge_patch(live, patch),
    )


def schedule_patch(schedule: MinReplicasSchedule, now: float) -> JsonObject:
    """The merge patch that stores `schedule` on an HPA and sets the floor it gives at `now`."""
    return {
        "metadata": {"annotations": {MIN_REPLICAS_SCHEDULE_ANNOTATION: schedule.model_dump_json()}},
        "spec": {"minReplicas": schedule.min_replicas_at(now)},
    }


def plan_schedule_min_replicas(
    action: ScheduleHpaMinReplicas, live: JsonObject, now: float
) -> PlannedChange:
    """Store the schedule on the HPA and apply its current floor; the undo restores both."""
    patch = schedule_patch(action.schedule, now)
    return PlannedChange(
        ref=target_of(action),
        style=PatchStyle.MERGE,
        patch=patch,
        undo=invert_merge_patch(live, patch),
    )
