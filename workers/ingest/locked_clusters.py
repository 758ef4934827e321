"""A cluster's ingest row, locked once per batch and then followed as the batch changes it.

Every upload of a batch locks its cluster's row before folding (`SnapshotRepository.
lock_cluster`): the lock serialises two consumers that briefly hold the same partition. Within
one transaction the first lock holds until the end, so the batch's later uploads of the same
cluster do not read the row again: they use it as the batch's own writes left it, which is what
reading it would return. The batch's uploads of a cluster go into the snapshot index together,
once its row is locked, in one statement.
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
    the batch). At the batch's first ask for a cluster (whose row it holds locked), every
    upload of the batch of that cluster is inserted in one statement."""
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
    """The cluster's row, locked: read and locked by the batch's first upload of the cluster,
    then as the batch's uploads left it (the lock is held until the transaction ends)."""
    held = pending.locked.get(cluster_id)
    if held is not None:
        return held
    cluster = await snapshots.lock_cluster(cluster_id)
    if cluster is not None:
        pending.locked[cluster_id] = cluster
    return cluster


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
