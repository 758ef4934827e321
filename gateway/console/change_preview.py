"""What a change set does to the live objects: each object before and after, and as a patch.

The "after" manifests come from applying every action, in order, to the live manifests; the
strategic-merge patch of each object is then derived from its before and after, so that applying
the patch to the live object gives exactly what the console shows (and what the export ships).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.console.manifests import (
    Manifest,
    ObjectKey,
    config_map_key,
    node_key,
    pdb_key,
    resource_list,
    toleration,
    workload_key,
)
from protocol.autoscaling import HPA_API_VERSION
from protocol.changes import (
    Action,
    ApplyHpa,
    ApplyPdb,
    ApplyScaledObject,
    ChangeSet,
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
from protocol.min_replicas_schedule import MIN_REPLICAS_SCHEDULE_ANNOTATION

CREATED_WHOLE = {"PodDisruptionBudget", "HorizontalPodAutoscaler", "ScaledObject"}
"""Kinds a change set may create: a new one's patch is the whole object."""

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "topologySpreadConstraints": "topologyKey",
}
"""Lists Kubernetes merges element by element in a strategic-merge patch, and by which key."""


@dataclass(frozen=True)
class ObjectChange:
    """One object the change set touches."""

    key: ObjectKey
    before: Manifest | None
    """The live object; None when the inventory does not hold it (a new PDB, a ConfigMap)."""
    after: Manifest
    patch: Manifest
    """Strategic-merge patch taking `before` to `after` (the whole object when it is new)."""
    gitops: bool
    """Whether the object is usually kept in Git (nodes are not)."""

    @property
    def creates(self) -> bool:
        """Whether the object does not exist yet."""
        return self.before is None and self.key.kind in CREATED_WHOLE


@dataclass(frozen=True)
class ChangePreview:
    """The effect of a whole change set."""

    changes: list[ObjectChange]
    steps: list[str]
    """One sentence per action, in order."""
    operations: list[str] = field(default_factory=list)
    """Actions with effects beyond object fields (a drain evicts pods)."""


def merge_patch(before: Any, after: Any, field_name: str | None = None) -> Any:
    """The strategic-merge patch turning `before` into `after`.

    Maps are patched key by key (a removed key becomes null), lists in `MERGE_KEYS` element by
    element by their merge key, and every other value, lists included, is replaced whole.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        patch: dict[str, Any] = {}
        for key, value in after.items():
            if key not in before:
                patch[key] = copy.deepcopy(value)
            elif before[key] != value:
                patch[key] = merge_patch(before[key], value, key)
        for key in before:
            if key not in after:
                patch[key] = None
        return patch
    merge_key = MERGE_KEYS.get(field_name or "")
    if merge_key and isinstance(before, list) and isinstance(after, list):
        old = {item.get(merge_key): item for item in before if isinstance(item, dict)}
        items: list[Any] = []
        for item in after:
            previous = old.pop(item.get(merge_key), None)
            if previous is None:
                items.append(copy.deepcopy(item))
            elif previous != item:
                items.append({merge_key: item[merge_key], **merge_patch(previous, item)})
        items.extend({merge_key: name, "$patch": "delete"} for name in old)
        return items
    return copy.deepcopy(after)


def _pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest.setdefault("spec", {})
    template: Manifest = spec.setdefault("template", {})
    pod: Manifest = template.setdefault("spec", {})
    return pod


def _set_or_drop(target: Manifest, key: str, value: Any) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _patch_resources(manifest: Manifest, action: PatchResources) -> None:
    containers: list[Manifest] = _pod_spec(manifest).setdefault("containers", [])
    for wanted in action.containers:
        entry = next((c for c in containers if c.get("name") == wanted.container), None)
        if entry is None:
            entry = {"name": wanted.container}
            containers.append(entry)
        resources: Manifest = entry.setdefault("resources", {})
        requests = {**resources.get("requests", {}), **resource_list(wanted.requests)}
        limits = {**resources.get("limits", {}), **resource_list(wanted.limits)}
        for name in wanted.remove_requests:
            requests.pop(name, None)
        for name in wanted.remove_limits:
            limits.pop(name, None)
        _set_or_drop(resources, "requests", requests)
        _set_or_drop(resources, "limits", limits)


def _patch_scheduling(manifest: Manifest, action: PatchScheduling) -> None:
    pod = _pod_spec(manifest)
    if action.node_affinity is not None:
        affinity = dict(pod.get("affinity") or {})
        _set_or_drop(affinity, "nodeAffinity", dict(action.node_affinity))
        _set_or_drop(pod, "affinity", affinity)
    if action.tolerations is not None:
        _set_or_drop(pod, "tolerations", [toleration(t) for t in action.tolerations])
    if action.topology_spread_constraints is not None:
        constraints = [dict(c) for c in action.topology_spread_constraints]
        _set_or_drop(pod, "topologySpreadConstraints", constraints)
    if action.node_selector is not None:
        _set_or_drop(pod, "nodeSelector", dict(sorted(action.node_selector.items())))


def _pdb(action: ApplyPdb) -> Manifest:
    manifest = pdb_key(action.namespace, action.name).stub()
    spec: Manifest = {"selector": {"matchLabels": dict(sorted(action.selector.items()))}}
    if action.min_available is not None:
        spec["minAvailable"] = action.min_available
    if action.max_unavailable is not None:
        spec["maxUnavailable"] = action.max_unavailable
    manifest["spec"] = spec
    return manifest


def _key(action: Action) -> ObjectKey:
    if isinstance(action, PatchResources | PatchScheduling | Scale):
        return workload_key(action.target.kind, action.target.namespace, action.target.name)
    if isinstance(action, ApplyPdb | PatchConfigMap | CreateConfigMap | PatchClusterPolicy):
        return _config_key(action)
    if isinstance(action, ApplyHpa | ApplyScaledObject):
        return _autoscaler_key(action)
    if isinstance(action, ScheduleHpaMinReplicas):
        return ObjectKey(HPA_API_VERSION, "HorizontalPodAutoscaler", action.namespace, action.name)
    return node_key(action.node)


def _config_key(
    action: ApplyPdb | PatchConfigMap | CreateConfigMap | PatchClusterPolicy,
) -> ObjectKey:
    if isinstance(action, ApplyPdb):
        return pdb_key(action.namespace, action.name)
    if isinstance(action, PatchClusterPolicy):
        return ObjectKey("nvidia.com/v1", "ClusterPolicy", "", action.name)
    return config_map_key(action.namespace, action.name)


def _autoscaler_key(action: ApplyHpa | ApplyScaledObject) -> ObjectKey:
    manifest = action.manifest()
    return ObjectKey(
        str(manifest["apiVersion"]), str(manifest["kind"]), action.target.namespace, action.name
    )


def _describe_autoscaler(action: ApplyHpa | ApplyScaledObject) -> str:
    kind = "HorizontalPodAutoscaler" if isinstance(action, ApplyHpa) else "KEDA ScaledObject"
    return f"Apply {kind} {action.target.namespace}/{action.name} to {_target(action)}"


def _describe_schedule(action: ScheduleHpaMinReplicas) -> str:
    period = "day" if action.schedule.period_seconds == 86_400 else "week"
    floors = sorted({w.min_replicas for w in action.schedule.windows} | {action.schedule.baseline})
    return (
        f"Keep minReplicas of HorizontalPodAutoscaler {action.namespace}/{action.name} on a "
        f"{period}ly schedule: {len(action.schedule.windows)} window(s), floors "
        f"{', '.join(str(f) for f in floors)} (the executor sets it at each boundary)"
    )


def _listed(resources: Manifest) -> str:
    return ", ".join(f"{name} {value}" for name, value in resources.items())


def _describe_resources(action: PatchResources) -> str:
    parts = []
    for c in action.containers:
        requests, limits = resource_list(c.requests), resource_list(c.limits)
        wanted = [f"requests {_listed(requests)}"] if requests else []
        if limits:
            wanted.append(f"limits {_listed(limits)}")
        if c.remove_requests:
            wanted.append(f"no request of {', '.join(c.remove_requests)}")
        if c.remove_limits:
            wanted.append(f"no limit on {', '.join(c.remove_limits)}")
        parts.append(f"container {c.container}: {'; '.join(wanted)}")
    return f"Set resources of {_target(action)}: " + " · ".join(parts)


def _describe_labels(action: LabelNode) -> str:
    return f"Label node {action.node}: " + ", ".join(
        f"{k}={v}" if v is not None else f"remove {k}" for k, v in action.labels.items()
    )


_DESCRIPTIONS: dict[type[Any], Callable[[Any], str]] = {
    PatchResources: _describe_resources,
    PatchScheduling: lambda a: f"Change scheduling constraints of {_target(a)}",
    Scale: lambda a: f"Scale {_target(a)} to {a.replicas} replicas",
    ApplyPdb: lambda a: f"Apply PodDisruptionBudget {a.namespace}/{a.name}",
    PatchConfigMap: lambda a: f"Update ConfigMap {a.namespace}/{a.name} keys {', '.join(a.data)}",
    Cordon: lambda a: f"Cordon node {a.node}",
    Uncordon: lambda a: f"Uncordon node {a.node}",
    Drain: lambda a: (
        f"Drain node {a.node}: evict its pods through the Eviction API, respecting "
        f"PodDisruptionBudgets, within {a.deadline_seconds} s"
    ),
    LabelNode: _describe_labels,
    TaintNode: lambda a: (
        f"Taint node {a.node}: " + ", ".join(f"{t.key}={t.value}:{t.effect}" for t in a.taints)
    ),
    ApplyHpa: _describe_autoscaler,
    ApplyScaledObject: _describe_autoscaler,
    ScheduleHpaMinReplicas: _describe_schedule,
    CreateConfigMap: lambda a: (
        f"Create ConfigMap {a.namespace}/{a.name} with keys {', '.join(a.data)}"
    ),
    PatchClusterPolicy: lambda a: (
        f"Point ClusterPolicy {a.name} at device-plugin config {a.device_plugin_config} "
        f"(default {a.device_plugin_default})"
    ),
    WaitForNodeLabel: lambda a: (
        f"Wait up to {a.timeout_seconds} s for node {a.node} label {a.label}={a.value}"
    ),
}


def describe(action: Action) -> str:
    """One sentence saying what the action does."""
    return _DESCRIPTIONS[type(action)](action)


def _target(
    action: PatchResources | PatchScheduling | Scale | ApplyHpa | ApplyScaledObject,
) -> str:
    return f"{action.target.kind} {action.target.namespace}/{action.target.name}"


def _annotate_schedule(manifest: Manifest, action: ScheduleHpaMinReplicas) -> None:
    annotations = dict(manifest["metadata"].get("annotations", {}))
    annotations[MIN_REPLICAS_SCHEDULE_ANNOTATION] = action.schedule.model_dump_json()
    manifest["metadata"]["annotations"] = annotations


def _apply(manifest: Manifest, action: Action) -> Manifest:  # noqa: PLR0912 - a branch per type
    if isinstance(action, PatchResources):
        _patch_resources(manifest, action)
    elif isinstance(action, PatchScheduling):
        _patch_scheduling(manifest, action)
    elif isinstance(action, Scale):
        spec: Manifest = manifest.setdefault("spec", {})
        spec["parallelism" if manifest["kind"] == "Job" else "replicas"] = action.replicas
    elif isinstance(action, ApplyPdb):
        return _pdb(action)
    elif isinstance(action, ApplyHpa | ApplyScaledObject):
        created = action.manifest()
        return {**manifest, **created, "spec": created["spec"]}
    elif isinstance(action, ScheduleHpaMinReplicas):
        _annotate_schedule(manifest, action)
    elif isinstance(action, PatchConfigMap | CreateConfigMap):
        manifest["data"] = {**manifest.get("data", {}), **action.data}
    elif isinstance(action, PatchClusterPolicy):
        _point_cluster_policy(manifest, action)
    elif isinstance(action, Cordon | Uncordon):
        _cordon(manifest, cordoned=isinstance(action, Cordon))
    elif isinstance(action, LabelNode):
        labels = dict(manifest["metadata"].get("labels", {}))
        for name, value in action.labels.items():
            if value is None:
                labels.pop(name, None)
            else:
                labels[name] = value
        _set_or_drop(manifest["metadata"], "labels", dict(sorted(labels.items())))
    elif isinstance(action, TaintNode):
        _taint(manifest, action)
    return manifest


def _taint(manifest: Manifest, action: TaintNode) -> None:
    spec = manifest.setdefault("spec", {})
    ours = [{"key": t.key, "value": t.value, "effect": t.effect} for t in action.taints]
    replaced = {(t["key"], t["effect"]) for t in ours}
    kept = [t for t in spec.get("taints", []) if (t.get("key"), t.get("effect")) not in replaced]
    spec["taints"] = [*kept, *ours]


def _cordon(manifest: Manifest, *, cordoned: bool) -> None:
    spec = manifest.setdefault("spec", {})
    if cordoned:
        spec["unschedulable"] = True
    else:
        spec.pop("unschedulable", None)


def _point_cluster_policy(manifest: Manifest, action: PatchClusterPolicy) -> None:
    device_plugin = manifest.setdefault("spec", {}).setdefault("devicePlugin", {})
    wanted = {"name": action.device_plugin_config, "default": action.device_plugin_default}
    device_plugin["config"] = {k: v for k, v in wanted.items() if v is not None}


def preview_change_set(change_set: ChangeSet, live: Mapping[ObjectKey, Manifest]) -> ChangePreview:
    """Apply the change set to copies of the live manifests and derive each object's patch."""
    order: list[ObjectKey] = []
    after: dict[ObjectKey, Manifest] = {}
    operations: list[str] = []
    for action in change_set.actions:
        key = _key(action)
        if key not in after:
            order.append(key)
            after[key] = copy.deepcopy(live[key]) if key in live else key.stub()
        after[key] = _apply(after[key], action)
        if isinstance(action, Drain):
            operations.append(describe(action))
    changes = []
    for key in order:
        before = live.get(key)
        head = key.stub()
        body = merge_patch(before if before is not None else head, after[key])
        patch = {**head, **body, "metadata": {**head["metadata"], **body.get("metadata", {})}}
        if before is None and key.kind in CREATED_WHOLE:
            patch = copy.deepcopy(after[key])
        changes.append(ObjectChange(key, before, after[key], patch, gitops=key.kind != "Node"))
    return ChangePreview(changes, [describe(a) for a in change_set.actions], operations)
