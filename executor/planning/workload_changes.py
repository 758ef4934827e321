"""Planning changes to workloads: container resources, scheduling constraints, replicas."""

from __future__ import annotations

from typing import Any

from executor.errors import ActionError
from executor.planning.merge_patch import JsonObject, invert_merge_patch, merge_diff
from executor.planning.targets import ObjectRef, PatchStyle, PlannedChange
from protocol.changes import ContainerResources, PatchResources, PatchScheduling, Scale
from protocol.quantity import format_cpu, format_memory
from protocol.resources import Resources
from protocol.snapshot import Toleration, WorkloadKind


def _pod_spec(live: JsonObject, kind: WorkloadKind) -> JsonObject:
    if kind is WorkloadKind.JOB:
        # A Job's pod template is immutable once created; the API server would refuse.
        raise ActionError("the pod template of a Job cannot be changed")
    spec = ((live.get("spec") or {}).get("template") or {}).get("spec")
    if not isinstance(spec, dict):
        raise ActionError("the workload has no pod template")
    return spec


def resource_list(resources: Resources) -> dict[str, str]:
    """A `Resources` as a Kubernetes ResourceList (only the values it sets)."""
    quantities: dict[str, str] = {}
    if resources.cpu_millis is not None:
        quantities["cpu"] = format_cpu(resources.cpu_millis)
    if resources.memory_bytes is not None:
        quantities["memory"] = format_memory(resources.memory_bytes)
    for name, count in resources.extended.items():
        quantities[name] = str(count)
    return quantities


def _container_patch(change: ContainerResources) -> JsonObject:
    limits: dict[str, str | None] = {**resource_list(change.limits)}
    for name in change.remove_limits:
        limits[name] = None
    resources: JsonObject = {}
    requests: dict[str, str | None] = {**resource_list(change.requests)}
    for name in change.remove_requests:
        requests[name] = None
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": change.container, "resources": resources}


def plan_patch_resources(action: PatchResources, live: JsonObject) -> PlannedChange:
    """Set requests/limits per container; a strategic patch merges containers by name."""
    containers = {
        c.get("name"): c for c in _pod_spec(live, action.target.kind).get("containers", [])
    }
    patches: list[JsonObject] = []
    undos: list[JsonObject] = []
    for change in action.containers:
        current = containers.get(change.container)
        if current is None:
            raise ActionError(f"the workload has no container named {change.container!r}")
        patch = _container_patch(change)
        undo = invert_merge_patch(current, {"resources": patch["resources"]})
        patches.append(patch)
        undos.append({"name": change.container, **undo})
    return PlannedChange(
        ref=_ref(action.target.kind, action.target.namespace, action.target.name),
        style=PatchStyle.STRATEGIC,
        patch=_template_patch({"containers": patches}),
        undo=_template_patch({"containers": undos}),
    )


def toleration_json(toleration: Toleration) -> dict[str, Any]:
    """A toleration as the Kubernetes API spells it."""
    fields = {
        "key": toleration.key,
        "operator": toleration.operator,
        "value": toleration.value,
        "effect": toleration.effect,
        "tolerationSeconds": toleration.toleration_seconds,
    }
    return {k: v for k, v in fields.items() if v is not None}


def plan_patch_scheduling(action: PatchScheduling, live: JsonObject) -> PlannedChange:
    """Set the given scheduling fields of the pod template to exactly the given values."""
    pod_spec = _pod_spec(live, action.target.kind)
    spec_patch: JsonObject = {}
    if action.node_affinity is not None:
        current = (pod_spec.get("affinity") or {}).get("nodeAffinity")
        desired = action.node_affinity or None
        exact = merge_diff(current, desired) if isinstance(current, dict) and desired else desired
        spec_patch["affinity"] = {"nodeAffinity": exact}
    if action.tolerations is not None:
        spec_patch["tolerations"] = [toleration_json(t) for t in action.tolerations] or None
    if action.topology_spread_constraints is not None:
        spec_patch["topologySpreadConstraints"] = action.topology_spread_constraints or None
    if action.node_selector is not None:
        current_selector = pod_spec.get("nodeSelector") or {}
        spec_patch["nodeSelector"] = merge_diff(current_selector, action.node_selector)
    if not spec_patch and not action.template_labels:
        raise ActionError("the scheduling change sets no field")
    patch = _template_patch(spec_patch)
    undo = _template_patch(invert_merge_patch(pod_spec, spec_patch))
    if action.template_labels:
        labels = _template_labels(live)
        added: JsonObject = {"labels": dict(action.template_labels)}
        patch["spec"]["template"]["metadata"] = added
        undo["spec"]["template"]["metadata"] = invert_merge_patch({"labels": labels}, added)
    return PlannedChange(
        ref=_ref(action.target.kind, action.target.namespace, action.target.name),
        style=PatchStyle.MERGE,
        patch=patch,
        undo=undo,
    )


def _template_labels(live: JsonObject) -> JsonObject:
    metadata = ((live.get("spec") or {}).get("template") or {}).get("metadata") or {}
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return dict(labels) if isinstance(labels, dict) else {}


def plan_scale(action: Scale, live: JsonObject) -> PlannedChange:
    """Set replicas (a Job's parallelism); a DaemonSet cannot be scaled."""
    kind = action.target.kind
    if kind is WorkloadKind.DAEMON_SET:
        raise ActionError("a DaemonSet runs one pod per node and cannot be scaled")
    field = "parallelism" if kind is WorkloadKind.JOB else "replicas"
    patch: JsonObject = {"spec": {field: action.replicas}}
    return PlannedChange(
        ref=_ref(kind, action.target.namespace, action.target.name),
        style=PatchStyle.MERGE,
        patch=patch,
        undo=invert_merge_patch(live, patch),
    )


def _template_patch(pod_spec_patch: JsonObject) -> JsonObject:
    return {"spec": {"template": {"spec": pod_spec_patch}}}


def _ref(kind: WorkloadKind, namespace: str, name: str) -> ObjectRef:
    return ObjectRef(kind.value, name, namespace)
