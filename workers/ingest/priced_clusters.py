"""Each cluster's priced inventory, kept between uploads and made again only where models changed.

Every minute a cluster's upload is charged for its priced nodes and the containers running on
them (`cost_columns.PricedInventory`). A delta changes a few pods of a thousand, and the state it
stands for holds the very node and pod models of the state before it for everything else
(`delta_snapshot.overlay`), so what the cluster's last upload was priced as is used again:

- the same node models and, place by place, the same pod models: the same inventory;
- the same nodes, and pods replaced in place by models with as many running containers: the
  last inventory with those containers' rows and figures written over (no other row moves);
- otherwise the inventory is made again, each node's row and each pod's container rows looked
  up by the model's identity in the last one and worked out only for models not seen there.

Each way gives the inventory a full pricing of the snapshot gives, row for row and in the same
order. What is kept per cluster is bounded by the nodes and pods held in all
(`BoundedEntries`), as the worker's other per-cluster state is; a cluster not held is priced in
full.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress

from protocol.snapshot import ClusterSnapshot, Node, Pod, PodPhase
from recommender.cost.cost_columns import (
    ContainerRow,
    NodeRow,
    PricedInventory,
    container_rows,
    node_row,
)
from workers.ingest.bounded_entries import BoundedEntries
from workers.ingest.inventory_cache import DEFAULT_OBJECTS

_Prices = Callable[[Node], float | None]
_Rows = tuple[ContainerRow, ...]
_NO_ROWS: _Rows = ()


@dataclass(frozen=True)
class _Priced:
    """What a cluster's last upload was priced as."""

    terms: tuple[str, str | None]
    """The cluster's provider and region, which its nodes' prices depend on."""
    nodes: Sequence[Node]
    """The upload's nodes, in its order."""
    by_name: dict[str, tuple[Node, NodeRow | None]]
    """Every node by name, with its row (None: no price known)."""
    pods: Sequence[Pod]
    """The upload's pods, in its order."""
    pod_rows: list[_Rows]
    """Per pod: its containers' rows (none unless running on a priced node)."""
    starts: list[int]
    """Per pod: where its rows start among the inventory's containers."""
    inventory: PricedInventory


class PricedClusters:
    """The priced inventory of each cluster's last upload, bounded by the objects held."""

    def __init__(self, objects: int = DEFAULT_OBJECTS) -> None:
        """Hold the priced state of clusters of at most `objects` nodes and pods in all."""
        self._held: BoundedEntries[_Priced] = BoundedEntries(objects)

    def inventory(self, snapshot: ClusterSnapshot, hourly: _Prices) -> PricedInventory:
        """The snapshot's priced nodes and running containers; `hourly` prices a node (None:
        unpriced, its pods uncharged)."""
        cluster_id = snapshot.cluster.cluster_id
        terms = (snapshot.cluster.provider.value, snapshot.cluster.region)
        held = self._held.get(cluster_id)
        if held is not None and held.terms != terms:
            held = None
        same_nodes = held is not None and _same_models(snapshot.nodes, held.nodes)
        if held is not None and same_nodes and len(snapshot.pods) == len(held.pods):
            moved = map(operator.is_not, snapshot.pods, held.pods)
            replaced = list(compress(range(len(held.pods)), moved))
            if not replaced:
                return held.inventory
            patched = _patched(held, snapshot.pods, replaced)
            if patched is not None:
                self._held.put(cluster_id, patched, len(held.nodes) + len(held.pods))
                return patched.inventory
        priced = _priced(snapshot, terms, held, hourly)
        self._held.put(cluster_id, priced, len(priced.nodes) + len(priced.pods))
        return priced.inventory


def _same_models(now: Sequence[object], before: Sequence[object]) -> bool:
    """Whether both hold the very same models, place by place."""
    return len(now) == len(before) and all(map(operator.is_, now, before))


def _rows_of(pod: Pod, by_name: dict[str, tuple[Node, NodeRow | None]]) -> _Rows:
    """The pod's containers' rows if it runs on a priced node; else none."""
    on = by_name.get(pod.node_name or "")
    if pod.phase is not PodPhase.RUNNING or on is None or on[1] is None:
        return _NO_ROWS
    return container_rows(pod, on[0])


def _patched(held: _Priced, pods: Sequence[Pod], replaced: list[int]) -> _Priced | None:
    """The held inventory with the replaced pods' rows written over, or None if a replaced
    pod runs a different number of containers than its place held (rows would move)."""
    fresh = {i: _rows_of(pods[i], held.by_name) for i in replaced}
    if any(len(rows) != len(held.pod_rows[i]) for i, rows in fresh.items()):
        return None
    pod_rows = list(held.pod_rows)
    changed: dict[int, ContainerRow] = {}
    for i, rows in fresh.items():
        pod_rows[i] = rows
        changed.update(enumerate(rows, start=held.starts[i]))
    inventory = held.inventory.replaced(changed)
    return dataclasses.replace(held, pods=pods, pod_rows=pod_rows, inventory=inventory)


def _priced(
    snapshot: ClusterSnapshot,
    terms: tuple[str, str | None],
    held: _Priced | None,
    hourly: _Prices,
) -> _Priced:
    """The snapshot priced in full, using the held rows of the node and pod models it shares."""
    known_nodes = held.by_name if held is not None else {}
    by_name: dict[str, tuple[Node, NodeRow | None]] = {}
    for node in snapshot.nodes:
        found = known_nodes.get(node.name)
        if found is None or found[0] is not node:
            price = hourly(node)
            found = (node, None if price is None else node_row(node, price))
        by_name[node.name] = found
    known_pods: dict[tuple[str, str], tuple[Pod, _Rows]] = {}
    if held is not None:
        known_pods = {
            (pod.namespace, pod.name): (pod, rows)
            for pod, rows in zip(held.pods, held.pod_rows, strict=True)
        }
    pod_rows: list[_Rows] = []
    starts: list[int] = []
    start = 0
    for pod in snapshot.pods:
        known = known_pods.get((pod.namespace, pod.name))
        on = by_name.get(pod.node_name or "")
        if (
            known is not None
            and known[0] is pod
            and on is not None
            and known_nodes.get(on[0].name) is on
        ):
            # The same pod on the same node model, priced alike: its rows are the same.
            rows = known[1]
        else:
            rows = _rows_of(pod, by_name)
        pod_rows.append(rows)
        starts.append(start)
        start += len(rows)
    inventory = PricedInventory.of(
        [row for _, row in by_name.values() if row is not None],
        [row for rows in pod_rows for row in rows],
    )
    return _Priced(terms, snapshot.nodes, by_name, snapshot.pods, pod_rows, starts, inventory)
