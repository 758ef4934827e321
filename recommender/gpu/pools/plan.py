"""The cluster's GPU sharing plan: pools, moves, drain order and the nodes it empties.

The placement engine (`placement.node_plan.plan_nodes`, the fragmentation-aware policy measured
against FGD) places every replica of the shareable workloads on the GPU nodes that may change
their sharing mode, one sharing class per node. A node may change mode only when nothing else
needs its GPUs: nodes running GPU pods of other workloads, cordoned or not ready nodes, and nodes
someone already configured for sharing are left as they are. Every node that gets a class
becomes a pool and is cordoned and drained before it is relabelled; nodes whose advised replicas
all leave and that receive none are emptied. A plan that empties no node saves nothing and is
not made.

Deployments and StatefulSets that are not shared move with the drains as they are (`whole
movers`): whole GPUs, or the share of a GPU their pods already hold through a GPU-sharing
scheduler (`alibabacloud.com/gpu-milli`), which counts as that share and not as a whole GPU
(`occupancy`). Counted as whole GPUs, such pods hold more GPUs than their nodes have, find no
room anywhere, and would pin every node they run on.

Draining a pool node evicts the old, whole-GPU replicas on it; they must find a whole GPU on a
node outside the pools meanwhile, or the drain would wait on PodDisruptionBudgets that can never
be met. The pools are converted in waves (`waves`): as many as the free GPUs allow, emptiest
first, then the workloads whose pools are ready move and give their old GPUs back for the next
wave. The plan is refused if a wave cannot drain any pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.resources import GPU_RESOURCE
from protocol.snapshot import LABEL_DEVICE_PLUGIN_CONFIG, LABEL_MIG_CONFIG, Node
from recommender.cost.gpu_share import MILLI
from recommender.gpu.advice import AdviceKind
from recommender.gpu.placement.node_plan import NodePlan, PlanNode, WholeReplicas, plan_nodes
from recommender.gpu.pools.gpu_map import gpu_count, gpu_map, gpu_pods
from recommender.gpu.pools.occupancy import (
    Occupancy,
    gpu_occupancy,
    gpus_by_node,
    shared_milli,
)
from recommender.gpu.pools.operator import UNCONFIGURED_MIG, OperatorView, mig_resource_name
from recommender.gpu.pools.subjects import SHARED_KINDS, Subject
from recommender.gpu.pools.waves import Wave, WaveInputs, plan_waves
from recommender.inventory import Inventory

MAX_REPLANS = 8


@dataclass(frozen=True, slots=True)
class Pool:
    """A node that becomes a sharing pool."""

    node: str
    kind: AdviceKind
    label: str
    """`nvidia.com/mig.config` or `nvidia.com/device-plugin.config`."""
    value: str
    """The MIG layout or device-plugin config the node is labelled with."""
    evicted: tuple[str, ...]
    """`namespace/name` of the pods its drain evicts (DaemonSet pods stay)."""
    displaced_gpus: int
    """Whole GPUs the evicted replicas of moved workloads need elsewhere until they move."""
    replicas: Mapping[str, int]
    """Replicas of each moved workload (`namespace/name`) the pool receives."""


@dataclass(frozen=True, slots=True)
class Move:
    """A workload moved into pools of one sharing class."""

    subject: Subject
    label: str
    value: str
    resource: str
    """The extended resource each replica asks one of after the move."""
    mig_profile: str | None


@dataclass(frozen=True, slots=True)
class EmptiedNode:
    """A GPU node the plan empties (left for the cluster autoscaler to remove)."""

    node: str
    product: str
    gpus: int
    monthly_usd: float


@dataclass(frozen=True, slots=True)
class GpuPoolPlan:
    """The whole plan, in the order it is carried out."""

    pools: tuple[Pool, ...]
    moves: tuple[Move, ...]
    emptied: tuple[EmptiedNode, ...]
    gpu_map_before: Mapping[str, object]
    gpu_map_after: Mapping[str, object]
    waves: tuple[Wave, ...] = ()
    """Pools converted together and the workloads moved after each (see `waves`)."""

    @property
    def monthly_saving_usd(self) -> float:
        """Price of the emptied nodes (the plan adds no node)."""
        return round(sum(n.monthly_usd for n in self.emptied), 2)

    @property
    def gpus_freed(self) -> int:
        """GPUs on the emptied nodes."""
        return sum(n.gpus for n in self.emptied)


def workload_name(subject: Subject) -> str:
    """`namespace/name` of a subject's workload (unique within one kind in the plan)."""
    return f"{subject.workload.namespace}/{subject.workload.name}"


def _is_unconfigured(node: Node) -> bool:
    labels = node.labels
    if labels.get(LABEL_DEVICE_PLUGIN_CONFIG):
        return False
    return labels.get(LABEL_MIG_CONFIG, "") in UNCONFIGURED_MIG


def _candidates(inventory: Inventory) -> list[Node]:
    """GPU nodes the plan may use: schedulable, ready and not configured for sharing by others.

    A node running GPU pods that stay may still take whole-GPU replicas, never a sharing mode.
    """
    return [
        node
        for node in inventory.snapshot.nodes
        if node.gpu is not None
        and gpu_count(node) > 0
        and node.ready
        and not node.unschedulable
        and _is_unconfigured(node)
    ]


def whole_movers(inventory: Inventory, subjects: Sequence[Subject]) -> list[WholeReplicas]:
    """Deployments and StatefulSets that keep their GPUs: a drain reschedules their pods.

    Replicas stay on the GPU product they run on (the workload may select it), so a workload
    spread over several products moves as one group per product. Replicas that hold a share of
    a GPU (`alibabacloud.com/gpu-milli`) keep that share wherever their scheduler packs them.
    """
    shared = {workload_name(s) for s in subjects}
    found: list[WholeReplicas] = []
    for workload in inventory.snapshot.workloads:
        name = f"{workload.namespace}/{workload.name}"
        gpus = sum(c.requests.gpus for c in workload.template.containers)
        if workload.kind not in SHARED_KINDS or name in shared or gpus < 1:
            continue
        by_product: dict[str, list[int]] = {}
        for pod in inventory.pods_of(workload):
            node = inventory.nodes.get(str(pod.node_name))
            if node is not None and node.gpu is not None:
                by_product.setdefault(node.gpu.product, []).append(shared_milli(pod))
        for product, shares in sorted(by_product.items()):
            share = max(shares)
            if 0 < share < MILLI:
                found.append(WholeReplicas(name, product, len(shares), 1, share))
            else:
                found.append(WholeReplicas(name, product, len(shares), gpus))
    return found


def _place(
    candidates: Sequence[Node],
    occupancy: Occupancy,
    subjects: Sequence[Subject],
    whole: Sequence[WholeReplicas],
    seed: int,
) -> tuple[NodePlan, list[Subject]]:
    """Place the subjects, dropping those with a replica no candidate could take."""
    nodes = []
    for n in candidates:
        kept = occupancy.other_gpus.get(n.name, 0)
        nodes.append(
            PlanNode(
                name=n.name,
                gpu_product=n.gpu.product if n.gpu else "",
                gpu_count=gpu_count(n),
                cpu_free_milli=n.allocatable.cpu_millis or 0,
                gpus_kept=min(kept, gpu_count(n)),
                keeps_whole=kept > 0,
            )
        )
    shared = list(subjects)
    plan = plan_nodes(nodes, [s.advice for s in shared], seed=seed, whole=whole)
    for _ in range(MAX_REPLANS):
        dropped = set(plan.unplaced)
        if not dropped or not shared:
            break
        shared = [s for s in shared if workload_name(s) not in dropped]
        plan = plan_nodes(nodes, [s.advice for s in shared], seed=seed, whole=whole)
    return plan, shared


def _wave_inputs(
    pools: Sequence[Pool], inventory: Inventory, occupancy: Occupancy, shared: set[str]
) -> WaveInputs:
    """Free whole GPUs outside the pools, and what each moved workload's pods hold where."""
    pool_names = {p.node for p in pools}
    product: dict[str, str] = {}
    free: dict[str, int] = {}
    for node in inventory.snapshot.nodes:
        if node.gpu is None:
            continue
        product[node.name] = node.gpu.product
        if node.name in pool_names or node.unschedulable or not node.ready:
            continue
        used = occupancy.other_gpus.get(node.name, 0) + occupancy.moved_gpus.get(node.name, 0)
        free[node.gpu.product] = free.get(node.gpu.product, 0) + max(0, gpu_count(node) - used)
    held = {
        f"{w.namespace}/{w.name}": gpus_by_node(inventory.pods_of(w))
        for w in inventory.snapshot.workloads
        if f"{w.namespace}/{w.name}" in shared
    }
    # Shares rounded up per workload may add up to more than the node's rounded total.
    staying = {
        p.node: max(0, p.displaced_gpus - sum(on.get(p.node, 0) for on in held.values()))
        for p in pools
    }
    moving = {name: {p.node for p in pools if name in p.replicas} for name in shared}
    return WaveInputs(product, free, held, moving, staying)


def _evicted(inventory: Inventory, node: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            f"{pod.namespace}/{pod.name}"
            for pod in inventory.pods_on(node)
            if not inventory.is_daemon(pod)
        )
    )


def plan_gpu_pools(
    inventory: Inventory,
    subjects: Sequence[Subject],
    operator: OperatorView,
    node_monthly_usd: Mapping[str, float],
    seed: int = 0,
) -> GpuPoolPlan | None:
    """The plan that moves `subjects` into sharing pools, or None when it empties no node."""
    whole = whole_movers(inventory, subjects)
    for _ in range(MAX_REPLANS):
        names = {workload_name(s) for s in subjects} | {w.workload for w in whole}
        occupancy = gpu_occupancy(inventory, names)
        candidates = [n for n in _candidates(inventory) if n.name in node_monthly_usd]
        placed, kept = _place(candidates, occupancy, subjects, whole, seed)
        stuck = {w.workload for w in whole} & set(placed.unplaced)
        if not stuck:
            break
        # Whole-GPU replicas with nowhere else to go stay, and keep their nodes as they are.
        whole = [w for w in whole if w.workload not in stuck]
    else:
        return None
    settings = {s.node: s for s in placed.settings}
    if not kept or not settings:
        return None
    moves = [_move(s, operator) for s in kept]
    labels = {workload_name(m.subject): m for m in moves}
    pools: list[Pool] = []
    for node in candidates:
        setting = settings.get(node.name)
        if setting is None:
            continue
        here = [p for p in placed.placements if p.node == node.name]
        move = labels[here[0].workload]
        counts: dict[str, int] = {}
        for placement in here:
            counts[placement.workload] = counts.get(placement.workload, 0) + 1
        pools.append(
            Pool(
                node=node.name,
                kind=move.subject.advice.kind,
                label=move.label,
                value=move.value,
                evicted=_evicted(inventory, node.name),
                displaced_gpus=occupancy.moved_gpus.get(node.name, 0),
                replicas=counts,
            )
        )
    receiving = {p.node for p in placed.placements}
    emptied = [
        EmptiedNode(
            node=n.name,
            product=n.gpu.product if n.gpu else "",
            gpus=gpu_count(n),
            monthly_usd=round(node_monthly_usd[n.name], 2),
        )
        for n in candidates
        if n.name not in receiving
        and occupancy.moved.get(n.name)
        and not occupancy.other_gpus.get(n.name)
    ]
    if not emptied:
        return None
    waves = plan_waves(
        [p.node for p in pools], _wave_inputs(pools, inventory, occupancy, set(labels))
    )
    if waves is None:
        return None
    by_node = {p.node: p for p in pools}
    ordered = [by_node[node] for wave in waves for node in wave.pools]
    wave_of = {name: i for i, wave in enumerate(waves) for name in wave.moves}
    moves.sort(key=lambda m: wave_of[workload_name(m.subject)])
    before = gpu_map(inventory, gpu_pods(inventory, None), {})
    after_pods = gpu_pods(inventory, names)
    for placement in placed.placements:
        after_pods.setdefault(placement.node, []).append(
            f"{placement.workload}#{placement.replica}"
        )
    modes = {p.node: f"{p.kind.value}:{p.value}" for p in pools}
    modes.update({n.node: "emptied" for n in emptied})
    after = gpu_map(inventory, after_pods, modes)
    return GpuPoolPlan(
        pools=tuple(ordered),
        moves=tuple(moves),
        waves=tuple(waves),
        emptied=tuple(emptied),
        gpu_map_before=before,
        gpu_map_after=after,
    )


def _move(subject: Subject, operator: OperatorView) -> Move:
    advice = subject.advice
    if advice.kind is AdviceKind.MIG and advice.mig_layout and advice.mig_profile:
        return Move(
            subject=subject,
            label=LABEL_MIG_CONFIG,
            value=advice.mig_layout,
            resource=mig_resource_name(operator.mig_strategy, advice.mig_profile),
            mig_profile=advice.mig_profile,
        )
    config = advice.sharing
    if config is None:
        raise ValueError(f"{advice.kind} advice has no sharing config")
    return Move(
        subject=subject,
        label=LABEL_DEVICE_PLUGIN_CONFIG,
        value=config.name,
        resource=GPU_RESOURCE,
        mig_profile=None,
    )
