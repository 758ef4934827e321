"""Assemble a `ClusterSnapshot` from the inventory's models (pure: ids and time are passed in)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from agent.changes import Entry
from agent.convert.owners import OwnerLink, resolve_owners
from protocol.dra import DraState
from protocol.gpu_operator import GpuOperatorState
from protocol.keda import KedaState
from protocol.snapshot import (
    MAX_NODES,
    MAX_PODS,
    MAX_WORKLOADS,
    ClusterInfo,
    ClusterSnapshot,
    HorizontalPodAutoscaler,
    Node,
    Pod,
    PodDisruptionBudget,
    Usage,
    Workload,
)

M = TypeVar("M", bound=BaseModel)
MAX_NOTES = 32
MAX_NOTE = 1024


@dataclass
class InventoryView:
    """The entries of every category, as the watchers hold them right now."""

    nodes: list[Entry] = field(default_factory=list)
    pods: list[Entry] = field(default_factory=list)
    workloads: list[Entry] = field(default_factory=list)
    owners: list[Entry] = field(default_factory=list)
    pdbs: list[Entry] = field(default_factory=list)
    hpas: list[Entry] = field(default_factory=list)


def build_snapshot(
    view: InventoryView,
    *,
    cluster: ClusterInfo,
    snapshot_id: UUID,
    taken_at: datetime,
    agent_version: str,
    usage: Usage | None = None,
    notes: Sequence[str] = (),
    gpu_operator: GpuOperatorState | None = None,
    dra: DraState | None = None,
    keda: KedaState | None = None,
) -> ClusterSnapshot:
    """The snapshot: owner chains resolved, objects sorted, every list within its wire bound."""
    all_notes = list(notes)
    links = {e.link.key: e.link for e in (*view.owners, *view.workloads) if e.link is not None}
    nodes = sorted(_models(view.nodes, Node), key=lambda n: n.name)
    pods = sorted(
        (_with_owners(p, links) for p in _models(view.pods, Pod)),
        key=lambda p: (p.namespace, p.name),
    )
    workloads = sorted(
        _models(view.workloads, Workload), key=lambda w: (w.namespace, w.kind, w.name)
    )
    pdbs = sorted(_models(view.pdbs, PodDisruptionBudget), key=lambda p: (p.namespace, p.name))
    hpas = sorted(_models(view.hpas, HorizontalPodAutoscaler), key=lambda h: (h.namespace, h.name))
    for label, items, bound in (
        ("nodes", nodes, MAX_NODES),
        ("pods", pods, MAX_PODS),
        ("workloads", workloads, MAX_WORKLOADS),
        ("pdbs", pdbs, MAX_WORKLOADS),
        ("hpas", hpas, MAX_WORKLOADS),
    ):
        if len(items) > bound:
            all_notes.append(f"{label}: {len(items)} objects, only the first {bound} are reported")
    return ClusterSnapshot(
        snapshot_id=snapshot_id,
        cluster=cluster,
        taken_at=taken_at,
        agent_version=agent_version,
        nodes=nodes[:MAX_NODES],
        pods=pods[:MAX_PODS],
        workloads=workloads[:MAX_WORKLOADS],
        pdbs=pdbs[:MAX_WORKLOADS],
        hpas=hpas[:MAX_WORKLOADS],
        usage=usage or Usage(),
        gpu_operator=gpu_operator,
        dra=dra,
        keda=keda,
        notes=[note[:MAX_NOTE] for note in dict.fromkeys(all_notes)][:MAX_NOTES],
    )


def _models(entries: Iterable[Entry], kind: type[M]) -> list[M]:
    """The entries' models of the wanted type."""
    return [e.model for e in entries if isinstance(e.model, kind)]


def _with_owners(pod: Pod, links: dict[tuple[str, str, str], OwnerLink]) -> Pod:
    """The pod with its owner chain resolved through ReplicaSets and Jobs."""
    chain = resolve_owners(pod.namespace, pod.owners, links)
    return pod if chain == pod.owners else pod.model_copy(update={"owners": chain})
