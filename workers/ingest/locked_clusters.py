"""Clusters' ingest rows, locked once per batch and then followed as the batch changes them.

Every upload of a batch folds with its cluster's row locked (`SnapshotRepository.
lock_clusters`): the lock serialises two consumers that briefly hold the same partition. The
batch's first upload locks the rows of every cluster the batch has uploads of, in one statement
(in the order of their ids, so two batches take turns instead of deadlocking). Within one
transaction a lock holds until the end, so the batch's uploads do not read the rows again: they
use each row as the batch's own changes left it, which is what reading it would return. Once the
rows are locked, every upload of the batch goes into the snapshot index, in one statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from store.repositories.snapshots import ClusterIngestState, SnapshotRepository
from workers.ingest.pending_writes import PendingWrites


async def recorded(
    snapshots: SnapshotRepository, pending: PendingWrites, cluster_id: UUID, upload_id: UUID
) -> bool:
    """Whether the upload is new to the cluster's index (False: folded before, or earlier in
    the batch). Uploads of the cluster not yet inserted (`locked` inserts them all) are
    inserted first, in one statement."""
    waiting = pending.unrecorded.pop(cluster_id, None)
    if waiting:
        inserted = await snapshots.record_many(cluster_id, waiting)
        pending.fresh.update((cluster_id, upload) for upload in inserted)
    if (cluster_id, upload_id) in pending.fresh:
        pending.fresh.discard((cluster_id, upload_id))
        return True
    return False


async def locked(
    snapshots: SnapshotRepository, pending: PendingWrites, cluster_id: UUID
) -> ClusterIngestState | None:
    """The cluster's row, locked: read and locked with those of every cluster of the batch by
    the batch's first upload, then as the batch's uploads left it (the lock is held until the
    transaction ends); None if not the tenant's cluster."""
    held = pending.locked.get(cluster_id)
    if held is not None:
        return held
    rows = await snapshots.lock_clusters({cluster_id, *pending.unrecorded})
    pending.locked.update(rows)
    waiting = {c: pending.unrecorded.pop(c) for c in rows if c in pending.unrecorded}
    if waiting:
        pending.fresh.update(await snapshots.record_clusters(waiting))
    return rows.get(cluster_id)


_FOLLOWED = {
    "ingest_sequence": "sequence",
    "resync_requested": "resync_requested",
    "last_snapshot_at": "last_snapshot_at",
    "last_snapshot_id": "last_snapshot_id",
}
"""The cluster columns ingest follows in memory, and the fields of the locked row they are."""


def changed(cluster: ClusterIngestState, values: Mapping[str, object]) -> ClusterIngestState:
    """The locked row as writing the cluster columns `values` leaves it (the columns as
    `advanced_values` gives them and `PendingWrites.change_ingest` holds them; columns the row
    does not follow are left out)."""
    fields: dict[str, Any] = {
        field: values[column] for column, field in _FOLLOWED.items() if column in values
    }
    return replace(cluster, **fields)
