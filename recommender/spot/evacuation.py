"""What to do when a spot node gets its interruption notice.

The plan lists the pods that must leave, where each one's replacement can go (a capacity check
against the other schedulable nodes, on-demand and other spot pools first, the doomed node's
own pool last), which workloads need more on-demand capacity than exists, and which PDBs have
no headroom. Its change set cordons the node, scales up workloads whose PDB would otherwise
block the drain, and drains the node within the notice's deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import JsonValue

from protocol.changes import (
    Action,
    ChangeSet,
    Cordon,
    Drain,
    Precondition,
    Scale,
)
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.resources import Resources
from protocol.snapshot import ClusterSnapshot, Node, Pod
from protocol.spot import SpotNotice
from recommender.consolidation.fit import Room, place
from recommender.inventory import (
    Inventory,
    recommendation_id,
    workload_id,
    workload_ref,
)
from recommender.pricing.cost import pod_requests
from recommender.spot.readiness import SUPPORTED_KINDS

REBALANCE_DEADLINE_SECONDS = 600
"""A rebalance recommendation has no deadline; drain within ten minutes."""
GRACE_SAFETY_SECONDS = 10
"""Pods must be gone this long before the instance is."""


@dataclass(frozen=True, slots=True)
class PodMove:
    """One pod leaving the node and where its replacement fits."""

    namespace: str
    pod: str
    workload: str | None
    target_node: str | None
    """None when no other node has room: on-demand capacity must be added first."""


@dataclass(frozen=True, slots=True)
class PdbShortfall:
    """A workload whose PDB would block evicting its pods on the node."""

    workload: str
    pods_on_node: int
    disruptions_allowed: int
    scale_to: int


@dataclass(frozen=True, slots=True)
class EvacuationPlan:
    """The evacuation of one noticed node."""

    node: str
    deadline_seconds: int
    moves: tuple[PodMove, ...]
    shortfalls: tuple[PdbShortfall, ...]
    missing_capacity: Resources
    """Requests of pods no other node has room for (zero when everything fits)."""
    change_set: ChangeSet
    recommendation: Recommendation

    @property
    def needs_on_demand_scale_up(self) -> bool:
        """Whether on-demand capacity must be added before the pods can all reschedule."""
        return any(move.target_node is None for move in self.moves)


def _deadline_seconds(notice: SpotNotice, now: datetime) -> int:
    if notice.deadline is None:
        return REBALANCE_DEADLINE_SECONDS
    remaining = int((notice.deadline - now).total_seconds())
    return min(max(remaining, 1), 86_400)


def evacuation_expires_at(notice: SpotNotice, now: datetime) -> datetime:
    """When the evacuation stops being worth approving: the notice deadline, else ten minutes."""
    if notice.deadline is not None:
        return notice.deadline
    return now + timedelta(seconds=REBALANCE_DEADLINE_SECONDS)


def protection_summary(node: str, moves: Sequence[PodMove]) -> str:
    """What an evacuation protects, said instead of a saving (it saves nothing)."""
    workloads = {m.workload for m in moves if m.workload is not None}
    pods = f"{len(moves)} pod{'' if len(moves) == 1 else 's'}"
    owners = f"{len(workloads)} workload{'' if len(workloads) == 1 else 's'}"
    return f"{pods} of {owners} moved off {node} before the cloud reclaims it"


def _targets(inventory: Inventory, doomed: Node | None) -> tuple[dict[str, Node], dict[str, Node]]:
    """(preferred targets, same-pool spot nodes kept as a last resort)."""
    same_pool: dict[str, Node] = {}
    preferred: dict[str, Node] = {}
    for node in inventory.nodes.values():
        if doomed is not None and node.name == doomed.name:
            continue
        shares_pool = (
            doomed is not None
            and node.is_spot
            and node.instance_type == doomed.instance_type
            and node.zone == doomed.zone
        )
        (same_pool if shares_pool else preferred)[node.name] = node
    return preferred, same_pool


def _plan_moves(inventory: Inventory, doomed: Node | None, leaving: Sequence[Pod]) -> list[PodMove]:
    preferred, same_pool = _targets(inventory, doomed)
    everyone = {**preferred, **same_pool}
    rooms = {
        name: Room.of(node, (p.spec for p in inventory.pods_on(name)))
        for name, node in everyone.items()
    }
    moving = [(pod.uid, pod.spec, pod_requests(pod.spec)) for pod in leaving]
    placed = place(moving, preferred, rooms)
    second = [m for m in moving if placed[m[0]] is None]
    placed.update(place(second, same_pool, rooms))
    moves = []
    for pod in leaving:
        owner = inventory.workload_of(pod)
        moves.append(
            PodMove(
                namespace=pod.namespace,
                pod=pod.name,
                workload=f"{owner.kind.value}/{owner.name}" if owner else None,
                target_node=placed[pod.uid],
            )
        )
    return moves


def _shortfalls(
    inventory: Inventory, leaving: Sequence[Pod]
) -> tuple[list[PdbShortfall], list[Scale]]:
    counts: dict[tuple[str, str, str], int] = {}
    for pod in leaving:
        owner = inventory.workload_of(pod)
        if owner is not None and owner.kind in SUPPORTED_KINDS and owner.replicas is not None:
            key = workload_id(owner)
            counts[key] = counts.get(key, 0) + 1
    shortfalls, scales = [], []
    for key, on_node in sorted(counts.items()):
        workload = inventory.workloads[key]
        pdbs = inventory.pdbs_for_workload(workload)
        if not pdbs:
            continue
        allowed = min(p.disruptions_allowed for p in pdbs)
        if on_node <= allowed:
            continue
        replicas = workload.replicas or 0
        scale_to = replicas + on_node - allowed
        shortfalls.append(
            PdbShortfall(f"{workload.kind.value}/{workload.name}", on_node, allowed, scale_to)
        )
        scales.append(
            Scale(
                target=workload_ref(workload),
                replicas=scale_to,
                precondition=Precondition(
                    resource_version=workload.resource_version or None,
                    fields={"/spec/replicas": replicas},
                ),
            )
        )
    return shortfalls, scales


def _missing(leaving: Sequence[Pod], moves: Sequence[PodMove]) -> Resources:
    unplaced = {(m.namespace, m.pod) for m in moves if m.target_node is None}
    cpu = memory = 0
    extended: dict[str, int] = {}
    for pod in leaving:
        if (pod.namespace, pod.name) in unplaced:
            wanted = pod_requests(pod.spec)
            cpu += wanted.cpu_millis or 0
            memory += wanted.memory_bytes or 0
            for name, count in wanted.extended.items():
                extended[name] = extended.get(name, 0) + count
    return Resources(cpu_millis=cpu, memory_bytes=memory, extended=extended)


def _node_precondition(node: Node | None) -> Precondition:
    # Pin the instance, not the resourceVersion: node status churns every few seconds, and a
    # replacement node of the same name must not be drained by mistake.
    if node is not None and node.provider_id:
        return Precondition(fields={"/spec/providerID": node.provider_id})
    return Precondition()


def plan_spot_evacuation(
    snapshot: ClusterSnapshot, notice: SpotNotice, now: datetime
) -> EvacuationPlan:
    """Plan the evacuation of the node named in `notice`, as of `now`."""
    inventory = Inventory.build(snapshot)
    doomed = inventory.nodes.get(notice.node_name)
    leaving = [p for p in inventory.pods_on(notice.node_name) if not inventory.is_daemon(p)]
    moves = _plan_moves(inventory, doomed, leaving)
    shortfalls, scales = _shortfalls(inventory, leaving)
    deadline = _deadline_seconds(notice, now)
    longest_grace = max((p.spec.termination_grace_seconds for p in leaving), default=0)
    grace = (
        max(deadline - GRACE_SAFETY_SECONDS, 0)
        if longest_grace > deadline - GRACE_SAFETY_SECONDS
        else None
    )
    precondition = _node_precondition(doomed)
    # Cordon first so neither the replacements nor the scaled-up pods land on the doomed node.
    actions: list[Action] = [Cordon(node=notice.node_name, precondition=precondition)]
    actions.extend(scales)
    actions.append(
        Drain(
            node=notice.node_name,
            deadline_seconds=deadline,
            grace_period_seconds=grace,
            precondition=precondition,
        )
    )
    change_set = ChangeSet(
        actions=actions,
        summary=f"evacuate {notice.node_name} ({len(leaving)} pods) within {deadline}s",
    )
    missing = _missing(leaving, moves)
    recommendation = _recommendation(
        snapshot, notice, now, change_set, moves=moves, shortfalls=shortfalls, missing=missing
    )
    return EvacuationPlan(
        node=notice.node_name,
        deadline_seconds=deadline,
        moves=tuple(moves),
        shortfalls=tuple(shortfalls),
        missing_capacity=missing,
        change_set=change_set,
        recommendation=recommendation,
    )


def _recommendation(
    snapshot: ClusterSnapshot,
    notice: SpotNotice,
    now: datetime,
    change_set: ChangeSet,
    *,
    moves: Sequence[PodMove],
    shortfalls: Sequence[PdbShortfall],
    missing: Resources,
) -> Recommendation:
    unplaced = [f"{m.namespace}/{m.pod}" for m in moves if m.target_node is None]
    if unplaced:
        risk, note = Risk.HIGH, "no room elsewhere: scale up on-demand capacity first"
    elif shortfalls:
        risk, note = Risk.MEDIUM, "PDBs without headroom: workloads are scaled up first"
    else:
        risk, note = Risk.LOW, ""
    evidence: dict[str, JsonValue] = {
        "notice_id": str(notice.notice_id),
        "notice_kind": notice.kind.value,
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "protects": protection_summary(notice.node_name, moves),
        "pods": [
            {"pod": f"{m.namespace}/{m.pod}", "workload": m.workload, "target_node": m.target_node}
            for m in moves
        ],
        "unplaced_pods": list(unplaced),
        "missing_cpu_millis": missing.cpu_millis,
        "missing_memory_bytes": missing.memory_bytes,
        "missing_extended": dict(missing.extended),
        "pdb_shortfalls": [
            {
                "workload": s.workload,
                "pods_on_node": s.pods_on_node,
                "disruptions_allowed": s.disruptions_allowed,
                "scale_to": s.scale_to,
            }
            for s in shortfalls
        ],
    }
    return Recommendation(
        recommendation_id=recommendation_id(
            snapshot, RecommendationKind.SPOT_EVACUATION, f"{notice.notice_id}"
        ),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.SPOT_EVACUATION,
        node=notice.node_name,
        title=f"Evacuate spot node {notice.node_name} before it is reclaimed",
        reason=(
            f"{notice.kind.value} notice: {len(moves)} pod(s) must move; "
            f"{len(moves) - len(unplaced)} fit on other nodes"
        ),
        evidence=evidence,
        risk=risk,
        risk_note=note,
        monthly_saving_usd=0.0,
        change_set=change_set,
        computed_from=[
            ObjectVersion(
                kind="Node", name=notice.node_name, resource_version=node.resource_version
            )
            for node in snapshot.nodes
            if node.name == notice.node_name
        ],
        created_at=now,
        expires_at=evacuation_expires_at(notice, now),
    )
