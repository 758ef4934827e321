"""A cluster's ingest row, locked once per batch and then followed as the batch changes it.

Every upload of a batch locks its cluster's row before folding (`SnapshotRepository.
lock_cluster`): the lock serialises two consumers that briefly hold the same partition. Within
one transaction the first lock holds until the end, so the batch's later uploads of the same
cluster do not read the row again: they use it as the batch's own writes left it, which is what
reading it would return. The batch's uploads of a cluster go into the snapshot index together,
once its row is locked, in one statement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
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


def advanced(
    cluster: ClusterIngestState, sequence: int, *, upload_id: UUID, taken_at: datetime
) -> ClusterIngestState:
    """The row once `SnapshotRepository.advance` has recorded an applied upload of `sequence`
    taken at `taken_at` (`newest_upload`: an older upload never moves the newest back)."""
    recorded = replace(cluster, sequence=sequence, resync_requested=False)
    if cluster.last_snapshot_at is not None and taken_at < cluster.last_snapshot_at:
        return recorded
    return replace(recorded, last_snapshot_at=taken_at, last_snapshot_id=upload_id)
