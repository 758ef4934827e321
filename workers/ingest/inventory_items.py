"""A snapshot's (or a delta's upserted) inventory as storable rows, one per node, pod, workload,
PDB and HPA, and a delta's deletions as stored keys."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel

from protocol.delta import ClusterDelta
from protocol.snapshot import (
    HorizontalPodAutoscaler,
    Node,
    Pod,
    PodDisruptionBudget,
    Workload,
)
from store.repositories.inventory import InventoryItem

NODE = "Node"
POD = "Pod"
PDB = "PodDisruptionBudget"
HPA = "HorizontalPodAutoscaler"
CLUSTER_SCOPED = ""
"""The namespace stored for cluster-scoped objects."""


class ListedObjects(Protocol):
    """What a snapshot and a delta both list: whole objects, by category."""

    @property
    def nodes(self) -> Sequence[Node]: ...
    @property
    def pods(self) -> Sequence[Pod]: ...
    @property
    def workloads(self) -> Sequence[Workload]: ...
    @property
    def pdbs(self) -> Sequence[PodDisruptionBudget]: ...
    @property
    def hpas(self) -> Sequence[HorizontalPodAutoscaler]: ...


StoredName = tuple[str, str, str]
"""(kind, namespace, name): how the stored inventory identifies an object."""


def stored_json(model: BaseModel) -> str:
    """The model as the JSON text its inventory row stores.

    Pydantic's own serialisation, which the database reads as the very jsonb `json.dumps` of the
    model's JSON-mode dump gives (numbers are written differently, never to another value or
    scale), at a sixth of the cost. A model whose text holds a non-finite float, or a string
    that spells one, is written as `json.dumps` writes it, which the database refuses for the
    float as it always did.
    """
    text = model.model_dump_json()
    if '"NaN"' in text or 'Infinity"' in text:
        return json.dumps(model.model_dump(mode="json"))
    return text


def _item(
    kind: str, namespace: str, model: Node | Pod | Workload | PodDisruptionBudget
) -> InventoryItem:
    return InventoryItem(
        kind,
        namespace,
        model.name,
        model.uid,
        model.resource_version,
        stored_json(model),
    )


def _all_items(snapshot: ListedObjects) -> Iterable[InventoryItem]:
    for node in snapshot.nodes:
        yield _item(NODE, CLUSTER_SCOPED, node)
    for pod in snapshot.pods:
        yield _item(POD, pod.namespace, pod)
    for workload in snapshot.workloads:
        yield _item(workload.kind.value, workload.namespace, workload)
    for pdb in snapshot.pdbs:
        yield _item(PDB, pdb.namespace, pdb)
    for hpa in snapshot.hpas:
        # HPAs carry no uid or resourceVersion in the contract.
        yield InventoryItem(HPA, hpa.namespace, hpa.name, "", "", stored_json(hpa))


def inventory_items(snapshot: ListedObjects) -> list[InventoryItem]:
    """Every object listed; if an object is listed twice, the last listing wins."""
    unique = {(item.kind, item.namespace, item.name): item for item in _all_items(snapshot)}
    return list(unique.values())


def deleted_names(delta: ClusterDelta) -> set[StoredName]:
    """The stored names of the objects a delta deletes and does not list again."""
    listed = {(item.kind, item.namespace, item.name) for item in _all_items(delta)}
    gone = {
        (obj.kind.value, CLUSTER_SCOPED if obj.kind.value == NODE else obj.namespace, obj.name)
        for obj in delta.deleted
    }
    return gone - listed
