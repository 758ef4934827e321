"""A batch locks each cluster's row once and follows it as the stored row changes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.snapshots import SnapshotRepository, advanced_values
from store.repositories.tenants import TenantView
from tests.integration.workers.conftest import executed_statements
from tests.unit.workers.factories import T0
from workers.ingest.locked_clusters import changed, locked
from workers.ingest.pending_writes import PendingWrites


async def test_followed_row_is_the_row_advancing_leaves(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Advanced by an upload at minute 5, then one at minute 3, after a resync request: the
    row followed in memory equals the row read back afterwards."""
    pending = PendingWrites()
    async with database.tenant(tenant.id) as session:
        snapshots = SnapshotRepository(session, tenant.id)
        await snapshots.update_ingest_many(
            {cluster.id: {"ingest_sequence": 1, "resync_requested": True}}
        )
        followed = await locked(snapshots, pending, cluster.id)
        assert followed is not None
        for sequence, minutes in ((2, 5), (3, 3)):
            upload_id, taken_at = uuid.uuid4(), T0 + timedelta(minutes=minutes)
            values = advanced_values(
                followed, sequence, snapshot_id=upload_id, taken_at=taken_at, agent_version=None
            )
            await snapshots.update_ingest_many({cluster.id: values})
            followed = changed(followed, values)
    async with database.tenant(tenant.id) as session:
        stored = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert stored == followed
    assert (followed.sequence, followed.last_snapshot_at) == (3, T0 + timedelta(minutes=5))


async def test_a_batch_locks_a_cluster_row_once(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Three uploads of one cluster in a batch issue one locking read of its row."""
    with executed_statements(database) as statements:
        pending = PendingWrites()
        async with database.tenant(tenant.id) as session:
            snapshots = SnapshotRepository(session, tenant.id)
            rows = [await locked(snapshots, pending, cluster.id) for _ in range(3)]
    assert sum("FOR UPDATE" in statement for statement in statements) == 1
    assert rows[0] is not None
    assert rows == [rows[0]] * 3


async def test_an_unknown_cluster_is_not_held(database: Database, tenant: TenantView) -> None:
    """A cluster the tenant does not have reads as None and is not held for the batch."""
    pending = PendingWrites()
    async with database.tenant(tenant.id) as session:
        snapshots = SnapshotRepository(session, tenant.id)
        assert await locked(snapshots, pending, uuid.uuid4()) is None
    assert pending.locked == {}
