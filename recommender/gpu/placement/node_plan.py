"""The node-level plan: where each shared replica goes, how each node is configured, what is freed.

Every advised replica becomes a pod that takes `1000 / n` milli of one GPU, where n is how many
replicas its sharing class fits on a GPU (instances of its MIG profile in the layout, or the
time-slicing/MPS replica count). A node carries one class: its GPUs all take the same MIG layout
or device-plugin config. Replicas are placed largest first by the slicewise policy, restricted to
nodes of the same GPU product that are unconfigured or already of their class. GPUs left with
nothing on them are freed, and so are nodes whose every GPU is free.

Replicas that keep their GPUs as they hold them but may move (`WholeReplicas`, the pods of
Deployments a drain reschedules: whole GPUs, or a share their scheduler packs without any
sharing label on the node) are placed too, as the `whole` class: only on nodes that keep whole
GPUs, so that packing the shared replicas can empty the nodes they share with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from recommender.gpu.advice import AdviceKind, SharingAdvice
from recommender.gpu.placement.slicewise import SlicewisePolicy
from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import MILLI, build_node_table, build_pod_table
from recommender.gpu.placement.typical_pods import typical_pods

UNLIMITED_MEMORY_MIB = 1 << 40
WHOLE = "whole"
"""The class of nodes that keep whole GPUs (no sharing label)."""


@dataclass(frozen=True, slots=True)
class WholeReplicas:
    """Replicas of a workload that keep their GPUs as they hold them but may be rescheduled."""

    workload: str
    gpu_product: str
    replicas: int
    gpus_per_replica: int
    gpu_milli: int = MILLI
    """Thousandths of each GPU a replica holds: under 1000 for a share its scheduler packs
    (the Alibaba GPU-sharing scheduler's `gpu-milli`), which needs no sharing label."""


class _Item(NamedTuple):
    """Replicas of one workload to place, all of one shape and class."""

    name: str
    product: str
    replicas: int
    num_gpu: int
    label: str
    milli: int


@dataclass(frozen=True, slots=True)
class PlanNode:
    """A GPU node as the plan sees it."""

    name: str
    gpu_product: str
    gpu_count: int
    cpu_free_milli: int
    gpus_kept: int = 0
    """GPUs held by pods that keep their whole GPU (they stay where they are)."""
    keeps_whole: bool = False
    """The node keeps whole GPUs (pods that stay on it would be re-shared under them)."""


@dataclass(frozen=True, slots=True)
class NodeSetting:
    """How one node is configured under the plan."""

    node: str
    mig_layout: str | None
    sharing_config: str | None
    shared_gpus: tuple[int, ...]
    """Indices of the GPUs that host shared replicas."""
    free_gpus: int


@dataclass(frozen=True, slots=True)
class ReplicaPlacement:
    """Where one replica of an advised workload goes."""

    workload: str
    replica: int
    node: str
    gpu: int


@dataclass(frozen=True, slots=True)
class NodePlan:
    """The whole plan: replica placements, node settings, GPUs and nodes freed."""

    placements: tuple[ReplicaPlacement, ...]
    settings: tuple[NodeSetting, ...]
    unplaced: tuple[str, ...]
    """Workloads with a replica no node could take (their advice should wait)."""
    freed_gpus: int
    freed_nodes: tuple[str, ...]

    def nodes_for(self, workload: str) -> tuple[str, ...]:
        """Nodes that host replicas of `workload`, in name order."""
        return tuple(sorted({p.node for p in self.placements if p.workload == workload}))


def sharing_class(advice: SharingAdvice) -> tuple[str, int]:
    """(label value of the class, replicas per GPU) of an actionable piece of advice."""
    if advice.kind is AdviceKind.MIG and advice.mig_layout and advice.mig_profile:
        return f"mig:{advice.mig_layout}:{advice.mig_profile}", round(1.0 / advice.gpu_share)
    if advice.sharing is not None:
        return f"{advice.sharing.mode}:{advice.sharing.name}", advice.sharing.replicas
    raise ValueError(f"{advice.kind} advice has no sharing class")


def advised_name(advice: SharingAdvice) -> str:
    """`namespace/name` of the advised workload: how its replicas are named in the plan."""
    workload = advice.subject.workload
    return f"{workload.namespace}/{workload.name}"


def _advised_item(advice: SharingAdvice) -> _Item:
    label, per_gpu = sharing_class(advice)
    subject = advice.subject
    return _Item(
        advised_name(advice), subject.gpu_product, subject.replicas, 1, label, MILLI // per_gpu
    )


def plan_nodes(
    nodes: Sequence[PlanNode],
    advice: Sequence[SharingAdvice],
    seed: int = 0,
    whole: Sequence[WholeReplicas] = (),
) -> NodePlan:
    """Place every replica of the actionable `advice` (and of `whole`) on `nodes`.

    Placements and `unplaced` name a workload `namespace/name` (see `advised_name`), as
    `whole` does: workloads of one name in different namespaces stay apart.
    """
    actionable = [a for a in advice if a.kind is not AdviceKind.WHOLE_GPU]
    table = build_node_table(
        names=[n.name for n in nodes],
        cpu_milli=[n.cpu_free_milli for n in nodes],
        memory_mib=[UNLIMITED_MEMORY_MIB] * len(nodes),
        gpu_count=[n.gpu_count for n in nodes],
        model=[n.gpu_product for n in nodes],
    )
    items = [_advised_item(a) for a in actionable] + [
        _Item(w.workload, w.gpu_product, w.replicas, w.gpus_per_replica, WHOLE, w.gpu_milli)
        for w in whole
    ]
    replicas = [
        (index, replica) for index, item in enumerate(items) for replica in range(item.replicas)
    ]
    # Largest shares first: they are the hardest to fit once GPUs are partly taken.
    replicas.sort(key=lambda r: (-items[r[0]].milli, -items[r[0]].num_gpu, r[0], r[1]))
    pods = build_pod_table(
        names=[f"{items[i].name}/{r}" for i, r in replicas],
        cpu_milli=[0] * len(replicas),
        memory_mib=[0] * len(replicas),
        num_gpu=[items[i].num_gpu for i, _ in replicas],
        gpu_milli=[items[i].milli for i, _ in replicas],
        gpu_spec=[items[i].product for i, _ in replicas],
        models=table.models,
    )
    rng = np.random.default_rng(seed)
    state = ClusterState.empty(table, rng.permutation(table.size).astype(np.int64))
    for row, node in enumerate(nodes):
        if node.gpus_kept:
            state.gpu_free[row, : node.gpus_kept] = 0
            state.refresh(row)
    policy = SlicewisePolicy(typical_pods(pods, table.models, threshold=1.0))
    policy.start(state, rng)
    node_class: list[str | None] = [WHOLE if n.keeps_whole else None for n in nodes]
    placements: list[ReplicaPlacement] = []
    unplaced: set[str] = set()
    for i, (index, replica) in enumerate(replicas):
        label = items[index].label
        same_class = np.array([c in (None, label) for c in node_class], dtype=np.bool_)
        candidates = np.flatnonzero(state.feasible(pods, i) & same_class)
        name = items[index].name
        if candidates.size == 0:
            unplaced.add(name)
            continue
        choice = policy.choose(state, pods, i, candidates)
        state.bind(choice.node, choice.gpus, pods, i)
        policy.bound(state, choice.node)
        node_class[choice.node] = label
        placements.append(
            ReplicaPlacement(name, replica, table.names[choice.node], int(choice.gpus[0]))
        )
    return _settle(nodes, state, node_class, placements, unplaced)


def _settle(
    nodes: Sequence[PlanNode],
    state: ClusterState,
    node_class: list[str | None],
    placements: list[ReplicaPlacement],
    unplaced: set[str],
) -> NodePlan:
    settings: list[NodeSetting] = []
    freed_nodes: list[str] = []
    freed_gpus = 0
    for row, node in enumerate(nodes):
        shared = tuple(
            int(g)
            for g in range(node.gpu_count)
            if g >= node.gpus_kept and state.gpu_free[row, g] < MILLI
        )
        free = node.gpu_count - node.gpus_kept - len(shared)
        freed_gpus += free
        label = node_class[row]
        if free == node.gpu_count:
            freed_nodes.append(node.name)
        if label is None or label == WHOLE:
            continue
        kind, value = label.split(":", 1)
        settings.append(
            NodeSetting(
                node=node.name,
                mig_layout=value.split(":", 1)[0] if kind == "mig" else None,
                sharing_config=value if kind != "mig" else None,
                shared_gpus=shared,
                free_gpus=free,
            )
        )
    return NodePlan(
        placements=tuple(placements),
        settings=tuple(settings),
        unplaced=tuple(sorted(unplaced)),
        freed_gpus=freed_gpus,
        freed_nodes=tuple(freed_nodes),
    )
