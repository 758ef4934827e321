"""The inventory changes of a batch's uploads, held in order and written once at its end.

Folded one transaction each, every applied delta upserted and deleted its objects, and every
newest full snapshot upserted its objects and deleted the rest of its cluster's. Held here, each
object's changes through the batch collapse to what the last of them leaves: the object
deleted, or stored as one upload wrote it. The batch then writes every cluster at once
(`InventoryRepository.write`), and the rows equal those the uploads would have left in turn.

A stored row names the upload that last changed it (`snapshot_id`, `observed_at`): an upsert
equal to the row leaves it as it is. So a held object keeps the first of consecutive equal
listings, and one whose row the batch already changed before (listed differently, deleted, or
its cluster replaced by a snapshot that did not list it) is rewritten whatever the stored row
holds: deleted and inserted afresh, which leaves the row an update would.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from store.repositories.inventory import (
    InventoryChanges,
    InventoryItem,
    InventoryRepository,
    InventoryWrite,
    StoredKey,
)
from workers.ingest.inventory_items import StoredName


@dataclass(frozen=True, slots=True)
class _Held:
    """An object as the batch leaves it, and whether the batch changed its row before."""

    write: InventoryWrite
    rewrite: bool
    """The row is not the stored one when this is written: delete it, insert this."""


def _same(a: InventoryItem, b: InventoryItem) -> bool:
    """Whether storing `b` over `a` changes nothing (the upsert's own comparison)."""
    return a.body == b.body and a.uid == b.uid and a.resource_version == b.resource_version


class _ClusterChanges:
    """One cluster's held objects: each as stored by the batch's last change of it, or None
    (deleted); objects not held are as stored, unless `replaced` (then gone)."""

    def __init__(self) -> None:
        self.objects: dict[StoredName, _Held | None] = {}
        self.replaced = False

    def _held(self, write: InventoryWrite) -> _Held:
        """What listing `write` leaves its object as, after the batch's earlier changes."""
        item = write.item
        before = self.objects.get((item.kind, item.namespace, item.name), _UNTOUCHED)
        if isinstance(before, _Held) and _same(before.write.item, item):
            return before
        # Untouched and not replaced: the stored row is the one this upsert meets.
        return _Held(write, rewrite=before is not _UNTOUCHED or self.replaced)

    def replace(self, writes: Iterable[InventoryWrite]) -> None:
        """Make the inventory exactly the objects of `writes`."""
        objects: dict[StoredName, _Held | None] = {}
        for write in writes:
            item = write.item
            objects[(item.kind, item.namespace, item.name)] = self._held(write)
        self.objects = objects
        self.replaced = True

    def apply(self, writes: Iterable[InventoryWrite], deletes: Collection[StoredName]) -> None:
        """Delete the objects of `deletes`, then store those of `writes`."""
        for name in deletes:
            self.objects[name] = None
        for write in writes:
            item = write.item
            self.objects[(item.kind, item.namespace, item.name)] = self._held(write)


_UNTOUCHED = object()


class PendingInventory:
    """The batch's inventory changes of every cluster (one tenant)."""

    def __init__(self) -> None:
        self._clusters: dict[uuid.UUID, _ClusterChanges] = {}

    def replace(
        self,
        cluster_id: uuid.UUID,
        *,
        snapshot_id: uuid.UUID,
        observed_at: datetime,
        items: Iterable[InventoryItem],
    ) -> None:
        """A full snapshot's inventory replaces the cluster's (as `InventoryRepository.replace`)."""
        self._changes(cluster_id).replace(
            InventoryWrite(cluster_id, item, snapshot_id, observed_at) for item in items
        )

    def apply(
        self,
        cluster_id: uuid.UUID,
        *,
        snapshot_id: uuid.UUID,
        observed_at: datetime,
        upserts: Iterable[InventoryItem],
        deletes: Collection[StoredName],
    ) -> None:
        """A delta's deletions, then its upserts (as `InventoryRepository.apply_changes`)."""
        self._changes(cluster_id).apply(
            (InventoryWrite(cluster_id, item, snapshot_id, observed_at) for item in upserts),
            deletes,
        )

    def _changes(self, cluster_id: uuid.UUID) -> _ClusterChanges:
        return self._clusters.setdefault(cluster_id, _ClusterChanges())

    async def write(
        self, inventory: InventoryRepository, cluster_ids: Collection[uuid.UUID] | None = None
    ) -> None:
        """Write the held changes of `cluster_ids` (of every cluster if None) and stop holding
        them: before a read of their stored objects, and at the end of the batch."""
        chosen = list(self._clusters) if cluster_ids is None else cluster_ids
        taken = [(c, self._clusters.pop(c)) for c in chosen if c in self._clusters]
        if not taken:
            return
        deletes: list[StoredKey] = []
        kept: list[StoredKey] = []
        upserts: list[InventoryWrite] = []
        for cluster_id, changes in taken:
            for (kind, namespace, name), held in changes.objects.items():
                key = (cluster_id, kind, namespace, name)
                if held is None or held.rewrite:
                    deletes.append(key)
                if held is not None:
                    upserts.append(held.write)
                    if changes.replaced:
                        kept.append(key)
        replaced = [cluster_id for cluster_id, changes in taken if changes.replaced]
        await inventory.write(InventoryChanges(deletes, replaced, kept, upserts))
