"""Folding snapshot messages into inventory and usage state, in the real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from recommender.usage.container_history import ContainerHistory
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import ContainerKey, UsageStateRepository
from tests.unit.workers.factories import T0, deployment_pod, shop_snapshot, snapshot_message
from workers.errors import UnknownClusterError
from workers.ingest.handler import DUPLICATE, PROCESSED, SnapshotIngest

WEB0_APP = ContainerKey("shop", "Deployment", "web0", "app")


async def _counts(database: Database, tenant: TenantView, cluster: ClusterView) -> dict[str, int]:
    async with database.tenant(tenant.id) as session:
        return await InventoryRepository(session, tenant.id).count(cluster.id)


async def _state(database: Database, tenant: TenantView, cluster: ClusterView) -> bytes:
    async with database.tenant(tenant.id) as session:
        found = await UsageStateRepository(session, tenant.id).get_many(cluster.id, [WEB0_APP])
    return found[WEB0_APP].state


async def test_snapshot_inventory_is_stored_by_kind(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Two nodes, four pods, two Deployments and two PDBs land as ten inventory rows."""
    outcome = await SnapshotIngest(database).apply(
        snapshot_message(tenant.id, shop_snapshot(cluster.id, 1))
    )
    assert outcome == PROCESSED
    assert await _counts(database, tenant, cluster) == {
        "Node": 2,
        "Pod": 4,
        "Deployment": 2,
        "PodDisruptionBudget": 2,
    }


async def test_replicas_share_one_usage_state_per_workload_container(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Samples of both replicas of web0 fold into one state: two samples per snapshot."""
    ingest = SnapshotIngest(database)
    for sequence in (1, 2, 3):
        await ingest.apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, sequence)))
    async with database.tenant(tenant.id) as session:
        records = await UsageStateRepository(session, tenant.id).list(cluster.id)
    assert [(r.key, r.sample_count) for r in records] == [
        (ContainerKey("shop", "Deployment", "web0", "app"), 6),
        (ContainerKey("shop", "Deployment", "web1", "app"), 6),
    ]
    assert records[0].first_sample_at == T0 + timedelta(minutes=1)
    assert records[0].last_sample_at == T0 + timedelta(minutes=3)


async def test_redelivered_snapshot_changes_nothing(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """The same snapshot id folded twice reports a duplicate and leaves the state byte-equal."""
    ingest = SnapshotIngest(database)
    message = snapshot_message(tenant.id, shop_snapshot(cluster.id, 1))
    await ingest.apply(message)
    before = await _state(database, tenant, cluster)
    assert await ingest.apply(message) == DUPLICATE
    assert await _state(database, tenant, cluster) == before
    async with database.tenant(tenant.id) as session:
        assert await SnapshotRepository(session, tenant.id).count(cluster.id) == 1


async def test_objects_absent_from_newer_snapshot_are_deleted(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A newer snapshot with one Deployment of one replica leaves only that in the inventory."""
    ingest = SnapshotIngest(database)
    await ingest.apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 1)))
    await ingest.apply(
        snapshot_message(tenant.id, shop_snapshot(cluster.id, 2, workloads=1, replicas=1))
    )
    assert await _counts(database, tenant, cluster) == {
        "Node": 2,
        "Pod": 1,
        "Deployment": 1,
        "PodDisruptionBudget": 1,
    }


async def test_older_snapshot_keeps_newer_inventory_but_folds_usage(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A late snapshot taken before the applied one adds samples but not its objects."""
    ingest = SnapshotIngest(database)
    await ingest.apply(
        snapshot_message(tenant.id, shop_snapshot(cluster.id, 5, workloads=1, replicas=1))
    )
    await ingest.apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 4)))
    assert await _counts(database, tenant, cluster) == {
        "Node": 2,
        "Pod": 1,
        "Deployment": 1,
        "PodDisruptionBudget": 1,
    }
    async with database.tenant(tenant.id) as session:
        view = await ClusterRepository(session, tenant.id).get(cluster.id)
        records = await UsageStateRepository(session, tenant.id).list(cluster.id)
    assert view.last_snapshot_at == T0 + timedelta(minutes=5)
    assert [r.sample_count for r in records] == [3, 2]


async def test_oom_kill_seen_in_many_snapshots_counts_once(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A pod reporting the same last OOM kill in three snapshots is one OOM kill."""
    ingest = SnapshotIngest(database)
    oom_at = T0 + timedelta(seconds=30)
    for sequence in (1, 2, 3):
        snapshot = shop_snapshot(cluster.id, sequence, workloads=1, replicas=1)
        pod = deployment_pod("web0", 0, "node-a", oom_at=oom_at)
        snapshot = snapshot.model_copy(update={"pods": [pod]})
        await ingest.apply(snapshot_message(tenant.id, snapshot))
    state = ContainerHistory.from_bytes(await _state(database, tenant, cluster)).usage
    assert state.signals.oom_kills == 1
    assert state.signals.last_oom_at == oom_at.timestamp()


async def test_snapshot_of_unregistered_cluster_is_refused(
    database: Database, tenant: TenantView
) -> None:
    """A cluster id the tenant never registered is a permanent error."""
    with pytest.raises(UnknownClusterError):
        await SnapshotIngest(database).apply(
            snapshot_message(tenant.id, shop_snapshot(uuid.uuid4(), 1))
        )


async def test_snapshot_naming_another_tenants_cluster_is_refused(
    database: Database, tenant: TenantView, other_cluster: ClusterView
) -> None:
    """Row-level security hides the other tenant's cluster, so its id is unknown here."""
    with pytest.raises(UnknownClusterError):
        await SnapshotIngest(database).apply(
            snapshot_message(tenant.id, shop_snapshot(other_cluster.id, 1))
        )
