"""Per-cluster entries a worker keeps between batches, bounded by what they hold in all.

The ingest worker keeps, per cluster, its inventory, container order, series layout and usage
histories. Clusters differ in size by orders of magnitude, so each kind is bounded by the items
its entries hold (pods, containers, series, histories), not by clusters: the least recently used
clusters are forgotten first, and a cluster larger than the whole bound is not kept at all (its
uploads read what they need from the database, as after a restart).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedEntries(Generic[V]):
    """An entry per cluster, each of a size; at most `limit` in all."""

    def __init__(self, limit: int) -> None:
        """Hold nothing yet; `limit` is the most the entries' sizes may add up to."""
        self._limit = limit
        self._held = 0
        self._entries: OrderedDict[uuid.UUID, tuple[V, int]] = OrderedDict()

    @property
    def held(self) -> int:
        """The sizes of the entries held, added up."""
        return self._held

    def get(self, cluster_id: uuid.UUID) -> V | None:
        """The cluster's entry, if held (it becomes the most recently used)."""
        entry = self._entries.get(cluster_id)
        if entry is None:
            return None
        self._entries.move_to_end(cluster_id)
        return entry[0]

    def pop(self, cluster_id: uuid.UUID) -> V | None:
        """Take the cluster's entry out, if held."""
        entry = self._entries.pop(cluster_id, None)
        if entry is None:
            return None
        self._held -= entry[1]
        return entry[0]

    def put(self, cluster_id: uuid.UUID, value: V, size: int) -> None:
        """Hold `value` as the cluster's entry, forgetting the least recently used beyond the
        limit; an entry larger than the limit is not held (nor is the cluster's former one)."""
        self.pop(cluster_id)
        if size > self._limit:
            return
        self._entries[cluster_id] = (value, size)
        self._held += size
        while self._held > self._limit:
            _, (_, forgotten) = self._entries.popitem(last=False)
            self._held -= forgotten
