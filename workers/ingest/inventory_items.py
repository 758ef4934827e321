"""A snapshot's inventory as storable rows, one per node, pod, workload, PDB and HPA."""

from __future__ import annotations

from collections.abc import Iterable

from protocol.snapshot import ClusterSnapshot, Node, Pod, PodDisruptionBudget, Workload
from store.repositories.inventory import InventoryItem

NODE = "Node"
POD = "Pod"
PDB = "PodDisruptionBudget"
HPA = "HorizontalPodAutoscaler"
CLUSTER_SCOPED = ""
"""The namespace stored for cluster-scoped objects."""


def _item(
    kind: str, namespace: str, model: Node | Pod | Workload | PodDisruptionBudget
) -> InventoryItem:
    return InventoryItem(
        kind,
        namespace,
        model.name,
        model.uid,
        model.resource_version,
        model.model_dump(mode="json"),
    )


def _all_items(snapshot: ClusterSnapshot) -> Iterable[InventoryItem]:
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
        yield InventoryItem(HPA, hpa.namespace, hpa.name, "", "", hpa.model_dump(mode="json"))


def inventory_items(snapshot: ClusterSnapshot) -> list[InventoryItem]:
    """Every object of the snapshot; if an object is listed twice, the last listing wins."""
    unique = {(item.kind, item.namespace, item.name): item for item in _all_items(snapshot)}
    return list(unique.values())
