"""Snapshot ids are agents' choices: deduplicated per tenant and cluster, never across them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Reuse:
    """Two tenants' clusters that each sent a snapshot with the same id, and the outcomes."""

    snapshot_id: uuid.UUID
    theirs: ClusterView
    ours: ClusterView
    outcomes: tuple[str, str]


async def _reuse(database: Database, first: TenantView, second: TenantView) -> Reuse:
    """`first` sends a four-pod snapshot, then `second` a two-pod one with the same id."""
    theirs, ours = await _cluster(database, first), await _cluster(database, second)
    snapshot_id = uuid.uuid4()
    ingest = SnapshotIngest(database)
    earlier = await ingest.apply(
        snapshot_message(first.id, shop_snapshot(theirs.id, 1, snapshot_id=snapshot_id))
    )
    later = await ingest.apply(
        snapshot_message(second.id, shop_snapshot(ours.id, 2, snapshot_id=snapshot_id, workloads=1))
    )
    return Reuse(snapshot_id, theirs, ours, (earlier, later))


async def test_another_tenants_snapshot_id_does_not_drop_the_snapshot(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """A snapshot reusing an id another tenant already sent is folded, not taken as a duplicate."""
    reuse = await _reuse(database, other_tenant, tenant)
    assert reuse.outcomes == (PROCESSED, PROCESSED)
    assert await _count(database, tenant, reuse.ours) == 1


async def test_reusing_another_tenants_snapshot_id_leaves_theirs_intact(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """The first tenant's snapshot row keeps its own cluster and counts after the reuse."""
    reuse = await _reuse(database, other_tenant, tenant)
    theirs, snapshot_id = reuse.theirs, reuse.snapshot_id
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
