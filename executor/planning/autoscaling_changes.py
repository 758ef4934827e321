"""Planning autoscaler changes: create an HPA or KEDA ScaledObject, or set its spec."""

from __future__ import annotations

from typing import Any

from executor.planning.merge_patch import JsonObject, invert_merge_patch, merge_diff
from executor.planning.targets import PatchStyle, PlannedChange, target_of
from protocol.changes import ApplyHpa, ApplyScaledObject


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
