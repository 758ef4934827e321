"""Clusters advanced by an applied upload as ingest writes them: the cluster's row locked, and the
columns `advanced_values` gives set through `SnapshotRepository.update_ingest_many`."""

from __future__ import annotations

import uuid
from datetime import datetime

from store.repositories.snapshots import ClusterIngestState, SnapshotRepository, advanced_values


async def advance_cluster(
    snapshots: SnapshotRepository,
    cluster_id: uuid.UUID,
    sequence: int | None,
    *,
    taken_at: datetime,
    agent_version: str | None,
    provider: str | None = None,
) -> uuid.UUID:
    """Advance the cluster (as locked) to `sequence` by a new upload taken at `taken_at`; the
    upload's id. A cluster the session's tenant cannot lock is written as if never advanced."""
    upload_id = uuid.uuid4()
    locked = (await snapshots.lock_clusters([cluster_id])).get(cluster_id)
    values = advanced_values(
        locked or ClusterIngestState(cluster_id, None),
        sequence,
        snapshot_id=upload_id,
        taken_at=taken_at,
        agent_version=agent_version,
        provider=provider,
    )
    await snapshots.update_ingest_many({cluster_id: values})
    return upload_id
