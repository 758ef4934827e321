"""Snapshot ids are agents' choices: deduplicated per tenant and cluster, never across them."""

from __future__ import annotations

import uuid

from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from tests.unit.workers.factories import shop_snapshot, snapshot_message
from workers.ingest.handler import DUPLICATE, PROCESSED, SnapshotIngest


async def _cluster(database: Database, tenant: TenantView) -> ClusterView:
    async with database.tenant(tenant.id) as session:
        return await ClusterRepository(session, tenant.id).create(f"c-{uuid.uuid4().hex[:6]}")


async def _count(database: Database, tenant: TenantView, cluster: ClusterView) -> int:
    async with database.tenant(tenant.id) as session:
        return await SnapshotRepository(session, tenant.id).count(cluster.id)


async def test_another_tenants_snapshot_id_does_not_drop_the_snapshot(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A snapshot reusing an id another tenant already sent is folded, not taken as a duplicate."""
    ours, theirs = await _cluster(database, tenant), await _cluster(database, other_tenant)
    snapshot_id = uuid.uuid4()
    ingest = SnapshotIngest(database)
    first = await ingest.apply(
        snapshot_message(other_tenant.id, shop_snapshot(theirs.id, 1, snapshot_id=snapshot_id))
    )
    second = await ingest.apply(
        snapshot_message(tenant.id, shop_snapshot(ours.id, 1, snapshot_id=snapshot_id))
    )
    assert (first, second) == (PROCESSED, PROCESSED)
    assert await _count(database, tenant, ours) == 1


async def test_reusing_another_tenants_snapshot_id_leaves_theirs_intact(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """The first tenant's snapshot row keeps its own cluster and counts after the reuse."""
    ours, theirs = await _cluster(database, tenant), await _cluster(database, other_tenant)
    snapshot_id = uuid.uuid4()
    ingest = SnapshotIngest(database)
    await ingest.apply(
        snapshot_message(other_tenant.id, shop_snapshot(theirs.id, 1, snapshot_id=snapshot_id))
    )
    await ingest.apply(
        snapshot_message(tenant.id, shop_snapshot(ours.id, 2, snapshot_id=snapshot_id, workloads=1))
    )
    async with database.tenant(other_tenant.id) as session:
        view = await SnapshotRepository(session, other_tenant.id).get(theirs.id, snapshot_id)
    assert view is not None
    assert (view.cluster_id, view.pod_count) == (theirs.id, 4)


async def test_the_same_snapshot_id_in_one_cluster_is_a_duplicate(
    database: Database, tenant: TenantView
) -> None:
    """Redelivery of one cluster's snapshot is folded once."""
    cluster = await _cluster(database, tenant)
    message = snapshot_message(tenant.id, shop_snapshot(cluster.id, 1))
    ingest = SnapshotIngest(database)
    outcomes = [await ingest.apply(message), await ingest.apply(message)]
    assert outcomes == [PROCESSED, DUPLICATE]
    assert await _count(database, tenant, cluster) == 1
