"""Which nodes can be emptied: their pods fit on the remaining nodes after rightsizing.

Nodes are tried from the least reserved up. A node qualifies when every pod that would have to
move (DaemonSet pods stay and vanish with the node) is owned by a controller, keeps no local
data, is admitted by some remaining node with room (node selectors, required node affinity,
taints), and belongs to a workload whose PDB allows evicting all of its pods on that node.
Nodes that receive pods are not emptied in the same pass.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.changes import PatchResources
from protocol.recommendation import Recommendation
from protocol.snapshot import Node, Pod, PodSpecSummary, WorkloadKind
from recommender.consolidation.fit import Room, place
from recommender.inventory import Inventory, WorkloadId
from recommender.pricing.cost import pod_requests, share_of_node
from recommender.rightsizing.recommend import patched_spec
from recommender.usage.key import pod_owner

_EPHEMERAL_KINDS = frozenset({WorkloadKind.JOB.value, "CronJob"})


@dataclass(frozen=True, slots=True)
class NodeRelease:
    """A node that can be emptied, and where its pods go."""

    node: str
    moves: Mapping[str, str]
    """pod namespace/name -> target node."""
    staying_daemons: int


def rightsized_templates(
    recommendations: Sequence[Recommendation],
) -> dict[WorkloadId, PatchResources]:
    """The resource patches of rightsizing recommendations, by workload."""
    patches: dict[WorkloadId, PatchResources] = {}
    for rec in recommendations:
        for action in rec.change_set.actions:
            if isinstance(action, PatchResources):
                target = action.target
                patches[(target.kind.value, target.namespace, target.name)] = action
    return patches


def _spec_after(pod: Pod, patches: Mapping[WorkloadId, PatchResources]) -> PodSpecSummary:
    kind, name = pod_owner(pod)
    patch = patches.get((kind, pod.namespace, name))
    return patched_spec(pod.spec, patch.containers) if patch else pod.spec


def _has_required_anti_affinity(spec: PodSpecSummary) -> bool:
    anti = (spec.affinity or {}).get("podAntiAffinity")
    return isinstance(anti, dict) and bool(
        anti.get("requiredDuringSchedulingIgnoredDuringExecution")
    )


def _blocked(pods: Sequence[Pod], inventory: Inventory) -> bool:
    per_workload: dict[WorkloadId, list[Pod]] = {}
    for pod in pods:
        kind, name = pod_owner(pod)
        if pod.controller is None or kind in _EPHEMERAL_KINDS or pod.spec.uses_local_storage:
            return True
        per_workload.setdefault((kind, pod.namespace, name), []).append(pod)
    # Drain evicts through the Eviction API: a budget smaller than the pods here blocks it.
    return any(
        pdb.disruptions_allowed < len(siblings)
        for (_, namespace, _), siblings in per_workload.items()
        for pdb in inventory.pdbs_for_labels(namespace, siblings[0].labels)
    )


def _utilisation(node: Node, specs: Sequence[PodSpecSummary]) -> float:
    containers = [c for s in specs for c in s.containers]
    if not containers:
        # A node running nothing is the cheapest to release.
        return 0.0
    total = pod_requests(PodSpecSummary(containers=containers))
    return share_of_node(total, node)


def find_releasable_nodes(
    inventory: Inventory,
    patches: Mapping[WorkloadId, PatchResources],
    max_nodes: int,
) -> list[NodeRelease]:
    """Nodes that can be emptied one after another, with where their pods go."""
    specs = {
        pod.uid: _spec_after(pod, patches)
        for pods in inventory.pods_by_node.values()
        for pod in pods
    }
    live = {n: node for n, node in inventory.nodes.items() if node.ready and not node.unschedulable}
    rooms = {
        name: Room.of(node, [specs[p.uid] for p in inventory.pods_on(name)])
        for name, node in live.items()
    }
    order = sorted(
        live,
        key=lambda n: (_utilisation(live[n], [specs[p.uid] for p in inventory.pods_on(n)]), n),
    )
    released: list[NodeRelease] = []
    removed: set[str] = set()
    receivers: set[str] = set()
    for name in order:
        if len(released) >= max_nodes:
            break
        if name in receivers:
            continue
        leaving = [p for p in inventory.pods_on(name) if not inventory.is_daemon(p)]
        if _blocked(leaving, inventory):
            continue
        targets = {n: node for n, node in live.items() if n != name and n not in removed}
        trial = {n: copy.deepcopy(rooms[n]) for n in targets}
        avoid = _anti_affinity_avoid(leaving, inventory, specs)
        moving = [(p.uid, specs[p.uid], pod_requests(specs[p.uid])) for p in leaving]
        placed = place(moving, targets, trial, avoid)
        if any(target is None for target in placed.values()):
            continue
        rooms.update(trial)
        removed.add(name)
        receivers.update(t for t in placed.values() if t is not None)
        by_uid = {p.uid: p for p in leaving}
        released.append(
            NodeRelease(
                node=name,
                moves={
                    f"{by_uid[uid].namespace}/{by_uid[uid].name}": target
                    for uid, target in placed.items()
                    if target is not None
                },
                staying_daemons=len(inventory.pods_on(name)) - len(leaving),
            )
        )
    return released


def _anti_affinity_avoid(
    leaving: Sequence[Pod], inventory: Inventory, specs: Mapping[str, PodSpecSummary]
) -> dict[str, set[str]]:
    # Approximation of required pod anti-affinity: never next to a sibling replica.
    avoid: dict[str, set[str]] = {}
    for pod in leaving:
        if not _has_required_anti_affinity(specs[pod.uid]):
            continue
        owner = inventory.workload_of(pod)
        siblings = inventory.pods_of(owner) if owner else ()
        avoid[pod.uid] = {s.node_name for s in siblings if s.node_name and s.uid != pod.uid}
    return avoid
