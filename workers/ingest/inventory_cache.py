"""The nodes and pods of clusters this worker folded last, so a delta need not read them again.

A delta's fold needs its cluster's nodes and pods (usage attribution, cost allocation); reading
and decoding a thousand stored pods costs more than the rest of the fold. The worker that folded
a cluster's last upload already holds them as models. An entry names the stored state it is:
the cluster's last applied upload (`clusters.last_snapshot_id`) and its sequence number, which
together change with every inventory change (a full snapshot is a new upload id; a delta that
applies advances the sequence, which only a new full snapshot takes back). The fold compares
them with the row it has locked, so an entry another worker's writes have overtaken is never
used. Entries are put only after the transaction commits: an upload that failed, was retried or
is redelivered cannot leave a state the database does not hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from protocol.snapshot import Node, Pod
from store.repositories.inventory import InventoryRepository
from workers.ingest.bounded_entries import BoundedEntries

StateName = tuple[uuid.UUID | None, int | None]
"""(last applied upload id, sequence number): which stored inventory state an entry is."""
DEFAULT_OBJECTS = 20_000
"""Nodes and pods held: about 24 kB a pod with the container order and series layout kept
beside it, so about 480 MB, within the ingest worker's memory limit in the server chart (1 GiB)."""


@dataclass(frozen=True, slots=True)
class CachedInventory:
    """A cluster's nodes (by name) and pods (by namespace and name) in one stored state."""

    state: StateName
    nodes: Mapping[str, Node]
    pods: Mapping[tuple[str, str], Pod]


class InventoryCache:
    """The latest known state of clusters holding at most `objects` nodes and pods in all;
    least recently used clusters forgotten."""

    def __init__(self, objects: int = DEFAULT_OBJECTS) -> None:
        """Keep clusters of at most `objects` nodes and pods in all."""
        self._entries: BoundedEntries[CachedInventory] = BoundedEntries(objects)

    def get(self, cluster_id: uuid.UUID, state: StateName) -> CachedInventory | None:
        """The cluster's entry if it is the stored state `state`, else None."""
        entry = self._entries.get(cluster_id)
        if entry is None or entry.state != state or None in state:
            return None
        return entry

    def put(self, cluster_id: uuid.UUID, entry: CachedInventory) -> None:
        """Remember `entry` as the cluster's stored state (after its transaction committed)."""
        self._entries.put(cluster_id, entry, len(entry.nodes) + len(entry.pods))

    def forget(self, cluster_id: uuid.UUID) -> None:
        """Drop the cluster's entry (its stored state changed in a way not tracked here)."""
        self._entries.pop(cluster_id)


async def load_inventory(
    inventory: InventoryRepository, cluster_id: uuid.UUID
) -> tuple[dict[str, Node], dict[tuple[str, str], Pod]]:
    """The cluster's stored nodes and pods as models; objects of an older contract are left out."""
    nodes: dict[str, Node] = {}
    pods: dict[tuple[str, str], Pod] = {}
    for view in await inventory.list(cluster_id, kinds=(_NODE, _POD)):
        try:
            if view.kind == _NODE:
                nodes[view.name] = Node.model_validate(view.body)
            else:
                pods[(view.namespace, view.name)] = Pod.model_validate(view.body)
        except ValidationError:
            continue  # stored by an older contract: neither attributed nor priced
    return nodes, pods


_NODE = "Node"
_POD = "Pod"
