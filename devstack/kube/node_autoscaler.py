"""The local cluster's stand-in for Cluster Autoscaler or Karpenter: on-demand Nodes on demand.

A real cluster answers Pods the scheduler cannot place (``PodScheduled=False``, reason
``Unschedulable``: after a spot drain, say) by adding a node from one of its node groups. Here
nothing creates machines, so this planner decides what such an autoscaler would add and the
node keeper creates it as a Node object. Like Cluster Autoscaler it first simulates whether the
unschedulable Pods fit the free room of the schedulable Nodes (a Node it added a moment ago,
which the scheduler has not used yet, counts), and adds a Node only for those that fit nowhere.
The new Node copies the shape of a Node the Pod could run on (instance type, GPU model and
count, capacity, zone) on on-demand capacity: spot capacity is what was just taken away.

It honours a Pod's ``nodeSelector``, requests (CPU, memory, Pods, extended resources such as
``nvidia.com/gpu``) and tolerations of NoSchedule/NoExecute taints; node affinity and topology
spread are left to the scheduler, which may still leave such a Pod Pending.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from lightkube.utils.quantity import parse_quantity

JsonObject = dict[str, Any]
Room = dict[str, Decimal]

ADDED_LABEL = "autoscaler.slicewise.dev/added-for"
"""Set on Nodes the stand-in added; the value is the namespace of the Pod it was added for."""
CAPACITY_LABEL = "node.kubernetes.io/capacity"
ON_DEMAND_VALUES = {
    CAPACITY_LABEL: "on-demand",
    "karpenter.sh/capacity-type": "on-demand",
    "eks.amazonaws.com/capacityType": "ON_DEMAND",
    "kubernetes.azure.com/scalesetpriority": "regular",
}
"""Capacity-type labels of the clouds and autoscalers, with their on-demand values."""
SPOT_ONLY_KEYS = frozenset({"cloud.google.com/gke-spot", "cloud.google.com/gke-preemptible"})
"""Labels and taints only spot (or preemptible) nodes carry."""
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
STATE_TAINT_PREFIX = "node.kubernetes.io/"
"""Taints the node controllers set from a Node's state (cordoned, not ready, pressure)."""
KUBELET_MAX_PODS = Decimal(110)
"""Pod slots of a Node that does not list them (the kubelet's default)."""
ADDED_SUFFIX = re.compile(r"-od\d+$")


def requests_of(pod: Mapping[str, Any]) -> Room:
    """What the Pod's containers request, plus one of the Node's Pod slots."""
    total: Room = {"pods": Decimal(1)}
    for container in (pod.get("spec") or {}).get("containers") or []:
        for name, amount in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] = total.get(name, Decimal(0)) + _quantity(amount)
    return total


def unschedulable(pod: Mapping[str, Any]) -> bool:
    """Whether the scheduler tried the Pod and found no Node for it."""
    if (pod.get("spec") or {}).get("nodeName") or (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return False
    status = pod.get("status") or {}
    return status.get("phase", "Pending") == "Pending" and any(
        c.get("type") == "PodScheduled"
        and c.get("status") == "False"
        and c.get("reason") == "Unschedulable"
        for c in status.get("conditions") or []
    )


def admits(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """Whether ``node`` matches the Pod's nodeSelector and the Pod tolerates its taints."""
    return _admits(pod, node, (node.get("spec") or {}).get("taints") or [])


def _admits(pod: Mapping[str, Any], node: Mapping[str, Any], taints: list[JsonObject]) -> bool:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    tolerations = spec.get("tolerations") or []
    return all(
        any(_tolerates(t, taint) for t in tolerations)
        for taint in taints
        if taint.get("effect") in BLOCKING_EFFECTS
    )


def copied_taints(node: Mapping[str, Any]) -> list[JsonObject]:
    """The taints a new Node of ``node``'s shape carries: neither state nor spot taints.

    State taints (``node.kubernetes.io/unschedulable`` on a cordoned Node, ``not-ready``, ...)
    belong to that one Node's condition, and an on-demand Node carries no spot taint.
    """
    return [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if not str(t.get("key", "")).startswith(STATE_TAINT_PREFIX)
        and t.get("key") not in SPOT_ONLY_KEYS
        and t.get("key") not in ON_DEMAND_VALUES
    ]


def free_room(node: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> Room:
    """The Node's allocatable resources minus the requests of the live Pods bound to it."""
    name = (node.get("metadata") or {}).get("name")
    room = _allocatable(node)
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != name:
            continue
        if (pod.get("status") or {}).get("phase") in {"Succeeded", "Failed"}:
            continue
        room = _minus(room, requests_of(pod))
    return room


def fits(requests: Room, room: Room) -> bool:
    """Whether every requested amount is within the room."""
    return all(room.get(name, Decimal(0)) >= amount for name, amount in requests.items())


def plan_nodes(
    pods: list[JsonObject], nodes: Mapping[str, JsonObject], *, limit: int
) -> list[JsonObject]:
    """Node manifests to add so every unschedulable Pod fits somewhere (at most ``limit``)."""
    rooms = {name: free_room(node, pods) for name, node in nodes.items() if _schedulable(node)}
    shapes = dict(nodes)
    added: list[JsonObject] = []
    waiting = sorted(
        (p for p in pods if unschedulable(p)),
        key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"]),
    )
    for pod in waiting:
        wanted = requests_of(pod)
        home = next(
            (n for n, room in rooms.items() if admits(pod, shapes[n]) and fits(wanted, room)),
            None,
        )
        if home is None:
            template = _template_for(pod, wanted, nodes)
            if template is None or len(added) >= limit:
                continue
            node = on_demand_copy(template, _free_name(template, shapes))
            added.append(node)
            home = node["metadata"]["name"]
            shapes[home] = node
            rooms[home] = _allocatable(node)
        rooms[home] = _minus(rooms[home], wanted)
    return added


def on_demand_copy(template: Mapping[str, Any], name: str) -> JsonObject:
    """A new Node of ``template``'s shape on on-demand capacity, named ``name``."""
    meta = template.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in SPOT_ONLY_KEYS}
    labels.update({k: v for k, v in ON_DEMAND_VALUES.items() if k in labels})
    labels[CAPACITY_LABEL] = ON_DEMAND_VALUES[CAPACITY_LABEL]
    labels["kubernetes.io/hostname"] = name
    labels[ADDED_LABEL] = "pending-pods"
    spec: JsonObject = {}
    if taints := copied_taints(template):
        spec["taints"] = copy.deepcopy(taints)
    provider = str((template.get("spec") or {}).get("providerID") or "")
    if provider.startswith("aws:///"):
        zone = provider.removeprefix("aws:///").split("/", 1)[0]
        instance = hashlib.sha256(name.encode()).hexdigest()[:17]
        spec["providerID"] = f"aws:///{zone}/i-{instance}"
    status = template.get("status") or {}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "capacity": dict(status.get("capacity") or {}),
            "allocatable": dict(status.get("allocatable") or status.get("capacity") or {}),
        },
    }


class NodeAutoscaler:
    """Adds on-demand Nodes for unschedulable Pods, at most every ``interval`` seconds.

    ``max_nodes`` bounds how many it adds over its life, as a node group's maximum size does.
    """

    def __init__(
        self,
        *,
        interval: float = 5.0,
        max_nodes: int = 20,
        report: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare a planner; ``report`` hears one line per Node added."""
        self._interval = interval
        self._max_nodes = max_nodes
        self._report = report
        self._added = 0
        self._last = float("-inf")

    def due(self) -> bool:
        """Whether the interval since the last plan has passed."""
        return time.monotonic() - self._last >= self._interval

    def plan(self, pods: list[JsonObject], nodes: Mapping[str, JsonObject]) -> list[JsonObject]:
        """The Nodes to create now (the caller creates them and calls :meth:`added`)."""
        self._last = time.monotonic()
        return plan_nodes(pods, nodes, limit=self._max_nodes - self._added)

    def added(self, node: Mapping[str, Any], waiting: int) -> None:
        """Count a Node that was created, and report it."""
        self._added += 1
        if self._report is not None:
            labels = node["metadata"]["labels"]
            shape = labels.get("node.kubernetes.io/instance-type", "same shape")
            self._report(
                f"added on-demand node {node['metadata']['name']} ({shape}) "
                f"for {waiting} unschedulable pods"
            )


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    if toleration.get("effect") not in {None, "", taint.get("effect")}:
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in {None, "", taint.get("key")}
    return bool(
        toleration.get("key") == taint.get("key")
        and toleration.get("value", "") == taint.get("value", "")
    )


def _schedulable(node: Mapping[str, Any]) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    # A Node the stand-in just created has no conditions yet; the node keeper reports it Ready.
    return all(c.get("status") == "True" for c in conditions if c.get("type") == "Ready")


def _allocatable(node: Mapping[str, Any]) -> Room:
    status = node.get("status") or {}
    listed = status.get("allocatable") or status.get("capacity") or {}
    room = {name: _quantity(amount) for name, amount in listed.items()}
    room.setdefault("pods", KUBELET_MAX_PODS)
    return room


def _template_for(
    pod: Mapping[str, Any], wanted: Room, nodes: Mapping[str, JsonObject]
) -> JsonObject | None:
    """The smallest Node shape the Pod fits on when empty, on-demand shapes first."""
    fitting = [
        n
        for n in nodes.values()
        if _admits(pod, n, copied_taints(n)) and fits(wanted, _allocatable(n))
    ]
    if not fitting:
        return None

    def order(node: JsonObject) -> tuple[bool, Decimal, Decimal, Decimal, str]:
        labels = node["metadata"].get("labels") or {}
        room = _allocatable(node)
        return (
            labels.get(CAPACITY_LABEL) == "spot",
            room.get("nvidia.com/gpu", Decimal(0)),
            room.get("cpu", Decimal(0)),
            room.get("memory", Decimal(0)),
            str(node["metadata"]["name"]),
        )

    return min(fitting, key=order)


def _free_name(template: Mapping[str, Any], taken: Mapping[str, Any]) -> str:
    base = ADDED_SUFFIX.sub("", str(template["metadata"]["name"]))
    number = 1
    while f"{base}-od{number}" in taken:
        number += 1
    return f"{base}-od{number}"


def _minus(room: Room, used: Room) -> Room:
    return {**room, **{name: room.get(name, Decimal(0)) - amount for name, amount in used.items()}}


def _quantity(amount: object) -> Decimal:
    try:
        parsed = parse_quantity(str(amount))
    except ValueError:
        return Decimal(0)
    return parsed if parsed is not None else Decimal(0)
