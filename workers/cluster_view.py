"""Rebuild a cluster's current state, as a `ClusterSnapshot`, from the stored inventory.

The recommender reasons over snapshots; the stored inventory is the union of the newest full
snapshot's objects, so putting them back into a snapshot (without usage samples) gives the
recommender the cluster as last seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    HorizontalPodAutoscaler,
    Node,
    Pod,
    PodDisruptionBudget,
    Provider,
    Workload,
    WorkloadKind,
)
from store.repositories.clusters import ClusterView
from store.repositories.inventory import InventoryObjectView
from workers.ingest.inventory_items import HPA, NODE, PDB, POD

log = structlog.get_logger(__name__)

NO_SNAPSHOT = uuid.UUID(int=0)
"""Snapshot id of the view of a cluster that never reported."""
_WORKLOAD_KINDS = frozenset(kind.value for kind in WorkloadKind)
M = TypeVar("M", bound=BaseModel)


def _provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        return Provider.OTHER


def _parse(model: type[M], row: InventoryObjectView) -> M | None:
    try:
        return model.model_validate(row.body)
    except ValidationError:
        # Written under an older contract: leave the object out rather than fail the plan.
        log.warning("stored object unreadable", kind=row.kind, name=row.name)
        return None


def cluster_view(cluster: ClusterView, objects: Sequence[InventoryObjectView]) -> ClusterSnapshot:
    """The cluster as its stored inventory describes it (no usage samples)."""
    nodes: list[Node] = []
    pods: list[Pod] = []
    workloads: list[Workload] = []
    pdbs: list[PodDisruptionBudget] = []
    hpas: list[HorizontalPodAutoscaler] = []
    for row in objects:
        if row.kind == NODE and (node := _parse(Node, row)) is not None:
            nodes.append(node)
        elif row.kind == POD and (pod := _parse(Pod, row)) is not None:
            pods.append(pod)
        elif row.kind in _WORKLOAD_KINDS and (workload := _parse(Workload, row)) is not None:
            workloads.append(workload)
        elif row.kind == PDB and (pdb := _parse(PodDisruptionBudget, row)) is not None:
            pdbs.append(pdb)
        elif row.kind == HPA and (hpa := _parse(HorizontalPodAutoscaler, row)) is not None:
            hpas.append(hpa)
    return ClusterSnapshot(
        snapshot_id=cluster.last_snapshot_id or NO_SNAPSHOT,
        cluster=ClusterInfo(
            cluster_id=cluster.id,
            name=cluster.name,
            provider=_provider(cluster.provider),
            region=cluster.region,
        ),
        taken_at=cluster.last_snapshot_at or cluster.created_at,
        agent_version=cluster.agent_version or "",
        nodes=nodes,
        pods=pods,
        workloads=workloads,
        pdbs=pdbs,
        hpas=hpas,
    )
