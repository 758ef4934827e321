"""Planning changes to nodes, PodDisruptionBudgets and ConfigMaps."""

from __future__ import annotations

from executor.errors import ActionError, ObjectMissingError
from executor.planning.autoscaling_changes import (
    plan_apply_autoscaler,
    plan_schedule_min_replicas,
)
from executor.planning.merge_patch import JsonObject, invert_merge_patch, merge_diff
from executor.planning.targets import (
    POD_DISRUPTION_BUDGET,
    PatchStyle,
    PlannedChange,
    target_of,
)
from executor.planning.workload_changes import (
    plan_patch_resources,
    plan_patch_scheduling,
    plan_scale,
)
from protocol.changes import (
    Action,
    ApplyHpa,
    ApplyPdb,
    ApplyScaledObject,
    Cordon,
    CreateConfigMap,
    Drain,
    LabelNode,
    PatchClusterPolicy,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Scale,
    ScheduleHpaMinReplicas,
    TaintNode,
    Uncordon,
    WaitForNodeLabel,
)

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "slicewise"


def _merge(action: Action, live: JsonObject, patch: JsonObject) -> PlannedChange:
    return PlannedChange(
        ref=target_of(action),
        style=PatchStyle.MERGE,
        patch=patch,
        undo=invert_merge_patch(live, patch),
    )


def _pdb_spec(action: ApplyPdb) -> JsonObject:
    return {
        "selector": {"matchLabels": dict(action.selector)},
        "minAvailable": action.min_available,
        "maxUnavailable": action.max_unavailable,
    }


def plan_apply_pdb(action: ApplyPdb, live: JsonObject | None) -> PlannedChange:
    """Create the PDB, or set the existing one's selector and budget to exactly these."""
    spec = _pdb_spec(action)
    if live is None:
        body = {
            "kind": POD_DISRUPTION_BUDGET,
            "metadata": {
                "name": action.name,
                "namespace": action.namespace,
                "labels": {MANAGED_BY_LABEL: MANAGED_BY},
            },
            "spec": {k: v for k, v in spec.items() if v is not None},
        }
        return PlannedChange(ref=target_of(action), style=PatchStyle.MERGE, body=body)
    current = live.get("spec") or {}
    spec_patch = merge_diff({k: current.get(k) for k in spec}, spec)
    return _merge(action, live, {"spec": spec_patch})


def plan_create_config_map(action: CreateConfigMap, live: JsonObject | None) -> PlannedChange:
    """Create the ConfigMap; one that exists by now belongs to someone else and is refused."""
    if live is not None:
        raise ActionError(f"{target_of(action)} already exists; it is not ours to replace")
    body = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": action.name,
            "namespace": action.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY},
        },
        "data": dict(action.data),
    }
    return PlannedChange(ref=target_of(action), style=PatchStyle.MERGE, body=body)


def cluster_policy_patch(action: PatchClusterPolicy) -> JsonObject:
    """The merge patch pointing `spec.devicePlugin.config` at the named ConfigMap and key."""
    config: JsonObject = {}
    if action.device_plugin_config is not None:
        config["name"] = action.device_plugin_config
    if action.device_plugin_default is not None:
        config["default"] = action.device_plugin_default
    if not config:
        raise ActionError("the ClusterPolicy change sets no field")
    return {"spec": {"devicePlugin": {"config": config}}}


def taint_patch(action: TaintNode, live: JsonObject) -> JsonObject:
    """The merge patch setting the node's taints: the given ones replace theirs by key and effect.

    A merge patch replaces a list whole, so the patch carries every taint the node keeps; the
    undo puts back the list as it was.
    """
    ours = [{"key": t.key, "value": t.value, "effect": t.effect} for t in action.taints]
    replaced = {(t["key"], t["effect"]) for t in ours}
    spec = live.get("spec") or {}
    kept = [
        t
        for t in spec.get("taints") or []
        if isinstance(t, dict) and (t.get("key"), t.get("effect")) not in replaced
    ]
    return {"spec": {"taints": [*kept, *ours]}}


def plan_change(
    action: Action, live: JsonObject | None, *, now: float | None = None
) -> PlannedChange:
    """The write that carries out `action` on the live object (None if it does not exist).

    `now` (Unix seconds) is needed by the actions whose effect depends on the time: a
    `minReplicas` schedule sets the floor in force now.
    """
    if isinstance(action, Drain | WaitForNodeLabel):
        raise TypeError(f"{action.type.value} is not a planned write")
    if isinstance(action, CreateConfigMap):
        return plan_create_config_map(action, live)
    if isinstance(action, ApplyPdb):
        return plan_apply_pdb(action, live)
    if isinstance(action, ApplyHpa | ApplyScaledObject):
        return plan_apply_autoscaler(action, live)
    if live is None:
        raise ObjectMissingError(f"{target_of(action)} does not exist")
    match action:
        case PatchResources():
            change = plan_patch_resources(action, live)
        case PatchScheduling():
            change = plan_patch_scheduling(action, live)
        case Scale():
            change = plan_scale(action, live)
        case TaintNode():
            change = _merge(action, live, taint_patch(action, live))
        case ScheduleHpaMinReplicas():
            if now is None:
                raise ActionError("a minReplicas schedule is planned at a given time")
            change = plan_schedule_min_replicas(action, live, now)
        case _:
            change = _merge(action, live, _object_patch(action))
    return change


def _object_patch(action: Action) -> JsonObject:
    """The merge patch of the actions that need no knowledge of the live object."""
    match action:
        case Cordon():
            return {"spec": {"unschedulable": True}}
        case Uncordon():
            return {"spec": {"unschedulable": None}}
        case LabelNode():
            return {"metadata": {"labels": dict(action.labels)}}
        case PatchClusterPolicy():
            return cluster_policy_patch(action)
        case PatchConfigMap():
            return {"data": dict(action.data)}
    raise ActionError(f"no plan for action type {action.type}")
